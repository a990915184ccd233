"""An hour of exporter-shaped ctwatch history as OpenMetrics, for backfilling a test Prometheus.

Gives the rules and dashboard tests an hour of history that a live `ctwatch --serve` could
not make quickly. Series, names and labels are exactly the exporter's (README "Fleet:
Prometheus"); tests/test_exporter.py fails if the exporter stops emitting any name or label
set used here. instance and job are written in, as a scrape would add them. Three hosts
tell one story:
- GW1 (job ctwatch, host namespace, with --node-names): a SYN flood from FLOOD_SOURCE
  starts at FLOOD_START and fills the table toward its limit; drops begin near the end.
- GW2 (job ctwatch, netns "blue"): a steady table with a five-minute growth spurt.
- DB1 (job node): node_exporter only, its table growing slowly.
"""

from __future__ import annotations

import math
from typing import Optional

GW1 = {"instance": "gw1.example:9611", "job": "ctwatch"}
GW2 = {"instance": "gw2.example:9611", "job": "ctwatch", "netns": "blue"}
DB1 = {"instance": "db1.example:9100", "job": "node"}
FLOOD_SOURCE = "198.51.100.7"
LIMIT = 262144
DURATION = 3600
STEP = 15
VERSION = "0.1.0"

# The kernel's stats header (6.x) minus `entries`, which is a gauge repeated per CPU.
STATS = [
    "clashres",
    "found",
    "new",
    "invalid",
    "ignore",
    "delete",
    "chainlength",
    "insert",
    "insert_failed",
    "drop",
    "early_drop",
    "icmp_error",
    "expect_new",
    "expect_create",
    "expect_delete",
    "search_restart",
]
NODE_STATS = [
    "found",
    "invalid",
    "ignore",
    "insert",
    "insert_failed",
    "drop",
    "early_drop",
    "search_restart",
]


# Growth ctwatch calls "filling" must beat its steady threshold (0.05 % of the limit per
# second, 131/s here), or ctwatch_seconds_until_full is absent.
FLOOD_START = 2150
FLOOD_RATE = 150.0
SPURT = (600, 900, 200.0)  # GW2 grows from, until, entries/s; then drains at a quarter


def gw1_entries(age: float) -> float:
    """Entries at `age` seconds into the hour: 40k steady, then the flood (98 % at the end)."""
    return 40000 + 500 * math.sin(age / 300) + max(0.0, age - FLOOD_START) * FLOOD_RATE


def gw2_entries(age: float) -> float:
    start, stop, rate = SPURT
    grown = min(max(0.0, age - start), stop - start) * rate
    drained = max(0.0, age - stop) * rate / 4
    return 20000 + 300 * math.sin(age / 200) + max(0.0, grown - drained)


def db1_entries(age: float) -> float:
    return 30000 + age * 5


class _Families:
    """Collects samples per metric family, in the order OpenMetrics requires."""

    def __init__(self) -> None:
        self.families: dict = {}

    def add(self, family: str, kind: str, labels: dict, t: float, v: float, suffix="") -> None:
        series = self.families.setdefault((family, kind), {})
        key = tuple(sorted(labels.items()))
        series.setdefault(key, []).append((t, v, suffix))

    def text(self) -> str:
        out = []
        for (family, kind), series in self.families.items():
            out.append(f"# TYPE {family} {kind}")
            for key, samples in series.items():
                labels = ",".join(f'{k}="{v}"' for k, v in key)
                for t, v, suffix in samples:
                    out.append(f"{family}{suffix}{{{labels}}} {float(v)!r} {t:.3f}")
        out.append("# EOF")
        return "\n".join(out) + "\n"


def _breakdowns(total: float, flood: float) -> dict:
    """dimension -> {label tuple: entries} for one table; `other` completes each top list."""
    base = total - flood
    states = {
        ("tcp", "ESTABLISHED"): 0.50 * base,
        ("tcp", "TIME_WAIT"): 0.22 * base,
        ("tcp", "SYN_SENT"): 0.01 * base,
        ("tcp", "SYN_RECV"): 0.002 * base + 0.97 * flood,
        ("tcp", "CLOSE_WAIT"): 0.01 * base,
        ("tcp", "FIN_WAIT"): 0.008 * base,
        ("sctp", "ESTABLISHED"): 8,
    }
    tcp = sum(v for (proto, _), v in states.items() if proto == "tcp")
    protos = {("tcp",): tcp, ("udp",): 0.2 * base + 0.03 * flood, ("sctp",): 8}
    protos[("icmp",)] = max(0.0, total - sum(protos.values()))
    sources = {(FLOOD_SOURCE,): flood} if flood else {}
    sources.update({(f"10.0.{i // 8}.{i % 8 + 1}",): base * 0.3 / (i + 2) for i in range(9)})
    dests = {("203.0.113.10",): flood + 0.3 * base}
    dests.update({(f"192.0.2.{i + 1}",): base * 0.2 / (i + 2) for i in range(9)})
    dports = {("tcp", "443"): flood + 0.35 * base, ("tcp", "80"): 0.12 * base}
    dports.update({("udp", "53"): 0.15 * base, ("tcp", "22"): 0.01 * base})
    dports.update({("tcp", str(8000 + i)): base * 0.01 / (i + 1) for i in range(6)})
    out = {"state": states, "proto": protos}
    for name, top in (("source", sources), ("destination", dests), ("dport", dports)):
        width = 2 if name == "dport" else 1
        top = dict(sorted(top.items(), key=lambda kv: -kv[1])[:10])
        top[("other",) if width == 1 else ("", "other")] = max(0.0, total - sum(top.values()))
        out[name] = top
    return out


