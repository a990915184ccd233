"""Benchmark: ctwatch's full table scan against the kernel's own cost and the usual peers.

Run as root: `.venv/bin/python tests/bench_scan.py [--entries 250000] [--repeat 5]`.
It builds real tables in lab namespaces, one shape at a time (see SHAPES): few distinct
keys, then the spoofed-flood shapes where every destination or every source is distinct.
Inside each namespace it measures, alternately: `cat /proc/net/nf_conntrack` (the floor),
`conntrack -L`, the seed's `awk | sort | uniq -c`, ctwatch's scan (read + parse + every
breakdown, timed inside the process) and its peak RSS; then peak RSS on a synthetic file
of 1,048,576 distinct sources. Prints medians and ratios to the `cat` of the same table;
never asserts (machines here are noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

TABLE = "/proc/net/nf_conntrack"
SEED_PIPELINE = "awk '{print $6}' /proc/net/nf_conntrack | sort | uniq -c > /dev/null"
# Table shapes: what the packets look like, and what they stand for. Every entry is one
# hand-built UDP or TCP packet from a raw socket, so any source address can be used.
SHAPES = {
    "few": "UDP, 1 source, 4 destinations, 8 ports (distinct source ports)",
    "dst": "UDP, every destination distinct (127.1.0.1 upwards)",
    "src": "TCP SYN, every source distinct (127.2.0.1 upwards), SYN_SENT",
}
FLOOD_PORT = 8099  # the SYNs' port: the lab drops them after tracking, so no RST ends them


def run_child(argv: list) -> tuple:
    """(wall seconds, peak RSS in MB, stdout) of one command, RSS of that child alone."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = (
        os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{argv} failed with {proc.returncode}")
    return wall, usage.ru_maxrss / 1024.0, out


def timed(argv: list) -> float:
    """Wall time of a peer writing to /dev/null, as `time cat ... > /dev/null` measures it."""
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def ctwatch_argv(*extra: str) -> list:
    # --rate-window 0: the process is timed for the scan, not for the rate measurement.
    return [
        sys.executable,
        "-m",
        "ctwatch",
        "--once",
        "--json",
        "--top",
        "10",
        "--rate-window",
        "0",
        *extra,
    ]


def _ip(n: int) -> bytes:
    return struct.pack("!I", n)


