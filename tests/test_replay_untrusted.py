"""A recording is untrusted input: bad files, frames and values are refused with a reason."""

from __future__ import annotations

import gzip
import json
import random
import tracemalloc

import pytest

from ctwatch.engine.monitor import Monitor
from ctwatch.engine.snapshot import take_snapshot
from ctwatch.sources import recording
from ctwatch.sources.base import Counters, Source, SourceError
from ctwatch.sources.recording import Recorder, ReplaySource

HEADER = {"format": "ctwatch-recording", "version": 1, "label": "lab", "source": "proc"}
GOOD = {"t": 100.0, "count": 30, "max": 100, "buckets": 64, "stats": {"drop": 1}}
LINE = (
    "ipv4     2 tcp      6 59 SYN_RECV src=10.0.0.1 dst=192.0.2.1 sport=40000 dport=80 "
    "src=192.0.2.1 dst=10.0.0.1 sport=80 dport=40000 mark=0 use=1\n"
)


def write_lines(path, lines) -> str:
    with gzip.open(str(path), "wb") as f:
        for line in lines:
            f.write(line if isinstance(line, bytes) else (line + "\n").encode())
    return str(path)


def recording_of(tmp_path, *frames) -> str:
    lines = [json.dumps(HEADER)] + [
        f if isinstance(f, (str, bytes)) else json.dumps(f) for f in frames
    ]
    return write_lines(tmp_path / "rec.jsonl.gz", lines)


def noise(n: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.getrandbits(8) for _ in range(n))


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(gzip.compress(noise(200_000)), id="gzipped-random"),
        pytest.param(noise(5000), id="random"),
        pytest.param(gzip.compress(b"1\n"), id="gzip-of-1"),
        pytest.param(gzip.compress(b"null\n"), id="gzip-of-null"),
        pytest.param(gzip.compress(b"[" * 100_000 + b"\n"), id="deep-nesting"),
        pytest.param(gzip.compress(b""), id="empty"),
        pytest.param(gzip.compress(noise(4000))[:-30], id="gzip-cut"),
    ],
)
def test_garbage_files_are_one_clear_error(tmp_path, content):
    path = tmp_path / "bad.jsonl.gz"
    path.write_bytes(content)
    with pytest.raises(SourceError) as info:
        ReplaySource(str(path))
    assert "\n" not in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize("frame", ["[1]", "null", "1", '"x"', "[" * 50_000, "{bad json"])
def test_non_object_frames_are_skipped_with_a_reason(tmp_path, frame):
    path = recording_of(tmp_path, frame, GOOD)
    source = ReplaySource(path)
    assert len(source.frames) == 1
    c = source.read_counters()
    assert c.count == 30
    assert any("line 2" in e and "skipped" in e for e in c.errors), c.errors


def test_only_bad_frames_is_no_recording(tmp_path):
    path = recording_of(tmp_path, "[1]", "null")
    with pytest.raises(SourceError, match="no recorded frames"):
        ReplaySource(path)


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), -5, True, 2**70, "425", 1.5, [1], {"a": 1}]
)
@pytest.mark.parametrize("key", ["count", "max", "buckets"])
def test_impossible_counter_values_are_unknown(tmp_path, key, value):
    path = recording_of(tmp_path, {**GOOD, key: value})
    c = ReplaySource(path).read_counters()
    assert getattr(c, key) is None
    mine = [e for e in c.errors if key in e]
    assert len(mine) == 1 and "\n" not in mine[0], c.errors


def test_bad_stats_entries_are_dropped(tmp_path):
    stats = {"drop": -1, "insert": "5", "found": 3, "a b\x1b": 1, "early_drop": float("nan")}
    c = ReplaySource(recording_of(tmp_path, {**GOOD, "stats": stats})).read_counters()
    assert c.stats == {"found": 3}
    assert len(c.errors) >= 1 and all("\x1b" not in e for e in c.errors)


