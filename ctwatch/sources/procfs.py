"""Readers for procfs: the modern nf_conntrack files and the legacy ip_conntrack ones."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

from ctwatch.sources.base import Counters, Source, SourceError, Tunables, explain_oserror, under
from ctwatch.sources.reads import (
    LARGE_CAP,
    file_chunks,
    read_int,
    read_text,
    table_limits,
)
from ctwatch.sources.stats import StatsError, parse_stats
from ctwatch.sources.values import RefusedValue, parse_uint

NF = "/proc/sys/net/netfilter"
TIMEOUT_PREFIX = "nf_conntrack_"
MAX_TIMEOUT_FILES = 200  # a kernel has about 30; a hostile tree could hold millions
SLAB_OBJSIZE_MAX = 65536  # bytes per entry: 256-400 in practice


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
        self._sizes: Optional[tuple] = None  # (max, count) last read: caps the table read
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
        if self._sizes is None:
            self.read_counters()
        maximum, count = self._sizes
        return file_chunks(self.table_path, "conntrack table", table_limits(maximum, count))

    def read_counters(self) -> Counters:
        errors = []
        stats: dict = {}
        stats_path = self._path(self._net(self.layout.stats))
        try:
            stats = parse_stats(read_text(stats_path, LARGE_CAP))
        except OSError as exc:
            errors.append(explain_oserror(stats_path, exc, "conntrack stats"))
        except SourceError as exc:
            errors.append(str(exc))
        except StatsError as exc:
            errors.append(f"{stats_path}: {exc}")
        count = None
        if self.pid is not None:
            count = stats.get("entries")
        else:
            count = self._first_int((self.layout.count,), errors)
        maximum = self._first_int(self.layout.max, errors)
        self._sizes = (maximum, count)
        return Counters(
            count=count,
            max=maximum,
            buckets=self._first_int(self.layout.buckets, errors, quiet=True),
            stats=stats,
            errors=tuple(errors),
        )

    def _first_int(self, paths: tuple, errors: list, quiet: bool = False) -> Optional[int]:
        """The first of `paths` that exists. A missing or unreadable one falls through to
        the next, quietly when a later one answers (or `quiet`). A refused one (a FIFO,
        `-1`) makes the value unknown and is reported: another file that disagrees with
        it would only be a guess about which of the two the kernel meant."""
        first_error = None
        for p in paths:
            path = self._path(p)
            try:
                return read_int(path)
            except OSError as exc:
                first_error = first_error or explain_oserror(path, exc)
            except SourceError as exc:
                errors.append(str(exc))
                return None
        if first_error and not quiet:
            errors.append(first_error)
        return None

    def read_tunables(self) -> Tunables:
        timeouts = {}
        errors = []
        tdir = self._path(self.layout.timeouts_dir)
        names = []
        try:
            with os.scandir(tdir) as listing:
                for entry in listing:
                    if "timeout" in entry.name:
                        names.append(entry.name)
                        if len(names) >= MAX_TIMEOUT_FILES:
                            break
        except OSError as exc:
            errors.append(explain_oserror(tdir, exc))
        for n in sorted(names):
            try:
                timeouts[n.replace(TIMEOUT_PREFIX, "").replace("ip_conntrack_", "")] = read_int(
                    os.path.join(tdir, n)
                )
            except OSError:
                continue  # a timeout we cannot read is simply not shown
            except SourceError as exc:
                errors.append(str(exc))  # one we refuse (a FIFO, `-1`) is said
        return Tunables(
            timeouts=timeouts, slab_objsize=self._slab_objsize(errors), errors=tuple(errors)
        )

    def _slab_objsize(self, errors: list) -> Optional[int]:
        path = self._path("/proc/slabinfo")
        try:
            text = read_text(path, LARGE_CAP)
        except OSError:
            return None  # root only; the advice falls back to a typical size
        except SourceError as exc:
            errors.append(str(exc))
            return None
        for line in text.splitlines():
            parts = line.split()
            if parts and parts[0] in ("nf_conntrack", "ip_conntrack") and len(parts) > 3:
                try:
                    size = parse_uint(parts[3], SLAB_OBJSIZE_MAX)
                except RefusedValue as exc:
                    errors.append(f"{path}: {parts[0]} object size {exc}; treated as unknown")
                    return None
                return size or None
        return None


def detect_layout(root: str) -> Optional[Layout]:
    """The layout whose files exist under root (modern first), or None."""
    for layout in (MODERN, LEGACY):
        if any(os.path.exists(under(root, p)) for p in (layout.table, layout.count)):
            return layout
    return None
