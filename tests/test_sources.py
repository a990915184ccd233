"""Sources on --root trees: modern, legacy, --pid, missing files, conntrack(8) and auto."""

from __future__ import annotations

import os

import kernel_lines as K
import pytest

from ctwatch.engine.snapshot import take_snapshot
from ctwatch.model.scan import scan_table
from ctwatch.sources import select
from ctwatch.sources.base import SourceError
from ctwatch.sources.conntrack_cli import ConntrackSource, parse_conntrack_stats
from ctwatch.sources.procfs import LEGACY, MODERN, ProcSource, detect_layout
from ctwatch.sources.select import open_source

FAKE_CONNTRACK = """#!/bin/sh
# A stand-in for conntrack(8): -L -o extended prints the lines file, -S and -C fixed text.
here=$(dirname "$0")
case "$1" in
  -L) cat "$here/lines.txt"
      echo "conntrack v1.4.7 (conntrack-tools): $(wc -l < "$here/lines.txt") flow entries have been shown." >&2 ;;
  -S) echo "cpu=0   found=1 invalid=5 insert=0 insert_failed=2 drop=3 early_drop=0 error=0 search_restart=7"
      echo "cpu=1   found=2 invalid=6 insert=0 insert_failed=0 drop=4 early_drop=1 error=0 search_restart=0" ;;
  -C) echo 42 ;;
  *) echo "conntrack v1.4.7 (conntrack-tools): unknown option $1" >&2; exit 2 ;;
esac
"""

FAILING_CONNTRACK = """#!/bin/sh
echo "conntrack v1.4.7 (conntrack-tools): Operation failed: Protocol not supported" >&2
exit 1
"""


def make_script(directory, body: str, lines=()) -> str:
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(str(directory), "conntrack")
    with open(path, "w") as f:
        f.write(body)
    os.chmod(path, 0o755)
    with open(os.path.join(str(directory), "lines.txt"), "w") as f:
        f.write("".join(x + "\n" for x in lines))
    return path


def table_entries(source) -> int:
    return scan_table(source.table_chunks()).totals.entries


# --- modern ---------------------------------------------------------------------------


def test_modern_tree(tmp_path):
    root = K.modern_tree(tmp_path, count=22, max_=1000, buckets=256)
    src = open_source("auto", root)
    assert isinstance(src, ProcSource) and src.name == "proc"
    c = src.read_counters()
    assert (c.count, c.max, c.buckets, c.errors) == (22, 1000, 256, ())
    assert c.stats["icmp_error"] == 2 and c.stats["entries"] == 0x16
    scan = scan_table(src.table_chunks())
    assert (scan.totals.entries, scan.bad_lines) == (len(K.PROC_REAL), 0)
    t = src.read_tunables()
    assert t.timeouts == {"tcp_timeout_established": 432000, "udp_timeout": 30}
    assert t.slab_objsize == 256
    assert src.label.endswith("/proc/net/nf_conntrack")


def test_snapshot_of_a_modern_tree(tmp_path):
    root = K.modern_tree(tmp_path, count=300, max_=1200, buckets=300)
    snap = take_snapshot(open_source("auto", root), wall=lambda: 1234.5)
    assert (snap.source, snap.count, snap.max, snap.buckets) == ("proc", 300, 1200, 300)
    assert snap.fill == pytest.approx(0.25)
    assert snap.load_factor == pytest.approx(1.0)
    assert snap.taken_at == 1234.5
    assert snap.table.totals.entries == len(K.PROC_REAL)
    assert snap.problems == ()


def test_max_falls_back_to_the_old_sysctl(tmp_path):
    root = K.modern_tree(tmp_path, max_=None)
    K.write(root, "/proc/sys/net/nf_conntrack_max", "4096\n")
    assert open_source("auto", root).read_counters().max == 4096


def test_buckets_fall_back_to_hashsize(tmp_path):
    root = K.modern_tree(tmp_path, buckets=None)
    K.write(root, "/sys/module/nf_conntrack/parameters/hashsize", "16384\n")
    c = open_source("auto", root).read_counters()
    assert c.buckets == 16384
    assert c.errors == ()


def test_no_buckets_anywhere_is_quiet(tmp_path):
    root = K.modern_tree(tmp_path, buckets=None)
    c = open_source("auto", root).read_counters()
    assert c.buckets is None and c.errors == ()


# --- legacy ---------------------------------------------------------------------------


def test_legacy_tree(tmp_path):
    root = K.legacy_tree(tmp_path, max_=65536)
    src = open_source("auto", root)
    assert src.name == "proc-legacy" and src.layout is LEGACY
    c = src.read_counters()
    assert (c.count, c.max) == (len(K.LEGACY_LINES), 65536)
    assert "search_restart" not in c.stats and c.stats["searched"] == 0x11
    scan = scan_table(src.table_chunks())
    assert (scan.totals.entries, scan.bad_lines) == (len(K.LEGACY_LINES), 0)
    assert dict(scan.totals.top("state", 0)) == {"ESTABLISHED": 1, "SYN_SENT": 1}
    assert src.read_tunables().timeouts == {"tcp_timeout_established": 432000}


