"""`ctwatch --once [--json]` through `python -m ctwatch`: output, --top, filters, exit codes,
and the bundled sample_proc trees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter

import kernel_lines as K
import pytest

from ctwatch.model.entry import ParseError, parse_line
from ctwatch.sources.stats import parse_stats

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(REPO, "sample_proc")

DOCUMENTED_KEYS = {
    "source",
    "count",
    "max",
    "buckets",
    "entries",
    "bad_lines",
    "bad_examples",
    "by_state",
    "by_proto",
    "by_src",
    "by_dst",
    "by_dport",
    "stats",
    "scan_seconds",
    "label",
    "taken_at",
    "fill",
    "distinct_src",
    "distinct_dst",
    "filter",
    "table_error",
    "errors",
}


def run(*args, env=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "ctwatch", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=tempfile.gettempdir(),
        timeout=120,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def once_json(*args, env=None) -> dict:
    proc = run("--once", "--json", "--rate-window", "0", *args, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return json.loads(proc.stdout)


def expected_from_lines(lines, keep=lambda e: True) -> dict:
    entries, bad = [], 0
    for line in lines:
        try:
            e = parse_line(line)
        except ParseError:
            bad += 1
            continue
        if keep(e):
            entries.append(e)
    return {
        "entries": len(entries),
        "bad_lines": bad,
        "by_state": dict(Counter(e.state for e in entries if e.state is not None)),
        "by_proto": dict(Counter(e.l4 for e in entries)),
        "by_src": dict(Counter(e.orig.src for e in entries)),
        "by_dst": dict(Counter(e.orig.dst for e in entries)),
        "by_dport": dict(Counter(str(e.orig.dport) for e in entries if e.orig.dport is not None)),
    }


def picked(out: dict) -> dict:
    return {
        k: out[k]
        for k in ("entries", "bad_lines", "by_state", "by_proto", "by_src", "by_dst", "by_dport")
    }


@pytest.fixture
def tree(tmp_path):
    return K.modern_tree(tmp_path, lines=K.synthetic_table(300, seed=2), max_=1000, buckets=250)


# --- output ---------------------------------------------------------------------------


def test_text_summary(tree):
    proc = run("--once", "--root", tree)
    assert proc.returncode == 0 and proc.stderr == ""
    out = proc.stdout
    assert "source   proc: " in out
    assert "count    300 / max 1,000  (30.0% full)" in out
    assert "buckets  250  (load factor 1.20)" in out
    assert "stats    drop=0  early_drop=0  insert_failed=0  invalid=0" in out
    assert "scanned  300 entries in " in out
    for title in ("STATE", "PROTO", "SOURCE", "DESTINATION", "DPORT"):
        assert any(line.startswith(title + " ") for line in out.splitlines()), title


def test_text_rows_are_the_top_counts(tree):
    want = expected_from_lines(K.synthetic_table(300, seed=2))
    out = run("--once", "--top", "3", "--root", tree).stdout.splitlines()
    start = next(i for i, line in enumerate(out) if line.startswith("SOURCE "))
    rows = out[start + 1 : start + 4]
    top3 = sorted(want["by_src"].values(), reverse=True)[:3]
    assert [int(r.split()[1].replace(",", "")) for r in rows] == top3
    more = len(want["by_src"]) - 3
    assert out[start + 4].strip() == f"({more} more)"


def test_json_has_every_documented_key(tree):
    out = once_json("--root", tree)
    assert set(out) >= DOCUMENTED_KEYS
    assert out["source"] == "proc"
    assert (out["count"], out["max"], out["buckets"], out["fill"]) == (300, 1000, 250, 0.3)
    assert out["label"].endswith("/proc/net/nf_conntrack")
    assert isinstance(out["taken_at"], float) and isinstance(out["scan_seconds"], float)
    assert out["scan_seconds"] >= 0
    assert out["stats"] == parse_stats(K.STATS_CURRENT)
    assert (out["filter"], out["table_error"], out["errors"]) == (None, None, [])


def test_json_breakdowns_equal_the_per_line_computation(tree):
    out = once_json("--top", "0", "--root", tree)
    want = expected_from_lines(K.synthetic_table(300, seed=2))
    assert picked(out) == want
    assert out["distinct_src"] == len(want["by_src"])
    assert out["distinct_dst"] == len(want["by_dst"])


@pytest.mark.parametrize("n", [1, 2, 5])
def test_top_n(tree, n):
    out = once_json("--top", str(n), "--root", tree)
    full = expected_from_lines(K.synthetic_table(300, seed=2))
    for key in ("by_state", "by_proto", "by_src", "by_dst", "by_dport"):
        assert len(out[key]) == min(n, len(full[key]))
        # The n shown are the largest, in order.
        assert list(out[key].values()) == sorted(full[key].values(), reverse=True)[:n]
        assert all(full[key][k] == v for k, v in out[key].items())


def test_top_default_is_ten(tree):
    out = once_json("--root", tree)
    assert len(out["by_src"]) == min(10, out["distinct_src"])


def test_top_zero_is_everything(tree):
    out = once_json("--top", "0", "--root", tree)
    assert len(out["by_src"]) == out["distinct_src"]
    assert len(out["by_dst"]) == out["distinct_dst"]


def test_ipv6_is_compressed_in_json(tmp_path):
    root = K.modern_tree(tmp_path, lines=[K.PROC_TCP6_ESTABLISHED, K.WRITTEN_HW_OFFLOAD_TCP6])
    out = once_json("--root", root)
    assert out["by_src"] == {"::1": 1, "2001:db8::2": 1}
    assert out["by_dst"] == {"::1": 1, "2001:db8::aa": 1}


# --- filters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,keep",
    [
        (["-s", "10.0.0.0/8"], lambda e: e.orig.src.startswith("10.")),
        (["--src", "2001:db8::/32"], lambda e: e.orig.src.startswith("2001:db8:")),
        (["-d", "127.0.0.1"], lambda e: e.orig.dst == "127.0.0.1"),
        (["-p", "tcp"], lambda e: e.l4 == "tcp"),
        (["-p", "tcp,udp"], lambda e: e.l4 in ("tcp", "udp")),
        (["-p", "tcp", "-p", "udp"], lambda e: e.l4 in ("tcp", "udp")),
        (["--state", "established"], lambda e: e.state == "ESTABLISHED"),
        (["--dport", "53,443"], lambda e: e.orig.dport in (53, 443)),
        (
            ["-s", "10.0.0.0/8", "-p", "tcp", "--dport", "22"],
            lambda e: e.orig.src.startswith("10.") and e.l4 == "tcp" and e.orig.dport == 22,
        ),
    ],
)
def test_filters_on_the_command_line(tree, args, keep):
    out = once_json("--top", "0", *args, "--root", tree)
    want = expected_from_lines(K.synthetic_table(300, seed=2), keep)
    assert picked(out) == want
    assert out["filter"]
    assert out["count"] == 300  # filters narrow the breakdowns, not the kernel's count


def test_filter_shown_in_text(tree):
    out = run("--once", "-p", "udp", "--root", tree).stdout
    assert "(filter: proto udp)" in out


# --- sources and layouts --------------------------------------------------------------


def test_legacy_tree(tmp_path):
    root = K.legacy_tree(tmp_path)
    out = once_json("--top", "0", "--root", root)
    assert out["source"] == "proc-legacy"
    assert picked(out) == expected_from_lines(K.LEGACY_LINES)


def test_pid_tree(tmp_path):
    root = K.modern_tree(tmp_path, count=999)
    K.write(root, "/proc/321/net/nf_conntrack", "".join(x + "\n" for x in K.WRITTEN))
    K.write(root, "/proc/321/net/stat/nf_conntrack", K.STATS_515)
    out = once_json("--top", "0", "--pid", "321", "--root", root)
    assert out["count"] == 5 and out["entries"] == len(K.WRITTEN)
    assert "pid 321" in out["label"]


def test_conntrack_source_is_reported(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "lines.txt").write_text("".join(x + "\n" for x in K.CT_X_REAL))
    script = bindir / "conntrack"
    script.write_text(
        '#!/bin/sh\ncase "$1" in -L) cat "$(dirname "$0")/lines.txt";; -C) echo 8;; '
        "-S) echo 'cpu=0 drop=1';; esac\n"
    )
    script.chmod(0o755)
    env = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    # The counters come from this host (conntrack(8) asks the running kernel), so no --root.
    out = once_json("--top", "0", "--source", "conntrack", env=env)
    assert out["source"] == "conntrack"
    assert picked(out) == expected_from_lines(K.CT_X_REAL)


# --- exit codes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,message",
    [
        (["--once", "-s", "10.0.0.0/33"], "not an IP address or CIDR"),
        (["--once", "-d", "banana"], "not an IP address or CIDR"),
        (["--once", "--dport", "99999"], "not a port number"),
        (["--once", "--dport", "ssh"], "not a port number"),
        (["--once", "-p", "quic"], "unknown protocol"),
        (["--json"], "--json needs --once"),
        (["--once", "--top", "-1"], "not a plain whole number: '-1'"),
        (["--once", "--top", "many"], "not a plain whole number: 'many'"),
        (["--once", "--top", "1" + "0" * 30], "out of range"),
        (["--once", "--dport", "\u00b9"], "not a port number"),
        (["--once", "--dport", "4" * 5000], "not a port number"),
        (["--once", "--state", "bogus"], "unknown state 'BOGUS' (one of NONE SYN_SENT"),
        (["--once", "--rate-window", "inf"], "not a plain number: 'inf'"),
        (["--interval", "inf"], "not a plain number: 'inf'"),
        (["--interval", "nan"], "not a plain number: 'nan'"),
        (["--cpu-budget", "0"], "out of range"),
        (["--once", "--interval", "1_0"], "not a plain number"),
        (["--once", "--snat"], "--snat needs --once --json"),
        (["--once", "--record", "x"], "--record is for the live monitor, not --once"),
        (["--replay", "x", "--netns", "y"], "--replay plays a recording: --root"),
        (["--demo", "--replay", "x"], "--demo and --replay are alternatives"),
        (["--once", "--source", "conntrack"], "asks the running kernel, not the tree"),
        (["--once", "--no-such-option"], "unrecognized arguments"),
        (["--once", "--source", "magic"], "invalid choice"),
        (["--once", "--pid", "1", "--netns", "x"], "not allowed with"),
    ],
)
def test_usage_errors_exit_2(tmp_path, args, message):
    proc = run(*args, "--root", str(tmp_path))
    assert proc.returncode == 2
    assert message in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize(
    "dirs,message",
    [
        ((), "no /proc/sys/net under"),
        (("proc/sys/net",), "nf_conntrack module not loaded"),
        (("proc/sys/net/netfilter",), "no conntrack table"),
    ],
)
def test_no_source_exits_1_with_one_line(tmp_path, dirs, message):
    for d in dirs:
        os.makedirs(tmp_path / d)
    for extra in ([], ["--json"]):
        proc = run("--once", *extra, "--root", str(tmp_path))
        assert proc.returncode == 1
        assert proc.stdout == ""
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("ctwatch: ") and message in lines[0]


def test_missing_pid_exits_1(tmp_path):
    root = K.modern_tree(tmp_path)
    proc = run("--once", "--pid", "4444", "--root", root)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"ctwatch: no process 4444 (under {root})"


def test_missing_netns_exits_1(tmp_path):
    root = K.modern_tree(tmp_path)
    proc = run("--once", "--netns", "ctwunit-absent", "--root", root)
    assert proc.returncode == 1
    assert len(proc.stderr.splitlines()) == 1 and "not found" in proc.stderr


def test_version():
    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("ctwatch ")


# --- sample_proc ----------------------------------------------------------------------

SAMPLE_NAMES = ("calm", "synflood", "mixed", "legacy-centos5")
# Trees added later are read by the generic test too.
ALL_SAMPLES = sorted(
    set(SAMPLE_NAMES)
    | {
        n
        for n in (os.listdir(SAMPLES) if os.path.isdir(SAMPLES) else ())
        if os.path.isdir(os.path.join(SAMPLES, n))
    }
)


def sample_tree(name: str) -> str:
    path = os.path.join(SAMPLES, name)
    # The README's quick start runs on these trees: their absence is a failure.
    assert os.path.isdir(path), f"sample_proc/{name} is missing (tests/capture_samples.py)"
    return path


def tree_lines(root: str) -> list:
    for rel in ("proc/net/nf_conntrack", "proc/net/ip_conntrack"):
        path = os.path.join(root, rel)
        if os.path.exists(path):
            with open(path, encoding="ascii", errors="replace") as f:
                return f.read().splitlines()
    raise AssertionError(f"no table file under {root}")


def read_first_int(root: str, *rels: str):
    for rel in rels:
        path = os.path.join(root, rel)
        if os.path.exists(path):
            with open(path) as f:
                return int(f.read().strip())
    return None


@pytest.mark.parametrize("name", ALL_SAMPLES)
def test_sample_tree_equals_independent_reading(name):
    root = sample_tree(name)
    out = once_json("--top", "0", "--root", root)
    assert picked(out) == expected_from_lines(tree_lines(root))
    assert out["bad_lines"] == 0
    legacy = name.startswith("legacy")
    assert out["source"] == ("proc-legacy" if legacy else "proc")
    nf = (
        "proc/sys/net/ipv4/netfilter/ip_conntrack_"
        if legacy
        else "proc/sys/net/netfilter/nf_conntrack_"
    )
    assert out["count"] == read_first_int(root, nf + "count")
    assert out["max"] == read_first_int(root, nf + "max")
    stats_rel = "proc/net/stat/" + ("ip_conntrack" if legacy else "nf_conntrack")
    with open(os.path.join(root, stats_rel)) as f:
        assert out["stats"] == parse_stats(f.read())
    assert out["errors"] == [] and out["table_error"] is None
    text = run("--once", "--root", root)
    assert text.returncode == 0 and text.stderr == ""
    assert f"count    {out['count']:,} / max {out['max']:,}" in text.stdout


def test_sample_synflood_is_full_and_dropping():
    out = once_json("--root", sample_tree("synflood"))
    assert out["count"] == out["max"] and out["fill"] == 1.0
    drops = sum(out["stats"].get(k, 0) for k in ("drop", "early_drop", "insert_failed"))
    assert drops > 0
    assert "SYN_RECV" in out["by_state"] or "SYN_SENT" in out["by_state"]


def test_sample_mixed_has_both_families_and_protocols():
    out = once_json("--top", "0", "--root", sample_tree("mixed"))
    assert {"tcp", "udp", "icmp"} <= set(out["by_proto"])
    assert any(":" in a for a in out["by_src"]) and any("." in a for a in out["by_src"])
    assert not any("0000:" in a for a in out["by_src"])


def test_sample_calm_is_not_full():
    out = once_json("--root", sample_tree("calm"))
    assert out["fill"] is not None and out["fill"] < 0.5
    assert out["entries"] > 0


def test_sample_legacy_is_read_as_legacy():
    out = once_json("--top", "0", "--root", sample_tree("legacy-centos5"))
    assert out["source"] == "proc-legacy"
    assert "search_restart" not in out["stats"]
    assert set(out["by_proto"]) <= {"tcp", "udp", "icmp"}
