"""Headless polling for the exporter: one thread polls the Monitor, scrapes read its latest Answers.

A scrape must never start a table scan (a 250k-entry table costs most of a second of
CPU; ten scrapers would multiply it). So the Monitor is polled by one thread only, each
poll re-armed after the last one ended (polls never overlap, scans keep to the CPU
budget), and a scrape takes the latest Answers plus a fresh reading of the cheap
counters (count, max, buckets, stats: about 0.1 ms), shared by scrapes that come within
COUNTERS_FRESH seconds of each other.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Optional

from ctwatch.engine.answers import Answers
from ctwatch.engine.monitor import Monitor
from ctwatch.engine.namespaces import with_namespaces
from ctwatch.engine.snapshot import Snapshot, take_snapshot

log = logging.getLogger("ctwatch")

# Scrapes this close together share one reading of the counters: ten concurrent
# scrapers then cost one read, and the numbers are still younger than any scrape interval.
COUNTERS_FRESH = 0.2


class PollLoop:
    """Polls `monitor` every `monitor.interval` on its own thread until `stop()`."""

    def __init__(self, monitor: Monitor, clock=time.monotonic, namespaces=None) -> None:
        self.monitor = monitor
        self.namespaces = namespaces  # a NamespaceWatch (--all-netns), listed every poll
        self._clock = clock
        self._stop = threading.Event()
        self._lock = threading.Lock()  # guards the latest Answers and the counters cache
        self._counters_lock = threading.Lock()  # one reading at a time
        self._latest: Optional[Answers] = None
        self._counters: Optional[tuple] = None  # (monotonic, Snapshot)
        self._first = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ctwatch-poll", daemon=True)

    def start(self) -> PollLoop:
        self._thread.start()
        return self

    def poll_once(self) -> Answers:
        """One poll on the calling thread (the first one scans, so numbers exist at once)."""
        answers = self.monitor.poll(scan=None, should_stop=self._stop.is_set)
        if self.namespaces is not None:
            answers = _with_namespaces(answers, self.namespaces)
        with self._lock:
            self._latest = answers
        self._first.set()
        return answers

    def _run(self) -> None:
        while not self._stop.is_set():
            started = self._clock()
            try:
                self.poll_once()
            except Exception:  # PollCancelled at stop; anything else is a bug: log, go on
                if self._stop.is_set():
                    break
                log.exception("poll failed")
            # Re-armed after the poll ended: a slow scan delays the next tick, never doubles it.
            self._stop.wait(max(0.0, self.monitor.interval - (self._clock() - started)))

    def request_stop(self) -> None:
        """Safe from a signal handler: a scan in progress stops at its next piece."""
        self._stop.set()

    def wait_first(self, timeout: float) -> bool:
        return self._first.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def latest(self) -> Optional[Answers]:
        with self._lock:
            return self._latest

    def counters(self) -> Optional[Snapshot]:
        """A fresh reading of count, max, buckets and stats; never the table."""
        with self._counters_lock:
            now = self._clock()
            cached = self._counters
            if cached is not None and now - cached[0] < COUNTERS_FRESH:
                return cached[1]
            try:
                snap = take_snapshot(self.monitor.source, scan=False)
            except Exception:  # a scrape answers with the last poll's counters instead
                log.exception("reading counters for a scrape")
                return None
            self._counters = (now, snap)
            return snap


def _with_namespaces(answers: Answers, watch) -> Answers:
    """A listing that fails outright leaves the host's answers served, the reason logged."""
    try:
        return with_namespaces(answers, watch)
    except Exception:
        log.exception("listing the network namespaces")
        return answers
