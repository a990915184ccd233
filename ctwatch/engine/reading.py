"""What the monitor reads with: the real clocks, and a source wrapper a poll can stop."""

from __future__ import annotations

import resource
import time
from typing import Callable, Optional

from ctwatch.sources.base import Source

PIECE = 64 * 1024  # bytes parsed per GIL hold (see StoppableSource.table_chunks)


class PollCancelled(Exception):
    """The caller asked the poll to stop (the app is quitting)."""


class SystemClock:
    """The real clocks; tests pass an object with the same three methods. cpu() counts
    this thread and every reaped child (the `cat` reading the table: most of a scan)."""

    monotonic = staticmethod(time.monotonic)
    wall = staticmethod(time.time)

    @staticmethod
    def cpu() -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.thread_time() + children.ru_utime + children.ru_stime


class StoppableSource(Source):
    """Passes a source through, checking between chunks whether to give up."""

    def __init__(
        self,
        inner: Source,
        should_stop: Callable,
        share_gil: bool = True,
        capture: bool = False,
        between: Optional[Callable] = None,
    ) -> None:
        self.inner, self.should_stop, self.share_gil = inner, should_stop, share_gil
        self.between = between  # called between pieces: the monitor keeps its tick
        self.name, self.label = inner.name, inner.label
        self._counters = None
        # The raw text of the first table read, for a recording of a small table.
        self.capture = capture
        self.raw: Optional[list] = None

    def read_counters(self):
        # Read once per poll: the scan's snapshot reuses the counters read just before.
        if self._counters is None:
            self._counters = self.inner.read_counters()
        return self._counters

    def has_table(self) -> bool:
        return self.inner.has_table()

    def recorded_scan(self):
        return self.inner.recorded_scan()

    def read_tunables(self):
        return self.inner.read_tunables()

    def table_chunks(self):
        chunks = self.inner.table_chunks()
        try:
            raw = None
            if self.capture and self.raw is None:  # only the first read (not SNAT's)
                raw = self.raw = []
            for chunk in chunks:
                if raw is not None:
                    raw.append(chunk)
                # Parsing holds the GIL for as long as one regex pass over a piece takes
                # (C code cannot be interrupted): small pieces, handing the GIL over
                # between them, keep keypress-to-repaint short while a big table is
                # scanned (1M entries, scans back to back: max 144 -> 88 ms, p95 60 -> 55).
                for start in range(0, len(chunk), PIECE):
                    if self.should_stop():
                        raise PollCancelled()
                    yield chunk[start : start + PIECE]
                    if self.between is not None:
                        self.between()
                    if self.share_gil:
                        time.sleep(0)  # let a waiting UI thread in now, not 5 ms on
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # kills the reading child when we stop early
