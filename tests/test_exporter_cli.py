"""`ctwatch --serve` and `--textfile` as processes: exit codes, one-line errors, signals, files."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ctwatch import cli

HERE = os.path.dirname(os.path.abspath(__file__))
TREE = os.path.join(os.path.dirname(HERE), "sample_proc", "mixed")
CTWATCH = [sys.executable, "-m", "ctwatch"]


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*CTWATCH, *args], capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("9611", ("0.0.0.0", 9611)),
        (":9611", ("0.0.0.0", 9611)),
        ("127.0.0.1:80", ("127.0.0.1", 80)),
        ("[::1]:9611", ("::1", 9611)),
        ("localhost:9611", ("localhost", 9611)),
    ],
)
def test_listen_addresses(text, expected):
    assert cli.listen_address(text) == expected


@pytest.mark.parametrize(
    "args",
    [
        ["--serve", "0"],
        ["--serve", "65536"],
        ["--serve", "x"],
        ["--serve", "::1:9611"],
        ["--serve", "[nothost]:9611"],
        ["--serve", "host name:1"],
        ["--serve", "1e3"],
        ["--node-names"],
        ["--textfile", "/tmp/ctwatch.txt"],
        ["--serve", "--once"],
        ["--serve", "--top", "0"],
        ["--serve", "--json"],
        ["--serve", "--textfile", "/tmp/x.prom"],
        ["--textfile", "/tmp/x.prom", "--demo"],
        ["--all-netns", "--demo"],
        ["--serve", "--all-netns", "--top-netns", "0"],
        ["--serve", "--all-netns", "--netns", "blue"],
    ],
)
def test_usage_errors_exit_2_with_one_line(args):
    proc = run(*args, "--root", TREE)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("ctwatch: error:")


def test_port_in_use_exits_1_with_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run("--serve", f"127.0.0.1:{port}", "--root", TREE)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"ctwatch: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


def test_no_source_exits_1(tmp_path):
    proc = run("--serve", f"127.0.0.1:{free_port()}", "--root", str(tmp_path))
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def scrape(port: int, deadline: float) -> str:
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                body = r.read().decode()
            if "ctwatch_source_entries" in body:  # the first scan is in
                return body
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("no metrics")
        time.sleep(0.1)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_answers_and_stops_cleanly_on_a_signal(sig):
    port = free_port()
    proc = subprocess.Popen(
        [*CTWATCH, "--serve", f"127.0.0.1:{port}", "--root", TREE, "--interval", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = scrape(port, time.monotonic() + 30)
    finally:
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    names = {f.name for f in text_string_to_metric_families(body)}
    assert {"ctwatch_entries", "ctwatch_stat", "ctwatch_dport_entries"} <= names
    assert "node_nf_conntrack_entries" not in names
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_once_textfile_writes_atomically_without_timestamps(tmp_path):
    path = tmp_path / "ctwatch.prom"
    proc = run("--once", "--textfile", str(path), "--node-names", "--root", TREE)
    assert proc.returncode == 0, proc.stderr
    assert os.listdir(tmp_path) == ["ctwatch.prom"]  # no temporary file left
    text = path.read_text()
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            assert s.timestamp is None  # node_exporter refuses timestamps in textfiles
    assert "node_nf_conntrack_entries 401.0" in text
    assert "ctwatch_entries 401.0" in text


def test_textfile_in_a_missing_directory_exits_1(tmp_path):
    proc = run("--once", "--textfile", str(tmp_path / "no" / "x.prom"), "--root", TREE)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("ctwatch: cannot write ")


def test_textfile_loop_rewrites_and_stops_on_sigterm(tmp_path):
    path = tmp_path / "ctwatch.prom"
    proc = subprocess.Popen(
        [*CTWATCH, "--textfile", str(path), "--root", TREE, "--interval", "0.2"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        first = path.stat().st_mtime_ns
        while path.stat().st_mtime_ns == first and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_mtime_ns != first  # written again at the next interval
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert os.listdir(tmp_path) == ["ctwatch.prom"]


def test_filters_narrow_the_breakdowns_not_the_kernels_count(tmp_path):
    path = tmp_path / "ctwatch.prom"
    proc = run("--once", "--textfile", str(path), "--root", TREE, "-p", "udp")
    assert proc.returncode == 0, proc.stderr
    got = {}
    for fam in text_string_to_metric_families(path.read_text()):
        for s in fam.samples:
            got.setdefault(s.name, []).append((s.labels, s.value))
    assert [labels["proto"] for labels, _ in got["ctwatch_entries_by_proto"]] == ["udp"]
    assert got["ctwatch_entries"] == [({}, 401.0)]  # the kernel's count of the whole table
