"""One host of the fleet at one moment: its breakdowns and kernel stats from ctwatch_* series."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from ctwatch.model.dimensions import DIMENSIONS
from ctwatch.model.promql import Matcher, duration, quote

_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
NETNS = ("ctwatch_netns_entries", "netns", "Namespaces")
STAT = "ctwatch_stat_total"
# (metric, its key label, title, also keyed by proto) in the host monitor's panel order.
BREAKDOWNS = tuple(
    (d.metric, d.metric_label, d.title, d.metric_by_proto) for d in DIMENSIONS if d.metric
) + ((NETNS[0], NETNS[1], NETNS[2], False),)
# Where the one command that adds ctwatch's series to a node_exporter host writes: the
# Debian package's textfile directory, read by the node_exporter already scraped.
TEXTFILE = "/var/lib/prometheus/node-exporter/ctwatch.prom"
ADD_CTWATCH = f"ctwatch --textfile {TEXTFILE}"


@dataclass(frozen=True)
class HostMoment:
    """What the host's exporter said at `at`: per breakdown title, (key, entries) heaviest
    first; stats: (kernel name, total, per second over the window) by name."""

    at: float
    entries: Optional[float]
    limit: Optional[float]
    breakdowns: tuple  # (title, ((key, value), ...))
    stats: tuple  # (name, total or None, rate or None)

    def top(self, title: str) -> tuple:
        return next((rows for t, rows in self.breakdowns if t == title), ())


def host_matchers(labels: tuple) -> tuple:
    """Exact matchers for a row's series labels; names Prometheus sent that are not label
    names are dropped (they cannot be, but the answer is someone else's text)."""
    return tuple(Matcher(k, "=", v) for k, v in labels if _NAME.fullmatch(k) and k != "__name__")


def moment_queries(matchers: tuple, window: int) -> tuple:
    """(gauges and counters by name, stat rates): two queries per moment."""
    names = [m for m, *_ in BREAKDOWNS] + ["ctwatch_entries", "ctwatch_entries_limit", STAT]
    sel = ",".join(m.promql() for m in matchers)
    levels = "{" + f"__name__=~{quote('|'.join(names))}" + (f",{sel}" if sel else "") + "}"
    rates = f"rate({{__name__={quote(STAT)}{',' + sel if sel else ''}}}[{duration(window)}])"
    return levels, rates


def host_moment(at: float, levels: list, rates: list) -> HostMoment:
    by_metric: dict = {}
    entries = limit = None
    totals: dict = {}
    for labels, value in levels:
        name = labels.get("__name__")
        if name == "ctwatch_entries":
            entries = value
        elif name == "ctwatch_entries_limit":
            limit = value
        elif name == STAT:
            totals[labels.get("stat", "")] = value
        else:
            by_metric.setdefault(name, []).append((labels, value))
    breakdowns = []
    for metric, label, title, by_proto in BREAKDOWNS:
        rows = []
        for labels, value in by_metric.get(metric, ()):
            if not value:  # unknown, or a key that has left (0 in a backfill, never a top key)
                continue
            key = labels.get(label, "")
            if by_proto and labels.get("proto"):
                key = (
                    f"{labels['proto']}/{key}" if label == "dport" else f"{key} ({labels['proto']})"
                )
            rows.append((key, value))
        # `other` (the keys below the exporter's --top) last: it is not one key
        rows.sort(key=lambda kv: (kv[0].startswith("other"), -kv[1], kv[0]))
        breakdowns.append((title, tuple(rows)))
    per_second = {labels.get("stat", ""): value for labels, value in rates}
    names = sorted(set(totals) | set(per_second))
    stats = tuple((n, totals.get(n), per_second.get(n)) for n in names)
    return HostMoment(at, entries, limit, tuple(breakdowns), stats)
