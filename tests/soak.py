"""Soak benchmark: the installed `ctwatch` TUI for a long time on a churning flood-shaped table.

Run as root: `.venv/bin/python tests/soak.py [--minutes 60] [--entries 12000|250000]
[--interval 0.5] [--cpu-budget 50]`.

A lab namespace gets a spoofed flood that keeps its table near --entries while old flows
expire: 12,000 entries are TCP SYNs at --rate a second (200 by default) that stay SYN_SENT
for entries / rate seconds; 250,000 are UDP flows from and to distinct addresses, timing out
after 60 s. `ctwatch --netns LAB` runs in tmux at 80x24. Every --every seconds (60) a row
gives the ctwatch process's RSS, its open file descriptors, the CPU of it and its children
(the `cat` readers) over the last period, the RSS of its live children, and the table's
count. At the end: the RSS growth over the last half of the run. SOAK_CTWATCH=PATH runs
another build of ctwatch (say, an older checkout's) under the same conditions.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

CHURN = os.path.join(HERE, "lab_churn.py")
FLOOD_PORT = 80
UDP_PORT = 5060
UDP_TIMEOUT = 60


@dataclass
class Row:
    seconds: float
    rss_mb: float
    peak_mb: float  # VmHWM: the most RSS ever had
    fds: int
    cpu_percent: float
    children_mb: float
    entries: Optional[int]


def installed_ctwatch() -> list:
    """$SOAK_CTWATCH (another build to compare), else the ctwatch of this Python."""
    if os.environ.get("SOAK_CTWATCH"):
        return [os.environ["SOAK_CTWATCH"]]
    beside = os.path.join(os.path.dirname(sys.executable), "ctwatch")
    found = beside if os.path.exists(beside) else shutil.which("ctwatch")
    return [found] if found else [sys.executable, "-m", "ctwatch"]


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True).stdout


def start_churn(lab, entries: int, rate: Optional[float]):
    """The flood that keeps the table near `entries`; returns its Background."""
    if entries <= 50_000:
        rate = rate or 200.0
        lab.sysctl("net.netfilter.nf_conntrack_tcp_timeout_syn_sent", max(1, round(entries / rate)))
        lab.drop_syn(FLOOD_PORT)
        argv = ["syn", "--rate", str(rate), "--port", str(FLOOD_PORT)]
    else:
        # The kernel counts expired flows until its collector runs: aim a little lower.
        rate = rate or 0.95 * entries / UDP_TIMEOUT
        lab.sysctl("net.netfilter.nf_conntrack_udp_timeout", UDP_TIMEOUT)
        lab.drop_udp(UDP_PORT)
        argv = ["udp", "--rate", str(rate), "--port", str(UDP_PORT)]
    bg = lab.popen([sys.executable, CHURN, *argv], what="lab_churn")
    bg.wait_ready()
    return bg


def ctwatch_process(pane_pid: int):
    """The ctwatch process under the tmux pane (the pane may be a shell that started it)."""
    import psutil

    try:
        root = psutil.Process(pane_pid)
        for p in (root, *root.children(recursive=True)):
            if "ctwatch" in " ".join(p.cmdline()):
                return p
    except psutil.Error:
        pass
    return None


class Probe:
    """RSS, fds and CPU of one process (CPU counts its children, finished ones too)."""

    def __init__(self, proc) -> None:
        self.proc = proc
        self.started = time.monotonic()
        self.last = (self.started, self.cpu())

    def cpu(self) -> float:
        t = self.proc.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for child in self._children():
            try:  # a `cat` still reading: its time is not in children_* yet
                c = child.cpu_times()
                total += c.user + c.system
            except Exception:
                continue
        return total

    def _children(self) -> list:
        try:
            return self.proc.children(recursive=True)
        except Exception:
            return []

    def high_water_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def sample(self, entries: Optional[int]) -> Row:
        now, cpu = time.monotonic(), self.cpu()
        then, cpu_then = self.last
        self.last = (now, cpu)
        kids = 0
        for child in self._children():
            try:
                kids += child.memory_info().rss
            except Exception:
                continue
        return Row(
            seconds=now - self.started,
            rss_mb=self.proc.memory_info().rss / 2**20,
            peak_mb=self.high_water_mb(),
            fds=self.proc.num_fds(),
            cpu_percent=100.0 * (cpu - cpu_then) / (now - then) if now - then > 0.1 else 0.0,
            children_mb=kids / 2**20,
            entries=entries,
        )


def format_row(row: Row) -> str:
    entries = "?" if row.entries is None else f"{row.entries:,}"
    return (
        f"{row.seconds / 60:6.1f} {row.rss_mb:8.1f} {row.peak_mb:8.1f} {row.fds:4d} "
        f"{row.cpu_percent:6.1f} "
        f"{row.children_mb:7.1f} {entries:>9}"
    )


HEADER = "   min   RSS MB  peak MB  fds  CPU %  kid MB   entries"


def growth_over_last_half(rows: list) -> float:
    """RSS at the end less RSS at the row nearest the run's middle."""
    if len(rows) < 2:
        return 0.0
    middle = rows[-1].seconds / 2
    mid = min(rows, key=lambda r: abs(r.seconds - middle))
    return rows[-1].rss_mb - mid.rss_mb


