"""Benchmark: the live monitor against `iptstate -R 1` on a real 250k-entry lab table.

Run as root: `.venv/bin/python tests/bench_tui.py [--entries 250000] [--seconds 20]`.
Both run in tmux at 80x24 inside the same lab namespace, in the same run, and are
measured the same way: CPU seconds per wall second from /proc (children included, so
ctwatch's `cat` readers count), peak RSS, ctwatch's first full frame (launch until the
screen shows the count and the top source) and keypress-to-repaint latency while table
scans run back to back (`--cpu-budget 100`), measured by polling tmux's screen.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

CTWATCH = [sys.executable, "-m", "ctwatch"]


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def screen(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def start(session: str, argv: list, env: str = "") -> None:
    command = " ".join(argv)
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", f"{env} {command}".strip())


def pane_pid(session: str) -> int:
    return int(tmux("display-message", "-p", "-t", session, "#{pane_pid}").strip())


def process_tree(pid: int) -> list:
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_seconds(pid: int) -> float:
    """CPU of the process tree under the pane, counting children that already exited."""
    total = 0.0
    for p in process_tree(pid):
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except Exception:
            continue
    return total


def peak_rss_mb(pid: int, name: str) -> float:
    best = 0.0
    for p in process_tree(pid):
        try:
            if name in " ".join(p.cmdline()):
                with open(f"/proc/{p.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            best = max(best, int(line.split()[1]) / 1024)
        except Exception:
            continue
    return best


def measure_cpu(session: str, seconds: float, warmup: float) -> float:
    time.sleep(warmup)
    pid = pane_pid(session)
    c0, t0 = cpu_seconds(pid), time.perf_counter()
    time.sleep(seconds)
    return (cpu_seconds(pid) - c0) / (time.perf_counter() - t0)


def wait_for(session: str, texts: tuple, timeout: float) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        shown = screen(session)
        if all(t in shown for t in texts):
            return time.perf_counter() - started
        time.sleep(0.01)
    return float("nan")


def key_latencies(session: str, presses: int) -> list:
    """Seconds from send-keys until the screen changes; `s` flips the sort order."""
    out = []
    for _ in range(presses):
        before = screen(session)
        t0 = time.perf_counter()
        tmux("send-keys", "-t", session, "s")
        while time.perf_counter() - t0 < 5:
            if screen(session) != before:
                out.append(time.perf_counter() - t0)
                break
            time.sleep(0.002)
        time.sleep(0.25)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=250_000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--presses", type=int, default=30)
    args = ap.parse_args()
    from lab import Lab, lab_unavailable_reason

    reason = lab_unavailable_reason() or (None if shutil.which("tmux") else "tmux missing")
    if reason:
        print(f"benchmark needs the lab: {reason}")
        return 1
    with Lab("ctwbtui") as lab:
        lab.fill_udp(args.entries)
        count = lab.count()
        print(f"lab table: {count:,} entries in {lab.name}, kernel {os.uname().release}")
        netns = ["ip", "netns", "exec", lab.name]
        results = {}
        if shutil.which("iptstate"):
            start("bipt", [*netns, "iptstate", "-R", "1"])
            results["iptstate -R 1"] = (
                measure_cpu("bipt", args.seconds, 3.0),
                peak_rss_mb(pane_pid("bipt"), "iptstate"),
            )
            tmux("kill-session", "-t", "bipt")
        started = time.perf_counter()
        start("bctw", [*netns, *CTWATCH, "--interval", "1"])
        first_frame = wait_for("bctw", (f"{count:,}", "127.0.0.1"), 30.0)
        results["ctwatch"] = (
            measure_cpu("bctw", args.seconds, max(0.0, 3.0 - (time.perf_counter() - started))),
            peak_rss_mb(pane_pid("bctw"), "ctwatch"),
        )
        tmux("kill-session", "-t", "bctw")
        start("bkey", [*netns, *CTWATCH, "--interval", "1", "--cpu-budget", "100"])
        wait_for("bkey", (f"{count:,}", "127.0.0.1"), 30.0)
        latencies = key_latencies("bkey", args.presses)
        tmux("kill-session", "-t", "bkey")
    print(f"\n80x24 in tmux, {args.seconds:.0f} s each, same lab table:")
    for name, (cpu, rss) in results.items():
        print(f"  {name:<14} {cpu:5.3f} cores   peak RSS {rss:6.1f} MB")
    if "iptstate -R 1" in results:
        ratio = results["ctwatch"][0] / results["iptstate -R 1"][0]
        print(f"  ctwatch / iptstate CPU = {ratio:.2f}   (target <= 0.33)")
    print(f"  first full frame: {first_frame:.2f} s after launch   (target <= 1.5 s)")
    if latencies:
        lat = sorted(latencies)
        p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))]
        print(
            f"  keypress to repaint, scans back to back: median "
            f"{1000 * statistics.median(lat):.0f} ms, p95 {1000 * p95:.0f} ms "
            f"over {len(lat)} presses   (target p95 <= 100 ms)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
