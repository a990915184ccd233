"""Top growers: sources and destinations gaining the most entries over 10 s, 60 s, since start."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from ctwatch.engine.answers import Answers
from ctwatch.faces.ui.screens.info_screen import InfoScreen, Num, fitted_grid
from ctwatch.model import format as fmt

TITLES = {"src": "Sources", "dst": "Destinations"}


def growers_body(sample: Answers, rows: int = 10, width: int = 76) -> RenderableType:
    incident = sample.incident
    if not incident.growers:
        return Text("waiting for table scans to compare", style="dim")
    parts: list = []
    for dim, windows in incident.growers.items():
        for label, covered, growers in windows:
            span = label if label.startswith("since") else f"over the last {label}"
            title = Text(f"{TITLES[dim]}, growth {span}", style="bold")
            if covered:
                title.append(f" (compared with {fmt.seconds(covered)} ago)", style="dim")
            parts.append(title)
            if not growers:
                parts.append(Text("  none grew", style="dim"))
                continue
            lines = [(a, Num(count), Num(growth, signed=True)) for a, count, growth in growers]
            parts.append(
                fitted_grid(
                    ("address", "entries", "growth"),
                    lines[:rows],
                    width,
                    justify=("left", "right", "right"),
                    shrink=(0,),
                )
            )
        parts.append(Text(""))
    since = incident.growers_since
    if since is not None:
        parts.append(Text(f"'since start' counts from {fmt.clock(since)} (r resets it).", "dim"))
    return Group(*parts)


class GrowersScreen(InfoScreen):
    heading = "top growers"

    def body(self, sample: Answers) -> RenderableType:
        return growers_body(sample, width=self.body_width)
