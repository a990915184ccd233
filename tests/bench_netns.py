"""Benchmark (root, not a test): CPU of one --all-netns listing with 300 lab namespaces.

    sudo .venv/bin/python tests/bench_netns.py [--named 200] [--held 100] [--flows 5]

Makes the namespaces (named ones, kept by a bind mount only and so entered with setns;
process-held ones, read through /proc/PID/net), each with a few static UDP flows, then
times the listing in this process (CPU, over several runs) and a whole
`ctwatch --once --json --all-netns --rate-window 0` (its CPU, interpreter start included).
Then the live view: the engine polling every second with the namespaces view open
(listing within its share of --cpu-budget), and the installed `ctwatch` in tmux at 80x24
with the view open, its whole process's CPU sampled over --seconds.
Everything is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lab_netns import Farm  # noqa: E402

from ctwatch.engine.namespaces import NamespaceWatch  # noqa: E402


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--named", type=int, default=200)
    parser.add_argument("--held", type=int, default=100)
    parser.add_argument("--flows", type=int, default=5)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--budget", type=float, default=10.0, help="percent of a core")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root", file=sys.stderr)
        return 1
    with Farm("ctwbench") as farm:
        made = time.monotonic()
        for _ in range(args.named):
            farm.named(args.flows)
        for _ in range(args.held):
            farm.held(args.flows)
        print(f"made {len(farm.spaces)} namespaces in {time.monotonic() - made:.1f} s")
        watch = NamespaceWatch("/")
        costs, walls, listed = [], [], 0
        for _ in range(args.runs):
            wall = time.monotonic()
            view = watch.poll()
            walls.append(time.monotonic() - wall)
            costs.append(view.cpu_seconds)
            listed = len(view.rows)
        ours = {s.inode for s in farm.spaces}
        counted = {r.inode: r.entries for r in view.rows if r.inode in ours}
        wrong = [i for i, n in counted.items() if n != args.flows]
        print(
            f"listing of {listed} namespaces: CPU median {statistics.median(costs):.3f} s "
            f"(min {min(costs):.3f}, max {max(costs):.3f}), wall median "
            f"{statistics.median(walls):.3f} s; {len(counted)} of ours listed, "
            f"{len(wrong)} with a wrong count"
        )
        before = children_cpu()
        wall = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "ctwatch", "--once", "--json", "--all-netns"]
            + ["--rate-window", "0"],
            capture_output=True,
            text=True,
        )
        took = time.monotonic() - wall
        doc = json.loads(proc.stdout)
        print(
            f"ctwatch --once --json --all-netns: {len(doc['namespaces'])} namespaces, "
            f"CPU {children_cpu() - before:.3f} s, wall {took:.3f} s (interpreter start included)"
        )
        engine_view(args.seconds, args.budget)
        tui_view(args.seconds, args.budget)
    return 0


def engine_view(seconds: float, budget: float) -> None:
    """The live engine with the view open: every poll, as the UI's worker calls it."""
    from ctwatch.engine.monitor import Monitor
    from ctwatch.engine.namespaces import Listing
    from ctwatch.sources.select import open_source

    listing = Listing(NamespaceWatch("/"))
    listing.want(True)
    monitor = Monitor(open_source(), cpu_budget=budget / 100, namespaces=listing)
    listed, seen, polls = 0.0, None, 0
    cpu, wall, children = time.process_time(), time.monotonic(), children_cpu()
    end = wall + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        answers = monitor.poll()
        polls += 1
        if answers.namespaces is not None and answers.namespaces is not seen:
            seen = answers.namespaces
            listed += seen.cpu_seconds
        time.sleep(max(0.0, started + 1.0 - time.monotonic()))
    took = time.monotonic() - wall
    used = time.process_time() - cpu + children_cpu() - children  # `cat` reads the table
    print(
        f"engine, view open, {polls} polls over {took:.0f} s: listing "
        f"{100 * listed / took:.1f}% of a core (its share: {budget / 2:g}%), whole poll "
        f"{100 * used / took:.1f}% (budget {budget:g}% for scans + listing)"
    )
    monitor.source.close()


def tui_view(seconds: float, budget: float) -> None:
    """The installed ctwatch in tmux with the namespaces view open: its process's CPU."""
    import shutil

    import psutil

    beside = os.path.join(os.path.dirname(sys.executable), "ctwatch")
    if shutil.which("tmux") is None or not os.path.exists(beside):
        print("tui: skipped (tmux or the installed ctwatch missing)")
        return
    session = f"ctwbench-{os.getpid()}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24",
         f"{beside} --cpu-budget {budget:g} --log-file /tmp/{session}.log"],
        check=True,
    )  # fmt: skip
    try:
        time.sleep(5)
        subprocess.run(["tmux", "send-keys", "-t", session, "N"], check=True)
        time.sleep(3)
        pane = subprocess.run(
            ["tmux", "list-panes", "-t", session, "-F", "#{pane_pid}"],
            capture_output=True, text=True, check=True,
        ).stdout.split()[0]  # fmt: skip
        proc = psutil.Process(int(pane))
        tree = [proc] + proc.children(recursive=True)

        def used() -> float:
            total = 0.0
            for p in tree:
                try:
                    t = p.cpu_times()
                    total += t.user + t.system + t.children_user + t.children_system
                except psutil.Error:
                    pass
            return total

        before, wall = used(), time.monotonic()
        time.sleep(seconds)
        share = 100 * (used() - before) / (time.monotonic() - wall)
        shown = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
        ).stdout
        rows = [line for line in shown.splitlines() if " named " in line or " process " in line]
        print(
            f"tui, namespaces view open at 80x24 for {seconds:.0f} s: the ctwatch process "
            f"used {share:.1f}% of a core (--cpu-budget {budget:g}: scans + listing; "
            f"drawing is the UI thread's); {len(rows)} rows on screen"
        )
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
