"""The incident line under the gauge: drop rates, the last drop, the last logged table-full."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.widgets import Static

from ctwatch.model.monitor_views import Sample
from ctwatch.model.trend import DROP_COUNTERS
from ctwatch.ui import formatting as fmt
from ctwatch.ui.glyphs import Glyphs

SHORT = {"drop": "drop", "early_drop": "early_drop", "insert_failed": "insert_failed"}


def incident_text(sample: Optional[Sample], glyphs: Glyphs, netns: str = "initial") -> Text:
    """`netns`: the namespace watched; a table-full line from another one says where."""
    text = Text(no_wrap=True, overflow="crop", end="")  # no "…": console fonts may lack it
    if sample is None:
        return text
    rates = sample.rates
    incident = sample.incident
    if not rates:
        text.append("drop/s: at the next poll", style="dim")
    else:
        # Only the counters that move (usually `drop` alone): the line must fit 80 columns.
        moving = [n for n in DROP_COUNTERS if rates.get(n)]
        for name in moving or [n for n in DROP_COUNTERS if n in rates][:1]:
            if len(text):
                text.append("  ")
            value = rates[name]
            text.append(f"{SHORT[name]} ", style="dim")
            text.append(f"{fmt.rate(value)}", style="bold red" if value else "")
        if rates.get("new"):  # current kernels no longer count it: shown only when they do
            text.append("  new ", style="dim")
            text.append(fmt.rate(rates["new"]))
    text.append(glyphs.sep, style="dim")
    if incident.last_drop is not None:
        text.append("last drop ", style="dim")
        text.append(fmt.clock(incident.last_drop), style="bold red")
    else:
        text.append("no drop seen", style="dim")
    kernel = incident.kernel
    if kernel.last_table_full is not None:
        text.append(glyphs.sep, style="dim")
        text.append("table-full logged ", style="dim")
        text.append(fmt.clock(kernel.last_table_full), style="bold red")
        where = kernel.namespaces[-1] if kernel.namespaces else netns
        if where != netns:  # the kernel log is the whole machine's
            text.append(f" in {'the host' if where == 'initial' else where}", style="dim")
    return text


class IncidentLine(Static):
    DEFAULT_CSS = "IncidentLine { height: 1; padding: 0 1; }"

    def show(self, sample: Optional[Sample], glyphs: Glyphs, netns: str = "initial") -> None:
        self.update(incident_text(sample, glyphs, netns), layout=False)
