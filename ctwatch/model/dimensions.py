"""The breakdown dimensions, declared once: scan key, titles, order, drill-down, JSON, CSV
and metric names all come from here (adding a dimension: one entry here, plus its test).

The scan counts every dimension named here (model/scan.py fills `Breakdown.counts` by
these names: proto and state from the l4/state part of a line, the others from their own
field); the panels, the drill-down, `--once` text/JSON/CSV, the `/` prompt and the
Prometheus exporter iterate this tuple.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Dimension:
    name: str  # the scan's key, the filter's and the drill-down's name for it
    title: str  # panel title
    heading: str  # column heading of the --once text report
    json_key: str  # --once --json breakdown (and the CSV's `dimension` is `name`)
    words: tuple  # what the `/` prompt and the filters accept for it
    address: bool = False  # keys are IP addresses (shown compressed, sorted numerically)
    in_drill: bool = True  # gets a panel in the drill-down (unless the focus pins it)
    distinct_key: Optional[str] = None  # --once --json count of distinct keys
    metric: Optional[str] = None  # exporter: top-N series with `other`
    metric_label: Optional[str] = None
    metric_help: str = ""


# In panel order (ctwatch.tcss places them in this order on the grid).
DIMENSIONS = (
    Dimension(
        "state",
        "States",
        "STATE",
        "by_state",
        ("state", "--state"),
    ),
    Dimension(
        "src",
        "Sources",
        "SOURCE",
        "by_src",
        ("src", "source", "-s", "--src", "from"),
        address=True,
        distinct_key="distinct_src",
        metric="ctwatch_source_entries",
        metric_label="source",
        metric_help="Entries by original source address: the top ones, and other.",
    ),
    Dimension(
        "dst",
        "Destinations",
        "DESTINATION",
        "by_dst",
        ("dst", "destination", "-d", "--dst", "to"),
        address=True,
        distinct_key="distinct_dst",
        metric="ctwatch_destination_entries",
        metric_label="destination",
        metric_help="Entries by original destination address: the top ones, and other.",
    ),
    Dimension(
        "proto",
        "Protocols",
        "PROTO",
        "by_proto",
        ("proto", "protocol", "-p", "--proto"),
        in_drill=False,
    ),
    Dimension(
        "dport",
        "Destination ports",
        "DPORT",
        "by_dport",
        ("dport", "port", "--dport"),
    ),
)
BY_NAME = {d.name: d for d in DIMENSIONS}
NAMES = tuple(d.name for d in DIMENSIONS)
ADDRESS_NAMES = tuple(d.name for d in DIMENSIONS if d.address)
WORDS = {word: d.name for d in DIMENSIONS for word in d.words}
