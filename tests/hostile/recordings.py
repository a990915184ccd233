"""Hostile recordings for --replay: a recording is a file someone may send you (sections 6, 7)."""

from __future__ import annotations

import gzip
import json
import os

from hostile.build import (
    BIDI,
    ESC,
    HEADER,
    Case,
    Dir,
    Fifo,
    Link,
    calm_lines,
    entry,
    frame,
    gzip_bomb,
    put,
    random_bytes,
    recording,
    replay_case,
)

NAN, INF = float("nan"), float("inf")
TABLE_TEXT = b"".join(calm_lines()[:50]).decode()


def _rec(*lines, header=HEADER):
    return lambda path: recording(path, *lines, header=header)


def _among(**fields):
    """Good frames with hostile ones between them and last: trends and forecasts run over
    them in the TUI, and the last frame is what --once --replay prints."""
    t = 1796000000.0
    return _rec(frame(t=t), {**frame(t=t + 1), **fields}, frame(t=t + 2, count=430),
                {**frame(t=t + 3), **fields})  # fmt: skip


def _raw(content):
    return lambda path: put(os.path.dirname(path), os.path.basename(path), content)


def _deep(n: int) -> str:
    return "[" * n + "]" * n


def _truncated(path: str) -> str:
    recording(path, *[frame(table=TABLE_TEXT, t=1796000000.0 + i) for i in range(40)])
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
    return path


def _many_frames(path: str) -> str:
    line = json.dumps(frame(), separators=(",", ":")).encode() + b"\n"
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(json.dumps(HEADER).encode() + b"\n")
        f.write(line * 1_000_000)
    return path


def _escape_path(path: str) -> str:
    return recording(os.path.join(os.path.dirname(path), f"rec{ESC}.gz"), frame(table=TABLE_TEXT))


def _is_replay(fmt: str, stdout: bytes) -> list:
    """`--once --replay FILE` must print the recording's last frame, not scan the host."""
    text = stdout.decode("utf-8", "replace")
    if fmt == "json":
        try:
            source = json.loads(text).get("source")
        except (ValueError, AttributeError):
            return ["stdout is not a JSON object"]
        return [] if source == "replay" else [f"JSON source is {source!r}, not 'replay'"]
    if fmt == "text" and "replay" not in text:
        return ["text output does not say it shows a replay"]
    return []