@pytest.mark.parametrize("t", [float("nan"), float("inf"), -1.0, "x", None, True])
def test_frame_with_impossible_time_is_skipped(tmp_path, t):
    source = ReplaySource(recording_of(tmp_path, {**GOOD, "t": t}, {**GOOD, "t": 101.0}))
    assert len(source.frames) == 1 and source.t == 101.0


@pytest.mark.parametrize(
    "scan",
    [
        "x",
        [1],
        {"entries": "x"},
        {"entries": 5, "counts": {"src": [[1, 2, 3]]}},
        {"entries": 5, "counts": {"src": [["10.0.0.1", -2]]}},
        {"entries": 5, "counts": "x"},
        {"entries": 5, "expiry": [["a", "b", 3]]},
        {"entries": 5, "scan_seconds": float("nan")},
        {"entries": 5, "bad_lines": -1},
    ],
)
def test_bad_scan_aggregates_are_refused_not_crashing(tmp_path, scan):
    source = ReplaySource(recording_of(tmp_path, {**GOOD, "scan": scan}))
    snap = take_snapshot(source)
    assert snap.table is None and snap.count == 30
    assert any("scan" in e for e in snap.errors), snap.errors


def test_table_that_is_not_text_is_refused(tmp_path):
    snap = take_snapshot(ReplaySource(recording_of(tmp_path, {**GOOD, "table": 5})))
    assert snap.table is None and any("table" in e for e in snap.errors)


def test_good_frames_still_replay(tmp_path):
    source = ReplaySource(recording_of(tmp_path, {**GOOD, "table": LINE * 3}))
    snap = take_snapshot(source)
    assert (snap.count, snap.max, snap.buckets, snap.stats) == (30, 100, 64, {"drop": 1})
    assert snap.table.totals.entries == 3 and snap.errors == ()


def test_gzip_bomb_line_is_skipped_in_bounded_memory(tmp_path):
    path = tmp_path / "bomb.jsonl.gz"
    with gzip.open(str(path), "wb", compresslevel=1) as f:
        f.write((json.dumps(HEADER) + "\n").encode())
        block = b" " * (1 << 20)
        for _ in range(100):  # one 100 MiB line
            f.write(block)
        f.write(b"\n" + json.dumps(GOOD).encode() + b"\n")
    tracemalloc.start()
    try:
        source = ReplaySource(str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 48 << 20, f"peak {peak / 2**20:.0f} MiB"
    assert len(source.frames) == 1
    assert any("longer than" in e for e in source.read_counters().errors)


def test_total_decompressed_size_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(recording, "TOTAL_CAP", 4000)
    path = recording_of(tmp_path, *[{**GOOD, "t": 100.0 + i} for i in range(200)])
    source = ReplaySource(path)
    assert 10 < len(source.frames) < 100
    source.seek(len(source.frames) - 1)
    assert any("stopped reading" in e for e in source.read_counters().errors)


def test_recording_to_a_full_disk_says_why_and_closes_quietly():
    rec = Recorder("/dev/full", "lab", "proc")
    with pytest.raises(SourceError, match="No space left"):
        rec.write(1.0, Counters(count=1, max=2))
        rec.flush()
    rec.close()  # no exception: the gzip trailer cannot be written either
    rec.close()


class Counting(Source):
    name, label = "fake", "fake"

    def __init__(self) -> None:
        self.n = 0

    def read_counters(self) -> Counters:
        self.n += 1
        return Counters(count=self.n, max=1000)

    def table_chunks(self):
        return iter([LINE.encode()])


def test_a_failed_recording_shows_at_once_and_the_monitor_goes_on():
    monitor = Monitor(Counting(), recorder=Recorder("/dev/full", "lab", "proc"))
    first = monitor.poll()
    assert any("record" in p and "No space left" in p for p in first.problems), first.problems
    second = monitor.poll(scan=False)
    assert second.snapshot.count == first.snapshot.count + 1
    assert any("No space left" in p for p in second.problems)  # stays on screen
