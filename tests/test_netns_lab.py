"""--all-netns on a real kernel: 32 namespaces, each count checked against its own, one full."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest
from lab import global_conntrack_max, lab_unavailable_reason
from lab_netns import Farm

from ctwatch.engine.namespaces import NamespaceWatch
from ctwatch.sources.kmsg import KernelLog
from ctwatch.sources.netns import setns

pytestmark = pytest.mark.lab

CTWATCH = [sys.executable, "-m", "ctwatch", "--once", "--json", "--all-netns"]
FULL_MAX = 300  # the lowered global max; every other lab table stays well below it


@pytest.fixture(scope="module")
def farm():
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(f"lab unavailable: {reason}")
    for tool in ("unshare", "nsenter"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            pytest.skip(f"{tool} not installed (apt install util-linux)")
    with Farm() as made:
        # Different tables: named ones with 1..20 flows, process-held ones with 3..30,
        # one process-held with its own UTS hostname, one named left empty.
        for n in range(20):
            made.named(n + 1)
        for n in range(10):
            made.held(3 * (n + 1))
        made.held(11, hostname=f"ctwuts-{os.getpid()}")
        made.named(0)
        yield made


def report(*extra: str) -> dict:
    proc = subprocess.run(CTWATCH + list(extra), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_every_namespace_has_its_own_count_and_name(farm):
    started = time.monotonic()
    doc = report("--rate-window", "0")
    took = time.monotonic() - started
    listed = {n["inode"]: n for n in doc["namespaces"]}
    assert len(farm.spaces) >= 30
    for space in farm.spaces:
        row = listed.get(space.inode)
        assert row is not None, f"{space.name or space.proc.pid} ({space.inode}) not listed"
        assert row["entries"] == space.count() == space.flows, row
        assert row["table_error"] is None, row
        assert row["max"] == doc["max"]
        if space.name is not None:
            assert (row["kind"], row["name"]) == ("named", space.name)
        elif space.hostname:
            assert (row["kind"], row["name"]) == ("process", space.hostname)
        else:
            assert row["kind"] == "process" and row["name"].startswith("sleep 900 (pid")
            assert row["pids"] == [space.proc.pid]
    host = [n for n in doc["namespaces"] if n["kind"] == "host"]
    assert len(host) == 1
    assert took < 20, f"--once --all-netns took {took:.1f} s"


def test_a_namespace_only_a_thread_holds(farm):
    """Its bind mount deleted, a namespace lives on in a thread that entered it."""
    space = farm.named(4)
    entered, leave = threading.Event(), threading.Event()
    tids: list = []

    def hold() -> None:
        fd = os.open(f"/run/netns/{space.name}", os.O_RDONLY)
        try:
            setns(fd)
        finally:
            os.close(fd)
        tids.append(threading.get_native_id())
        entered.set()
        leave.wait(60)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        assert entered.wait(10)
        subprocess.run(["ip", "netns", "del", space.name], check=True)
        space.name = None  # nothing left to delete
        rows = {r.inode: r for r in NamespaceWatch("/").poll().rows}
        row = rows[space.inode]
        net = f"--net=/proc/{os.getpid()}/task/{tids[0]}/ns/net"
        count = subprocess.run(
            ["nsenter", net, "cat", "/proc/sys/net/netfilter/nf_conntrack_count"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert row.entries == int(count) == 4
        assert row.kind == "process" and f"thread {tids[0]}" in row.name
    finally:
        leave.set()
        holder.join(10)


def test_the_full_namespace_is_first_by_drops_and_linked_to_the_kernel_log(farm):
    log = KernelLog("/", dmesg="")
    log.poll()  # only lines logged from now on count
    full_lines: list = []
    with global_conntrack_max(FULL_MAX):
        full = farm.named(FULL_MAX + 100)  # 100 flows dropped as it is made
        assert full.count() == FULL_MAX
        # Keep offering new flows while ctwatch reads twice, so it drops in the window.
        flood = full.flows_now(0, seconds=14, wait=False)
        try:
            # The kernel writes at most 10 "table full" lines per 5 s machine-wide
            # (net_ratelimit), so an earlier test's burst can hold this namespace's first
            # line back by up to 5 s. The report must run after one was written: a line
            # from before this namespace existed (its inode number reused) is, rightly,
            # not linked to it.
            deadline = time.monotonic() + 11
            while log.problem is None and time.monotonic() < deadline:
                full_lines += [e for e in log.poll() if e.kind == "table_full"]
                if full.inode in {e.netns for e in full_lines}:
                    break
                time.sleep(0.2)
            doc = report("--rate-window", "1")
        finally:
            flood.wait(timeout=30)
            flood.stderr.close()
    log.close()
    spaces = {s.inode for s in farm.spaces}
    ours = [n for n in doc["namespaces"] if n["inode"] in spaces]
    first = ours[0]
    assert first["inode"] == full.inode, [(n["name"], n["rates"]) for n in ours[:3]]
    assert first["entries"] == FULL_MAX and first["max"] == FULL_MAX and first["fill"] == 1.0
    assert first["rates"]["drop"] > 0 and first["stats"]["drop"] >= 100
    assert all(n["rates"].get("drop", 0) == 0 for n in ours[1:])
    if log.problem is None:
        # The kernel (6.18 here) writes "nf_conntrack: nf_conntrack: table full in netns N,
        # dropping packet".
        mine = [e.wall for e in full_lines if e.netns == full.inode]
        assert mine, full_lines[-3:]
        assert first["last_full"] is not None and first["last_full"] >= max(mine) - 0.01
        assert abs(first["last_full"] - time.time()) < 60
