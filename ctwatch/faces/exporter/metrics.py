"""One Answers (plus a fresh reading of the counters) as prometheus_client metric families.

Names and labels are those of README "Fleet: Prometheus", which contrib/'s alert rules
and dashboard query (tests/ctwatch_series.py holds the same). Unknown values (None in
the Answers) are left out: a 0 or -1 would read as a real measurement to an alert.
"""

from __future__ import annotations

from typing import Optional

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ctwatch import __version__
from ctwatch.engine.answers import Answers
from ctwatch.engine.snapshot import Snapshot
from ctwatch.model.dimensions import DIMENSIONS
from ctwatch.sources.safe_text import safe_line

OTHER = "other"
# node_exporter's conntrack collector, copied from its own /metrics (1.5): same names,
# types and HELP, or a Prometheus that scrapes both would refuse the textfile.
NODE_HELP = {
    "entries": "Number of currently allocated flow entries for connection tracking.",
    "entries_limit": "Maximum size of connection tracking table.",
    "found": "Number of searched entries which were successful.",
    "invalid": "Number of packets seen which can not be tracked.",
    "ignore": "Number of packets seen which are already connected to a conntrack entry.",
    "insert": "Number of entries inserted into the list.",
    "insert_failed": "Number of entries for which list insertion was attempted but failed.",
    "drop": "Number of packets dropped due to conntrack failure.",
    "early_drop": "Number of dropped conntrack entries to make room for new ones, "
    "if maximum table size was reached.",
    "search_restart": "Number of conntrack table lookups which had to be restarted "
    "due to hashtable resizes.",
}
NODE_STATS = tuple(k for k in NODE_HELP if not k.startswith("entries"))


def label_value(text: object) -> str:
    """A label value from the table or the command line, printable and bounded."""
    return safe_line(text, 200)


class _Families:
    """Builds families with the constant labels (netns) put first on every sample."""

    def __init__(self, const: dict) -> None:
        self.names = list(const)
        self.values = [label_value(v) for v in const.values()]
        self.out: list = []

    def gauge(self, name: str, doc: str, value, labels: Optional[dict] = None) -> None:
        if value is None:
            return
        fam = self.family(name, doc, list(labels or ()))
        fam.add_metric(self.values + [label_value(v) for v in (labels or {}).values()], value)

    def family(self, name: str, doc: str, labels: list, counter: bool = False):
        kind = CounterMetricFamily if counter else GaugeMetricFamily
        fam = kind(name, doc, labels=self.names + labels)
        self.out.append(fam)
        return fam

    def add(self, fam, labels: list, value) -> None:
        fam.add_metric(self.values + [label_value(v) for v in labels], value)


def metric_families(
    answers: Optional[Answers],
    counters: Optional[Snapshot],
    *,
    netns: Optional[str] = None,
    node_names: bool = False,
    top_netns: int = 50,
) -> list:
    """Every family for one scrape. `counters`: a reading fresher than the Answers' own
    (None: the Answers' snapshot). `netns` adds that label to every series."""
    f = _Families({"netns": netns} if netns else {})
    snap = counters or (answers.snapshot if answers else None)
    _counters(f, snap, node_names)
    if answers is not None:
        _scan(f, answers)
        if answers.namespaces is not None:
            _namespaces(f, answers.namespaces.rows, top_netns)
        forecast = answers.forecast
        if forecast.kind == "filling" and forecast.seconds is not None and forecast.seconds >= 0:
            f.gauge(
                "ctwatch_seconds_until_full",
                "Seconds until the table is full at the current growth; "
                "absent unless the table grows.",
                forecast.seconds,
            )
    f.gauge("ctwatch_build_info", "ctwatch's version.", 1, {"version": __version__})
    return [fam for fam in f.out if fam.samples]


