"""Every read is bounded: FIFOs, devices, endless and sparse files are refused or cut, never hang."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ctwatch.sources.base import SourceError
from ctwatch.sources.reads import TableLimits, bounded, command_chunks, file_chunks, table_limits
from ctwatch.sources.select import open_source

ROOT = Path(__file__).resolve().parent.parent
CALM = ROOT / "sample_proc" / "calm"
NF = "proc/sys/net/netfilter"
TABLE = "proc/net/nf_conntrack"
DEADLINE = 30.0  # generous: each case below finishes in about a second
ADDRESS_SPACE = 2_000_000 * 1024  # `ulimit -v 2000000`


def hostile_tree(tmp_path: Path, **changes) -> str:
    """A copy of sample_proc/calm with files replaced: {relative path: how}.

    how: "fifo", "dir", "/dev/..." (a symlink), "sparse:N" (a hole of N bytes), or text.
    """
    root = tmp_path / "root"
    shutil.copytree(CALM, root, symlinks=True)
    for rel, how in changes.items():
        path = root / rel.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() or path.is_symlink():
            path.unlink()
        if how == "fifo":
            os.mkfifo(path)
        elif how == "dir":
            path.mkdir()
        elif how.startswith("/dev/"):
            path.symlink_to(how)
        elif how.startswith("sparse:"):
            with open(path, "wb") as f:
                f.truncate(int(how.split(":")[1]))
        else:
            path.write_text(how)
    return str(root)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_once(root: str, cwd: Path, *extra: str) -> tuple:
    """`ctwatch --once --json --root ROOT` under `ulimit -v 2000000`: (rc, json or None, err)."""
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ctwatch", "--once", "--json", "--rate-window", "0"]
            + ["--root", root, *extra],
            capture_output=True,
            timeout=DEADLINE,
            preexec_fn=_limit_memory,
            cwd=str(cwd),
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"ctwatch still running after {DEADLINE:g} s (killed)")
    err = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err and "MemoryError" not in err, err[-2000:]
    assert done.returncode in (0, 1, 2), (done.returncode, err)
    out = json.loads(done.stdout) if done.returncode == 0 else None
    return done.returncode, out, err, time.monotonic() - started


# (changes, text expected on stderr, JSON fields expected)
CASES = {
    "count-fifo": ({f"{NF}/nf_conntrack_count": "fifo"}, "is a FIFO", {"count": None}),
    "max-fifo": (
        {f"{NF}/nf_conntrack_max": "fifo", "proc/sys/net/nf_conntrack_max": "fifo"},
        "is a FIFO",
        {"max": None, "count": 425},
    ),
    "table-fifo": ({TABLE: "fifo"}, "is a FIFO", {"count": 425, "max": 262144}),
    "stats-fifo": ({"proc/net/stat/nf_conntrack": "fifo"}, "is a FIFO", {"count": 425}),
    "table-zero": ({TABLE: "/dev/zero"}, "character device (1:5)", {"count": 425}),
    "count-zero": ({f"{NF}/nf_conntrack_count": "/dev/zero"}, "(1:5)", {"count": None}),
    "stats-zero": ({"proc/net/stat/nf_conntrack": "/dev/zero"}, "(1:5)", {"stats": {}}),
    "table-urandom": ({TABLE: "/dev/urandom"}, "(1:9)", {"count": 425}),
    "table-dir": ({TABLE: "dir"}, "is a directory", {"count": 425}),
    "table-sparse-50G": ({TABLE: "sparse:" + str(50 << 30)}, "not one line end in it", {}),
    "count-sparse-10G": (
        {f"{NF}/nf_conntrack_count": "sparse:" + str(10 << 30)},
        "larger than",
        {},
    ),
    "timeout-fifo": ({f"{NF}/nf_conntrack_udp_timeout": "fifo"}, "", {"count": 425}),
    "slabinfo-zero": ({"proc/slabinfo": "/dev/zero"}, "", {"count": 425}),
    "kmsg-zero": ({"dev/kmsg": "/dev/zero"}, "", {"count": 425}),
    "kmsg-fifo": ({"dev/kmsg": "fifo"}, "", {"count": 425}),
    "uptime-fifo": ({"dev/kmsg": "6,1,5;hello\n", "proc/uptime": "fifo"}, "", {"count": 425}),
    "kmsg-sparse": ({"dev/kmsg": "sparse:" + str(10 << 30)}, "", {"count": 425}),
}

KMSG_PROBLEMS = {"kmsg-zero": "(1:5)", "kmsg-fifo": "is a FIFO", "kmsg-sparse": "larger than"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_tree_finishes_within_deadline_and_memory(tmp_path, name):
    changes, message, fields = CASES[name]
    root = hostile_tree(tmp_path, **changes)
    rc, out, err, _ = run_once(root, tmp_path)
    assert rc == 0, err
    if message:
        assert message in err, err
    for key, value in fields.items():
        assert out[key] == value, (key, out[key])
    if name in KMSG_PROBLEMS:
        assert KMSG_PROBLEMS[name] in (out["kernel_log"]["problem"] or ""), out["kernel_log"]


def test_every_problem_is_one_stderr_line(tmp_path):
    root = hostile_tree(
        tmp_path, **{f"{NF}/nf_conntrack_count": "fifo", TABLE: "/dev/zero", "dev/kmsg": "fifo"}
    )
    rc, out, err, _ = run_once(root, tmp_path)
    lines = err.splitlines()
    assert len([ln for ln in lines if "nf_conntrack_count" in ln]) == 1, err
    assert len([ln for ln in lines if "(1:5)" in ln]) == 1, err


KMSG_PROBE = """
import sys
from ctwatch.sources.kmsg import KernelLog
log = KernelLog(sys.argv[1], dmesg="")
assert log.poll() == []
print(log.problem)
"""


def test_kmsg_device_must_be_the_kernel_log(tmp_path):
    # In a child: the old reader spun forever on /dev/zero's endless empty records.
    root = hostile_tree(tmp_path, **{"dev/kmsg": "/dev/zero"})
    try:
        done = subprocess.run(
            [sys.executable, "-c", KMSG_PROBE, root],
            capture_output=True,
            timeout=DEADLINE,
            cwd=str(tmp_path),
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"reading a /dev/zero kmsg still running after {DEADLINE:g} s")
    problem = done.stdout.decode()
    assert done.returncode == 0, done.stderr
    assert "(1:5)" in problem and "1:11" in problem, problem


def _unblock(path: str) -> None:
    # A reader stuck in open() on a FIFO is released by a writer (old code under test).
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


def _in_thread(fn, fifo: str, seconds: float = 10.0):
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        _unblock(fifo)
        t.join(5)
        pytest.fail(f"still blocked after {seconds:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_fifo_count_is_refused_in_process_and_max_still_read(tmp_path):
    root = hostile_tree(tmp_path, **{f"{NF}/nf_conntrack_count": "fifo"})
    src = open_source("auto", root)
    counters = _in_thread(src.read_counters, os.path.join(root, NF, "nf_conntrack_count"))
    assert counters.count is None and counters.max == 262144
    assert any("is a FIFO" in e for e in counters.errors), counters.errors


def test_fifo_table_does_not_block(tmp_path):
    root = hostile_tree(tmp_path, **{TABLE: "fifo"})
    src = open_source("auto", root)
    with pytest.raises(SourceError, match="is a FIFO"):
        _in_thread(lambda: next(iter(src.table_chunks())), os.path.join(root, TABLE))


MEMORY_PROBE = """
import resource
from ctwatch.engine.snapshot import take_snapshot
from ctwatch.sources.base import Counters, Source

