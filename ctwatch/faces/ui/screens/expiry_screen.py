"""The expiry view: entries expiring within 10 s, 60 s, 5 min or later, by state, and the sysctl."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from ctwatch.engine.answers import Answers
from ctwatch.faces.ui.screens.info_screen import InfoScreen, Num, fitted_grid
from ctwatch.model import format as fmt
from ctwatch.model.expiry import BUCKETS

LONG = 3600  # a timeout above an hour keeps entries for long: worth a colour


def expiry_body(sample: Answers, width: int = 76) -> RenderableType:
    rows = sample.incident.expiry
    if not rows:
        return Text("waiting for a table scan", style="dim")
    labels = [label for _, label in BUCKETS]
    lines = []
    for row in rows:
        value = "?" if row.sysctl_value is None else fmt.timeout(row.sysctl_value)
        long = row.sysctl_value is not None and row.sysctl_value > LONG and row.buckets[-1]
        lines.append((
            f"{row.key if row.key != row.proto else '-':<11}",  # SYN_SENT2, ESTABLISHED
            row.proto,
            *(Num(n) for n in row.buckets),
            value if row.sysctl else "",
            row.sysctl or "",
            "bold yellow" if long else "",
        ))  # fmt: skip
    table = fitted_grid(
        ("state", "proto", *labels, "value", "timeout sysctl"),
        lines,
        width,
        justify=("left", "left") + ("right",) * 5,
        shrink=(7,),
    )
    note = Text(
        "Counts by the timeout left on each entry in the last scan. Sysctls are "
        "net.netfilter.nf_conntrack_<name>, read every minute. An established TCP entry "
        "lives 5 days by default: idle flows that never close fill the table.",
        style="dim",
    )
    return Group(table, Text(""), note)


class ExpiryScreen(InfoScreen):
    heading = "expiry"

    def body(self, sample: Answers) -> RenderableType:
        return expiry_body(sample, self.body_width)
