"""The monitor's recording and replay side: write each poll to a file, seek a replay, its clock."""

from __future__ import annotations

import logging
from typing import Optional

from ctwatch.engine.reading import StoppableSource
from ctwatch.engine.snapshot import Snapshot
from ctwatch.model.recorded import scan_to_record
from ctwatch.sources.base import Counters, SourceError

log = logging.getLogger("ctwatch")

RECORD_RAW_MAX = 5000  # tables up to this size are recorded verbatim, bigger ones aggregated


class PlaybackMixin:
    """Part of Monitor (source, history, recorder, _last_stats and request_scan are its)."""

    def _rate_time(self, now: float) -> float:
        """A replay's rates run on the recorded clock, whatever the playback speed."""
        recorded = getattr(self.source, "t", None)
        return float(recorded) if isinstance(recorded, (int, float)) else now

    def _taken_at(self) -> float:
        """When a reading was taken: now, or in a replay the frame's recorded time."""
        return self._rate_time(self.clock.wall())

    def _replay_position(self) -> Optional[tuple]:
        frames = getattr(self.source, "frames", None)
        if frames is None:
            return None
        return (self.source.position, len(frames))

    def replay_seek(self, index: int) -> None:
        """Jump to a recorded frame (UI thread); rates and history start over there."""
        seek = getattr(self.source, "seek", None)
        if callable(seek):
            seek(index)
            self._last_stats = None
            self._last_rates = {}
            self.history.clear()
            self.incident.restart()
            self.request_scan()

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
