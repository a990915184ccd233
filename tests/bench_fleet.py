"""Benchmark: the fleet view on 1,000 backfilled hosts (6 hours) in a real Prometheus.

Prints the wall time of the first answer (four queries, merged into rows), the CPU
seconds of ctwatch's process per refresh, queries per refresh, and (with --tui) the
wall time to the first rendered fleet screen. Not a test: the numbers depend on the
machine; the README quotes them with the date and the load.

    .venv/bin/python tests/bench_fleet.py [--hosts 1000] [--refreshes 10] [--tui]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fleet_backfill  # noqa: E402

from ctwatch.engine.fleet import FleetWatch  # noqa: E402
from ctwatch.sources.prometheus import Client, Config  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--hosts", type=int, default=1000)
    p.add_argument("--refreshes", type=int, default=10)
    p.add_argument("--detail", type=int, default=10)
    p.add_argument("--tui", action="store_true", help="also time the first render")
    args = p.parse_args()
    t0 = time.monotonic()
    with fleet_backfill.backfilled_fleet(args.hosts, detail=args.detail) as fleet:
        print(f"backfill + Prometheus start: {time.monotonic() - t0:.1f} s")
        print(f"load average: {os.getloadavg()[0]:.2f} (2-core machine)")
        walls, cpus, queries = [], [], []
        for i in range(args.refreshes + 1):
            watch = FleetWatch(Client(Config(fleet.server.url)), wall=lambda: fleet.end)
            w0, c0 = time.monotonic(), time.process_time()
            answers = watch.poll()
            wall, cpu = time.monotonic() - w0, time.process_time() - c0
            assert answers.error is None, answers.error
            assert len(answers.rows) == args.hosts, len(answers.rows)
            sparks = sum(1 for r in answers.rows if any(v is not None for v in r.history))
            assert sparks == args.hosts, sparks  # every row has its hour
            if i == 0:
                print(f"first answer: {wall:.3f} s wall, {cpu:.3f} s CPU, {len(answers.rows)} rows")
                continue
            walls.append(wall)
            cpus.append(cpu)
            queries.append(answers.queries)
        print(
            f"refresh ({args.refreshes}x): wall median {statistics.median(walls):.3f} s "
            f"max {max(walls):.3f} s; ctwatch CPU median {statistics.median(cpus):.3f} s "
            f"max {max(cpus):.3f} s; queries per refresh {sorted(set(queries))}"
        )
        if args.tui:
            from bench_fleet_tui import first_render

            print(f"first render (Pilot, 80x24): {first_render(fleet):.3f} s wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
