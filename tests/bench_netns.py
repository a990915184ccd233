"""Benchmark (root, not a test): CPU of one --all-netns listing with 300 lab namespaces.

    sudo .venv/bin/python tests/bench_netns.py [--named 200] [--held 100] [--flows 5]

Makes the namespaces (named ones, kept by a bind mount only and so entered with setns;
process-held ones, read through /proc/PID/net), each with a few static UDP flows, then
times the listing in this process (CPU, over several runs) and a whole
`ctwatch --once --json --all-netns --rate-window 0` (its CPU, interpreter start included).
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
