"""The namespaces view on real namespaces: ctwatch in tmux at 80x24 (and TERM=linux) lists them,
enter watches the full one, h comes back, j follows the kernel log's "table full in netns N".

Also the switch itself, without a screen: the monitor reads a process-held namespace's own
table after `watch()`, and the advice's commands enter it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest
from lab import global_conntrack_max, lab_unavailable_reason
from lab_netns import Farm
from test_ui_follow_lab import ctwatch_command, screen, wait_screen

from ctwatch.engine.monitor import Monitor
from ctwatch.engine.namespaces import Listing, NamespaceWatch
from ctwatch.engine.switching import watched_at_start
from ctwatch.sources.kmsg import KernelLog
from ctwatch.sources.select import open_source

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed"),
]
FULL_MAX = 300


@pytest.fixture(scope="module")
def farm():
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(f"lab unavailable: {reason}")
    if shutil.which("unshare") is None:
        pytest.skip("unshare not installed (apt install util-linux)")
    log = KernelLog("/", dmesg="")
    log.poll()
    with Farm("ctwui") as made:
        made.named(5)
        made.named(20)
        made.held(30)
        made.held(8, hostname=f"ctwuts-{os.getpid()}")
        with global_conntrack_max(FULL_MAX):
            made.full = made.named(FULL_MAX + 100)  # 100 flows dropped as it is made
            assert made.full.count() == FULL_MAX
            # The kernel log must name it before the screen is asked to link it. Its
            # lines are ratelimited (other labs may just have filled theirs): keep
            # knocking with new flows, still dropped, until one gets through.
            deadline = time.monotonic() + 60
            while not any(e.netns == made.full.inode for e in log.poll()):
                assert time.monotonic() < deadline, "no table-full line in 60 s"
                made.full.flows_now(0, seconds=1.0)
        yield made


def start(session: str, term: str) -> None:
    subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    argv = " ".join(ctwatch_command() + ["--log-file", f"/tmp/{session}.log"])
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24",
         f"env TERM={term} {argv}; sleep 60"],
        check=True,
    )  # fmt: skip


def keys(session: str, *names: str) -> None:
    for name in names:
        subprocess.run(["tmux", "send-keys", "-t", session, name], check=True)
        time.sleep(0.3)


def first_row(text: str) -> str:
    """The name in the namespaces table's first row (under its header)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "namespace" in line and "entries" in line and "fill" in line:
            return lines[i + 1].strip("│|").split()[0]
    raise AssertionError(f"no namespaces table on screen:\n{text}")


@pytest.mark.parametrize("term", ["xterm-256color", "linux"])
def test_view_switch_back_and_kernel_log_jump(farm, term):
    session = f"ctwns-{term}-{os.getpid()}"
    full = farm.full.name
    start(session, term)
    try:
        text = wait_screen(session, lambda t: "netns host" in t)
        # The kernel log's newest table-full line names the namespace, with its key.
        text = wait_screen(session, lambda t: f"in {full} (j)" in t or f"in {full}  j:" in t)
        keys(session, "N")
        text = wait_screen(session, lambda t: "Network namespaces" in t and full in t)
        assert first_row(text) == full, text  # first by drops
        for space in farm.spaces:
            shown = space.name or space.hostname
            if shown:
                assert shown in text, f"{shown} not listed:\n{text}"
        if term == "linux":
            assert "░" not in text and "╭" not in text, text
        keys(session, "Enter")
        text = wait_screen(session, lambda t: f"netns {full}" in t.splitlines()[0])
        text = wait_screen(session, lambda t: re.search(rf"count {FULL_MAX} /", t) is not None)
        assert "h Home" in text.splitlines()[-1], text
        keys(session, "h")
        wait_screen(session, lambda t: "netns host" in t.splitlines()[0])
        keys(session, "j")
        text = wait_screen(session, lambda t: f"netns {full}" in t.splitlines()[0])
        # Watching it, the table-full line is about this table: no link elsewhere.
        assert f"in {full}" not in text
        keys(session, "h", "N", "s")
        text = wait_screen(session, lambda t: "by entries" in t)
        keys(session, "q")
    finally:
        leftover = screen(session)
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    assert "Traceback" not in leftover, leftover


def test_monitor_watches_a_process_held_namespace_and_comes_back(farm):
    held = next(s for s in farm.spaces if s.proc is not None and not s.hostname)
    source = open_source("auto", "/")
    monitor = Monitor(
        source,
        watched=watched_at_start(source, "/"),
        namespaces=Listing(NamespaceWatch("/")),
    )
    try:
        home = monitor.poll(scan=True)
        assert home.watched.initial and home.namespaces is not None
        row = next(r for r in home.namespaces.rows if r.inode == held.inode)
        assert row.path == f"/proc/{held.proc.pid}/ns/net"
        monitor.watch(row)
        away = monitor.poll(scan=True)
        assert away.watched.inode == held.inode and not away.watched.initial
        assert away.snapshot.count == held.count() == 30
        assert away.scan is not None and away.scan.entries == 30
        assert len(away.history) == 1  # the host's history is not this table's
        # The advice's commands enter it (`ip netns exec` needs a name it does not have).
        assert away.watched.enter == f"nsenter --net=/proc/{held.proc.pid}/ns/net "
        monitor.go_home()
        back = monitor.poll(scan=True)
        assert back.watched.initial and back.watched.home
    finally:
        monitor.source.close()
