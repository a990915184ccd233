"""`--once`: the live monitor's engine, polled twice (the rates need two readings) or at a
recording's last frame with a table; the faces render the Answers like any other."""

from __future__ import annotations

import time
from typing import Optional

from ctwatch.engine.answers import Answers
from ctwatch.engine.incident import incident_tracker
from ctwatch.engine.monitor import Monitor
from ctwatch.engine.namespaces import NamespaceWatch, with_namespaces
from ctwatch.engine.switching import watched_at_start
from ctwatch.model.filters import Filter
from ctwatch.sources.base import Source, SourceError

# Below this, two readings are too close for a rate (a scan in between is no wait).
MIN_RATE_WINDOW = 0.01


def once_monitor(
    source: Source,
    filt: Optional[Filter],
    *,
    top: int,
    kernel_log=None,
    root: str = "/",
    snat: bool = False,
    wall=time.time,
) -> Monitor:
    """A monitor for one answer: every row asked for (`top` 0: all), no CPU budget to wait
    for, subnets always, SNAT when asked, no socket owners (nothing is drilled into)."""
    incident = incident_tracker(source, kernel_log, root, rows=top, subnet_rows=top)
    incident.want_subnets = True
    incident.want_snat = snat
    incident.want_owners = False
    monitor = Monitor(
        source,
        filt,
        cpu_budget=1.0,
        panel_rows=top,
        incident=incident,
        netns=getattr(source, "netns", None),
        min_rate_span=MIN_RATE_WINDOW,
        watched=watched_at_start(source, root),
        root=root,
    )
    return monitor


def answer_once(
    monitor: Monitor,
    *,
    rate_window: float = 1.0,
    rescan: bool = False,
    sleep=time.sleep,
    namespaces: Optional[NamespaceWatch] = None,
) -> Answers:
    """Scan once; then, after `rate_window` seconds from the first reading, read the
    counters again (and the table again with `rescan`: the growers compare the two scans).
    A scan longer than the window is not waited twice. With `namespaces`, every network
    namespace is listed at both readings too (their drop rates need two)."""
    if namespaces is not None and rate_window > 0:
        # Their first reading comes before the scan, so that a long scan widens the span
        # of their rates instead of squeezing it to the few ms between two listings.
        namespaces.poll()
    first = monitor.poll(scan=True, share_gil=False)
    if rate_window <= 0:
        if namespaces is not None:
            first = with_namespaces(first, namespaces)
        return first
    taken = first.snapshot.taken_at if first.snapshot else monitor.clock.wall()
    wait = taken + rate_window - monitor.clock.wall()
    if wait > 0:
        sleep(wait)
    second = monitor.poll(scan=rescan, share_gil=False)
    if namespaces is not None:
        second = with_namespaces(second, namespaces)
    return second


def answer_recording(monitor: Monitor) -> Optional[Answers]:
    """The Answers of the recording's last frame that holds a table scan, or None."""
    source = monitor.source
    frames = len(source.frames)
    for index in range(frames - 1, -1, -1):
        source.seek(index)
        if not source.has_table():
            continue
        monitor.playback.set_paused(True)  # stay on this frame: a poll would move it on
        answers = monitor.poll(scan=True, share_gil=False)
        if answers.scanned:
            return answers
    return None


__all__ = [
    "Answers",
    "NamespaceWatch",
    "SourceError",
    "answer_once",
    "answer_recording",
    "once_monitor",
]
