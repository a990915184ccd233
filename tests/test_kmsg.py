"""Kernel log reader: table-full lines of three kernel generations, incremental polls."""

from __future__ import annotations

import os
import stat
import uuid

import pytest

from ctwatch.sources.kmsg import (
    KernelEvent,
    KernelLog,
    netns_names,
    parse_dmesg_line,
    parse_message,
    per_minute,
)

# Real records, captured from /dev/kmsg on kernel 6.18.44 while a lab namespace's table
# overflowed (the netns number is that namespace's inode).
REAL_6_18 = (
    "4,355,15461811970,-;nf_conntrack: nf_conntrack: table full in netns 4026532317, "
    "dropping packet\n"
    "4,356,15495842742,-;net_ratelimit: 1694 callbacks suppressed\n"
    "4,357,15495842749,-;nf_conntrack: nf_conntrack: table full in netns 4026532317, "
    "dropping packet\n"
)
# Written from each kernel's print code: 2.4 ip_conntrack (with its full stop), 2.6.32's
# nf_conntrack (full stop too), 3.x-6.x (no stop; doubled prefix where pr_fmt adds one).
GEN_2_4 = "ip_conntrack: table full, dropping packet."
GEN_2_6 = "nf_conntrack: table full, dropping packet."
GEN_3 = "nf_conntrack: table full, dropping packet"
GEN_5_DOUBLED = "nf_conntrack: nf_conntrack: table full, dropping packet"
GEN_NETNS_SINGLE = "nf_conntrack: table full in netns 4026532999, dropping packet"


@pytest.mark.parametrize(
    "message, subsystem, netns",
    [
        (GEN_2_4, "ip_conntrack", None),
        (GEN_2_6, "nf_conntrack", None),
        (GEN_3, "nf_conntrack", None),
        (GEN_5_DOUBLED, "nf_conntrack", None),
        (GEN_NETNS_SINGLE, "nf_conntrack", 4026532999),
        (REAL_6_18.splitlines()[0].split(";", 1)[1], "nf_conntrack", 4026532317),
        ("kernel: " + GEN_3, "nf_conntrack", None),  # a syslog line
    ],
)
def test_table_full_all_generations(message, subsystem, netns):
    event = parse_message(message, 100.0)
    assert event == KernelEvent(100.0, "table_full", netns, 1, message, subsystem)


@pytest.mark.parametrize(
    "message, who, count",
    [
        ("net_ratelimit: 1694 callbacks suppressed", "net_ratelimit", 1694),
        ("net_ratelimit: 3 messages suppressed", "net_ratelimit", 3),  # before 2.6.2x
        ("__nf_conntrack_alloc: 12 callbacks suppressed", "__nf_conntrack_alloc", 12),
    ],
)
def test_suppressed_counts(message, who, count):
    event = parse_message(message, 5.0)
    assert (event.kind, event.subsystem, event.count, event.netns) == (
        "suppressed",
        who,
        count,
        None,
    )


@pytest.mark.parametrize(
    "message",
    [
        "EXT4-fs error: 5 callbacks suppressed",
        "usb 1-1: 7 callbacks suppressed",
        "printk: 12 messages suppressed.",
        "nf_conntrack: default automatic helper assignment has been turned off",
        "Linux version 6.18.44",
    ],
)
def test_unrelated_lines_ignored(message):
    assert parse_message(message, 0.0) is None


def test_dmesg_line_formats():
    assert parse_dmesg_line("[15461.811847] " + GEN_3, boot_wall=1000.0) == (
        pytest.approx(16461.811847),
        GEN_3,
    )
    assert parse_dmesg_line("<4>[    5.5] " + GEN_2_6, boot_wall=0.0) == (5.5, GEN_2_6)
    wall, message = parse_dmesg_line(
        "2026-11-26T01:43:43,811847+00:00 " + GEN_5_DOUBLED, boot_wall=0.0
    )
    assert message == GEN_5_DOUBLED
    assert wall == pytest.approx(1795657423.811847)
    wall2, _ = parse_dmesg_line("2026-11-26T02:43:43,811847+0100 x", boot_wall=0.0)
    assert wall2 == pytest.approx(wall)
    assert parse_dmesg_line(GEN_2_4, boot_wall=0.0) == (None, GEN_2_4)  # 2.4: no times
    assert parse_dmesg_line("   \n", boot_wall=0.0) is None


