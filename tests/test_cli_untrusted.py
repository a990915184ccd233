"""--once on hostile tables and values: no traceback, nothing unprintable on the terminal,
no formula a spreadsheet would run, a closed pipe ends quietly, recordings print."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys

import kernel_lines as K
import pytest

from ctwatch.faces.report.csv_text import breakdowns_csv
from ctwatch.sources.base import Counters
from ctwatch.sources.recording import Recorder
from ctwatch.sources.safe_text import safe_block, safe_cell, safe_line

# Anything a terminal would obey: C0 (but newline and tab), DEL, C1, bidi and zero-width.
UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
ESCAPES = "src=\x1b[2J\x1b]0;pwn\x07"


def run(*args, cwd=None):
    proc = subprocess.run(
        [sys.executable, "-m", "ctwatch", *args],
        capture_output=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
    )
    out, err = proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in out + err, err
    assert not UNPRINTABLE.search(out), out
    assert not UNPRINTABLE.search(err), err
    return proc.returncode, out, err


def tree_with(tmp_path, *extra_lines) -> str:
    return K.modern_tree(tmp_path, lines=K.PROC_REAL + tuple(extra_lines))


TCP = K.PROC_TCP_ESTABLISHED
HOSTILE_LINES = [
    TCP.replace("src=127.0.0.1", ESCAPES, 1),
    TCP.replace("dst=127.0.0.1", "dst=999.1.1.1"),  # both tuples: the reply's too
    TCP.replace("dst=127.0.0.1", "dst=\xff\x1b"),
    TCP.replace("dport=47654", "dport=" + "9" * 5000),
    TCP.replace("dport=8080", "dport=" + "4" * 5000),
    TCP.replace("src=127.0.0.1", "src==cmd|' /C calc'!A0", 1),
    TCP.replace("src=127.0.0.1", "src=\u202e1.0.0.721", 1),
]


@pytest.mark.parametrize("mode", [[], ["--json"], ["--csv"], ["--json", "--snat"]])
def test_hostile_lines_print_nothing_unprintable(tmp_path, mode):
    root = tree_with(tmp_path, *HOSTILE_LINES)
    code, out, err = run("--once", "--rate-window", "0", "--top", "0", "--root", root, *mode)
    assert code == 0, err
    if mode == ["--csv"]:
        for row in csv.reader(io.StringIO(out)):
            for cell in row:
                assert not cell.startswith(("=", "+", "@")), row
                assert not cell.startswith("-") or re.fullmatch(r"-[0-9.]+", cell), row
    if "--snat" in mode:
        assert isinstance(json.loads(out)["snat"], list)


def test_dport_filter_on_a_5000_digit_port(tmp_path):
    root = tree_with(tmp_path, TCP.replace("dport=8080", "dport=" + "4" * 5000))
    code, out, err = run(
        "--once", "--json", "--rate-window", "0", "--dport", "8080", "--root", root
    )
    assert code == 0, err
    expected = sum(" dport=8080 " in line for line in K.PROC_REAL)
    assert expected >= 1 and json.loads(out)["entries"] == expected


def test_a_path_with_escapes_is_printed_escaped(tmp_path):
    code, out, err = run("--once", "--root", str(tmp_path / "x\x1b]0;pwn\x07"))
    assert code == 1
    assert "\\x1b]0;pwn\\x07" in err and err.count("\n") == 1


def test_closed_pipe_ends_quietly(tmp_path):
    # Far more JSON than a pipe holds, so the write really meets the closed pipe.
    many = tuple(
        TCP.replace("src=127.0.0.1", f"src=10.{i >> 16}.{i >> 8 & 255}.{i & 255}", 1)
        for i in range(20000)
    )
    root = K.modern_tree(tmp_path, lines=many)
    shell = (
        f"{sys.executable} -m ctwatch --once --json --top 0 --rate-window 0 --root {root} "
        "2>err | head -1; echo ${PIPESTATUS[0]}"
    )
    done = subprocess.run(
        ["bash", "-c", shell], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.splitlines() == ["{", "0"]
    assert (tmp_path / "err").read_text() == ""


def test_once_replay_prints_the_last_frame_with_a_table(tmp_path):
    path = str(tmp_path / "rec.gz")
    rec = Recorder(path, label="lab", source="proc")
    lines = "".join(x + "\n" for x in K.PROC_REAL).encode()
    rec.write(1000.0, Counters(3, 64, 16, {"drop": 1}), table=lines[: lines.index(b"\n") + 1])
    rec.write(1001.0, Counters(len(K.PROC_REAL), 64, 16, {"drop": 2}), table=lines)
    rec.write(1002.0, Counters(99, 64, 16, {"drop": 3}))  # counters only: no table here
    rec.close()
    code, out, err = run("--once", "--json", "--replay", path)
    assert code == 0, err
    got = json.loads(out)
    assert (got["source"], got["entries"], got["count"]) == (
        "replay",
        len(K.PROC_REAL),
        len(K.PROC_REAL),
    )
    assert got["replay"] == {"frame": 1, "frames": 3} and got["taken_at"] == 1001.0
    code, text, err = run("--once", "--replay", path)
    assert code == 0 and f"scanned  {len(K.PROC_REAL)} entries" in text
    code, table, err = run("--once", "--csv", "--replay", path)
    assert code == 0 and table.startswith("dimension,key,count,share\n")
    code, out, err = run("--once", "--replay", str(tmp_path / "missing.gz"))
    assert code == 1 and err.startswith("ctwatch: ") and err.count("\n") == 1


def test_safe_text_escapes_what_a_terminal_obeys():
    assert safe_line(ESCAPES) == "src=\\x1b[2J\\x1b]0;pwn\\x07"
    assert safe_line("a\nb\tc\u202ed") == "a\\x0ab\\x09c\\u202ed"
    assert safe_block("a\nb\tc\x1b\r") == "a\nb\tc\\x1b\\x0d"
    assert safe_line("x" * 50, limit=10) == "xxxxxxx..."
    assert safe_line("10.0.0.1 ESTABLISHED é") == "10.0.0.1 ESTABLISHED é"


@pytest.mark.parametrize(
    "value,expected",
    [
        ("=1+2", "'=1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+cmd", "'+cmd"),
        ("-cmd", "'-cmd"),
        ("-5", "-5"),
        ("+3.5", "+3.5"),
        ("10.0.0.1", "10.0.0.1"),
        (7, 7),
    ],
)
def test_csv_cells_never_start_a_formula(value, expected):
    assert safe_cell(value) == expected


def test_breakdowns_csv_neutralises_keys():
    text = breakdowns_csv({"entries": 2, "by_src": {"=HYPERLINK(1)": 1, "\x1b[2J": 1}})
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][1] == "'=HYPERLINK(1)" and rows[2][1] == "\\x1b[2J"
    assert os.linesep not in rows[1][1]
