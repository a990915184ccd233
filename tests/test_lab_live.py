"""ctwatch against live kernel tables in lab namespaces, checked with the kernel's own numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter

import pytest
from lab import Lab, global_conntrack_max, lab_unavailable_reason

from ctwatch.sources.base import SourceError
from ctwatch.sources.kmsg import KernelLog
from ctwatch.sources.netns import NetnsSource

pytestmark = pytest.mark.lab

CTWATCH = [sys.executable, "-m", "ctwatch"]


def conntrack_rows(lab: Lab) -> list:
    """`conntrack -L -o extended` inside the namespace, split naively, one dict per flow."""
    out = lab.run(["conntrack", "-L", "-o", "extended"]).stdout
    rows = []
    for line in out.splitlines():
        tokens = line.replace(",", " ").split()
        if len(tokens) < 6 or tokens[0] not in ("ipv4", "ipv6"):
            continue
        fields = {}
        for tok in tokens:
            key, eq, value = tok.partition("=")
            if eq and key not in fields:  # the first src=/dst=/dport= is the original tuple
                fields[key] = value
        state = tokens[5] if "=" not in tokens[5] and tokens[5].isupper() else None
        rows.append(
            {
                "proto": tokens[2],
                "state": state,
                "src": fields["src"],
                "dst": fields["dst"],
                "dport": fields.get("dport"),
            }
        )
    return rows


def expected(rows: list, key: str) -> dict:
    return dict(Counter(r[key] for r in rows if r[key] is not None))


def ctwatch_json(*args: str, lab: Lab = None) -> dict:
    argv = [*CTWATCH, "--once", "--json", "--top", "0", *args]
    if lab is not None:
        proc = lab.run(argv, check=False, timeout=60)
    else:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def assert_matches_kernel(report: dict, lab: Lab, rows: list) -> None:
    assert report["bad_lines"] == 0
    assert report["entries"] == len(rows)
    for dim in ("state", "proto", "src", "dst", "dport"):
        assert report[f"by_{dim}"] == expected(rows, dim), dim


@pytest.fixture(scope="module")
def mixed_lab():
    """One namespace with every kind of long-lived flow, shared by the read-only tests."""
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(f"lab unavailable: {reason}")
    with Lab() as lab:
        lab.mixed()
        yield lab


def test_netns_count_and_breakdowns_match_the_kernel(mixed_lab):
    before = mixed_lab.count()
    report = ctwatch_json("--netns", mixed_lab.name)
    rows = conntrack_rows(mixed_lab)
    assert mixed_lab.count() == before, "the table churned: a flow in mixed() expired"
    assert report["source"] == "netns"
    assert report["count"] == before == len(rows)
    assert_matches_kernel(report, mixed_lab, rows)
    states = report["by_state"]
    for state in ("ESTABLISHED", "TIME_WAIT", "SYN_SENT", "SYN_RECV", "CLOSE", "CLOSE_WAIT"):
        assert states.get(state, 0) > 0, state
    for proto in ("tcp", "udp", "icmp", "icmpv6", "gre", "unknown"):
        assert report["by_proto"].get(proto, 0) > 0, proto


def test_ipv6_addresses_are_compressed(mixed_lab):
    report = ctwatch_json("--netns", mixed_lab.name)
    assert report["by_src"].get("::1", 0) > 0
    keys = list(report["by_src"]) + list(report["by_dst"])
    assert not [k for k in keys if "0000:" in k]


def test_accounting_and_timestamp_lines_parse(mixed_lab):
    table = mixed_lab.cat("/proc/net/nf_conntrack")
    assert "packets=" in table and "delta-time=" in table and "mark=7" in table
    report = ctwatch_json("--netns", mixed_lab.name)
    assert report["bad_lines"] == 0
    assert report["entries"] == len(table.splitlines())


def test_pid_reads_the_namespace_of_a_process(mixed_lab):
    pids = mixed_lab.pids()
    assert pids, "mixed() holds flows in background processes"
    report = ctwatch_json("--pid", str(pids[0]))
    rows = conntrack_rows(mixed_lab)
    assert report["count"] == len(rows)
    assert_matches_kernel(report, mixed_lab, rows)


def test_conntrack_source_inside_the_namespace(mixed_lab):
    report = ctwatch_json("--source", "conntrack", lab=mixed_lab)
    rows = conntrack_rows(mixed_lab)
    assert report["source"] == "conntrack"
    assert_matches_kernel(report, mixed_lab, rows)
    assert report["count"] == mixed_lab.count()


def test_proc_source_inside_the_namespace(mixed_lab):
    report = ctwatch_json("--source", "proc", lab=mixed_lab)
    rows = conntrack_rows(mixed_lab)
    assert_matches_kernel(report, mixed_lab, rows)


def table_full_events(log: KernelLog, inode: int) -> list:
    return [e for e in log.poll() if e.kind == "table_full" and e.netns == inode]


def test_full_table_shows_count_at_max_and_drops(lab):
    log = KernelLog("/", dmesg="")
    log.poll()  # skip what the ring buffer held before
    inode = os.stat(f"/run/netns/{lab.name}").st_ino
    # Earlier tests of this module left flows with short timeouts (CLOSE, TIME_WAIT): if
    # one expires between the fill and the report, the table is no longer full. Only the
    # fill's own 600 s flows stay.
    lab.run(["conntrack", "-F"])
    with global_conntrack_max(512):
        lab.fill_udp(800)
        assert lab.count() == 512
        report = ctwatch_json("--netns", lab.name)
        events = table_full_events(log, inode)
        if not events and log.problem is None:
            # The kernel logs at most 10 such lines per 5 s machine-wide: wait, drop again.
            time.sleep(5.5)
            lab.fill_udp(800)
            events = table_full_events(log, inode)
    if log.problem is None:
        assert events, "no 'table full in netns' line for the lab's namespace"
    log.close()
    assert report["count"] == report["max"] == 512
    assert report["fill"] == 1.0
    stats = report["stats"]
    assert stats["drop"] + stats["early_drop"] + stats["insert_failed"] > 0
    assert report["entries"] == 512 and report["bad_lines"] == 0


def test_namespace_deleted_under_an_open_source(lab):
    source = NetnsSource(lab.name)
    try:
        assert source.read_counters().count is not None
        subprocess.run(["ip", "netns", "del", lab.name], check=True)
        with pytest.raises(SourceError, match="gone"):
            source.read_counters()
        with pytest.raises(SourceError, match="gone"):
            b"".join(source.table_chunks())
    finally:
        source.close()


def test_missing_namespace_is_one_line_not_a_traceback():
    proc = subprocess.run(
        [*CTWATCH, "--once", "--netns", "ctw-no-such-ns"], capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "ctw-no-such-ns" in proc.stderr
