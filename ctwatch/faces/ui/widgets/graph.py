"""The count over the last minutes: a multi-row sparkline scaled to the table limit."""

from __future__ import annotations

import logging
from typing import Optional

from rich.text import Text
from textual.widget import Widget

from ctwatch.faces.ui.glyphs import UNICODE, Glyphs
from ctwatch.faces.ui.widgets.gauge import fill_style
from ctwatch.model import format as fmt
from ctwatch.model.history import resample

log = logging.getLogger("ctwatch")
LABEL_WIDTH = 16
MIN_WINDOW = 300.0  # five minutes at least, longer when the interval is long


class CountGraph(Widget):
    """Bars from 0 to the limit (`scale="limit"`) or from the window's min to its max
    (`scale="zoom"`), coloured by how full the table was; labels on the right."""

    DEFAULT_CSS = "CountGraph { height: 3; }"

    def __init__(self, *, id: Optional[str] = None) -> None:
        super().__init__(id=id)
        self.samples: tuple = ()
        self.reference: Optional[int] = None
        self.now: Optional[float] = None
        self.interval = 1.0
        self.scale = "limit"
        self.glyphs = UNICODE
        self.title = ""

    def show(
        self,
        samples: tuple,
        *,
        reference: Optional[int],
        now: Optional[float],
        interval: float,
        scale: str,
        glyphs: Glyphs,
        title: str = "",
    ) -> None:
        self.samples, self.reference, self.now = samples, reference, now
        self.interval, self.scale, self.glyphs, self.title = interval, scale, glyphs, title
        self.refresh()

    def window(self, columns: int) -> float:
        return max(MIN_WINDOW, columns * self.interval)

    def columns(self) -> tuple:
        """(values per column, window seconds) for the current size."""
        columns = max(1, self.size.width - LABEL_WIDTH - 1)
        window = self.window(columns)
        if self.now is None:
            return [None] * columns, window
        return resample(self.samples, self.now - window, self.now + 1e-6, columns), window

    def render(self) -> Text:
        try:
            return self._draw()
        except Exception:
            log.exception("graph render")
            return Text("(display error, see the log)", style="red")

    def _draw(self) -> Text:
        height = max(1, self.size.height)
        values, window = self.columns()
        known = [v for v in values if v is not None]
        low, high = (min(known), max(known)) if known else (0, 0)
        if self.scale == "zoom" and known:
            bottom, top = low, high if high > low else low + 1
        else:
            bottom, top = 0, self.reference or high or 1
        levels = height * 8
        heights = []
        for v in values:
            if v is None:
                heights.append(None)
                continue
            level = round((v - bottom) / (top - bottom) * levels) if top > bottom else 0
            if v > bottom and level == 0:
                level = 1  # a tiny table still shows it is there
            heights.append(max(0, min(levels, level)))
        styles = [
            fill_style(v / self.reference) or "green"
            if v is not None and self.reference
            else "cyan"
            for v in values
        ]
        labels = self._labels(height, low, high, known, window)
        out = Text(no_wrap=True, end="")
        glyph = self.glyphs.levels
        for row in range(height):
            floor = (height - 1 - row) * 8
            for level, style in zip(heights, styles):
                if level is None:
                    out.append(" ")
                else:
                    out.append(glyph[max(0, min(8, level - floor))], style=style)
            out.append(" ")
            out.append(labels[row], style="dim")
            if row < height - 1:
                out.append("\n")
        return out

    def _labels(self, height: int, low, high, known: list, window: float) -> list:
        span = f"{self.title}{fmt.seconds(window)}"
        scale = "min-max" if self.scale == "zoom" else "0-limit" if self.reference else "0-max"
        if not known:
            lines = ["no data yet", span]
        else:
            room = LABEL_WIDTH - 4  # never cut: abbreviated (4.3G) when the full form is wider
            lines = [
                f"max {fmt.count(high, room)}",
                f"min {fmt.count(low, room)}",
                f"{span} {scale}",
            ]
        lines += [""] * height
        if height == 1:
            lines = [f"max {fmt.count(high, LABEL_WIDTH - 4)}" if known else "no data yet"]
        return [fmt.shorten(s, LABEL_WIDTH, self.glyphs.ellipsis) for s in lines[:height]]
