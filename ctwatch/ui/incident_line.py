"""The incident line under the gauge: drop rates, the last drop, the last logged table-full."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.widgets import Static

from ctwatch.model.monitor_views import Sample
from ctwatch.model.trend import DROP_COUNTERS
from ctwatch.ui import formatting as fmt
from ctwatch.ui.glyphs import Glyphs
from ctwatch.ui.lines import Line

SHORT = {"drop": "drop", "early_drop": "early_drop", "insert_failed": "insert_failed"}


def incident_text(
    sample: Optional[Sample], glyphs: Glyphs, netns: str = "initial", width: int = 80
) -> Text:
    """`netns`: the namespace watched; a table-full line from another one says where.
    Parts that do not fit in `width` are left out whole: a rate is never cut."""
    line = Line(width)
    if sample is None:
        return line.text
    rates = sample.rates
    incident = sample.incident
    if not rates:
        line.add(("drop/s: at the next poll", "dim"))
    else:
        # Only the counters that move (usually `drop` alone): the line must fit 80 columns.
        moving = [n for n in DROP_COUNTERS if rates.get(n)]
        for i, name in enumerate(moving or [n for n in DROP_COUNTERS if n in rates][:1]):
            value = rates[name]
            style = "bold red" if value else ""
            gap = "  " if i else ""
            line.first(
                (f"{gap}{SHORT[name]} ", (fmt.rate(value), style)),
                (f"{gap}{SHORT[name]} ", (fmt.rate(value, 6), style)),
            )
        if rates.get("new"):  # current kernels no longer count it: shown only when they do
            line.first(
                (("  new ", "dim"), fmt.rate(rates["new"])),
                (("  new ", "dim"), fmt.rate(rates["new"], 6)),
            )
    if incident.last_drop is not None:
        line.add(
            (glyphs.sep, "dim"), ("last drop ", "dim"), (fmt.clock(incident.last_drop), "bold red")
        )
    else:
        line.add((glyphs.sep, "dim"), ("no drop seen", "dim"))
    kernel = incident.kernel
    if kernel.last_table_full is not None:
        line.add(
            (glyphs.sep, "dim"),
            ("table-full logged ", "dim"),
            (fmt.clock(kernel.last_table_full), "bold red"),
        )
        where = kernel.namespaces[-1] if kernel.namespaces else netns
        if where != netns:  # the kernel log is the whole machine's
            line.add((f" in {'the host' if where == 'initial' else where}", "dim"))
    return line.text


class IncidentLine(Static):
    DEFAULT_CSS = "IncidentLine { height: 1; padding: 0 1; }"

    def show(self, sample: Optional[Sample], glyphs: Glyphs, netns: str = "initial") -> None:
        text = incident_text(sample, glyphs, netns, self.size.width or 80)
        self.update(text, layout=False)