def _counters(f: _Families, snap: Optional[Snapshot], node_names: bool) -> None:
    if snap is None:
        return
    limit = snap.max if snap.max else None  # 0: the kernel sets no limit
    f.gauge("ctwatch_entries", "Entries in the conntrack table now.", snap.count)
    f.gauge("ctwatch_entries_limit", "The table's maximum (nf_conntrack_max).", limit)
    f.gauge("ctwatch_buckets", "Hash buckets of the table (nf_conntrack_buckets).", snap.buckets)
    stats = {k: v for k, v in snap.stats.items() if k != "entries"}
    if stats:
        fam = f.family(
            "ctwatch_stat",
            "Kernel conntrack statistics (/proc/net/stat/nf_conntrack) by the kernel's "
            "column name, summed over CPUs.",
            ["stat"],
            counter=True,
        )
        for name, value in stats.items():
            f.add(fam, [name], value)
    if not node_names:
        return
    f.gauge("node_nf_conntrack_entries", NODE_HELP["entries"], snap.count)
    f.gauge("node_nf_conntrack_entries_limit", NODE_HELP["entries_limit"], snap.max)
    for name in NODE_STATS:
        f.gauge(f"node_nf_conntrack_stat_{name}", NODE_HELP[name], stats.get(name))


def _scan(f: _Families, answers: Answers) -> None:
    scan = answers.scan
    readable = scan is not None and answers.table_error is None
    f.gauge(
        "ctwatch_table_readable",
        "1 when the last table scan succeeded; 0 when it failed (the reason is logged).",
        1 if readable else 0,
    )
    if scan is None:
        return
    for dim in DIMENSIONS:
        if dim.metric is None:
            continue
        labels = (["proto"] if dim.metric_by_proto else []) + [dim.metric_label]
        fam = f.family(dim.metric, dim.metric_help, labels)
        if dim.metric_by_proto:
            pairs = scan.pairs.get(dim.name)
            rows = [([p, k], n) for (p, k), n in pairs.rows] if pairs else []
            total = pairs.total if pairs else 0
        else:
            panel = scan.panels[dim.name]
            rows = [([r.key], r.count) for r in panel.rows]
            total = scan.entries
        for values, count in rows:
            f.add(fam, values, count)
        if dim.metric_top and (rows or total):
            # `other` keeps the sum whole while the label set stays bounded. It has no
            # proto: it may hold many protocols.
            other = max(0, total - sum(n for _, n in rows))
            fam.add_metric(f.values + ([""] if dim.metric_by_proto else []) + [OTHER], other)
        if dim.metric_distinct:
            f.gauge(
                dim.metric_distinct,
                f"Distinct keys of {dim.title.lower()} in the last scan.",
                scan.panels[dim.name].distinct,
            )
    f.gauge(
        "ctwatch_scan_duration_seconds",
        "Seconds the last table scan took (read, parse, count).",
        scan.scan_seconds,
    )
    f.gauge(
        "ctwatch_last_scan_timestamp_seconds",
        "When the last successful table scan was taken (unix time).",
        scan.taken_at,
    )
    f.gauge("ctwatch_bad_lines", "Lines of the table the last scan could not read.", scan.bad_lines)


# Per namespace, only the counters that say it drops (and packets it cannot track): the
# 16 kernel columns for each of 50 namespaces would be 800 series per host.
NETNS_STATS = ("drop", "early_drop", "insert_failed", "invalid")


def _namespaces(f: _Families, rows: tuple, top: int) -> None:
    """--all-netns: the `top` namespaces with the most entries one by one, the rest summed
    as netns="other". `inode` keeps two namespaces of the same name apart."""
    known = [r for r in rows if r.entries is not None]
    known.sort(key=lambda r: (-r.entries, r.inode))
    shown, rest = known[:top], known[top:]
    entries = f.family(
        "ctwatch_netns_entries",
        "Entries in each network namespace's own table (the limit applies to each).",
        ["netns", "kind", "inode"],
    )
    stats = f.family(
        "ctwatch_netns_stat",
        "Each network namespace's own conntrack counters, summed over CPUs. The `other` "
        "series sums the namespaces not shown one by one, so it can fall when they change.",
        ["netns", "kind", "inode", "stat"],
        counter=True,
    )
    for row in shown:
        labels = [row.name, row.kind, str(row.inode)]
        f.add(entries, labels, row.entries)
        for stat in NETNS_STATS:
            if stat in row.stats:
                f.add(stats, labels + [stat], row.stats[stat])
    if rest:
        labels = [OTHER, OTHER, ""]
        f.add(entries, labels, sum(r.entries for r in rest))
        for stat in NETNS_STATS:
            f.add(stats, labels + [stat], sum(r.stats.get(stat, 0) for r in rest))