def test_modern_wins_when_both_layouts_exist(tmp_path):
    K.legacy_tree(tmp_path)
    K.modern_tree(tmp_path)
    assert detect_layout(str(tmp_path)) is MODERN
    assert open_source("auto", str(tmp_path)).name == "proc"


def test_layout_found_by_count_file_alone(tmp_path):
    K.modern_tree(tmp_path, lines=None, count=5)
    assert detect_layout(str(tmp_path)) is MODERN


# --- --pid ----------------------------------------------------------------------------


def test_pid_tree_reads_that_namespace(tmp_path):
    # The host's own table and count say one thing, pid 4242's namespace another.
    root = K.modern_tree(tmp_path, lines=K.PROC_REAL[:2], count=999, max_=5000)
    K.write(root, "/proc/4242/net/nf_conntrack", "".join(x + "\n" for x in K.CT_X_REAL))
    K.write(root, "/proc/4242/net/stat/nf_conntrack", K.STATS_515)
    src = open_source("auto", root, pid=4242)
    assert src.pid == 4242 and "pid 4242" in src.label
    c = src.read_counters()
    # /proc/sys answers for the reader's namespace: the count comes from stats entries.
    assert (c.count, c.max) == (5, 5000)
    assert table_entries(src) == len(K.CT_X_REAL)


def test_pid_without_stats_has_no_count_but_says_why(tmp_path):
    root = K.modern_tree(tmp_path)
    K.write(root, "/proc/77/net/nf_conntrack", K.PROC_TCP_ESTABLISHED + "\n")
    c = open_source("auto", root, pid=77).read_counters()
    assert c.count is None
    assert any("stats" in e for e in c.errors)


def test_missing_pid(tmp_path):
    root = K.modern_tree(tmp_path)
    with pytest.raises(SourceError, match="no process 31337"):
        open_source("auto", root, pid=31337)


def test_pid_with_conntrack_source_is_refused(tmp_path):
    root = K.modern_tree(tmp_path)
    K.write(root, "/proc/77/net/nf_conntrack", "")
    with pytest.raises(SourceError, match="--pid"):
        open_source("conntrack", root, pid=77)


# --- missing files, odd numbers -------------------------------------------------------


def test_counters_missing_are_reported_not_raised(tmp_path):
    K.write(tmp_path, "/proc/net/nf_conntrack", K.PROC_ICMP + "\n")
    src = open_source("auto", str(tmp_path))
    c = src.read_counters()
    assert (c.count, c.max, c.buckets, c.stats) == (None, None, None, {})
    assert len(c.errors) == 3  # stats, count, max; buckets are optional
    assert all("\n" not in e and "not found" in e for e in c.errors)
    assert table_entries(src) == 1


def test_table_missing_is_a_source_error_with_one_line(tmp_path):
    root = K.modern_tree(tmp_path, lines=None, count=3)
    src = open_source("auto", root)
    with pytest.raises(SourceError, match="conntrack table not found") as failed:
        table_entries(src)
    assert "\n" not in str(failed.value)


def test_count_above_max(tmp_path):
    root = K.modern_tree(tmp_path, count=300, max_=200)
    snap = take_snapshot(open_source("auto", root))
    assert (snap.count, snap.max) == (300, 200)
    assert snap.fill == pytest.approx(1.5)


def test_max_zero_has_no_fill(tmp_path):
    root = K.modern_tree(tmp_path, count=300, max_=0, buckets=0)
    snap = take_snapshot(open_source("auto", root))
    assert (snap.count, snap.max, snap.fill, snap.load_factor) == (300, 0, None, None)


def test_non_numeric_count_is_an_error_line(tmp_path):
    root = K.modern_tree(tmp_path)
    K.write(root, f"{K.NF}/nf_conntrack_count", "lots\n")
    c = open_source("auto", root).read_counters()
    assert c.count is None
    assert any("is not a plain decimal number" in e for e in c.errors)


def test_a_timeout_that_vanished_after_listing_is_skipped(tmp_path):
    root = K.modern_tree(tmp_path)
    # listdir sees it, open() finds nothing: what a sysctl removed mid-read looks like.
    os.symlink("gone", os.path.join(root, K.NF.lstrip("/"), "nf_conntrack_icmp_timeout"))
    t = open_source("auto", root).read_tunables()
    assert "icmp_timeout" not in t.timeouts and t.timeouts["udp_timeout"] == 30


def test_slabinfo_missing_is_fine(tmp_path):
    root = K.modern_tree(tmp_path)
    os.remove(os.path.join(root, "proc/slabinfo"))
    t = open_source("auto", root).read_tunables()
    assert t.slab_objsize is None and t.errors == ()


def test_virtual_zero_size_file_is_read_through_cat(tmp_path):
    # /proc files report size 0; an empty regular file takes the same path.
    root = K.modern_tree(tmp_path, lines=[])
    assert table_entries(open_source("auto", root)) == 0


