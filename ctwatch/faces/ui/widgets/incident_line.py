"""The incident line under the gauge: drop rates, the last drop, the last logged table-full."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.widgets import Static

from ctwatch.engine.answers import Answers
from ctwatch.engine.switching import last_blamed
from ctwatch.faces.ui.glyphs import Glyphs
from ctwatch.faces.ui.widgets.lines import by_priority
from ctwatch.model import format as fmt
from ctwatch.model.trend import DROP_COUNTERS

SHORT = {"drop": "drop", "early_drop": "early_drop", "insert_failed": "insert_failed"}


def incident_text(sample: Optional[Answers], glyphs: Glyphs, width: int = 80) -> Text:
    """A table-full line from another namespace than the one watched says where. What
    does not fit in `width` is left out whole, the least important first: a rate
    or a time is never cut. Rates are abbreviated (1.2K/s) before anything is left out."""
    if sample is None:
        return Text(end="")
    parts = _parts(sample, glyphs, None)
    full, kept = by_priority(parts, width)
    if kept == len(parts):
        return full
    short, kept_short = by_priority(_parts(sample, glyphs, 6), width)
    return short if kept_short > kept else full


def _parts(sample: Answers, glyphs: Glyphs, room: Optional[int]) -> list:
    """(priority, pieces) in display order: the drop rate, the last drop and the last
    table-full line first; other counters and the namespace after."""
    rates = sample.rates
    incident = sample.incident
    parts: list = []
    if not rates:
        parts.append((0, (("drop/s: at the next poll", "dim"),)))
    else:
        # Only the counters that move (usually `drop` alone): the line must fit 80 columns.
        moving = [n for n in DROP_COUNTERS if rates.get(n)]
        for i, name in enumerate(moving or [n for n in DROP_COUNTERS if n in rates][:1]):
            value = rates[name]
            gap = "  " if i else ""
            pieces = (f"{gap}{SHORT[name]} ", (fmt.rate(value, room), "bold red" if value else ""))
            parts.append((0 if i == 0 else 3 + i, pieces))
        if rates.get("new"):  # current kernels no longer count it: shown only when they do
            parts.append((9, (("  new ", "dim"), fmt.rate(rates["new"], room))))
    if incident.last_drop is not None:
        last = (("last drop ", "dim"), (fmt.clock(incident.last_drop), "bold red"))
    else:
        last = (("no drop seen", "dim"),)
    parts.append((1, ((glyphs.sep, "dim"), *last)))
    kernel = incident.kernel
    if kernel.last_table_full is not None:
        logged = (
            (glyphs.sep, "dim"),
            ("table-full logged ", "dim"),
            (fmt.clock(kernel.last_table_full), "bold red"),
        )
        blamed = last_blamed(kernel, sample.namespaces, sample.watched)
        if blamed is not None and blamed.elsewhere:  # the kernel log is the whole machine's
            named = (f" in {blamed.name}", "bold")
            if blamed.row is not None and blamed.row.path is not None:
                jump, key = ("  j: watch it", "dim"), (" (j)", "dim")
                choices = [(*logged, named, jump), (*logged, named, key), (*logged, named), logged]
                parts.append((2, choices))
            else:
                parts.append((2, [(*logged, named), logged]))
        else:
            parts.append((2, logged))
    return parts


class IncidentLine(Static):
    DEFAULT_CSS = "IncidentLine { height: 1; padding: 0 1; }"

    def show(self, sample: Optional[Answers], glyphs: Glyphs) -> None:
        text = incident_text(sample, glyphs, self.size.width or 80)
        self.update(text, layout=False)
