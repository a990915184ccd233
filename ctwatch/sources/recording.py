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

A recording may come from anyone, so it is read as untrusted input: decompressed lines
are capped (LINE_CAP each, TOTAL_CAP in all: a gzip bomb stops there), a line that is not
a JSON object with a valid time is skipped, and every value is checked by the validators
the live sources use (recording_check.py); an impossible value becomes unknown. Each
such problem is one line shown with the frame it concerns.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections.abc import Iterator, Sequence
from typing import Optional

from ctwatch.sources.base import Counters, Source, SourceError
from ctwatch.sources.reads import open_checked
from ctwatch.sources.recording_check import BadFrame, check_frame, header_label

FORMAT = "ctwatch-recording"
# A raw frame holds at most RECORD_RAW_MAX (5,000) entries, about 2 MB; aggregates are
# a few kB. Frames are kept as their compact JSON text (about what the file decompresses
# to) and decoded one at a time, so TOTAL_CAP is about what a replay holds in memory.
LINE_CAP = 16 << 20
TOTAL_CAP = 512 << 20
# Frames kept: 28 hours at one a second. Loading checks every frame (about 30 us each), so
# a million counters-only frames would take half a minute before the first screen.
FRAME_CAP = 100_000
PIECE = 1 << 20  # read size while skipping an over-long line


class Recorder:
    """Appends frames to a recording file. A write that fails raises SourceError with the
    reason (a full disk); close() never raises, so quitting after a failure is clean."""

    def __init__(self, path: str, label: str, source: str) -> None:
        self.path = path
        try:
            self._f = gzip.open(path, "wt", encoding="utf-8", compresslevel=6)
        except OSError as exc:
            raise SourceError(f"cannot write recording {path}: {exc.strerror or exc}") from None
        self._closed = False
        self._write(
            json.dumps({"format": FORMAT, "version": 1, "label": label, "source": source}) + "\n"
        )

    def _write(self, text: str) -> None:
        try:
            self._f.write(text)
        except (OSError, ValueError) as exc:
            raise self._failed(exc) from None

    def _failed(self, exc: Exception) -> SourceError:
        reason = getattr(exc, "strerror", None) or str(exc)
        return SourceError(f"recording to {self.path} stopped: {reason}")

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
        self._write(json.dumps(frame, separators=(",", ":")) + "\n")

    def flush(self) -> None:
        try:
            self._f.flush()
        except (OSError, ValueError) as exc:
            raise self._failed(exc) from None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._f.close()  # writes the gzip trailer: fails again on a full disk
        except (OSError, ValueError):
            pass  # the file is closed all the same; the failure was already shown


class Frames(Sequence):
    """Checked frames, kept as compact JSON text (their checked form, so at most four
    levels deep) and decoded one at a time when asked for."""

    def __init__(self) -> None:
        self._lines: list = []
        self._notes: dict = {}  # index -> problems found around that frame while loading
        self._cache: tuple = (None, None)

    def add(self, frame: dict, problems: list) -> None:
        frame["errors"] = problems
        self._lines.append(json.dumps(frame, separators=(",", ":")).encode())

    def note(self, problem: str, index: Optional[int] = None) -> None:
        """A problem shown with frame `index` (default: the next frame added)."""
        index = len(self._lines) if index is None else index
        self._notes.setdefault(index, []).append(problem)

    def finish(self) -> None:
        """Problems after the last frame are shown with the last frame."""
        tail = self._notes.pop(len(self._lines), [])
        if tail and self._lines:
            self._notes.setdefault(len(self._lines) - 1, []).extend(tail)

    def __len__(self) -> int:
        return len(self._lines)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self._lines)
        if not 0 <= index < len(self._lines):
            raise IndexError("frame index out of range")
        if self._cache[0] == index:
            return self._cache[1]
        frame = json.loads(self._lines[index])
        frame["errors"] = tuple(self._notes.get(index, ())) + tuple(frame["errors"])
        self._cache = (index, frame)
        return frame


def _lines(f) -> Iterator[tuple]:
    """(line number, line or None if too long, decompressed bytes so far) from a gzip file."""
    total = 0
    number = 0
    while True:
        line = f.readline(LINE_CAP + 1)
        if not line:
            return
        number += 1
        total += len(line)
        if len(line) > LINE_CAP:
            line = None
            while total <= TOTAL_CAP:  # skip the rest without keeping it
                more = f.readline(PIECE)
                total += len(more)
                if not more or more.endswith(b"\n"):
                    break
        yield number, line, total


def _decode(line: bytes):
    try:
        return json.loads(line)
    except RecursionError:
        raise BadFrame("nested too deeply") from None
    except ValueError as exc:  # also UnicodeDecodeError
        raise BadFrame(f"not JSON ({str(exc)[:60]})") from None


def load_recording(path: str) -> tuple:
    """(header, Frames). A truncated tail, bad lines and the size caps cost frames, each
    with a reason shown beside a frame; SourceError (one line) if nothing is usable."""
    frames = Frames()
    header = None
    skipped = 0
    try:
        # A FIFO or a device given as a recording would block or never end: refused.
        raw = os.fdopen(open_checked(path), "rb")
        with raw, gzip.GzipFile(fileobj=raw, mode="rb") as f:
            for number, line, total in _lines(f):
                if len(frames) >= FRAME_CAP:
                    frames.note(
                        f"recording: stopped reading at {FRAME_CAP:,} frames; "
                        "later frames are not replayed",
                        len(frames) - 1,
                    )
                    break
                if total > TOTAL_CAP:
                    frames.note(
                        f"recording: stopped reading at {TOTAL_CAP >> 20} MiB (decompressed); "
                        "later frames are not replayed",
                        len(frames) - 1,
                    )
                    break
                if header is None:
                    header = _header(path, line)
                    continue
                try:
                    if line is None:
                        raise BadFrame(f"longer than {LINE_CAP >> 20} MiB")
                    frame, problems = check_frame(_decode(line))
                except BadFrame as exc:
                    skipped += 1
                    frames.note(f"recording line {number} skipped: {exc}")
                    continue
                frames.add(frame, [f"recording line {number}: {p}" for p in problems])
    except (OSError, EOFError, zlib.error) as exc:
        if header is None:
            raise SourceError(f"cannot read recording {path}: {_reason(exc)}") from None
        # A recording cut off mid-write (ctwatch killed) replays up to its last whole frame.
        frames.note(f"recording cut off here: {_reason(exc)}", len(frames) - 1)
    frames.finish()
    if header is None or not len(frames):
        more = f" ({skipped} bad lines skipped)" if skipped else ""
        raise SourceError(f"{path} holds no recorded frames{more}")
    return header, frames


def _header(path: str, line: Optional[bytes]) -> dict:
    try:
        header = _decode(line) if line is not None else None
    except BadFrame:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise SourceError(f"{path} is not a ctwatch recording")
    return header


def _reason(exc: BaseException) -> str:
    return (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).splitlines()[0][:120]


class ReplaySource(Source):
    """Plays a recording frame by frame; `advance()` moves on, `seek()` jumps, loops at the end."""

    name = "replay"

    def __init__(self, path: str, loop: bool = True) -> None:
        header, self.frames = load_recording(path)
        self.label = f"replay of {header_label(header) or '?'} ({path})"
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
            count=f["count"],
            max=f["max"],
            buckets=f["buckets"],
            stats=dict(f["stats"]),
            errors=f["errors"],
        )

    @property
    def t(self) -> float:
        return self.frame["t"]

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