with open("/proc/self/statm") as f:
    used = int(f.read().split()[0]) * resource.getpagesize()
limit = used + (150 << 20)
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
LINE = ("ipv4 2 udp 17 29 src=10.{a}.{b}.{c} dst=10.9.{b}.{c} sport=1 dport=2 [UNREPLIED] "
        "src=10.9.{b}.{c} dst=10.{a}.{b}.{c} sport=2 dport=1 mark=0 use=1\\n")

class Huge(Source):
    name = label = "huge"
    def read_counters(self):
        return Counters(count=1, max=10)
    def table_chunks(self):
        for a in range(256):
            yield "".join(
                LINE.format(a=a, b=b, c=c) for b in range(256) for c in range(256)
            ).encode()

snap = take_snapshot(Huge())
print(snap.count, snap.table_error)
"""


def test_running_out_of_memory_in_a_scan_is_one_line():
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE], capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert done.stdout.decode().startswith("1 the table is too big"), done.stdout


LINE = (
    b"ipv4     2 udp      17 29 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 [UNREPLIED] "
    b"src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 mark=0 zone=0 use=2\n"
)


def test_a_real_table_in_page_sized_chunks_passes_whole():
    # cat from procfs writes one 4 KiB page at a time; thousands of pieces, none cut.
    page = LINE * (4096 // len(LINE))
    pieces = [page[i : i + 4096] for i in range(0, len(page), 4096)] * 20_000
    out = bounded(iter(pieces), "t", table_limits(262144, 100))
    assert sum(len(c) for c in out) == len(page) * 20_000


@pytest.mark.parametrize("tail", [b"", b"\n" + LINE])
def test_an_overlong_line_is_cut_across_small_chunks(tail):
    # One hostile line in a real table: its first 64 KiB reach the parser (one bad line
    # to count), the rest is dropped, and the lines after it pass whole.
    pieces = [LINE * 3] + [b"x" * 1000] * 100 + [tail]
    out = b"".join(bounded(iter(pieces), "t", table_limits(262144, 100)))
    assert out == LINE * 3 + b"x" * (64 * 1024) + tail


def test_an_overlong_line_inside_big_chunks_is_cut_too():
    pieces = [LINE + b"y" * 200_000, b"y" * 50 + b"\n" + LINE + b"z" * 100_000]
    out = b"".join(bounded(iter(pieces), "t", table_limits(262144, 100)))
    assert out == LINE + b"y" * (64 * 1024) + b"\n" + LINE + b"z" * (64 * 1024)


def test_a_stream_without_any_newline_is_not_a_table():
    pieces = iter([b"x" * 1000] * 10_000)
    limits = TableLimits(1 << 20, 60.0, "larger than max 5 entries could be")
    with pytest.raises(SourceError, match="stopped at 1 MiB: not one line end in it"):
        b"".join(bounded(pieces, "t", limits))


def test_byte_cap_names_the_max():
    pieces = iter([LINE * 1000] * 10**6)
    limits = TableLimits(1 << 20, 60.0, "larger than max 5 entries could be")
    with pytest.raises(SourceError, match="read stopped at 1 MiB: larger than max 5 entries"):
        for _ in bounded(pieces, "conntrack table", limits):
            pass


def test_deadline_stops_a_slow_endless_source():
    def slow():
        while True:
            time.sleep(0.05)
            yield LINE

    started = time.monotonic()
    with pytest.raises(SourceError, match="reading took over 0.3 s"):
        for _ in bounded(slow(), "t", TableLimits(1 << 30, 0.3, "")):
            pass
    assert time.monotonic() - started < 10


def test_deadline_stops_a_trickling_child():
    code = "import time\nwhile True:\n print('x', flush=True); time.sleep(0.05)"
    started = time.monotonic()
    with pytest.raises(SourceError, match="reading took over 1 s"):
        b"".join(command_chunks([sys.executable, "-c", code], "t", deadline=1.0))
    assert time.monotonic() - started < 10


def test_limits_are_generous_for_a_real_million_entry_table():
    limits = table_limits(1_048_576, 1_000_000)
    assert limits.byte_cap >= 1_048_576 * 400 * 5  # lines are 150-400 bytes
    assert limits.deadline >= 60 and table_limits(None, None).byte_cap == 1 << 30
    assert table_limits(0, 10).byte_cap == 64 << 20  # max 0 = no limit: from the count
    # A max lowered under a full table evicts nothing: the count then sizes the read.
    assert table_limits(1000, 1_000_000).byte_cap == limits.byte_cap * 1_000_000 // 1_048_576
    assert "1,000,000 entries (the count)" in table_limits(1000, 1_000_000).why


def test_a_virtual_file_is_read_whole_through_cat():
    with open("/proc/self/mountinfo", "rb") as f:
        assert os.fstat(f.fileno()).st_size == 0
    data = b"".join(file_chunks("/proc/self/mountinfo", "mountinfo"))
    assert data.count(b"\n") > 1
