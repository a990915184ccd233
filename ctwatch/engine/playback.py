"""Playback: the one place where pause, seek and speed live; and the monitor's recording side.

Every Monitor has a Playback. Live, `paused` freezes the display while polling and
history go on (bottom's freeze). In a replay, `paused` holds the frame, and seek and speed
move through the recording. The UI only calls these methods; the poll applies them on the
worker thread, and each Answers carries a PlaybackState for the screens to show.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Optional

from ctwatch.engine.reading import StoppableSource
from ctwatch.engine.snapshot import Snapshot
from ctwatch.model.recorded import scan_to_record
from ctwatch.sources.base import Counters, SourceError

log = logging.getLogger("ctwatch")

RECORD_RAW_MAX = 5000  # tables up to this size are recorded verbatim, bigger ones aggregated
SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass(frozen=True)
class PlaybackState:
    """What the screens show of the playback: a replay's frame and speed, and the pause."""

    paused: bool = False
    replay: bool = False
    position: int = 0  # frame index, in a replay
    frames: int = 0
    speed: float = 1.0


class Playback:
    """Pause for every source; seek and speed for a recording (a source with `frames`)."""

    def __init__(self, source=None) -> None:
        self._source = source if hasattr(source, "frames") else None
        self._lock = threading.Lock()
        self._paused = False
        self._speed = SPEEDS.index(1.0)
        self._seek_to: Optional[int] = None
        self.base_interval = base_interval(self._source) if self._source else 1.0

    @property
    def replay(self) -> bool:
        return self._source is not None

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def speed(self) -> float:
        return SPEEDS[self._speed]

    @property
    def interval(self) -> float:
        """The poll interval that plays the recording at this speed."""
        return self.base_interval / self.speed

    def toggle_pause(self) -> bool:
        with self._lock:
            self._paused = not self._paused
            return self._paused

    def set_paused(self, paused: bool) -> None:
        with self._lock:
            self._paused = paused

    def seek(self, index: int) -> None:
        """Go to frame `index` (negative: from the end) at the next poll."""
        if self._source is None:
            return
        frames = len(self._source.frames)
        with self._lock:
            self._seek_to = min(max(0, index % frames if index < 0 else index), frames - 1)

    def step(self, frames: int) -> None:
        if self._source is not None:
            target = self._seek_to if self._seek_to is not None else self._source.position
            self.seek(max(0, target + frames))

    def change_speed(self, direction: int) -> float:
        with self._lock:
            self._speed = max(0, min(len(SPEEDS) - 1, self._speed + direction))
            return self.speed

    # ---- on the worker thread ----
    def take_seek(self) -> bool:
        """Apply a pending seek (the poll then starts rates and history over)."""
        with self._lock:
            index, self._seek_to = self._seek_to, None
        if index is None or self._source is None:
            return False
        self._source.seek(index)
        return True

    def after_poll(self) -> None:
        """A replay moves on one recorded frame per poll, unless paused."""
        if self._source is not None and not self._paused:
            self._source.advance()

    def state(self) -> PlaybackState:
        if self._source is None:
            return PlaybackState(paused=self._paused)
        return PlaybackState(
            paused=self._paused,
            replay=True,
            position=self._source.position,
            frames=len(self._source.frames),
            speed=self.speed,
        )


def base_interval(source) -> float:
    """Seconds between recorded frames (the median), the 1x playback interval."""
    frames = getattr(source, "frames", None) or []
    gaps = sorted(
        b.get("t", 0) - a.get("t", 0)
        for a, b in zip(frames, frames[1:])
        if b.get("t", 0) > a.get("t", 0)
    )
    if not gaps:
        return 1.0
    return min(60.0, max(0.1, round(gaps[len(gaps) // 2], 1)))  # 1.002 s reads as 1 s


class PlaybackMixin:
    """Part of Monitor (source, history, recorder, _last_stats and request_scan are its)."""

    def _rate_time(self, now: float) -> float:
        """A replay's rates run on the recorded clock, whatever the playback speed."""
        recorded = getattr(self.source, "t", None)
        return float(recorded) if isinstance(recorded, (int, float)) else now

    def _taken_at(self) -> float:
        """When a reading was taken: now, or in a replay the frame's recorded time."""
        return self._rate_time(self.clock.wall())

    def _apply_seek(self) -> bool:
        """A seek asked for since the last poll: rates, history and growth start over
        at the new frame, and it is scanned at once. True when one was applied."""
        if not self.playback.take_seek():
            return False
        self._last_stats = None
        self._last_rates = {}
        self.history.clear()
        self.incident.restart()
        return True

    def _record(self, snap: Optional[Snapshot], source: StoppableSource, scanned: bool) -> None:
        if self.recorder is None or snap is None:
            return
        table = scan = None
        if scanned and snap.table is not None:
            if source.raw is not None and snap.table.totals.entries <= RECORD_RAW_MAX:
                table = b"".join(source.raw)
            else:
                scan = scan_to_record(snap.table)
        try:
            self.recorder.write(
                snap.taken_at,
                Counters(snap.count, snap.max, snap.buckets, dict(snap.stats)),
                table=table,
                scan=scan,
            )
            self.recorder.flush()  # every poll: a full disk shows at once, not at quit
        except Exception as exc:  # a full disk stops the recording, not the monitor
            if isinstance(exc, SourceError):  # logged with the sample's other problems
                self.record_error = str(exc)
            else:
                log.exception("recording")
                self.record_error = f"recording stopped: {exc.__class__.__name__}: {exc}"
            recorder, self.recorder = self.recorder, None
            recorder.close()  # never raises; frees the file