def soak(
    minutes: float,
    entries: int = 12_000,
    interval: float = 0.5,
    cpu_budget: float = 50.0,
    every: float = 60.0,
    rate: Optional[float] = None,
    report: Callable[[str], None] = print,
    screen_at_end: Optional[list] = None,
) -> list:
    """Run the soak; returns the rows (also reported one by one as they come)."""
    from lab import Lab

    rows: list = []
    with Lab("ctwsoak") as lab:
        start_churn(lab, entries, rate)
        session = f"ctwsoak-{os.getpid()}-{time.monotonic_ns()}"
        command = [*installed_ctwatch(), "--netns", lab.name]
        command += ["--interval", str(interval), "--cpu-budget", str(cpu_budget)]
        tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", " ".join(command))
        try:
            pane = int(tmux("display-message", "-p", "-t", session, "#{pane_pid}").strip())
            proc = None
            for _ in range(50):
                proc = ctwatch_process(pane)
                if proc is not None:
                    break
                time.sleep(0.1)
            if proc is None:
                raise RuntimeError(f"ctwatch did not start: {tmux('capture-pane', '-p')}")
            probe = Probe(proc)
            report(f"lab {lab.name}: {' '.join(command)}  (pid {proc.pid})")
            report(HEADER)
            deadline = probe.started + minutes * 60
            next_at = probe.started
            while True:
                if not proc.is_running():
                    report("ctwatch exited:\n" + tmux("capture-pane", "-p", "-t", session))
                    break
                try:
                    count: Optional[int] = lab.count()
                except Exception:
                    count = None
                row = probe.sample(count)
                rows.append(row)
                report(format_row(row))
                next_at += every
                if next_at > deadline + 1e-6:
                    break
                time.sleep(max(0.0, next_at - time.monotonic()))
            if screen_at_end is not None:
                screen_at_end.append(tmux("capture-pane", "-p", "-t", session))
        finally:
            tmux("kill-session", "-t", session)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--entries", type=int, default=12_000, help="12000 (SYN) or 250000 (UDP)")
    ap.add_argument("--interval", type=float, default=0.5)
    ap.add_argument("--cpu-budget", type=float, default=50.0)
    ap.add_argument("--every", type=float, default=60.0, help="seconds between rows")
    ap.add_argument("--rate", type=float, default=None, help="new flows a second")
    args = ap.parse_args()
    from lab import lab_unavailable_reason

    reason = lab_unavailable_reason() or (None if shutil.which("tmux") else "tmux missing")
    if reason:
        print(f"soak needs the lab: {reason}")
        return 1
    try:
        import psutil  # noqa: F401
    except ImportError:
        print("soak needs psutil")
        return 1
    print(f"kernel {os.uname().release}, {os.cpu_count()} CPUs")
    rows = soak(args.minutes, args.entries, args.interval, args.cpu_budget, args.every, args.rate)
    if rows:
        peak = rows[-1].peak_mb
        half = growth_over_last_half(rows)
        print(
            f"RSS {rows[0].rss_mb:.1f} MB at start, {rows[-1].rss_mb:.1f} MB at the end, "
            f"peak {peak:.1f} MB; growth over the last half: {half:+.1f} MB; "
            f"fds {rows[0].fds} -> {rows[-1].fds}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