# --- conntrack(8) ---------------------------------------------------------------------


def test_conntrack_source_with_a_fake_binary(tmp_path):
    script = make_script(tmp_path / "bin", FAKE_CONNTRACK, K.CT_X_REAL)
    src = ConntrackSource(str(tmp_path / "emptyroot"), binary=script)
    assert src.name == "conntrack"
    scan = scan_table(src.table_chunks())
    assert (scan.totals.entries, scan.bad_lines) == (len(K.CT_X_REAL), 0)
    c = src.read_counters()
    # No /proc under that root: count from -C, stats from -S summed over CPUs.
    assert c.count == 42
    assert c.stats == {
        "found": 3,
        "invalid": 11,
        "insert": 0,
        "insert_failed": 2,
        "drop": 7,
        "early_drop": 1,
        "error": 0,
        "search_restart": 7,
    }
    assert c.max is None
    assert all("count" not in e and "stats" not in e for e in c.errors)


def test_conntrack_source_prefers_proc_counters(tmp_path):
    root = K.modern_tree(tmp_path / "root", lines=None, count=12, max_=100)
    script = make_script(tmp_path / "bin", FAKE_CONNTRACK, K.CT_L_REAL)
    c = ConntrackSource(root, binary=script).read_counters()
    assert (c.count, c.max, c.stats["icmp_error"]) == (12, 100, 2)


def test_conntrack_binary_failing(tmp_path):
    script = make_script(tmp_path / "bin", FAILING_CONNTRACK)
    src = ConntrackSource(str(tmp_path), binary=script)
    with pytest.raises(SourceError) as info:
        table_entries(src)
    message = str(info.value)
    assert "Operation failed: Protocol not supported" in message and "\n" not in message
    snap = take_snapshot(src)
    assert snap.table is None and "Operation failed" in snap.table_error
    assert snap.count is None and any("conntrack -C" in e for e in snap.errors)


def test_conntrack_binary_missing(tmp_path):
    src = ConntrackSource(str(tmp_path), binary=str(tmp_path / "nope" / "conntrack"))
    snap = take_snapshot(src)
    assert snap.table is None
    assert snap.table_error.startswith("cannot run") and "\n" not in snap.table_error


def test_parse_conntrack_stats_ignores_noise():
    text = "cpu=0 found=1 drop=2 weird\ncpu=1 found=x drop=3\n\nnot a line\n"
    assert parse_conntrack_stats(text) == {"found": 1, "drop": 5}


# --- auto selection -------------------------------------------------------------------


def test_auto_uses_conntrack_when_the_live_kernel_has_no_proc_table(tmp_path, monkeypatch):
    make_script(tmp_path / "bin", FAKE_CONNTRACK, K.CT_L_REAL)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(select, "detect_layout", lambda root: None)
    src = open_source("auto", "/")
    assert isinstance(src, ConntrackSource) and src.name == "conntrack"
    assert take_snapshot(src).table.totals.entries == len(K.CT_L_REAL)


def test_auto_never_uses_conntrack_for_a_tree(tmp_path, monkeypatch):
    make_script(tmp_path / "bin", FAKE_CONNTRACK, K.CT_L_REAL)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    os.makedirs(tmp_path / "tree/proc/sys/net/netfilter")
    with pytest.raises(SourceError, match="missing under"):
        open_source("auto", str(tmp_path / "tree"))


def test_auto_without_conntrack_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setattr(select, "detect_layout", lambda root: None)
    with pytest.raises(SourceError, match="conntrack\\(8\\) is not installed"):
        open_source("auto", "/")


def test_explicit_conntrack_source_on_a_tree(tmp_path):
    root = K.modern_tree(tmp_path)
    assert isinstance(open_source("conntrack", root), ConntrackSource)


@pytest.mark.parametrize(
    "dirs,message",
    [
        ((), "no /proc/sys/net under"),
        (("proc/sys/net",), "module not loaded"),
        (("proc/sys/net/netfilter",), "no conntrack table"),
    ],
)
def test_proc_source_without_table_says_why(tmp_path, dirs, message):
    for d in dirs:
        os.makedirs(tmp_path / d, exist_ok=True)
    for kind in ("auto", "proc"):
        with pytest.raises(SourceError, match=message) as info:
            open_source(kind, str(tmp_path))
        assert "\n" not in str(info.value)


def test_unknown_kind_and_missing_root(tmp_path):
    with pytest.raises(SourceError, match="unknown source"):
        open_source("magic", str(tmp_path))
    with pytest.raises(SourceError, match="no such directory"):
        open_source("auto", str(tmp_path / "absent"))


def test_missing_netns_under_a_tree(tmp_path):
    K.modern_tree(tmp_path)
    with pytest.raises(SourceError, match="not found"):
        open_source("auto", str(tmp_path), netns="ctwunit-none")
    with pytest.raises(SourceError, match="invalid network namespace name"):
        open_source("auto", str(tmp_path), netns="../etc")
