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
    metric: Optional[str] = None  # exporter: the gauge of entries by this dimension
    metric_label: Optional[str] = None
    metric_help: str = ""
    metric_top: bool = False  # only the top --top keys, plus one `other` series
    metric_by_proto: bool = False  # a `proto` label too (counted per protocol by the scan)
    metric_distinct: Optional[str] = None  # exporter: gauge of the number of distinct keys


# In panel order (ctwatch.tcss places them in this order on the grid).
DIMENSIONS = (
    Dimension(
        "state",
        "States",
        "STATE",
        "by_state",
        ("state", "--state"),
        metric="ctwatch_entries_by_state",
        metric_label="state",
        metric_help="Entries by protocol and state (TCP, SCTP, DCCP).",
        metric_by_proto=True,
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
        metric_top=True,
        metric_distinct="ctwatch_distinct_sources",
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
        metric_top=True,
        metric_distinct="ctwatch_distinct_destinations",
    ),
    Dimension(
        "proto",
        "Protocols",
        "PROTO",
        "by_proto",
        ("proto", "protocol", "-p", "--proto"),
        in_drill=False,
        metric="ctwatch_entries_by_proto",
        metric_label="proto",
        metric_help="Entries by layer-4 protocol.",
    ),
    Dimension(
        "dport",
        "Destination ports",
        "DPORT",
        "by_dport",
        ("dport", "port", "--dport"),
        metric="ctwatch_dport_entries",
        metric_label="dport",
        metric_help="Entries by protocol and original destination port: the top ones, and other.",
        metric_top=True,
        metric_by_proto=True,
    ),
)
BY_NAME = {d.name: d for d in DIMENSIONS}
NAMES = tuple(d.name for d in DIMENSIONS)
ADDRESS_NAMES = tuple(d.name for d in DIMENSIONS if d.address)
WORDS = {word: d.name for d in DIMENSIONS for word in d.words}
