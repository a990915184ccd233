"""The kernel log view: conntrack "table full" lines per minute, suppressed counts, namespaces."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from ctwatch.engine.answers import Answers
from ctwatch.faces.ui.screens.info_screen import InfoScreen, Num, fitted_grid
from ctwatch.model import format as fmt


def kernel_body(sample: Answers, width: int = 76) -> RenderableType:
    kernel = sample.incident.kernel
    if not kernel.enabled:
        return Text(
            "The kernel log is not read in this session (a replay has none of its own).",
            style="dim",
        )
    head = Text()
    if kernel.problem:
        head.append(f"! {kernel.problem}\n", style="bold red")
    head.append(f"read from {kernel.via or '?'}; ", style="dim")
    if kernel.last_table_full is None:
        head.append("no 'table full, dropping packet' line logged while watching", style="dim")
        head.append(" (nor left in the ring buffer).", style="dim")
        return head
    head.append(f"{fmt.count(kernel.table_full)} table-full lines", style="bold red")
    head.append(f", {fmt.count(kernel.suppressed)} more suppressed by the rate limit; last at ")
    head.append(fmt.clock(kernel.last_table_full), style="bold")
    if kernel.namespaces:
        head.append(f"\nnamespaces named: {', '.join(kernel.namespaces)}")
    lines = [
        (
            fmt.clock(minute)[:5],
            Num(full),
            Num(suppressed),
            spaces,
            "bold red" if full else "",
        )
        for minute, full, suppressed, spaces in reversed(kernel.per_minute)
    ]
    table = fitted_grid(
        ("minute", "table full", "suppressed", "netns"),
        lines,
        width,
        justify=("left", "right", "right"),
        shrink=(3,),
    )
    note = Text(
        "The kernel prints at most about 10 such lines per 5 s; the suppressed count is "
        "how many more it swallowed (net_ratelimit). 'initial' is the host's own namespace.",
        style="dim",
    )
    return Group(head, Text(""), table, Text(""), note)


class KernelLogScreen(InfoScreen):
    heading = "kernel log: table full"

    def body(self, sample: Answers) -> RenderableType:
        return kernel_body(sample, self.body_width)