def _counters(age: float, drops: float) -> dict:
    """Cumulative kernel stats at `age`: busy lookups, a few clashes, drops as given."""
    counters = {s: 0.0 for s in STATS}
    counters.update(found=age * 900, invalid=age * 0.5, insert_failed=age * 0.01)
    counters.update(clashres=age * 0.2, search_restart=age * 0.05, drop=drops)
    counters["early_drop"] = drops * 3
    return counters


def _ctwatch_host(
    fam: _Families,
    target: dict,
    t: float,
    total: float,
    flood: float,
    counters: dict,
    growing: Optional[float],
) -> None:
    """Every ctwatch_ series of one target at time t; `growing` is the slope (entries/s)
    while the table grows, else None (ctwatch_seconds_until_full is then absent)."""
    fam.add("ctwatch_entries", "gauge", target, t, round(total))
    fam.add("ctwatch_entries_limit", "gauge", target, t, LIMIT)
    fam.add("ctwatch_buckets", "gauge", target, t, LIMIT)
    for stat, value in counters.items():
        fam.add("ctwatch_stat", "counter", {**target, "stat": stat}, t, int(value), "_total")
    parts = _breakdowns(total, flood)
    for (proto, state), v in parts["state"].items():
        labels = {**target, "proto": proto, "state": state}
        fam.add("ctwatch_entries_by_state", "gauge", labels, t, round(v))
    for (proto,), v in parts["proto"].items():
        fam.add("ctwatch_entries_by_proto", "gauge", {**target, "proto": proto}, t, round(v))
    for (source,), v in parts["source"].items():
        fam.add("ctwatch_source_entries", "gauge", {**target, "source": source}, t, round(v))
    for (dest,), v in parts["destination"].items():
        labels = {**target, "destination": dest}
        fam.add("ctwatch_destination_entries", "gauge", labels, t, round(v))
    for (proto, dport), v in parts["dport"].items():
        labels = {**target, "dport": dport, **({"proto": proto} if proto else {})}
        fam.add("ctwatch_dport_entries", "gauge", labels, t, round(v))
    fam.add("ctwatch_distinct_sources", "gauge", target, t, 1200 + (2 if flood else 0))
    fam.add("ctwatch_distinct_destinations", "gauge", target, t, 310)
    if growing:
        fam.add("ctwatch_seconds_until_full", "gauge", target, t, (LIMIT - total) / growing)
    fam.add("ctwatch_scan_duration_seconds", "gauge", target, t, 0.9 * total / 250000)
    fam.add("ctwatch_last_scan_timestamp_seconds", "gauge", target, t, t - 3)
    fam.add("ctwatch_bad_lines", "gauge", target, t, 0)
    fam.add("ctwatch_table_readable", "gauge", target, t, 1)
    fam.add("ctwatch_build_info", "gauge", {**target, "version": VERSION}, t, 1)


def _node_names(fam: _Families, target: dict, t: float, entries: float, counters: dict) -> None:
    """node_exporter's conntrack names (all gauges), as its collector or --node-names has them."""
    fam.add("node_nf_conntrack_entries", "gauge", target, t, round(entries))
    fam.add("node_nf_conntrack_entries_limit", "gauge", target, t, LIMIT)
    for stat in NODE_STATS:
        fam.add(f"node_nf_conntrack_stat_{stat}", "gauge", target, t, int(counters.get(stat, 0)))


def ctwatch_openmetrics(end: float, duration: int = DURATION, step: int = STEP) -> str:
    """The hour ending at `end` (unix seconds) as OpenMetrics with timestamps."""
    fam = _Families()
    start = end - duration
    for i in range(duration // step + 1):
        age = i * step
        t = start + age
        flood = max(0.0, age - FLOOD_START) * FLOOD_RATE
        gw1 = _counters(age, drops=max(0.0, age - 3300) * 40)
        _ctwatch_host(fam, GW1, t, gw1_entries(age), flood, gw1, FLOOD_RATE if flood else None)
        _node_names(fam, GW1, t, gw1_entries(age), gw1)
        spurt = SPURT[2] if SPURT[0] < age <= SPURT[1] else None
        _ctwatch_host(fam, GW2, t, gw2_entries(age), 0.0, _counters(age, 0.0), spurt)
        _node_names(fam, DB1, t, db1_entries(age), {"found": age * 300, "invalid": age})
    return fam.text()
