"""N synthetic hosts over 6 hours as OpenMetrics, backfilled into a fresh TSDB for the fleet tests.

Series, names and labels are the exporter's (README "Fleet: Prometheus"; the same as
tests/ctwatch_series.py) and node_exporter's conntrack collector; `instance` and `job` are
written in as a scrape adds them. Every tenth host runs node_exporter only. Shapes, by
host number i (see `shape`): steady tables at fills spread over 5-70 %, hosts whose table
grows toward its limit (time to full known), and hosts full and dropping for the last
90 minutes; host DOWN_HOST's exporter stops answering DOWN_FOR seconds before the end. The first `detail` ctwatch hosts also get every breakdown series, with a story
the time-cursor tests read back: on FLOOD_HOST a flood from FLOOD_SOURCE to FLOOD_PORT
fills the table between FLOOD_FROM and FLOOD_TO seconds before the end, then it is gone.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import prom_lab
from ctwatch_series import STATS

HOURS = 6
STEP = 60  # seconds between samples: 6 h x 1,000 hosts stays ~2.5M samples
LIMIT = 262144
FLOOD_SOURCE = "198.51.100.66"
FLOOD_PORT = "8443"
FLOOD_FROM, FLOOD_TO = 3 * 3600 + 1200, 2 * 3600 + 1200  # seconds before the end
STEADY_SOURCE = "10.0.0.1"
FLOOD_HOST = 1  # the first ctwatch host (host 0 runs node_exporter only)


DOWN_HOST, DOWN_FOR = 5, 600  # host 5's exporter stops answering 10 minutes before the end


def alive(i: int, before_end: float) -> bool:
    """Whether host i's exporter answered its scrape `before_end` seconds before the end."""
    return not (i == DOWN_HOST and before_end < DOWN_FOR)


def instance(i: int) -> str:
    return f"host{i:04d}.fleet.example:{9100 if is_node(i) else 9611}"


def is_node(i: int) -> bool:
    return i % 10 == 0


def shape(i: int) -> str:
    """steady, growing or dropping."""
    if i % 10 == 3:
        return "growing"
    if i % 10 == 7:
        return "dropping"
    return "steady"


def entries(i: int, before_end: float, duration: float) -> float:
    """Host i's entries `before_end` seconds before the end of the data."""
    kind = shape(i)
    age = duration - before_end
    if kind == "growing":  # from 20 % to 90 % over the whole span, steadily
        return LIMIT * (0.2 + 0.7 * age / duration)
    if kind == "dropping":  # full for the last 90 minutes
        return min(LIMIT, LIMIT * 0.5 + max(0.0, age - (duration - 7200)) * 200)
    level = 0.05 + 0.65 * ((i * 37) % 100) / 100
    value = LIMIT * level + 400 * math.sin(age / 300 + i)
    if i == FLOOD_HOST:
        value += flood(before_end)
    return value


def flood(before_end: float) -> float:
    """Entries the flood holds on a detail host (0 outside its hour)."""
    if not FLOOD_TO < before_end <= FLOOD_FROM:
        return 0.0
    return min(60000.0, (FLOOD_FROM - before_end) * 100)


def drops(i: int, before_end: float, duration: float) -> float:
    """The cumulative `drop` counter: moving at 50/s while a dropping host is full."""
    if shape(i) != "dropping":
        return 0.0
    full_since = duration - 7200 + LIMIT * 0.5 / 200
    return max(0.0, (duration - before_end) - full_since) * 50


@dataclass(frozen=True)
class Fleet:
    server: prom_lab.Server
    end: float  # the last sample's time: ask at this time, not the wall clock
    start: float
    hosts: int
    detail: int


