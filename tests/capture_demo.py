"""Records the bundled demo incident (ctwatch/demo/incident.jsonl.gz) from a live lab (root).

    python tests/capture_demo.py [--out PATH] [--seconds 150]

Timeline, one frame a second: a calm web server (warmed up before the first frame); at FLOOD_A a slow SYN flood from one
address against the HTTPS listener (SYN_RECV); at FLOOD_B a fast one from three more
addresses against a filtered port (SYN_SENT) mixed with UDP to a filtered SIP port; the
table fills up to the global nf_conntrack_max (lowered to DEMO_MAX for the recording,
restored in `finally`) and the kernel drops packets; at FLOOD_END both floods stop and the
table drains as the namespace's shortened timeouts run out.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lab import Lab, global_conntrack_max, lab_unavailable_reason  # noqa: E402

from ctwatch.sources.netns import NetnsSource  # noqa: E402
from ctwatch.sources.recording import Recorder, ReplaySource  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "ctwatch", "demo", "incident.jsonl.gz")
DEMO_MAX = 2500
FLOOD_A, FLOOD_B, FLOOD_END = 30, 45, 100
WARMUP = 35  # seconds of calm load before the first frame: TIME_WAIT and UDP at steady state
WEB_CLIENTS = ",".join(f"127.0.1.{i}" for i in range(1, 21))
SLOW_SOURCE = "127.0.66.6"
FAST_SOURCES = "127.0.77.7,127.0.88.8,127.0.99.9"
SECOND_ADDRESS = "127.0.0.10"  # the fast flood aims at the server's other address
# lab_traffic.py arguments: steady load with DNS to a local resolver, then the two floods.
CALM = ["--port", "80", "--udp-port", "53", "--rate", "4", "--dns", "127.0.0.53"]
CALM += ["--src", WEB_CLIENTS]
SLOW_FLOOD = ["--src", SLOW_SOURCE, "--port", "443", "--rate", "150", "--n", "0", "--hold"]
FAST_FLOOD = ["--src", FAST_SOURCES, "--dst", SECOND_ADDRESS, "--port", "8080"]
FAST_FLOOD += ["--rate", "1200", "--n", "0", "--hold", "--udp-share", "0.35"]
FAST_FLOOD += ["--udp-port", "5060"]
TIMEOUTS = {  # short enough that the drain after the flood fits in the recording
    "net.netfilter.nf_conntrack_tcp_timeout_syn_sent": 60,
    "net.netfilter.nf_conntrack_tcp_timeout_syn_recv": 40,
    "net.netfilter.nf_conntrack_tcp_timeout_time_wait": 30,
    "net.netfilter.nf_conntrack_udp_timeout": 20,
    "net.netfilter.nf_conntrack_udp_timeout_stream": 60,
    "net.ipv4.tcp_synack_retries": 1,
}


def prepare(lab: Lab) -> None:
    for key, value in TIMEOUTS.items():
        lab.sysctl(key, value)
    lab.traffic_bg("hold-tcp", "--n", "120", "--port", "443", "--src", WEB_CLIENTS)
    lab.traffic_bg("calm", *CALM)
    # From here on the HTTPS listener's SYN-ACKs vanish (its held flows need none): the
    # slow flood's flows stay SYN_RECV. The fast flood's SYNs and UDP vanish at input.
    lab.drop_synack(443)
    lab.drop_syn(8080)
    lab.drop_udp(5060)
    time.sleep(WARMUP)
    # The count includes expired flows until the kernel's garbage collector runs; start
    # once it has, so the calm part does not open with a step down.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if lab.count() - len(lab.cat("/proc/net/nf_conntrack").splitlines()) < 20:
            break
        time.sleep(1)


def record(lab: Lab, out: str, seconds: int) -> int:
    source = NetnsSource(lab.name)
    recorder = Recorder(out, "SYN and UDP flood against a web server (lab recording)", "netns")
    floods = []
    try:
        start = time.monotonic()
        for frame in range(seconds):
            if frame == FLOOD_A:
                floods.append(lab.traffic_bg("flood", *SLOW_FLOOD))
            if frame == FLOOD_B:
                floods.append(lab.traffic_bg("flood", *FAST_FLOOD))
            if frame == FLOOD_END:
                for bg in floods:
                    bg.stop()
            counters = source.read_counters()
            table = b"".join(source.table_chunks())
            recorder.write(time.time(), counters, table)
            if frame % 10 == 0:
                print(f"{frame:4d}s count {counters.count} drop {counters.stats.get('drop')}")
            delay = start + frame + 1 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    finally:
        for bg in floods:
            bg.stop()
        recorder.close()
        source.close()
    return seconds


def verify(out: str) -> None:
    replay = ReplaySource(out, loop=False)
    counts = [f["count"] for f in replay.frames]
    drops = [f["stats"].get("drop", 0) for f in replay.frames]
    size = os.path.getsize(out)
    print(
        f"{out}: {len(replay.frames)} frames, {size / 1e6:.2f} MB, count "
        f"{counts[0]} -> max {max(counts)} (limit {replay.frames[0]['max']}) -> {counts[-1]}, "
        f"drops {drops[-1] - drops[0]}"
    )
    if max(counts) < replay.frames[0]["max"] or drops[-1] <= drops[0]:
        raise SystemExit("the recording never filled the table: nothing to demo")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=OUT)
    p.add_argument("--seconds", type=int, default=150)
    args = p.parse_args(argv)
    reason = lab_unavailable_reason()
    if reason:
        print(f"capture_demo: lab unavailable: {reason}", file=sys.stderr)
        return 1
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    tmp = args.out + ".part"
    with Lab("ctwdemo") as lab, global_conntrack_max(DEMO_MAX):
        prepare(lab)
        record(lab, tmp, args.seconds)
    os.replace(tmp, args.out)
    verify(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
