"""The advice of one poll: the model's advise() fed from the poll's counters, scan and tunables."""

from __future__ import annotations

import time
from typing import Optional

from ctwatch.model.advice import Advice, NamespaceLoad, advise
from ctwatch.model.trend import drop_rate

RAM_EVERY = 60.0  # seconds between readings of the machine's memory size
_ram: list = [None, -1e18]  # (bytes, monotonic time read)


def ram_bytes() -> Optional[int]:
    """This machine's RAM (psutil), read once a minute; None when it cannot be read."""
    now = time.monotonic()
    if now - _ram[1] >= RAM_EVERY:
        try:
            import psutil

            _ram[0] = int(psutil.virtual_memory().total)
        except Exception:
            _ram[0] = None
        _ram[1] = now
    return _ram[0]


def namespace_loads(view, watched) -> tuple:
    """The listed namespaces as the advice sees them (none when they were not listed)."""
    if view is None:
        return ()
    loads = []
    for row in view.rows:
        if row.kind == "unreachable":
            continue
        if row.kind == "named":
            option = f"--netns {row.name}"
        elif row.kind == "host":
            option = ""
        else:
            option = f"--pid {row.pids[0]}" if row.pids else ""
        loads.append(
            NamespaceLoad(
                name=row.name,
                entries=row.entries,
                drop_rate=row.drops_per_second,
                watch=option,
                watched=watched is not None and row.inode == watched.inode,
            )
        )
    return tuple(loads)


def poll_advice(
    snapshot, scan, rates: dict, tunables, watched=None, namespaces=None
) -> Optional[Advice]:
    """Advice from what one poll knows; None before the counters were ever read.
    `scan` is the poll's ScanView (its top sources and states), or None; `watched` the
    engine's Watched; `namespaces` the poll's NamespacesView, when listed."""
    if snapshot is None:
        return None
    top_sources: tuple = ()
    states = None
    if scan is not None:
        src = sorted(scan.panels["src"].rows, key=lambda r: -r.count)
        top_sources = tuple((r.key, r.count) for r in src[:5])
        states = {r.key: r.count for r in scan.panels["state"].rows}
    return advise(
        count=snapshot.count,
        maximum=snapshot.max,
        buckets=snapshot.buckets,
        slab_objsize=tunables.slab_objsize,
        ram_bytes=ram_bytes(),
        timeouts=tunables.timeouts,
        top_sources=top_sources,
        states=states,
        drop_rate=drop_rate(rates),
        entries=scan.entries if scan else None,
        netns=watched.netns if watched else None,
        enter=watched.enter if watched else None,
        legacy=snapshot.source == "proc-legacy",
        namespaces=namespace_loads(namespaces, watched),
    )