def fill(shape: str, n: int) -> None:
    """Runs inside the namespace: n packets, each making one new entry of `shape`."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    local = 0x7F000001
    for i in range(n):
        if shape == "few":
            src, dst, sport, dport, proto = (
                local,
                local + i % 4,
                1024 + i // 32,
                9000 + i // 4 % 8,
                17,
            )
        elif shape == "dst":
            src, dst, sport, dport, proto = local, 0x7F010001 + i, 40000, 9000, 17
        else:
            src, dst, sport, dport, proto = 0x7F020001 + i, local, 40000, FLOOD_PORT, 6
        if proto == 17:  # checksum 0: none (conntrack checks checksums on input only)
            l4 = struct.pack("!HHHH", sport, dport, 9, 0) + b"x"
        else:
            l4 = struct.pack("!HHIIBBHHH", sport, dport, i, 0, 5 << 4, 0x02, 64240, 0, 0)
        ip = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(l4), 0, 0, 64, proto, 0)
        try:
            raw.sendto(ip + _ip(src) + _ip(dst) + l4, (socket.inet_ntoa(_ip(dst)), 0))
        except OSError:
            pass  # the table is full: the count check after the fill says so


def inner(repeat: int) -> dict:
    """Runs inside the lab namespace; every peer is measured alternately, `repeat` times."""
    from ctwatch.model.scan import scan_table
    from ctwatch.sources.procfs import ProcSource

    names = ("cat", "conntrack -L", "awk|sort|uniq -c", "ctwatch scan", "ctwatch process")
    samples: dict = {k: [] for k in (*names, "scan CPU (parser)")}
    rss = []
    entries = None
    for _ in range(repeat):
        # The parser's own CPU (the cat child excluded): what a loaded machine distorts
        # least, so runs on different days compare.
        cpu = time.thread_time()
        scan_table(ProcSource("/").table_chunks())
        samples["scan CPU (parser)"].append(time.thread_time() - cpu)
        samples["cat"].append(timed(["cat", TABLE]))
        samples["conntrack -L"].append(timed(["conntrack", "-L"]))
        samples["awk|sort|uniq -c"].append(timed(["sh", "-c", SEED_PIPELINE]))
        wall, peak, out = run_child(ctwatch_argv())
        report = json.loads(out)
        entries = report["entries"]
        samples["ctwatch scan"].append(report["scan_seconds"])
        samples["ctwatch process"].append(wall)
        rss.append(peak)
    source = ProcSource("/")
    polls = []
    for _ in range(200):
        t = time.perf_counter()
        source.read_counters()
        polls.append(time.perf_counter() - t)
    return {
        "entries": entries,
        "median_seconds": {k: statistics.median(v) for k, v in samples.items()},
        "ctwatch_peak_rss_mb": max(rss),
        "counters_poll_ms_median": 1000 * statistics.median(polls),
        "counters_poll_ms_p95": 1000 * sorted(polls)[int(0.95 * len(polls))],
    }


def synthetic_tree(root: str, n: int) -> None:
    """A --root tree whose table has n entries from n distinct sources (a spoofed flood)."""
    os.makedirs(os.path.join(root, "proc/net/stat"))
    nf = os.path.join(root, "proc/sys/net/netfilter")
    os.makedirs(nf)
    for name, value in (
        ("nf_conntrack_count", n),
        ("nf_conntrack_max", n),
        ("nf_conntrack_buckets", 262144),
    ):
        with open(os.path.join(nf, name), "w") as f:
            f.write(f"{value}\n")
    with open(os.path.join(root, "proc/net/nf_conntrack"), "w") as f:
        for i in range(n):
            src = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
            port = 1024 + i % 60000
            f.write(
                f"ipv4     2 tcp      6 59 SYN_RECV src={src} dst=192.0.2.1 "
                f"sport={port} dport=80 src=192.0.2.1 dst={src} sport=80 dport={port} "
                "mark=0 zone=0 use=2\n"
            )


def synthetic(n: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="ctwbench-") as root:
        synthetic_tree(root, n)
        cat = timed(["cat", os.path.join(root, "proc/net/nf_conntrack")])
        wall, peak, out = run_child(ctwatch_argv("--root", root))
        report = json.loads(out)
    return {
        "entries": report["entries"],
        "distinct_src": report["distinct_src"],
        "scan_seconds": report["scan_seconds"],
        "process_seconds": wall,
        "cat_seconds_page_cache": cat,
        "ctwatch_peak_rss_mb": peak,
    }


def measure_shape(shape: str, entries: int, repeat: int) -> dict:
    """Build one table of `shape` in a fresh namespace and measure everything on it."""
    from lab import Lab

    with Lab(f"ctwbench{shape}") as lab:
        lab.long_timeouts()
        lab.drop_syn(FLOOD_PORT)
        started = time.perf_counter()
        me = os.path.abspath(__file__)
        lab.run([sys.executable, me, "--fill", shape, "--entries", str(entries)], timeout=900)
        built = time.perf_counter() - started
        count = lab.count()
        print(f"{shape}: {count:,} entries ({SHAPES[shape]}), built in {built:.1f} s", flush=True)
        proc = lab.run([sys.executable, me, "--inner", "--repeat", str(repeat)], timeout=1800)
    real = json.loads(proc.stdout)
    real["count"] = count
    return real


def report(shape: str, real: dict, repeat: int) -> float:
    med = real["median_seconds"]
    floor = med["cat"]
    print(f"\n{shape}: {SHAPES[shape]}; {real['entries']:,} entries, median of {repeat} runs:")
    for name, seconds in med.items():
        print(f"  {name:<18} {seconds:7.3f} s   {seconds / floor:5.2f}x cat")
    print(f"  ctwatch peak RSS   {real['ctwatch_peak_rss_mb']:7.1f} MB")
    print(
        f"  counters poll      {real['counters_poll_ms_median']:7.3f} ms median, "
        f"{real['counters_poll_ms_p95']:.3f} ms p95   (target <= 5 ms)"
    )
    return med["ctwatch scan"] / floor


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=250_000)
    ap.add_argument("--synthetic", type=int, default=1_048_576)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--shapes", default=",".join(SHAPES), help="comma list of " + ", ".join(SHAPES))
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--fill", choices=sorted(SHAPES), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.fill:
        fill(args.fill, args.entries)
        return 0
    if args.inner:
        print(json.dumps(inner(args.repeat)))
        return 0
    from lab import lab_unavailable_reason

    reason = lab_unavailable_reason()
    if reason:
        print(f"benchmark needs the lab: {reason}")
        return 1
    shapes = [s for s in args.shapes.split(",") if s]
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown:
        ap.error(f"unknown shape {unknown[0]!r} (one of {', '.join(SHAPES)})")
    print(f"kernel {os.uname().release}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    results = {shape: measure_shape(shape, args.entries, args.repeat) for shape in shapes}
    ratios = {shape: report(shape, real, args.repeat) for shape, real in results.items()}
    print(
        "\nscan / cat of the same table: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items())
    )
    print("targets: few keys about 1.0x; flood shapes <= 1.5x (stretch 1.2x)")
    print(
        f"load after the run {os.getloadavg()[0]:.2f} (a loaded machine makes ratios provisional)"
    )
    if args.synthetic:
        syn = synthetic(args.synthetic)
        print(f"\nsynthetic file, {syn['entries']:,} entries, {syn['distinct_src']:,} sources:")
        print(
            f"  ctwatch scan {syn['scan_seconds']:.3f} s, process {syn['process_seconds']:.3f} s, "
            f"peak RSS {syn['ctwatch_peak_rss_mb']:.1f} MB   (target <= 250 MB)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
