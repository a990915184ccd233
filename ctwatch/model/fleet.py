"""The fleet: a row per host from ctwatch_* or node_nf_conntrack_*; fill, drops, time to full."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ctwatch.model.promql import TAG

CTWATCH, NODE = "ctwatch", "node_exporter"
SORTS = ("drops", "fill", "full")
# Growth that adds less than this share of the limit over the whole window is noise (a
# steady table wobbles), not a trend: no time to full. With the 10-minute default that is
# 4.4 entries/s on a 262,144 table; an empty table growing faster fills within 17 hours.
NOISE_SHARE = 0.01
_KIND_OF = {
    "ctwatch_entries": (CTWATCH, "entries"),
    "ctwatch_entries_limit": (CTWATCH, "limit"),
    "node_nf_conntrack_entries": (NODE, "entries"),
    "node_nf_conntrack_entries_limit": (NODE, "limit"),
}


@dataclass(frozen=True)
class FleetRow:
    """One host (or one namespace of a host, when its exporter sets `netns`)."""

    instance: str
    job: str
    netns: Optional[str]
    source: str  # CTWATCH or NODE: whose series the numbers come from
    labels: tuple  # (name, value) pairs of the series, to ask for this host again
    entries: Optional[float] = None
    limit: Optional[float] = None
    drop_rate: Optional[float] = None  # the kernel's `drop` counter, per second
    slope: Optional[float] = None  # entries per second over the window (deriv)
    history: tuple = ()  # entries at evenly spaced times, None where no sample
    window: float = 600.0  # seconds the slope and the drop rate were measured over
    up: bool = True  # False: its exporter stopped answering; entries are its last known

    @property
    def fill(self) -> Optional[float]:
        if self.entries is None or not self.limit:
            return None
        return self.entries / self.limit

    @property
    def seconds_until_full(self) -> Optional[float]:
        """0 when full; else at the window's slope, None unless the table grows faster
        than noise (or when its limit is unknown)."""
        if self.entries is None or not self.limit or not self.up:
            return None
        if self.entries >= self.limit:
            return 0.0
        if self.slope is None or self.slope * self.window <= NOISE_SHARE * self.limit:
            return None
        return (self.limit - self.entries) / self.slope

    @property
    def key(self) -> tuple:
        return host_key(dict(self.labels))


def host_key(labels: dict) -> tuple:
    """Which row a series belongs to: its instance without the port, and its netns.

    A host running both ctwatch (:9611) and node_exporter (:9100) is one row, not two;
    ctwatch's namespaces (`--netns`, a label) stay apart."""
    instance = labels.get("instance", "")
    host = instance
    if instance.startswith("["):  # [::1]:9100
        host = instance.split("]", 1)[0] + "]"
    elif instance.count(":") == 1:
        host = instance.rsplit(":", 1)[0]
    return (host, labels.get("netns"))


def _ident(labels: dict) -> tuple:
    """A series' identity without its metric name and our tag."""
    return tuple(sorted((k, v) for k, v in labels.items() if k not in ("__name__", TAG)))


def fleet_rows(
    levels: list,
    drops: list,
    slopes: list,
    history: list,
    start: float,
    step: float,
    points: int,
    window: float = 600.0,
    down: tuple = (),
) -> tuple:
    """Rows from the five answers of promql.fleet_queries. `history`: range series
    [(labels, [(t, v)])] sampled from `start` every `step` seconds, `points` of them;
    `down`: the last entries of exporters whose scrape fails now (tagged)."""
    found: dict = {}  # key -> {source: {ident: {field: value}}}
    for labels, value in levels:
        kind = _KIND_OF.get(labels.get("__name__", ""))
        if kind is None:
            continue
        source, fld = kind
        ident = _ident(labels)
        per = found.setdefault(host_key(labels), {}).setdefault(source, {})
        per.setdefault(ident, {})[fld] = value
    tagged = {}
    for name, answer in (("drop_rate", drops), ("slope", slopes)):
        for labels, value in answer:
            tagged[(labels.get(TAG), _ident(labels), name)] = value
    spark = {}
    for labels, series in history:
        kind = _KIND_OF.get(labels.get("__name__", ""))
        if kind:
            spark[(kind[0], _ident(labels))] = _resample(series, start, step, points)
    rows = []
    for per in found.values():
        # ctwatch's own series win: they come from the kernel's named columns
        source = CTWATCH if any("entries" in v for v in per.get(CTWATCH, {}).values()) else NODE
        candidates = per.get(source) or per.get(CTWATCH) or {}
        ident = min(candidates, key=lambda i: ("entries" not in candidates[i], i))
        values = candidates[ident]
        labels = dict(ident)
        rows.append(
            FleetRow(
                instance=labels.get("instance", ""),
                job=labels.get("job", ""),
                netns=labels.get("netns"),
                source=source,
                labels=ident,
                entries=values.get("entries"),
                limit=values.get("limit") or None,
                drop_rate=tagged.get((source, ident, "drop_rate")),
                slope=tagged.get((source, ident, "slope")),
                history=spark.get((source, ident), ()),
                window=window,
            )
        )
    return tuple(rows) + _down_rows(rows, down, spark, window)


def _down_rows(rows: list, down, spark: dict, window: float) -> tuple:
    """A row marked down for each exporter that stopped answering, unless its host's row
    is still fed by another exporter (then that row is fresh and stays as it is)."""
    fed = {r.key: r for r in rows}
    out: dict = {}
    for labels, value in down:
        source = labels.get(TAG)
        if source not in (CTWATCH, NODE):
            continue
        ident = _ident(labels)
        key = host_key(labels)
        if key in fed or (key in out and out[key].source == CTWATCH):
            continue  # fresh numbers from another exporter, or ctwatch's own go first
        out[key] = FleetRow(
            instance=labels.get("instance", ""),
            job=labels.get("job", ""),
            netns=labels.get("netns"),
            source=source,
            labels=ident,
            entries=value,
            history=spark.get((source, ident), ()),
            window=window,
            up=False,
        )
    return tuple(out.values())


def _resample(series: list, start: float, step: float, points: int) -> tuple:
    slots: list = [None] * points
    for t, v in series:
        if t is None:
            continue
        i = int(round((t - start) / step))
        if 0 <= i < points:
            slots[i] = v
    return tuple(slots)


def _none_last(value: Optional[float], sign: float = 1.0) -> tuple:
    return (value is None, sign * (value or 0.0))


def sort_rows(rows, by: str) -> tuple:
    """drops: most drops first; fill: fullest first; full: soonest full first; hosts whose
    exporter stopped answering before all (nothing is known of them now). Ties go to
    the other measures, then to the name, so the order never flickers."""
    if by not in SORTS:
        raise ValueError(f"sort by one of {', '.join(SORTS)}")

    def key(r: FleetRow) -> tuple:
        drops = _none_last(r.drop_rate, -1)
        fill = _none_last(r.fill, -1)
        full = _none_last(r.seconds_until_full)
        name = (r.instance, r.netns or "")
        if by == "drops":
            return (r.up, drops, fill, full, name)
        if by == "fill":
            return (r.up, fill, drops, full, name)
        return (r.up, full, drops, fill, name)

    return tuple(sorted(rows, key=key))
