"""What every conntrack source provides: the Source interface, its results and errors."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Optional

from ctwatch.sources.safe_text import safe_line


class SourceError(Exception):
    """A source cannot be read; str() is one line meant for the user, made printable
    here once (it often quotes a path or a value read from outside)."""

    def __str__(self) -> str:
        return safe_line(super().__str__())


@dataclass(frozen=True)
class Counters:
    """The cheap per-tick readings. None where the kernel did not say."""

    count: Optional[int] = None
    max: Optional[int] = None
    buckets: Optional[int] = None
    stats: dict = field(default_factory=dict)
    errors: tuple = ()


@dataclass(frozen=True)
class Tunables:
    """Slowly changing settings: the timeout sysctls and the entry size from slabinfo."""

    timeouts: dict = field(default_factory=dict)
    slab_objsize: Optional[int] = None
    errors: tuple = ()


class Source:
    """A conntrack table and its counters; subclasses fill in the reading."""

    name = "?"  # short id reported in --json "source"
    label = "?"  # where it reads, for humans

    def read_counters(self) -> Counters:
        raise NotImplementedError

    def table_chunks(self) -> Iterator[bytes]:
        """Raw reads of the table text; raises SourceError when it cannot be read."""
        raise NotImplementedError

    def read_tunables(self) -> Tunables:
        return Tunables()

    def has_table(self) -> bool:
        """False when this tick has no table to scan (a counters-only recorded frame)."""
        return True

    def recorded_scan(self) -> Optional[dict]:
        """Already aggregated table (a recording of a big table), else None: scan the text."""
        return None

    def close(self) -> None:
        pass


def under(root: str, path: str) -> str:
    """`path` (absolute, as on a live system) inside the tree at `root`."""
    return os.path.join(root, path.lstrip("/"))


def explain_oserror(path: str, exc: OSError, what: str = "") -> str:
    if exc.errno == errno.ENOENT:
        return f"{what} not found ({path})" if what else f"{path} not found"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied reading {path}: needs root"
    return f"cannot read {path}: {exc.strerror or exc}"
