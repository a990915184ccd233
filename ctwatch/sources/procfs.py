"""Readers for procfs: the modern nf_conntrack files and the legacy ip_conntrack ones."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

from ctwatch.sources.base import (
    Counters,
    Source,
    SourceError,
    Tunables,
    explain_oserror,
    file_chunks,
    read_int,
    read_text,
    under,
)
from ctwatch.sources.stats import StatsError, parse_stats

NF = "/proc/sys/net/netfilter"
TIMEOUT_PREFIX = "nf_conntrack_"


@dataclass(frozen=True)
class Layout:
    """Where one generation of the kernel keeps each file."""

    name: str
    table: str
    stats: str
    count: str
    max: tuple  # first readable wins
    buckets: tuple
    timeouts_dir: str


MODERN = Layout(
    name="proc",
    table="/proc/net/nf_conntrack",
    stats="/proc/net/stat/nf_conntrack",
    count=f"{NF}/nf_conntrack_count",
    max=(f"{NF}/nf_conntrack_max", "/proc/sys/net/nf_conntrack_max"),
    buckets=(f"{NF}/nf_conntrack_buckets", "/sys/module/nf_conntrack/parameters/hashsize"),
    timeouts_dir=NF,
)
LEGACY = Layout(
    name="proc-legacy",
    table="/proc/net/ip_conntrack",
    stats="/proc/net/stat/ip_conntrack",
    count="/proc/sys/net/ipv4/netfilter/ip_conntrack_count",
    max=("/proc/sys/net/ipv4/netfilter/ip_conntrack_max",),
    buckets=(
        "/proc/sys/net/ipv4/netfilter/ip_conntrack_buckets",
        "/sys/module/ip_conntrack/parameters/hashsize",
    ),
    timeouts_dir="/proc/sys/net/ipv4/netfilter",
)


class ProcSource(Source):
    """The table and counters of one network namespace, read from procfs under `root`.

    With `pid`, the table and stats come from /proc/PID/net (that process's namespace).
    /proc/sys always answers for the reader's own namespace, so the count then comes from
    the stats file's `entries` column, which the kernel keeps per namespace; max and the
    bucket count are global anyway.
    """

    def __init__(
        self,
        root: str = "/",
        layout: Layout = MODERN,
        pid: Optional[int] = None,
        net_dir: Optional[str] = None,
    ) -> None:
        self.root = root
        self.layout = layout
        self.pid = pid
        # net_dir replaces /proc/net (a netns reader thread uses /proc/thread-self/net).
        self.net_dir = net_dir or (f"/proc/{pid}/net" if pid else "/proc/net")
        self.name = layout.name
        where = f"pid {pid}" if pid else ""
        self.label = self._path(self._net(layout.table)) + (f" ({where})" if where else "")

    def _path(self, path: str) -> str:
        return under(self.root, path)

    def _net(self, path: str) -> str:
        return self.net_dir + path[len("/proc/net") :]

    @property
    def table_path(self) -> str:
        return self._path(self._net(self.layout.table))

    def table_chunks(self) -> Iterator[bytes]:
        return file_chunks(self.table_path, "conntrack table")

    def table_problem(self) -> Optional[str]:
        # Opening is enough to learn about ENOENT/EACCES; no need to read 40 MB.
        try:
            with open(self.table_path, "rb"):
                return None
        except OSError as exc:
            return explain_oserror(self.table_path, exc, "conntrack table")

    def read_counters(self) -> Counters:
        errors = []
        stats: dict = {}
        stats_path = self._path(self._net(self.layout.stats))
        try:
            stats = parse_stats(read_text(stats_path))
        except OSError as exc:
            errors.append(explain_oserror(stats_path, exc, "conntrack stats"))
        except StatsError as exc:
            errors.append(f"{stats_path}: {exc}")
        count = None
        if self.pid is not None:
            count = stats.get("entries")
        else:
            count = self._first_int((self.layout.count,), errors)
        return Counters(
            count=count,
            max=self._first_int(self.layout.max, errors),
            buckets=self._first_int(self.layout.buckets, errors, quiet=True),
            stats=stats,
            errors=tuple(errors),
        )

    def _first_int(self, paths: tuple, errors: list, quiet: bool = False) -> Optional[int]:
        first_error = None
        for p in paths:
            path = self._path(p)
            try:
                return read_int(path)
            except OSError as exc:
                first_error = first_error or explain_oserror(path, exc)
            except SourceError as exc:
                first_error = first_error or str(exc)
        if first_error and not quiet:
            errors.append(first_error)
        return None

    def read_tunables(self) -> Tunables:
        timeouts = {}
        errors = []
        tdir = self._path(self.layout.timeouts_dir)
        try:
            names = sorted(n for n in os.listdir(tdir) if "timeout" in n)
        except OSError as exc:
            names = []
            errors.append(explain_oserror(tdir, exc))
        for n in names:
            try:
                timeouts[n.replace(TIMEOUT_PREFIX, "").replace("ip_conntrack_", "")] = read_int(
                    os.path.join(tdir, n)
                )
            except (OSError, SourceError):
                continue  # a timeout we cannot read is simply not shown
        return Tunables(
            timeouts=timeouts, slab_objsize=self._slab_objsize(errors), errors=tuple(errors)
        )

    def _slab_objsize(self, errors: list) -> Optional[int]:
        path = self._path("/proc/slabinfo")
        try:
            text = read_text(path)
        except OSError:
            return None  # root only; the advice falls back to a typical size
        for line in text.splitlines():
            parts = line.split()
            if parts and parts[0] in ("nf_conntrack", "ip_conntrack") and len(parts) > 3:
                try:
                    return int(parts[3])
                except ValueError:
                    errors.append(f"{path}: unexpected {parts[0]} line")
        return None


def detect_layout(root: str) -> Optional[Layout]:
    """The layout whose files exist under root (modern first), or None."""
    for layout in (MODERN, LEGACY):
        if any(os.path.exists(under(root, p)) for p in (layout.table, layout.count)):
            return layout
    return None
