"""Soak benchmark: the installed `ctwatch` with the namespaces view open while namespaces churn.

Run as root: `.venv/bin/python tests/soak_netns.py [--minutes 20] [--spaces 100]
[--churn 5]`.

Keeps --spaces lab namespaces alive (named, a few UDP flows each), deleting the oldest and
making a new one every --churn seconds, as containers come and go on a busy node; every
namespace made is a new inode for ctwatch's per-namespace state. `ctwatch` runs in tmux at
80x24 with the namespaces view open (`--interval 1`, listed every tick). Every --every
seconds (60) a row gives the ctwatch process's RSS and peak, the namespaces made so far,
and the rows on screen. At the end: the RSS growth over the last half of the run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from lab_netns import Farm  # noqa: E402


def status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def ctwatch_pid(session: str) -> int:
    pane = subprocess.run(
        ["tmux", "list-panes", "-t", session, "-F", "#{pane_pid}"],
        capture_output=True, text=True, check=True,
    ).stdout.split()[0]  # fmt: skip
    out = subprocess.run(["pgrep", "-P", pane], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else int(pane)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--spaces", type=int, default=100)
    ap.add_argument("--churn", type=float, default=5.0, help="seconds between replacements")
    ap.add_argument("--every", type=float, default=60.0)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root", file=sys.stderr)
        return 1
    beside = os.path.join(os.path.dirname(sys.executable), "ctwatch")
    session = f"ctwsoakns-{os.getpid()}"
    rows = []
    with Farm("ctwsoakns") as farm:
        for _ in range(args.spaces):
            farm.named(3)
        made = args.spaces
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24",
             f"{beside} --interval 1 --log-file /tmp/{session}.log"],
            check=True,
        )  # fmt: skip
        try:
            time.sleep(4)
            subprocess.run(["tmux", "send-keys", "-t", session, "N"], check=True)
            pid = ctwatch_pid(session)
            start = time.monotonic()
            end = start + args.minutes * 60
            next_row = start
            print("minute  rss_mb  peak_mb  namespaces_made  rows_on_screen", flush=True)
            while time.monotonic() < end:
                now = time.monotonic()
                if now >= next_row:
                    screen = subprocess.run(
                        ["tmux", "capture-pane", "-p", "-t", session],
                        capture_output=True, text=True,
                    ).stdout  # fmt: skip
                    shown = sum(" named " in line for line in screen.splitlines())
                    rss, peak = status_kb(pid, "VmRSS") / 1024, status_kb(pid, "VmHWM") / 1024
                    rows.append((now - start, rss))
                    print(
                        f"{(now - start) / 60:6.1f}  {rss:6.1f}  {peak:7.1f}  {made:15d}  "
                        f"{shown:14d}",
                        flush=True,
                    )
                    next_row += args.every
                old = next(s for s in farm.spaces if s.name is not None)
                subprocess.run(["ip", "netns", "del", old.name], capture_output=True)
                farm.spaces.remove(old)
                farm.named(3)
                made += 1
                time.sleep(args.churn)
        finally:
            log = f"/tmp/{session}.log"
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    half = [rss for t, rss in rows if t >= args.minutes * 30]
    if len(half) >= 2:
        print(f"RSS growth over the last half: {half[-1] - half[0]:+.1f} MB "
              f"(min {min(half):.1f}, max {max(half):.1f})")  # fmt: skip
    if os.path.exists(log) and "Traceback" in open(log).read():
        print(f"Traceback in {log}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
