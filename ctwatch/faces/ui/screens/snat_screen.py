"""The SNAT view: translated source addresses from the reply tuples, with the port ranges in use."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from ctwatch.engine.answers import Answers
from ctwatch.faces.ui.screens.info_screen import InfoScreen, Num, fitted_grid
from ctwatch.model import format as fmt

PORT_SPACE = 64512  # 1024-65535: what a masquerade picks from by default


def snat_body(sample: Answers, width: int = 76) -> RenderableType:
    incident = sample.incident
    if incident.snat_error:
        return Text(f"! {incident.snat_error}", style="bold red")
    rows = incident.snat
    if rows is None:
        return Text("reading the table for translated addresses...", style="dim")
    if not rows:
        return Text("No source-NATed entries: every reply goes back to its original source.")
    lines = [
        (
            r.address,
            r.proto,
            Num(r.entries),
            Num(r.ports),
            f"{r.port_min}-{r.port_max}" if r.ports else "-",
            fmt.percent(r.ports / PORT_SPACE) if r.ports else "-",
        )
        for r in rows[:100]
    ]
    table = fitted_grid(
        ("address", "proto", "entries", "ports", "range", "used"),
        lines,
        width,
        justify=("left", "left", "right", "right", "left", "right"),
        shrink=(0,),
    )
    note = Text(
        "An entry is source-NATed when its reply goes to another address than its original "
        "source; that address and port are the translation. One more read of the table per "
        "scan while this view is open.",
        style="dim",
    )
    return Group(table, Text(""), note)


class SnatScreen(InfoScreen):
    heading = "SNAT"
    collects = ("snat",)

    def body(self, sample: Answers) -> RenderableType:
        return snat_body(sample, self.body_width)
