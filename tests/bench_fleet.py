"""Benchmark: the fleet view on 1,000 backfilled hosts (6 hours) in a real Prometheus.

Prints the wall time of the first answer (four queries, merged into rows), the CPU
seconds of ctwatch's process per refresh, queries per refresh, and (with --tui) the
wall time to the first rendered fleet screen. Not a test: the numbers depend on the
machine; the README quotes them with the date and the load.

    .venv/bin/python tests/bench_fleet.py [--hosts 1000] [--refreshes 10] [--tui]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fleet_backfill  # noqa: E402

from ctwatch.engine.fleet import FleetWatch  # noqa: E402
from ctwatch.sources.prometheus import Client, Config  # noqa: E402


def main() -> int:
    # SIGTERM ends like ^C: the backfill's Prometheus and temporary TSDB are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
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
            at = fleet.end - 60 * i  # a different minute each time: nothing cached
            watch = FleetWatch(Client(Config(fleet.server.url)), wall=lambda at=at: at)
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
            first, cpus = asyncio.run(tui(fleet, args.hosts, args.refreshes))
            print(f"TUI (Pilot, 80x24): queries + first render {first:.3f} s wall")
            print(
                f"TUI refresh ({len(cpus)}x, queries + table update): ctwatch CPU median "
                f"{statistics.median(cpus):.3f} s max {max(cpus):.3f} s"
            )
    return 0


async def tui(fleet, hosts: int, refreshes: int) -> tuple:
    """(seconds from app start to the first screen with every row, CPU per refresh)."""
    from ctwatch.faces.ui.fleet_app import create_fleet_app
    from ctwatch.faces.ui.widgets.fleet_table import FleetTable

    # Each refresh a minute later in the data (from 20 minutes before its end): new
    # numbers, new sparklines and a new order, as a live fleet's refresh brings.
    clock = [fleet.end - 1200]
    watch = FleetWatch(Client(Config(fleet.server.url)), wall=lambda: clock[0])
    app = create_fleet_app(watch, fleet.server.url, autorefresh=False)
    t0 = time.monotonic()
    async with app.run_test(size=(80, 24)) as pilot:

        def rows() -> int:
            tables = app.screen.query(FleetTable)
            return tables.first().row_count if tables else 0

        while rows() < hosts:
            await pilot.pause(0.005)
        await pilot.pause(0)  # the frame with them
        first = time.monotonic() - t0
        cpus = []
        for _ in range(refreshes):
            clock[0] += 60
            done, c0 = app.refreshes, time.process_time()
            app.start_refresh()
            while app.refreshes == done:
                await pilot.pause(0.005)
            await pilot.pause(0)
            cpus.append(time.process_time() - c0)
    return first, cpus


if __name__ == "__main__":
    sys.exit(main())