def test_per_minute():
    events = [
        KernelEvent(120.5, "table_full", None, 1, GEN_3),
        KernelEvent(150.0, "table_full", None, 1, GEN_3),
        KernelEvent(179.9, "suppressed", None, 40, "net_ratelimit: 40 callbacks suppressed"),
        KernelEvent(300.0, "table_full", 7, 1, GEN_NETNS_SINGLE),
    ]
    assert per_minute(events) == [(120.0, 2, 40), (300.0, 1, 0)]
    assert per_minute(events, since=60, until=310) == [
        (60.0, 0, 0),
        (120.0, 2, 40),
        (180.0, 0, 0),
        (240.0, 0, 0),
        (300.0, 1, 0),
    ]
    assert per_minute([]) == []


def _tree(tmp_path, kmsg_text=None, uptime="1000.50 2000.00\n"):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "uptime").write_text(uptime)
    (tmp_path / "dev").mkdir()
    if kmsg_text is not None:
        (tmp_path / "dev" / "kmsg").write_text(kmsg_text)
    return str(tmp_path)


def test_kmsg_file_incremental_and_walls(tmp_path):
    root = _tree(tmp_path, REAL_6_18)
    log = KernelLog(root, clock=lambda: 50000.0)
    first = log.poll()
    boot_wall = 50000.0 - 1000.5
    assert [(e.kind, e.count, e.netns) for e in first] == [
        ("table_full", 1, 4026532317),
        ("suppressed", 1694, None),
        ("table_full", 1, 4026532317),
    ]
    assert first[0].wall == pytest.approx(boot_wall + 15461.811970)
    assert log.problem is None and log.via.endswith("dev/kmsg")
    assert log.poll() == []  # nothing new
    with open(os.path.join(root, "dev", "kmsg"), "a") as f:
        f.write(
            "4,358,15500000000,-;" + GEN_5_DOUBLED + "\n"
            " SUBSYSTEM=net\n"  # a continuation (metadata) line
            "12,359,15500000001,-;" + GEN_3 + "\n"  # user space wrote it: not the kernel
            "6,360,15500000002,-;eth0: link up\n"
        )
    second = log.poll()
    assert [e.message for e in second] == [GEN_5_DOUBLED]
    records = KernelLog(root, clock=lambda: 50000.0).read_records()
    assert [r.facility for r in records] == [0, 0, 0, 0, 1, 0]
    assert records[-1].message == "eth0: link up"


def test_kmsg_sequence_gap_counts_missed(tmp_path):
    root = _tree(tmp_path, "4,10,1,-;" + GEN_3 + "\n4,15,2,-;" + GEN_3 + "\n")
    log = KernelLog(root, clock=lambda: 0.0)
    assert len(log.poll()) == 2
    assert log.missed == 4


def test_missing_kmsg_in_tree_is_a_reason_not_a_raise(tmp_path):
    root = _tree(tmp_path)
    log = KernelLog(root)
    assert log.poll() == []
    assert "not found" in log.problem and "\n" not in log.problem


def test_unreadable_kmsg_is_a_reason(tmp_path):
    root = _tree(tmp_path)
    os.mkdir(os.path.join(root, "dev", "kmsg"))  # read() on a directory fails: EISDIR
    log = KernelLog(root)
    assert log.poll() == []
    assert log.problem.startswith("kernel log:")


FAKE_DMESG = """#!/bin/sh
# A stand-in for dmesg: prints the file next to it; rejects options when told to
# (like busybox, which has no --kernel or --time-format).
here=$(dirname "$0")
if [ -n "$1" ] && [ -e "$here/no-options" ]; then
  echo "dmesg: unrecognized option '$1'" >&2
  exit 1
fi
[ -e "$here/denied" ] && { echo "dmesg: read kernel buffer failed: Operation not permitted" >&2; exit 1; }
[ -n "$1" ] && echo "$*" > "$here/args"
cat "$here/log"
"""


def _fake_dmesg(tmp_path, text):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "dmesg"
    script.write_text(FAKE_DMESG)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    (bindir / "log").write_text(text)
    return bindir, str(script)


def test_dmesg_fallback_iso_incremental(tmp_path):
    bindir, script = _fake_dmesg(
        tmp_path,
        "2026-11-26T01:43:43,811847+00:00 " + GEN_5_DOUBLED + "\n"
        "2026-11-26T01:43:43,811890+00:00 " + GEN_5_DOUBLED + "\n"
        "2026-11-26T01:44:17,000000+00:00 net_ratelimit: 9 callbacks suppressed\n",
    )
    log = KernelLog(_tree(tmp_path), dmesg=script)
    first = log.poll()
    assert [e.kind for e in first] == ["table_full", "table_full", "suppressed"]
    assert (bindir / "args").read_text().split() == ["--kernel", "--time-format", "iso"]
    assert log.problem is None and "--time-format iso" in log.via
    assert log.poll() == []
    with open(bindir / "log", "a") as f:
        f.write("2026-11-26T01:45:00,000001+00:00 " + GEN_NETNS_SINGLE + "\n")
    assert [e.netns for e in log.poll()] == [4026532999]
    # The older lines left the ring buffer: only lines newer than the last seen count.
    (bindir / "log").write_text(
        "2026-11-26T01:45:00,000001+00:00 " + GEN_NETNS_SINGLE + "\n"
        "2026-11-26T01:46:00,000000+00:00 " + GEN_3 + "\n"
    )
    assert [e.message for e in log.poll()] == [GEN_3]
    (bindir / "log").write_text("2026-11-26T01:47:00,000000+00:00 " + GEN_2_6 + "\n")
    assert [e.message for e in log.poll()] == [GEN_2_6]


