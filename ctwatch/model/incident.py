"""The incident answers for `--once --json`: rates, forecast, expiry, subnets, SNAT,
kernel log and advice."""

from __future__ import annotations

import dataclasses
from typing import Optional

from ctwatch.model.advice import advise
from ctwatch.model.expiry import expiry_json, expiry_table
from ctwatch.model.rollup import subnet_rollup
from ctwatch.model.snapshot import Snapshot
from ctwatch.model.trend import counter_rates, drop_rate, forecast


def rates_json(
    snap: Snapshot, later_t: float, later_count: Optional[int], later_stats: dict
) -> dict:
    """Per-second rates between the snapshot's counters and a later reading."""
    dt = later_t - snap.taken_at
    rates = counter_rates(snap.stats, snap.taken_at, later_stats, later_t)
    growth = None
    if dt > 0 and snap.count is not None and later_count is not None:
        growth = (later_count - snap.count) / dt
    dropping = drop_rate(rates) or 0.0
    points = [(snap.taken_at, snap.count)] if snap.count is not None else []
    if later_count is not None and dt > 0:
        points.append((later_t, later_count))
    fc = forecast(points, snap.max, drop_rate=dropping)
    return {
        "rate_window": round(dt, 3),
        "rates": {
            "growth": None if growth is None else round(growth, 3),
            **{k: round(v, 3) for k, v in rates.items()},
        },
        "forecast": {
            "kind": fc.kind,
            "text": fc.describe(),
            "seconds": None if fc.seconds is None else round(fc.seconds, 1),
        },
    }


def table_answers_json(snap: Snapshot, timeouts: dict, top: int) -> dict:
    table = snap.table
    if table is None:
        return {"expiry": {}, "by_src_subnet": {}}
    subnets = subnet_rollup(table.totals.counts["src"])
    return {
        "expiry": expiry_json(expiry_table(table.totals.expiry, timeouts)),
        "by_src_subnet": dict(subnets.most_common(top or None)),
    }


def snat_json(rows: list, top: int) -> list:
    return [
        {
            "address": r.address,
            "proto": r.proto,
            "entries": r.entries,
            "ports": r.ports,
            "port_min": r.port_min,
            "port_max": r.port_max,
        }
        for r in (rows[:top] if top else rows)
    ]


def kernel_log_json(events: list, via: str, problem: Optional[str]) -> dict:
    """Table-full lines the kernel logged, per minute, with the namespaces it named."""
    from ctwatch.sources.kmsg import per_minute

    full = [e for e in events if e.kind == "table_full"]
    return {
        "via": via,
        "problem": problem,
        "table_full": sum(e.count for e in full),
        "suppressed": sum(e.count for e in events if e.kind == "suppressed"),
        "last_table_full": round(full[-1].wall, 3) if full else None,
        "netns": sorted({e.netns for e in full if e.netns is not None}),
        "per_minute": [
            {"minute": round(m, 0), "table_full": f, "suppressed": s}
            for m, f, s in per_minute(events)
        ][-60:],
    }


def advice_json(
    snap: Snapshot,
    tunables,
    ram_bytes: Optional[int],
    drop_rate: Optional[float],
    netns: Optional[str] = None,
) -> dict:
    totals = snap.table.totals if snap.table else None
    advice = advise(
        count=snap.count,
        maximum=snap.max,
        buckets=snap.buckets,
        slab_objsize=tunables.slab_objsize,
        ram_bytes=ram_bytes,
        timeouts=tunables.timeouts,
        top_sources=tuple(totals.top("src", 5)) if totals else (),
        states=dict(totals.top("state", 0)) if totals else None,
        drop_rate=drop_rate,
        entries=totals.entries if totals else None,
        netns=netns,
        legacy=snap.source == "proc-legacy",
    )
    return dataclasses.asdict(advice)


def growers_json(first: Snapshot, second: Snapshot, top: int) -> dict:
    """Sources and destinations ranked by growth between two scans of one --once run."""
    from ctwatch.model.growers import GrowthTracker

    out: dict = {"window": None, "src": [], "dst": []}
    if first.table is None or second.table is None:
        return out
    for dim in ("src", "dst"):
        tracker = GrowthTracker(dim)
        tracker.add(first.taken_at, first.table.totals)
        tracker.add(second.taken_at, second.table.totals)
        covered, rows = tracker.growers(None, top or 10_000)
        out["window"] = round(covered, 3)
        out[dim] = [{"key": k, "count": c, "growth": g} for k, c, g in rows]
    return out
