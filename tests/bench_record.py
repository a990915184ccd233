"""Size of a --record file: one measured minute at 1 s on a real 250k-entry table, times 60.

Run as root: python tests/bench_record.py [--entries 250000] [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]  # this checkout's ctwatch, not the installed one

from lab import Lab, lab_unavailable_reason  # noqa: E402

from ctwatch.engine.monitor import Monitor  # noqa: E402
from ctwatch.sources.netns import NetnsSource  # noqa: E402
from ctwatch.sources.recording import Recorder, load_recording  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--entries", type=int, default=250000)
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument(
        "--cpu-budget", type=float, default=10.0, help="percent of a core (100: a scan a poll)"
    )
    args = p.parse_args()
    reason = lab_unavailable_reason()
    if reason:
        print(f"lab unavailable: {reason}")
        return 1
    with Lab("ctwrec") as lab, tempfile.TemporaryDirectory() as tmp:
        lab.fill_udp(args.entries)
        print(f"table: {lab.count():,} entries")
        path = os.path.join(tmp, "rec.jsonl.gz")
        source = NetnsSource(lab.name)
        recorder = Recorder(path, label=source.label, source=source.name)
        monitor = Monitor(source, interval=1.0, cpu_budget=args.cpu_budget / 100, recorder=recorder)
        started = time.monotonic()
        for i in range(args.seconds):
            monitor.poll()
            wait = started + i + 1 - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        recorder.close()
        source.close()
        size = os.path.getsize(path)
        _, frames = load_recording(path)
        scans = sum(1 for f in frames if "scan" in f)
        raw = sum(1 for f in frames if "table" in f)
        hour = size * 3600 / args.seconds
        print(f"{len(frames)} frames in {args.seconds} s: {scans} aggregated scans, {raw} raw")
        print(f"file {size:,} bytes; one hour at this pace: {hour / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
