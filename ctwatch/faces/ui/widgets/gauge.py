"""Fill gauge (count / max, buckets, load factor) and the rates line under it."""

from __future__ import annotations

import logging
import math
from typing import Optional

from rich.text import Text
from textual.widget import Widget

from ctwatch.engine.answers import Answers
from ctwatch.faces.ui.glyphs import UNICODE, Glyphs
from ctwatch.faces.ui.widgets.lines import Line
from ctwatch.model import format as fmt

log = logging.getLogger("ctwatch")
WARN, CRITICAL = 0.75, 0.90


def fill_style(fraction: Optional[float]) -> str:
    if fraction is None:
        return ""
    if fraction >= CRITICAL:
        return "bold red"
    if fraction >= WARN:
        return "bold yellow"
    return "green"


def bar(fraction: float, width: int, glyphs: Glyphs, style: str) -> Text:
    filled = max(0, min(width, round(fraction * width)))
    text = Text(end="")
    text.append(glyphs.bar_full * filled, style=style)
    text.append(glyphs.bar_empty * (width - filled), style="dim")
    return text


class FillGauge(Widget):
    """Two lines: the fill of the table, then how fast it moves and what it drops."""

    DEFAULT_CSS = "FillGauge { height: 2; }"

    def __init__(self, *, id: Optional[str] = None) -> None:
        super().__init__(id=id)
        self.sample: Optional[Answers] = None
        self.glyphs = UNICODE

    def show(self, sample: Optional[Answers], glyphs: Glyphs) -> None:
        self.sample, self.glyphs = sample, glyphs
        self.refresh()

    def render(self) -> Text:
        try:
            return self._draw()
        except Exception:  # a display bug must not take the monitor down
            log.exception("gauge render")
            return Text("(display error, see the log)", style="red")

    def _draw(self) -> Text:
        sample, g = self.sample, self.glyphs
        width = max(10, self.size.width)
        snap = sample.snapshot if sample else None
        if snap is None:
            return Text("count ?", end="")
        fill = snap.fill
        style = fill_style(fill)
        # Full numbers when they fit, else abbreviated (buckets first), then the load and
        # the buckets left out: a number is never cut.
        for short_head, short_tail, load in ((0, 0, 1), (0, 1, 1), (1, 1, 1), (1, 1, 0)):
            head = self._head(snap, style, fmt.compact if short_head else fmt.count)
            tail = self._tail(snap, fmt.compact if short_tail else fmt.count, load)
            if len(head) + len(tail) <= width:
                break
        else:
            tail = Text(end="")
        room = width - len(head) - len(tail) - 3
        line = head
        if fill is not None and room >= 6:
            line.append("  ")
            line.append(bar(fill, room - 1, g, style or "green"))
        line.append(tail)
        line.append("\n")
        line.append(self._rates(sample, g, width))
        return line

    @staticmethod
    def _head(snap, style: str, number) -> Text:
        head = Text(no_wrap=True, end="")
        head.append("count ", style="dim")
        head.append(number(snap.count) if snap.count is not None else "?", style=style or "bold")
        head.append(" / ", style="dim")
        unlimited = snap.max == 0  # no limit to the kernel: see the advice
        head.append(
            "unlimited" if unlimited else number(snap.max) if snap.max is not None else "?",
            style="bold red" if unlimited else "",
        )
        head.append(f"  {fmt.percent(snap.fill)}" if snap.fill is not None else "", style=style)
        return head

    @staticmethod
    def _tail(snap, number, load: bool) -> Text:
        tail = Text(no_wrap=True, end="")
        if snap.buckets:
            tail.append("  buckets ", style="dim")
            tail.append(number(snap.buckets))
            if load and snap.load_factor is not None:
                tail.append("  load ", style="dim")
                tail.append(f"{snap.load_factor:.2f}")
        return tail

    def _rates(self, sample: Answers, g: Glyphs, width: int) -> Text:
        line = Line(width)
        growth = sample.forecast.slope
        known = [(t, v) for t, v in sample.history[-30:] if v is not None]
        if growth is None and len(known) >= 2 and known[-1][0] > known[0][0]:
            growth = (known[-1][1] - known[0][1]) / (known[-1][0] - known[0][0])
        if growth is None or not math.isfinite(growth):
            trend = "?"
        else:
            trend = fmt.fit(f"{growth:+,.0f}", growth, 9, "+") + "/s"
        line.add(("trend ", "dim"), trend)
        kind = sample.forecast.kind
        forecast_style = {"full": "bold red reverse", "filling": "bold yellow"}.get(kind, "")
        if kind != "unknown":
            line.add(" ", (sample.forecast.describe(), forecast_style))
        # Drop rates have their own line (ui/incident_line.py).
        scan = sample.scan
        if scan is not None and scan.entries:
            protos = scan.panels["proto"].rows[:4]
            for i, r in enumerate(protos):
                line.add((g.sep if i == 0 else " ", "dim"), f"{r.key} {fmt.percent(r.share)}")
        return line.text
