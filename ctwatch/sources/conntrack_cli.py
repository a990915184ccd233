"""The conntrack(8) tool as a source, for kernels built without the procfs table."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Optional

from ctwatch.sources.base import Counters, Source, SourceError, command_chunks
from ctwatch.sources.procfs import MODERN, ProcSource


def parse_conntrack_stats(text: str) -> dict:
    """Sum `conntrack -S` lines (`cpu=0 found=0 invalid=12 ...`) by counter name."""
    totals: dict = {}
    for line in text.splitlines():
        for token in line.split():
            key, sep, value = token.partition("=")
            if sep and key != "cpu" and value.isdigit():
                totals[key] = totals.get(key, 0) + int(value)
    return totals


class ConntrackSource(Source):
    """`conntrack -L -o extended` for the table; count/max from /proc/sys when readable."""

    name = "conntrack"

    def __init__(self, root: str = "/", binary: Optional[str] = None) -> None:
        self.binary = binary or shutil.which("conntrack") or "conntrack"
        self.label = "conntrack -L"
        self._proc = ProcSource(root, MODERN)

    def table_chunks(self) -> Iterator[bytes]:
        return command_chunks([self.binary, "-L", "-o", "extended"], "conntrack -L")

    def table_problem(self) -> Optional[str]:
        if shutil.which(self.binary) is None:
            return f"conntrack binary not found ({self.binary}): install conntrack-tools"
        return None

    def read_counters(self) -> Counters:
        from_proc = self._proc.read_counters()
        stats = from_proc.stats
        errors = list(from_proc.errors)
        if not stats:
            try:
                text = b"".join(command_chunks([self.binary, "-S"], "conntrack -S")).decode(
                    "ascii", "replace"
                )
                stats = parse_conntrack_stats(text)
                errors = [e for e in errors if "stats" not in e]
            except SourceError as exc:
                errors.append(str(exc))
        count = from_proc.count
        if count is None:
            try:
                text = (
                    b"".join(command_chunks([self.binary, "-C"], "conntrack -C")).decode().strip()
                )
                count = int(text)
                errors = [e for e in errors if "count" not in e]
            except (SourceError, ValueError) as exc:
                errors.append(str(exc))
        return Counters(
            count=count,
            max=from_proc.max,
            buckets=from_proc.buckets,
            stats=stats,
            errors=tuple(errors),
        )

    def read_tunables(self):
        return self._proc.read_tunables()