def openmetrics(path: str, hosts: int, end: float, detail: int, step: int = STEP) -> None:
    """Writes the OpenMetrics text: every family's samples together, each series in time order."""
    duration = HOURS * 3600
    times = [end - duration + k * step for k in range(duration // step + 1)]
    targets = [
        (i, {"instance": instance(i), "job": "node" if is_node(i) else "ctwatch"})
        for i in range(hosts)
    ]
    ctw = [(i, t) for i, t in targets if not is_node(i)]
    node = [(i, t) for i, t in targets if is_node(i)]
    detailed = ctw[:detail]

    def labels(d: dict) -> str:
        return ",".join(f'{k}="{v}"' for k, v in d.items())

    with open(path, "w") as f:

        def family(name, kind, series, value, suffix=""):
            f.write(f"# TYPE {name} {kind}\n")
            for i, lab in series:
                text = labels(lab)
                for t in times:
                    v = value(i, end - t, duration) if alive(i, end - t) else None
                    if v is not None:
                        f.write(f"{name}{suffix}{{{text}}} {v:.0f} {t:.0f}\n")

        family("ctwatch_entries", "gauge", ctw, entries)
        family("ctwatch_entries_limit", "gauge", ctw, lambda *a: LIMIT)
        family("node_nf_conntrack_entries", "gauge", node, entries)
        family("node_nf_conntrack_entries_limit", "gauge", node, lambda *a: LIMIT)
        family("node_nf_conntrack_stat_drop", "gauge", node, drops)
        # Prometheus's own `up` for every target: 0 once DOWN_HOST stops answering.
        f.write("# TYPE up gauge\n")
        for i, lab in targets:
            text = labels(lab)
            for t in times:
                f.write(f"up{{{text}}} {int(alive(i, end - t))} {t:.0f}\n")
        # Every host: drop and insert_failed; detail hosts: every kernel column.
        detail_ids = {i for i, _ in detailed}
        f.write("# TYPE ctwatch_stat counter\n")
        for i, lab in ctw:
            for stat in STATS if i in detail_ids else ("drop", "insert_failed"):
                text = labels({**lab, "stat": stat})
                for t in times:
                    before = end - t
                    if not alive(i, before):
                        continue
                    v = _stat(stat, i, before, duration)
                    f.write(f"ctwatch_stat_total{{{text}}} {v:.0f} {t:.0f}\n")
        _breakdowns(f, detailed, times, end, duration, labels)
        f.write("# EOF\n")


def _stat(stat: str, i: int, before: float, duration: float) -> float:
    if stat == "drop":
        return drops(i, before, duration)
    if stat == "found":
        return (duration - before) * 900
    return 0.0


def _breakdowns(f, detailed, times, end, duration, labels) -> None:
    """States, protocols, sources, destinations and ports of the detail hosts."""

    def parts(i, before):
        total = entries(i, before, duration)
        fl = flood(before) if i == FLOOD_HOST else 0.0
        base = total - fl
        src = {STEADY_SOURCE: 0.3 * base, "10.0.0.2": 0.1 * base}
        if fl:
            src[FLOOD_SOURCE] = fl
        src["other"] = total - sum(src.values())
        dst = {"192.0.2.10": 0.4 * base + fl, "other": 0.6 * base}
        ports = {("tcp", "443"): 0.4 * base, ("udp", "53"): 0.2 * base}
        if fl:
            ports[("tcp", FLOOD_PORT)] = fl
        ports[("", "other")] = total - sum(ports.values())
        states = {("tcp", "ESTABLISHED"): 0.6 * base, ("tcp", "TIME_WAIT"): 0.2 * base}
        states[("tcp", "SYN_RECV")] = fl
        protos = {"tcp": 0.8 * base + fl, "udp": 0.2 * base}
        return {"source": src, "destination": dst, "dport": ports, "state": states, "proto": protos}

    families = (
        ("ctwatch_source_entries", "source", lambda k: {"source": k}),
        ("ctwatch_destination_entries", "destination", lambda k: {"destination": k}),
        (
            "ctwatch_dport_entries",
            "dport",
            lambda k: {**({"proto": k[0]} if k[0] else {}), "dport": k[1]},
        ),
        ("ctwatch_entries_by_state", "state", lambda k: {"proto": k[0], "state": k[1]}),
        ("ctwatch_entries_by_proto", "proto", lambda k: {"proto": k}),
    )
    for name, dim, label_of in families:
        f.write(f"# TYPE {name} gauge\n")
        for i, lab in detailed:
            for key in _keys(parts, i, times, end, dim):
                text = labels({**lab, **label_of(key)})
                for t in times:
                    if not alive(i, end - t):
                        continue
                    # A key that left is 0, not absent: a backfill has no staleness
                    # markers, so an absent sample would read as the last one for 5 min.
                    v = parts(i, end - t)[dim].get(key, 0.0)
                    f.write(f"{name}{{{text}}} {max(0.0, v):.0f} {t:.0f}\n")


def _keys(parts, i, times, end, dim) -> list:
    """Every key this dimension has at any time (the flood's only for its hour)."""
    seen: dict = {}
    for t in (times[0], end - (FLOOD_FROM + FLOOD_TO) / 2, times[-1]):
        for k in parts(i, end - t)[dim]:
            seen[k] = None
    return list(seen)


@contextlib.contextmanager
def backfilled_fleet(hosts: int, detail: int = 5, step: int = STEP) -> Iterator[Fleet]:
    """A Prometheus on `hosts` synthetic hosts over the last 6 hours (a fresh TSDB)."""
    prom_lab.require("prometheus", "promtool")
    end = float(int(time.time()) - 30)
    with tempfile.TemporaryDirectory(prefix="ctwfleet-") as work:
        source = os.path.join(work, "fleet.om")
        openmetrics(source, hosts, end, detail, step)
        data = os.path.join(work, "data")
        _create_blocks(source, data)
        os.unlink(source)
        with prom_lab.prometheus(tsdb=data) as server:
            yield Fleet(server, end, end - HOURS * 3600, hosts, detail)


def _create_blocks(source: str, data: str) -> None:
    import subprocess

    paths = prom_lab.require("promtool")
    os.makedirs(data, exist_ok=True)
    proc = subprocess.run(
        [paths["promtool"], "tsdb", "create-blocks-from", "openmetrics", "-q", source, data],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"promtool backfill failed: {(proc.stderr or proc.stdout)[-800:]}")
