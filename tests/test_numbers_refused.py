"""Impossible numbers (negative, too big, not plain decimal) are refused: unknown, with one line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ctwatch.engine.monitor import Monitor
from ctwatch.sources.select import open_source
from ctwatch.sources.stats import StatsError, parse_stats

ROOT = Path(__file__).resolve().parent.parent
CALM = ROOT / "sample_proc" / "calm"
NF = "proc/sys/net/netfilter"
BOTH = {  # the kernel shows these in two files; a fallback must not hide a refusal
    "max": (f"{NF}/nf_conntrack_max", "proc/sys/net/nf_conntrack_max"),
    "buckets": (f"{NF}/nf_conntrack_buckets", "sys/module/nf_conntrack/parameters/hashsize"),
}
STATS = "proc/net/stat/nf_conntrack"


def tree(tmp_path: Path, **files) -> str:
    root = tmp_path / "root"
    shutil.copytree(CALM, root)
    for rel, text in files.items():
        for path in BOTH.get(rel, (rel,)):
            (root / path).write_text(text)
    return str(root)


def counters(root: str):
    return open_source("auto", root).read_counters()


def once(root: str, cwd: Path, *flags: str) -> tuple:
    done = subprocess.run(
        [sys.executable, "-m", "ctwatch", "--once", "--rate-window", "0", "--root", root, *flags],
        capture_output=True,
        timeout=60,
        cwd=str(cwd),
    )
    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr
    return done.stdout.decode(), done.stderr.decode()


BAD_COUNTS = ["-5", "-1", "4_25", "+425", str(2**70), str(2**32), "0x1a9", "٤٢٥", "4 25", ""]


@pytest.mark.parametrize("text", BAD_COUNTS)
def test_impossible_count_is_unknown_with_one_error(tmp_path, text):
    root = tree(tmp_path, **{f"{NF}/nf_conntrack_count": text + "\n"})
    c = counters(root)
    assert c.count is None
    assert c.max == 262144
    mine = [e for e in c.errors if "nf_conntrack_count" in e]
    assert len(mine) == 1 and "\n" not in mine[0] and len(mine[0]) < 300, c.errors


def test_largest_kernel_values_are_accepted(tmp_path):
    root = tree(tmp_path, **{f"{NF}/nf_conntrack_count": f" {2**32 - 1}\n", "max": "0\n"})
    c = counters(root)
    assert (c.count, c.max, c.errors) == (2**32 - 1, 0, ())


def test_refused_value_is_shown_escaped_and_cut(tmp_path):
    root = tree(tmp_path, **{f"{NF}/nf_conntrack_count": "\x1b[2J" + "9" * 500})
    (error,) = [e for e in counters(root).errors if "nf_conntrack_count" in e]
    assert "\x1b" not in error and "\\x1b" in error
    assert "9" * 41 not in error


def test_negative_max_is_unknown_not_a_negative_fill(tmp_path):
    root = tree(tmp_path, max="-1\n")
    c = counters(root)
    assert c.max is None and c.count == 425
    assert any("'-1'" in e for e in c.errors), c.errors
    text, err = once(root, tmp_path)
    assert "max ?" in text and "-42500" not in text and "% full" not in text
    assert "'-1'" in err
    out = json.loads(once(root, tmp_path, "--json")[0])
    assert out["max"] is None and out["fill"] is None


def test_negative_max_is_not_forecast_as_full(tmp_path):
    root = tree(tmp_path, max="-1\n")
    sample = Monitor(open_source("auto", root)).poll()
    assert sample.forecast.kind != "full"
    assert "FULL" not in sample.forecast.describe()


def test_no_forecast_on_an_unknown_count(tmp_path):
    root = tree(tmp_path)
    monitor = Monitor(open_source("auto", root))
    count = Path(root) / NF / "nf_conntrack_count"
    for n in (100, 2000, 4000):
        count.write_text(f"{n}\n")
        monitor.poll(scan=False)
    count.write_text("-5\n")
    sample = monitor.poll(scan=False)
    assert sample.snapshot.count is None
    assert sample.forecast.kind == "unknown"


def test_negative_buckets_give_no_hash_advice(tmp_path):
    root = tree(tmp_path, buckets="-8\n")
    stdout, err = once(root, tmp_path, "--json")
    out = json.loads(stdout)
    assert out["buckets"] is None
    assert len([ln for ln in err.splitlines() if "'-8'" in ln]) == 1, err
    text = json.dumps(out["advice"])
    assert "-8" not in text and "-53" not in text


@pytest.mark.parametrize("token", ["-1", "ffffffff1", "0x1", "1_0", "+1", "1.5"])
def test_impossible_stats_value_is_refused(token):
    text = "entries drop\n000001a9 " + token + "\n"
    with pytest.raises(StatsError) as info:
        parse_stats(text)
    assert repr(token)[1:-1] in str(info.value)


def test_negative_stats_are_unknown_on_screen(tmp_path):
    header = (CALM / STATS).read_text().splitlines()[0]
    row = " ".join("ffffffff" if n == "drop" else "00000001" for n in header.split())
    bad = row.replace("ffffffff", "-1")
    root = tree(tmp_path, **{STATS: f"{header}\n{row}\n{bad}\n"})
    c = counters(root)
    assert c.stats == {}
    assert any("'-1'" in e for e in c.errors), c.errors
    text, err = once(root, tmp_path)
    assert "drop=-1" not in text and "'-1'" in err


def test_a_refused_file_is_unknown_even_when_its_fallback_answers(tmp_path):
    # The fallback (/sys/module/nf_conntrack/parameters/hashsize) would only be a guess
    # about which of two disagreeing files the kernel meant: the value is unknown.
    root = tree(tmp_path, **{f"{NF}/nf_conntrack_buckets": "-8\n"})
    c = counters(root)
    assert c.buckets is None
    assert len([e for e in c.errors if "'-8'" in e]) == 1, c.errors


@pytest.mark.parametrize(
    "text,why",
    [
        (str(2**70), "above"),
        (str(2**32), "above"),
        ("9" * 5000, "above"),
        ("-1", "not a plain decimal"),
        ("4_25", "not a plain decimal"),
    ],
)
def test_the_reason_names_what_is_wrong(tmp_path, text, why):
    root = tree(tmp_path, **{f"{NF}/nf_conntrack_count": text})
    (error,) = [e for e in counters(root).errors if "nf_conntrack_count" in e]
    assert why in error, error