def test_dmesg_fallback_plain_boot_times(tmp_path):
    bindir, script = _fake_dmesg(
        tmp_path, "[ 100.000000] " + GEN_3 + "\n[ 101.500000] " + GEN_3 + "\n"
    )
    (bindir / "no-options").write_text("")
    log = KernelLog(_tree(tmp_path, uptime="1000.0 0\n"), dmesg=script, clock=lambda: 5000.0)
    events = log.poll()
    assert [e.wall for e in events] == [pytest.approx(4100.0), pytest.approx(4101.5)]
    assert log.via == script
    with open(bindir / "log", "a") as f:
        f.write("[ 102.000000] " + GEN_2_4 + "\n")
    assert [e.subsystem for e in log.poll()] == ["ip_conntrack"]


def test_dmesg_denied_gives_one_line_reason(tmp_path):
    bindir, script = _fake_dmesg(tmp_path, "")
    (bindir / "denied").write_text("")
    log = KernelLog(_tree(tmp_path), dmesg=script)
    assert log.poll() == []
    assert "not found" in log.problem and "Operation not permitted" in log.problem
    assert "\n" not in log.problem


def test_no_dmesg_fallback_in_a_sample_tree(tmp_path):
    log = KernelLog(_tree(tmp_path))  # root is not "/": the live dmesg would be wrong
    assert log.poll() == []
    assert "not found" in log.problem and ";" not in log.problem  # no "; dmesg: ..." part
    assert log.via == ""


def test_netns_names(tmp_path):
    (tmp_path / "run" / "netns").mkdir(parents=True)
    (tmp_path / "run" / "netns" / "ctwfoo").write_text("")
    inode = os.stat(tmp_path / "run" / "netns" / "ctwfoo").st_ino
    assert netns_names(str(tmp_path)) == {inode: "ctwfoo"}
    assert netns_names(str(tmp_path / "nowhere")) == {}


@pytest.mark.skipif(os.geteuid() != 0, reason="writing to /dev/kmsg needs root")
def test_live_kmsg_sees_new_records_incrementally():
    if not os.path.exists("/dev/kmsg"):
        pytest.skip("no /dev/kmsg on this system")
    log = KernelLog("/")
    log.read_records()  # drain what the ring buffer holds
    if log.problem:
        pytest.skip(f"kernel log not readable here: {log.problem}")
    # A harmless marker, not a fake conntrack line: monitoring on this machine must not
    # mistake a test for an incident.
    marker = f"ctwatch test marker {uuid.uuid4().hex}"
    fd = os.open("/dev/kmsg", os.O_WRONLY)
    try:
        os.write(fd, f"<6>{marker}\n".encode())
    finally:
        os.close(fd)
    new = log.read_records()
    mine = [r for r in new if marker in r.message]
    assert len(mine) == 1
    assert mine[0].facility == 1  # the kernel files user-space writes under LOG_USER
    assert all(marker not in e.message for e in log.poll())
    assert not any(marker in r.message for r in log.read_records())
    log.close()


SAMPLE = os.path.join(os.path.dirname(__file__), "..", "sample_proc", "synflood")


@pytest.mark.skipif(
    not os.path.exists(os.path.join(SAMPLE, "dev", "kmsg")), reason="no synflood sample tree"
)
def test_sample_tree_real_records():
    """Records captured from a real overflow (sample_proc/synflood, kernel 6.18)."""
    log = KernelLog(SAMPLE, clock=lambda: 1e9)
    events = log.poll()
    assert log.problem is None
    full = [e for e in events if e.kind == "table_full"]
    assert full and all(e.netns and e.subsystem == "nf_conntrack" for e in full)
    assert any(e.kind == "suppressed" and e.count > 1 for e in events)
    walls = [e.wall for e in events]
    assert walls == sorted(walls) and all(0 < 1e9 - w < 1e5 for w in walls)
    assert log.poll() == []
