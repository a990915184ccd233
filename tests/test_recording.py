"""Recordings round-trip: raw small tables and aggregated big ones replay as they were."""

from __future__ import annotations

import gzip
import json

import pytest

from ctwatch.engine.snapshot import take_snapshot
from ctwatch.model.recorded import scan_to_record
from ctwatch.model.scan import scan_table
from ctwatch.sources.base import Counters, SourceError
from ctwatch.sources.recording import Recorder, ReplaySource

LINE = (
    "ipv4     2 tcp      6 {t} SYN_RECV src=10.0.{a}.{b} dst=192.0.2.1 sport=4{b:04d} dport=80 "
    "src=192.0.2.1 dst=10.0.{a}.{b} sport=80 dport=4{b:04d} mark=0 use=1\n"
)


def table(n: int) -> bytes:
    return "".join(LINE.format(t=59, a=i // 250, b=i % 250) for i in range(n)).encode()


def test_raw_and_aggregated_frames_replay(tmp_path):
    path = str(tmp_path / "rec.jsonl.gz")
    rec = Recorder(path, "lab", "proc")
    small, big = table(30), table(3000)
    rec.write(100.0, Counters(count=30, max=100, buckets=64, stats={"drop": 0}), table=small)
    rec.write(
        101.0,
        Counters(count=3000, max=3000, stats={"drop": 7}),
        scan=scan_to_record(scan_table([big])),
    )
    rec.write(102.0, Counters(count=3000, max=3000, stats={"drop": 9}))
    rec.close()

    replay = ReplaySource(path, loop=False)
    first = take_snapshot(replay)
    assert first.table.totals.entries == 30
    assert first.table.totals.top("state") == [("SYN_RECV", 30)]
    replay.advance()
    second = take_snapshot(replay)
    live = scan_table([big]).totals
    assert second.table.totals.entries == 3000
    assert second.table.totals.top("src", 5) == live.top("src", 5)
    assert second.table.totals.top("dport") == [("80", 3000)]
    assert second.stats == {"drop": 7}
    replay.advance()
    third = take_snapshot(replay)
    assert third.table is None and third.table_error is None  # counters-only tick
    assert third.count == 3000
    assert replay.advance() is False  # end, no loop


def test_truncated_recording_replays_whole_frames(tmp_path):
    path = tmp_path / "cut.jsonl.gz"
    rec = Recorder(str(path), "lab", "proc")
    for i in range(5):
        rec.write(float(i), Counters(count=i, max=10), table=table(3))
    rec.close()
    data = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(data[: len(data) - 40]))  # cut inside the last frame
    assert len(ReplaySource(str(path)).frames) == 4


def test_not_a_recording_is_a_clear_error(tmp_path):
    bogus = tmp_path / "x.gz"
    bogus.write_bytes(gzip.compress(json.dumps({"hello": 1}).encode() + b"\n"))
    with pytest.raises(SourceError, match="not a ctwatch recording"):
        ReplaySource(str(bogus))
    with pytest.raises(SourceError, match="cannot read recording"):
        ReplaySource(str(tmp_path / "missing.gz"))
    plain = tmp_path / "plain.txt"
    plain.write_text("hello")
    with pytest.raises(SourceError):
        ReplaySource(str(plain))