def recording_cases() -> list:
    scan = {"entries": 3, "bad_lines": 0, "counts": {"src": [[ESC, 2], [BIDI + "x", 1]],
            "dst": [["=1+1", 3]]}, "expiry": [["tcp", ESC, "5", 1]]}  # fmt: skip
    return [
        Case("rec-valid", "a good recording: --once --replay prints its last frame",
             replay_case(_rec(frame(table=TABLE_TEXT), frame(table=TABLE_TEXT, count=50))),
             check=_is_replay),
        Case("rec-gzip-random", "gzip holding 64 kB of random bytes",
             replay_case(_raw(gzip.compress(random_bytes(65536, 11))))),
        Case("rec-raw-random", "64 kB of random bytes, not gzip",
             replay_case(_raw(random_bytes(65536, 12)))),
        Case("rec-gzip-one", "a gzip holding `1`", replay_case(_raw(gzip.compress(b"1")))),
        Case("rec-header-list", "the header line is [1]", replay_case(_rec(frame(), header=[1]))),
        Case("rec-header-null", "the header line is null", replay_case(_rec(frame(), header=None))),
        Case("rec-frame-list", "a frame that is [1]", replay_case(_rec([1]))),
        Case("rec-frame-null", "a frame that is null", replay_case(_rec(None))),
        Case("rec-frame-string", "a frame that is a string", replay_case(_rec('"frame"'))),
        Case("rec-count-nan", "count NaN", replay_case(_among(count=NAN))),
        Case("rec-count-inf", "count Infinity", replay_case(_among(count=INF))),
        Case("rec-count-neg-inf", "count -Infinity", replay_case(_among(count=-INF))),
        Case("rec-count-neg", "count -5", replay_case(_among(count=-5))),
        Case("rec-count-huge", "count 2**70", replay_case(_among(count=2**70))),
        Case("rec-count-string", 'count "425"', replay_case(_among(count="425"))),
        Case("rec-count-float", "count 4.25", replay_case(_among(count=4.25))),
        Case("rec-count-bool", "count true", replay_case(_among(count=True))),
        Case("rec-max-nan", "max NaN, buckets -Infinity",
             replay_case(_among(max=NAN, buckets=-INF))),
        Case("rec-max-neg", "max -1", replay_case(_among(max=-1))),
        Case("rec-t-nan", "time NaN", replay_case(_among(t=NAN))),
        Case("rec-t-huge", "time 1e300", replay_case(_among(t=1e300))),
        Case("rec-t-string", "time as a string", replay_case(_among(t="yesterday"))),
        Case("rec-stats-list", "stats is a list", replay_case(_among(stats=[1, 2]))),
        Case("rec-stats-nan", "stats drop NaN and insert_failed -1",
             replay_case(_among(stats={"drop": NAN, "insert_failed": -1}))),
        Case("rec-stats-escape-key", "a stats column named with escape sequences",
             replay_case(_among(stats={ESC: 1, "drop": 2}))),
        Case("rec-gzip-bomb", "a gzip bomb: ~10 MB on disk, 1e10 bytes of NULs unpacked",
             replay_case(lambda p: gzip_bomb(p, 10**10))),
        Case("rec-deep-nesting-frame", "a frame nested 100,000 lists deep",
             replay_case(_rec(_deep(100_000)))),
        Case("rec-deep-nesting-stats", "stats nested 100,000 lists deep",
             replay_case(_rec('{"t": 1, "count": 1, "stats": ' + _deep(100_000) + "}"))),
        Case("rec-label-escape", "the recording's label holds escape sequences",
             replay_case(_rec(frame(), header={**HEADER, "label": ESC + BIDI}))),
        Case("rec-source-escape", "the recording's source name holds escape sequences",
             replay_case(_rec(frame(), header={**HEADER, "source": ESC}))),
        Case("rec-table-escape", "a recorded table whose sources are escape sequences",
             replay_case(_rec(frame(table=(entry(src=ESC) + b"\n" + entry(dst=BIDI)).decode())))),
        Case("rec-table-not-text", "a recorded table that is a number",
             replay_case(_rec(frame(table=123)))),
        Case("rec-table-8mb-line", "a recorded table of one 8 MB line",
             replay_case(lambda p: recording(p, frame(table="x" * (8 << 20))))),
        Case("rec-scan-escape-keys", "recorded aggregates with escape, bidi and formula keys",
             replay_case(_rec(frame(scan=scan)))),
        Case("rec-scan-garbage", "recorded aggregates: entries is a word",
             replay_case(_rec(frame(scan={"entries": "many"})))),
        Case("rec-scan-bad-rows", "recorded aggregates: a row of three items",
             replay_case(_rec(frame(scan={"entries": 1, "counts": {"src": [[1, 2, 3]]}})))),
        Case("rec-scan-nan", "recorded aggregates: entries NaN",
             replay_case(_rec(frame(scan={"entries": NAN})))),
        Case("rec-scan-list", "recorded aggregates that are a list",
             replay_case(_rec(frame(scan=[1])))),
        Case("rec-truncated", "a good recording cut in the middle", replay_case(_truncated)),
        Case("rec-1m-frames", "one million counters-only frames", replay_case(_many_frames)),
        Case("rec-empty", "an empty file", replay_case(_raw(b""))),
        Case("rec-fifo", "a FIFO nobody writes to", replay_case(_raw(Fifo()))),
        Case("rec-dir", "a directory", replay_case(_raw(Dir()))),
        Case("rec-dev-zero", "a link to /dev/zero", replay_case(_raw(Link("/dev/zero")))),
        Case("rec-dev-urandom", "a link to /dev/urandom", replay_case(_raw(Link("/dev/urandom")))),
        Case("rec-path-escape", "a good recording whose file name holds escape sequences",
             replay_case(_escape_path)),
        Case("rec-missing-path-escape", "a missing recording whose name holds escape sequences",
             replay_case(lambda p: p + ESC + ".missing")),
    ]  # fmt: skip
