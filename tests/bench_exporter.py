"""Benchmark: `ctwatch --serve` on a real 250k-entry table under 10 concurrent scrapers.

Run as root: `.venv/bin/python tests/bench_exporter.py [--entries 250000] [--duration 60]`.
It builds a real table in a lab namespace (bench_scan.py's shapes; default `dst`, every
destination distinct, the shape that costs the most memory), starts `ctwatch --serve
--netns LAB` on a host loopback port, waits for its first scan, then runs `--scrapers`
threads that each scrape /metrics every `--every` seconds (staggered) for `--duration`
seconds. Prints scrape latency p50/p99, the exporter's CPU over the window as a share
of one core against --cpu-budget, its peak RSS (VmHWM) and how many scans it made.
Never asserts: this 2-core machine is noisy; the targets are printed beside the numbers.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
TARGETS = "targets: p99 <= 50 ms, CPU within --cpu-budget, peak RSS <= 80 MB"


def proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.read()


def scans_seen(body: bytes):
    for line in body.decode().splitlines():
        if line.startswith("ctwatch_last_scan_timestamp_seconds"):
            return float(line.split()[-1])
    return None


def scraper(url: str, every: float, offset: float, until: float, out: list) -> None:
    next_at = time.monotonic() + offset
    while True:
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if time.monotonic() >= until:
            return
        started = time.perf_counter()
        body = get(url)
        out.append((time.perf_counter() - started, scans_seen(body)))
        next_at += every


def measure(lab_name: str, args) -> dict:
    port = free_port()
    argv = [sys.executable, "-m", "ctwatch", "--serve", f"127.0.0.1:{port}"]
    argv += ["--netns", lab_name, "--cpu-budget", str(args.cpu_budget)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        deadline = time.monotonic() + 300
        while True:  # the first scan of a 250k table takes about a second
            try:
                if scans_seen(get(url)) is not None:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"exporter did not scan: {proc.stderr.read()[-500:]}")
            time.sleep(0.2)
        cpu0, t0 = proc_cpu_seconds(proc.pid), time.monotonic()
        until = t0 + args.duration
        results: list = []
        threads = [
            threading.Thread(
                target=scraper,
                args=(url, args.every, i * args.every / args.scrapers, until, results),
            )
            for i in range(args.scrapers)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        cpu = proc_cpu_seconds(proc.pid) - cpu0
        wall = time.monotonic() - t0
        rss = peak_rss_mb(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    latencies = sorted(r[0] for r in results)
    scans = len({r[1] for r in results if r[1] is not None})
    return {
        "scrapes": len(latencies),
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "max_ms": 1000 * latencies[-1],
        "cpu_percent": 100 * cpu / wall,
        "rss_mb": rss,
        "scans": scans,
        "exit": proc.returncode,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=250_000)
    ap.add_argument("--shape", default="dst", help="a bench_scan.py shape: few, dst, src")
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--scrapers", type=int, default=10)
    ap.add_argument("--every", type=float, default=1.0, help="seconds between one scraper's GETs")
    ap.add_argument("--cpu-budget", type=float, default=10.0, help="percent, as ctwatch takes it")
    args = ap.parse_args()
    from bench_scan import FLOOD_PORT
    from lab import Lab, lab_unavailable_reason

    reason = lab_unavailable_reason()
    if reason:
        print(f"benchmark needs the lab: {reason}")
        return 1
    load = os.getloadavg()[0]
    print(f"kernel {os.uname().release}, {os.cpu_count()} CPUs, load {load:.2f}")
    with Lab("ctwbenchexp") as lab:
        lab.long_timeouts()
        lab.drop_syn(FLOOD_PORT)
        fill = [sys.executable, os.path.join(HERE, "bench_scan.py"), "--fill", args.shape]
        lab.run([*fill, "--entries", str(args.entries)], timeout=900)
        count = lab.count()
        print(f"{args.shape}: {count:,} entries in {lab.name}")
        r = measure(lab.name, args)
    print(
        f"{args.scrapers} scrapers, one GET each every {args.every:g} s for "
        f"{args.duration:g} s: {r['scrapes']} scrapes"
    )
    print(f"  latency p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms")
    print(
        f"  exporter CPU {r['cpu_percent']:.1f} % of a core (--cpu-budget {args.cpu_budget:g} "
        f"covers the scans), {r['scans']} scans seen"
    )
    print(f"  peak RSS {r['rss_mb']:.1f} MB; exit code {r['exit']} after SIGTERM")
    print(TARGETS)
    print(f"load after the run {os.getloadavg()[0]:.2f} (a loaded machine makes this provisional)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
