"""A churning flood inside a lab namespace: `python lab_churn.py syn|udp --rate N --port P`.

Raw packets from random spoofed 127.x.y.z sources, paced at --rate a second until SIGTERM:
`syn` sends TCP SYNs to 127.0.0.1:PORT (Lab.drop_syn: each stays SYN_SENT until
nf_conntrack_tcp_timeout_syn_sent), `udp` sends UDP to random 127.x.y.z:PORT destinations
(Lab.drop_udp: each stays UNREPLIED until nf_conntrack_udp_timeout). The table then holds
about rate * timeout entries, new ones coming as old ones expire. Prints `ready` first.
"""

from __future__ import annotations

import argparse
import random
import signal
import socket
import struct
import sys
import time

from lab_packets import syn_packet


def spoofed() -> str:
    """A random loopback address other than 127.0.0.1 (16 million to draw from)."""
    while True:
        n = random.getrandbits(24)
        if n > 1:
            return f"127.{n >> 16}.{n >> 8 & 255}.{n & 255}"


def udp_packet(src: str, dst: str, sport: int, dport: int) -> bytes:
    """IPv4 + UDP with no UDP checksum (0 is allowed); the kernel fills the IP checksum."""
    udp = struct.pack("!HHHH", sport, dport, 9, 0) + b"x"
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(udp),
        0,
        0,
        64,
        17,
        0,
        socket.inet_aton(src),
        socket.inet_aton(dst),
    )
    return ip + udp


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("kind", choices=("syn", "udp"))
    p.add_argument("--rate", type=float, default=200.0, help="new flows a second")
    p.add_argument("--port", type=int, default=80)
    args = p.parse_args(argv)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    sent = 0
    start = time.monotonic()
    while True:
        sport = 1024 + random.randrange(64000)
        if args.kind == "syn":
            dst = "127.0.0.1"
            packet = syn_packet(spoofed(), dst, sport, args.port)
        else:
            dst = spoofed()
            packet = udp_packet(spoofed(), dst, sport, args.port)
        try:
            raw.sendto(packet, (dst, 0))
        except OSError:
            pass  # a full table drops it; the flood goes on, as a real one would
        sent += 1
        ahead = sent / args.rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
        elif ahead < -2:  # after a stall, carry on at the rate instead of bursting
            start = time.monotonic() - sent / args.rate


if __name__ == "__main__":
    sys.exit(main())
