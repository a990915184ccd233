"""The live monitor's polling state machine: counters every tick, table scans within a CPU budget.

The UI's worker thread calls `Monitor.poll()`; the UI thread only calls the small setters
(focus, sort, interval, baseline), which take effect at the next poll. Nothing here imports
textual, so the scheduling is tested with a fake clock and a fake source.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import replace
from typing import Callable, Optional

from ctwatch.engine.advising import poll_advice
from ctwatch.engine.answers import Answers, Focus, ScanView
from ctwatch.engine.incident import IncidentTracker, IncidentView
from ctwatch.engine.namespaces import Listing
from ctwatch.engine.playback import RECORD_RAW_MAX, Playback, PlaybackMixin
from ctwatch.engine.reading import PollCancelled, StoppableSource, SystemClock
from ctwatch.engine.scan_views import ScanViews
from ctwatch.engine.snapshot import Snapshot, take_snapshot
from ctwatch.engine.switching import Switching, Watched
from ctwatch.model.filters import Filter
from ctwatch.model.history import History
from ctwatch.model.scan import DIMENSIONS
from ctwatch.model.trend import counter_rates, drop_rate, forecast
from ctwatch.sources.base import Source, SourceError
from ctwatch.sources.safe_text import safe_line

log = logging.getLogger("ctwatch")

INTERVALS = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 30.0, 60.0)
REOPEN_AFTER = 5.0  # seconds of a dead source before opening it again
MIN_RATE_SPAN = 0.25  # seconds between two stats readings for a rate


class Monitor(ScanViews, Switching, PlaybackMixin):
    """Owns the source, filter, drill-down focus, history and scan schedule."""

    def __init__(
        self,
        source: Source,
        filt: Optional[Filter] = None,
        *,
        interval: float = 1.0,
        cpu_budget: float = 0.10,
        clock=None,
        panel_rows: int = 100,
        entry_limit: int = 1000,
        history_length: int = 3600,
        reopen: Optional[Callable[[], Source]] = None,
        incident: Optional[IncidentTracker] = None,
        recorder=None,
        netns: Optional[str] = None,
        min_rate_span: float = MIN_RATE_SPAN,
        keep_scan: bool = True,
        watched: Optional[Watched] = None,
        namespaces: Optional[Listing] = None,
        root: str = "/",
    ) -> None:
        if cpu_budget <= 0:
            raise ValueError("cpu_budget must be above 0")
        self.source = source
        self.filt = filt
        self.cpu_budget = cpu_budget  # a fraction of one core
        self.clock = clock or SystemClock()
        self.panel_rows = panel_rows
        self.entry_limit = entry_limit
        self.reopen = reopen
        self.incident = incident or IncidentTracker()
        self.recorder = recorder  # sources.recording.Recorder: every poll is written to it
        self.netns = netns  # the watched namespace's name: the advice's commands enter it
        self.watched = watched or Watched(name=netns or "initial", netns=netns)
        self.listing = namespaces  # every namespace, listed within the budget (live only)
        self.root = root  # where another namespace's files are opened from
        self.keep_home()
        self.min_rate_span = min_rate_span
        # False (the exporter): drop each scan's raw counts once its view is built. No
        # drill-down, pin or delta needs them there, and a 250k-key scan is ~45 MB that
        # would otherwise be held while the next one is counted (peak RSS twice that).
        self.keep_scan = keep_scan
        self.record_error: Optional[str] = None
        self.playback = Playback(source)  # pause; a replay's seek and speed
        # Called from the polling thread with counters-only samples taken while a long
        # scan runs (a 1M-entry table reads for ~3 s), so count and max keep their tick.
        self.on_sample: Optional[Callable[[Answers], None]] = None
        self._counters_at: Optional[float] = None
        self._lock = threading.Lock()
        self._interval = float(interval)
        self._focus: Optional[Focus] = None
        self._sorts = dict.fromkeys(DIMENSIONS, "count")
        self._scan_requested = True
        self._view_stale = False
        self._pin: Optional[bool] = None  # True: pin at the next poll; False: unpin
        self.polls = 0
        self.scans = 0
        self.history_length = history_length
        self._start_afresh()

    def _start_afresh(self) -> None:
        """Everything learnt from one table (at start, and in another namespace).
        Owned by the polling thread from here on."""
        self.history = History(self.history_length)
        self._last_stats: Optional[tuple] = None  # (time, stats) for the rates
        self._last_rates: dict = {}
        self._next_scan_at: Optional[float] = None
        self._current = None  # (TableScan, finished, taken_at, cost, wall, focus)
        self._previous = None  # the scan before it, for rolling deltas
        self._pinned = None  # (wall time, TableScan) while the baseline is pinned
        self._pinned_focus = None  # (Focus, its Breakdown at its first scan after the pin)
        self._view: Optional[ScanView] = None
        self._table_error: Optional[str] = None
        self._focus_history = History(720)
        self._tops: deque = deque(maxlen=120)
        self._dead_since: Optional[float] = None
        self._reopen_error: Optional[str] = None
        self._reported: frozenset = frozenset()
        self._counters_at = None

    # ---- setters, called from the UI thread ----
    @property
    def interval(self) -> float:
        return self._interval

    @property
    def focus(self) -> Optional[Focus]:
        return self._focus

    @property
    def sorts(self) -> dict:
        return dict(self._sorts)

    def set_interval(self, seconds: float) -> float:
        with self._lock:
            self._interval = min(3600.0, max(0.1, float(seconds)))
            return self._interval

    def step_interval(self, direction: int) -> float:
        """The next longer (+1) or shorter (-1) interval on the usual ladder."""
        current = self._interval
        if direction > 0:
            longer = [s for s in INTERVALS if s > current + 1e-9]
            return self.set_interval(longer[0] if longer else current)
        shorter = [s for s in INTERVALS if s < current - 1e-9]
        return self.set_interval(shorter[-1] if shorter else current)

    def set_focus(self, focus: Optional[Focus]) -> None:
        """Drill into `focus` (None: leave); the next poll scans whatever the budget says."""
        with self._lock:
            if focus != self._focus:
                self._focus = focus
                self._scan_requested = focus is not None
                self._view_stale = True

    def toggle_sort(self, dim: str) -> str:
        with self._lock:
            self._sorts[dim] = "name" if self._sorts[dim] == "count" else "count"
            self._view_stale = True
            return self._sorts[dim]

    def pin_baseline(self, pinned: bool = True) -> None:
        """Pinned: changes count from the scan seen now on (the `iptables -Z` idea, but
        nothing in the kernel is touched). Unpinned: from the previous scan."""
        with self._lock:
            self._pin = pinned
            self._view_stale = True
        if pinned:
            self.incident.request_reset()

    def request_scan(self) -> None:
        with self._lock:
            self._scan_requested = True

    # ---- the poll, called from the worker thread ----
    def scan_due(self, now: float) -> bool:
        return self._next_scan_at is None or now >= self._next_scan_at

    def poll(
        self,
        should_stop: Optional[Callable] = None,
        scan: Optional[bool] = None,
        share_gil: bool = True,
    ) -> Answers:
        """Read the counters, and the table when due (`scan` True/False overrides the
        schedule: a first counters-only poll puts numbers on screen at once).
        `share_gil=False` scans flat out (nobody waits for a keypress yet)."""
        if self.take_switch():
            with self._lock:
                self._focus, self._scan_requested, self._pin = None, True, None
            self._start_afresh()
            self.incident.restart_for(self.source)
        if self._apply_seek() and scan is not False:
            self.request_scan()  # a new frame: its table at once
        with self._lock:
            interval, focus, sorts = self._interval, self._focus, dict(self._sorts)
            requested = self._scan_requested and scan is not False
            if scan is not False:
                self._scan_requested = False
            stale, self._view_stale = self._view_stale, False
            pin, self._pin = self._pin, None
        clock = self.clock
        started = clock.monotonic()
        if scan is None:
            scan = requested or self.scan_due(started)
        snap, error, scanned = None, None, False
        small = self.history.last() is None or (self.history.last()[1] or 0) <= RECORD_RAW_MAX
        source = StoppableSource(
            self.source,
            should_stop or (lambda: False),
            share_gil,
            self.recorder is not None and small,
            between=lambda: self._tick_during_scan(source, interval),
        )
        cpu_before = clock.cpu()
        try:
            # Counters first, apart, so that a failing scan still leaves them on screen.
            snap = take_snapshot(source, scan=False, wall=self._taken_at)
            self._counters_at = clock.monotonic()
        except Exception as exc:
            log.exception("reading counters failed")
            error = f"internal error: {exc.__class__.__name__}: {exc} (details in the log)"
        try:
            if scan:
                # The scan before the current one served only the current view's deltas:
                # let it go before counting a new one, so a huge table is held twice at
                # most, not three times (250k distinct keys: ~45 MB a scan).
                self._previous = None
                snap = take_snapshot(
                    source,
                    scan=True,
                    filt=self.filt,
                    focus=focus.filter if focus else None,
                    entry_limit=self.entry_limit,
                    wall=self._taken_at,
                )
            if pin is not None:
                # Pin what the screen shows now, before this poll's scan replaces it.
                pinned = pin and self._current is not None
                self._pinned = (clock.wall(), self._current[0]) if pinned else None
                shown_focus = self._current[5] if pinned else None
                self._pinned_focus = (
                    (shown_focus, self._current[0].focus)
                    if shown_focus is not None and self._current[0].focus is not None
                    else None
                )
                stale = True
            if snap is not None and snap.table is not None:
                self._record_scan(snap, focus, started)
                scanned = stale = True
            elif scan and snap is not None:
                self._table_error = snap.table_error
            if stale and self._current is not None:
                self._view = self._build_view(sorts, focus)
            if scanned:
                self._remember_tops(self._view, snap.table.totals)
                self.incident.on_scan(source, snap.table, snap.taken_at, clock.monotonic())
            if scan:
                # The cost covers the reading child, our parsing and the views built on it.
                cost = max(0.0, clock.cpu() - cpu_before)
                self._schedule(started, clock.monotonic(), cost, interval)
                if scanned:
                    self._current = self._current[:3] + (cost,) + self._current[4:]
                    self._view = replace(self._view, cost=cost)
        except PollCancelled:
            raise
        except Exception as exc:  # a bug here must not stop the monitor: say it, go on
            log.exception("poll failed")
            error = error or f"internal error: {exc.__class__.__name__}: {exc} (details in the log)"
            self._schedule(started, clock.monotonic(), 0.0, interval)
        sample = self._sample(snap, source, scanned, error, interval)
        if scanned and not self.keep_scan:
            self._current = self._previous = None
        self.playback.after_poll()
        return sample

    def _sample(
        self, snap, source, scanned: bool, error: Optional[str], interval: float
    ) -> Answers:
        """The Answers of one reading of the counters: history, rates, incident answers,
        advice; and its recording."""
        now = self.clock.monotonic()
        count = snap.count if snap else None
        self.history.append(now, count)
        rates = self._rates(self._rate_time(now), snap)
        try:
            incident = self.incident.on_tick(source, snap, now)
            namespaces = self._namespaces(now, incident, interval)
            advice = poll_advice(
                snap, self._view, rates, incident.tunables, self.watched, namespaces
            )
        except Exception:
            log.exception("incident answers")
            incident, advice, namespaces = IncidentView(), None, None
        self._record(snap, source, scanned)
        drops = drop_rate(rates) or 0.0
        # No trend on an unknown (refused) count: the last good one may be long stale.
        window = self.history.window(120.0) if count is not None else ()
        known = [(t, v) for t, v in window if v is not None]
        self.polls += 1
        sample = Answers(
            seq=self.polls,
            at=now,
            snapshot=replace(snap, table=None) if snap else None,
            scan=self._view,
            scanned=scanned,
            table_error=self._table_error,
            error=error,
            history=self.history.snapshot(),
            rates=rates,
            forecast=forecast(known, snap.max if snap else None, drop_rate=drops),
            interval=interval,
            next_scan_at=self._next_scan_at,
            baseline_at=self._pinned[0] if self._pinned else None,
            source_label=safe_line(self.source.label),
            incident=incident,
            playback=self.playback.state(),
            record_error=self.record_error,
            advice=advice,
            namespaces=namespaces,
            watched=self.watched,
        )
        self._watch_health(sample, now)
        return sample

    def _namespaces(self, now: float, incident: IncidentView, interval: float):
        if self.listing is None or self.playback.replay:
            return None
        return self.listing.poll(now, incident.kernel, self.cpu_budget, interval)

    def _tick_during_scan(self, source, interval: float) -> None:
        """Between scan pieces: when a tick has passed, read the counters again and hand
        the UI a counters-only sample (the breakdowns stay those of the last scan)."""
        if self.on_sample is None or self._counters_at is None:
            return
        if self.clock.monotonic() - self._counters_at < interval:
            return
        try:
            snap = take_snapshot(self.source, scan=False, wall=self._taken_at)
            self._counters_at = self.clock.monotonic()
            self.on_sample(self._sample(snap, source, False, None, interval))
        except Exception:  # the scan goes on; the poll's own reading reports problems
            log.exception("counters during a scan")
            self._counters_at = self.clock.monotonic()

    def _rates(self, now: float, snap: Optional[Snapshot]) -> dict:
        """Per second since the last reading: each kernel counter, and `growth` (the
        change of the count)."""
        if snap is None or (not snap.stats and snap.count is None):
            return {}
        last = self._last_stats
        if last is not None and now - last[0] < self.min_rate_span:
            # A poll right after another (a key asked for it) or a held replay frame:
            # too short a span to divide by; the rates on screen stay.
            return self._last_rates
        self._last_stats = (now, snap.stats, snap.count)
        if last is None:
            self._last_rates = {}
            return self._last_rates
        rates = counter_rates(last[1], last[0], snap.stats, now)
        if snap.count is not None and last[2] is not None:
            rates["growth"] = (snap.count - last[2]) / (now - last[0])
        self._last_rates = rates
        return rates

    def _schedule(self, started: float, finished: float, cost: float, interval: float) -> None:
        """Next scan no sooner than cost / budget after this one ended, and at most one
        scan per tick (half a tick of slack keeps cheap scans on every tick)."""
        self._next_scan_at = max(started + interval * 0.5, finished + cost / self.cpu_budget)

    def _watch_health(self, sample: Answers, now: float) -> None:
        """Log each new problem once (not every second) and reopen a source that died."""
        problems = frozenset(sample.problems)
        for p in sorted(problems - self._reported):
            log.warning("%s", p)
        if self._reported and not problems:
            log.info("recovered: %s", self.source.label)
        self._reported = problems
        dead = sample.snapshot is None or sample.snapshot.count is None
        if not dead:
            self._dead_since = None
            return
        self._dead_since = self._dead_since if self._dead_since is not None else now
        if self.reopen is not None and now - self._dead_since >= REOPEN_AFTER:
            self._dead_since = now
            try:
                fresh = self.reopen()
            except SourceError as exc:
                if str(exc) != self._reopen_error:  # once per distinct reason, not every 5 s
                    log.info("reopen failed: %s", exc)
                self._reopen_error = str(exc)
                return
            self._reopen_error = None
            log.info("reopened: %s", fresh.label)
            old, self.source = self.source, fresh
            try:
                old.close()
            except Exception:
                log.exception("closing the old source")
