"""The conntrack(8) tool as a source, for kernels built without the procfs table."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Optional

from ctwatch.sources.base import Counters, Source, SourceError
from ctwatch.sources.procfs import MODERN, ProcSource
from ctwatch.sources.reads import bounded, command_chunks, command_text, table_limits
from ctwatch.sources.values import U64_MAX, RefusedValue, parse_uint


def parse_conntrack_stats(text: str) -> dict:
    """Sum `conntrack -S` lines (`cpu=0 found=0 invalid=12 ...`) by counter name."""
    totals: dict = {}
    for line in text.splitlines():
        for token in line.split():
            key, sep, value = token.partition("=")
            if sep and key != "cpu":
                try:
                    number = parse_uint(value, U64_MAX)
                except RefusedValue:
                    continue  # not a counter (conntrack prints a few words too)
                totals[key] = totals.get(key, 0) + number
    return totals


class ConntrackSource(Source):
    """`conntrack -L -o extended` for the table; count/max from /proc/sys when readable."""

    name = "conntrack"

    def __init__(self, root: str = "/", binary: Optional[str] = None) -> None:
        self.binary = binary or shutil.which("conntrack") or "conntrack"
        self.label = "conntrack -L"
        self._proc = ProcSource(root, MODERN)
        self._sizes: Optional[tuple] = None  # (max, count) last read: caps the table read

    def table_chunks(self) -> Iterator[bytes]:
        if self._sizes is None:
            self.read_counters()
        limits = table_limits(*self._sizes)
        argv = [self.binary, "-L", "-o", "extended"]
        return bounded(
            command_chunks(argv, "conntrack -L", deadline=limits.deadline), "conntrack -L", limits
        )

    def read_counters(self) -> Counters:
        from_proc = self._proc.read_counters()
        stats = from_proc.stats
        errors = list(from_proc.errors)
        if not stats:
            try:
                stats = parse_conntrack_stats(command_text([self.binary, "-S"], "conntrack -S"))
                errors = [e for e in errors if "stats" not in e]
            except SourceError as exc:
                errors.append(str(exc))
        count = from_proc.count
        if count is None:
            try:
                count = parse_uint(command_text([self.binary, "-C"], "conntrack -C"))
                errors = [e for e in errors if "count" not in e]
            except SourceError as exc:
                errors.append(str(exc))
            except RefusedValue as exc:
                errors.append(f"conntrack -C: {exc}; treated as unknown")
        self._sizes = (from_proc.max, count)
        return Counters(
            count=count,
            max=from_proc.max,
            buckets=from_proc.buckets,
            stats=stats,
            errors=tuple(errors),
        )

    def read_tunables(self):
        return self._proc.read_tunables()
