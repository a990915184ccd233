"""Recorded sessions: write every poll to a file, and play one back as a source.

Format (one gzip-compressed JSON object per line, so a cut-off file still replays up to
its last whole frame):
  {"format": "ctwatch-recording", "version": 1, "label": ..., "source": ...}   (header)
  {"t": wall_time, "count": N, "max": N, "buckets": N, "stats": {...},
   "table": "<raw table text>" | absent, "scan": {aggregated scan} | absent}  (frames)
A small table is kept verbatim (what the kernel printed), so replay runs the very parser
and aggregation a live session runs. A big one is kept as the scan's aggregates (top
rows of every breakdown, see model/recorded.py): 250k raw entries are 40 MB a frame,
their aggregates a few kB, which keeps an hour at 1 s under 50 MB. A frame without
either is a counters-only tick (the table was not rescanned that second).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Optional

from ctwatch.sources.base import Counters, Source, SourceError

FORMAT = "ctwatch-recording"


class Recorder:
    """Appends frames to a recording file."""

    def __init__(self, path: str, label: str, source: str) -> None:
        self.path = path
        try:
            self._f = gzip.open(path, "wt", encoding="utf-8", compresslevel=6)
        except OSError as exc:
            raise SourceError(f"cannot write recording {path}: {exc.strerror or exc}") from None
        self._f.write(
            json.dumps({"format": FORMAT, "version": 1, "label": label, "source": source}) + "\n"
        )

    def write(
        self,
        t: float,
        counters: Counters,
        table: Optional[bytes] = None,
        scan: Optional[dict] = None,
    ) -> None:
        frame: dict = {
            "t": round(t, 3),
            "count": counters.count,
            "max": counters.max,
            "buckets": counters.buckets,
            "stats": counters.stats,
        }
        if table is not None:
            frame["table"] = table.decode("ascii", "replace")
        elif scan is not None:
            frame["scan"] = scan
        self._f.write(json.dumps(frame, separators=(",", ":")) + "\n")

    def flush(self) -> None:
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def load_recording(path: str) -> tuple:
    """(header, frames). Stops quietly at a truncated tail; SourceError if nothing is usable."""
    frames = []
    header = None
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                try:
                    obj = json.loads(line)
                except ValueError:
                    break
                if header is None:
                    if obj.get("format") != FORMAT:
                        raise SourceError(f"{path} is not a ctwatch recording")
                    header = obj
                else:
                    frames.append(obj)
    except (OSError, EOFError) as exc:
        if header is None:
            raise SourceError(f"cannot read recording {path}: {exc}") from None
        # A recording cut off mid-write (ctwatch killed) replays up to its last whole frame.
    if header is None or not frames:
        raise SourceError(f"{path} holds no recorded frames")
    return header, frames


class ReplaySource(Source):
    """Plays a recording frame by frame; `advance()` moves on, `seek()` jumps, loops at the end."""

    name = "replay"

    def __init__(self, path: str, loop: bool = True) -> None:
        header, self.frames = load_recording(path)
        self.label = f"replay of {header.get('label', '?')} ({path})"
        self.loop = loop
        self.position = 0

    @property
    def frame(self) -> dict:
        return self.frames[self.position]

    def advance(self, steps: int = 1) -> bool:
        """Move on; False when the end was reached and loop is off."""
        target = self.position + steps
        if target >= len(self.frames):
            if not self.loop:
                self.position = len(self.frames) - 1
                return False
            target %= len(self.frames)
        self.position = max(0, target)
        return True

    def seek(self, index: int) -> None:
        self.position = min(max(0, index), len(self.frames) - 1)

    def read_counters(self) -> Counters:
        f = self.frame
        return Counters(
            count=f.get("count"),
            max=f.get("max"),
            buckets=f.get("buckets"),
            stats=dict(f.get("stats") or {}),
        )

    @property
    def t(self) -> float:
        return float(self.frame.get("t", 0.0))

    def recorded_scan(self) -> Optional[dict]:
        """The aggregated scan stored with this frame (big tables), if any."""
        return self.frame.get("scan")

    def has_table(self) -> bool:
        return "table" in self.frame or "scan" in self.frame

    def table_chunks(self) -> Iterator[bytes]:
        table = self.frame.get("table")
        if table is None:
            raise SourceError("no raw table in this recorded frame")
        return iter((table.encode("ascii", "replace"),))
