"""A snapshot: counters read every tick plus, when it ran, the last full table scan."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

from ctwatch.model.filters import Filter
from ctwatch.model.recorded import scan_from_record
from ctwatch.model.scan import TableScan, scan_table
from ctwatch.sources.base import Source, SourceError


@dataclass(frozen=True)
class Snapshot:
    source: str  # which reader: proc, proc-legacy, conntrack, netns
    label: str  # where it reads, for humans
    taken_at: float  # wall clock, seconds since the epoch
    count: Optional[int]
    max: Optional[int]
    buckets: Optional[int]
    stats: dict
    table: Optional[TableScan]  # None when not scanned this time or unreadable
    table_error: Optional[str] = None
    errors: tuple = ()  # one-line problems with the counters

    @property
    def fill(self) -> Optional[float]:
        """count / max; None when either is unknown or max is 0 (no limit)."""
        if self.count is None or not self.max:
            return None
        return self.count / self.max

    @property
    def load_factor(self) -> Optional[float]:
        if self.count is None or not self.buckets:
            return None
        return self.count / self.buckets

    @property
    def problems(self) -> tuple:
        return self.errors + ((self.table_error,) if self.table_error else ())


def take_snapshot(
    source: Source,
    scan: bool = True,
    filt: Optional[Filter] = None,
    focus: Optional[Filter] = None,
    entry_limit: int = 5000,
    wall=time.time,
) -> Snapshot:
    """Read counters (always) and the table (when `scan`); never raises for source trouble."""
    taken = wall()
    try:
        counters = source.read_counters()
    except SourceError as exc:
        counters = None
        counter_errors: tuple = (str(exc),)
    else:
        counter_errors = counters.errors
    table = None
    table_error = None
    if scan and source.has_table():
        recorded = source.recorded_scan()
        try:
            if recorded is not None:
                table = scan_from_record(recorded)
            else:
                table = scan_table(
                    source.table_chunks(), filt=filt, focus=focus, entry_limit=entry_limit
                )
        except SourceError as exc:
            table_error = str(exc)
        except MemoryError:  # the partial counts are freed as this unwinds; go on
            table_error = "the table is too big to scan in the memory ctwatch may use"
    return Snapshot(
        source=source.name,
        label=source.label,
        taken_at=taken,
        count=counters.count if counters else None,
        max=counters.max if counters else None,
        buckets=counters.buckets if counters else None,
        stats=counters.stats if counters else {},
        table=table,
        table_error=table_error,
        errors=counter_errors,
    )
