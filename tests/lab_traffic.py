"""Loopback traffic generators run inside a lab namespace: `python lab_traffic.py COMMAND ...`.

One-shot commands make their flows and exit. Holding commands (hold-tcp, half-close, calm)
print a line starting with `ready` once their flows exist, then keep their sockets open
until SIGTERM or stdin closes; `flood --hold` says ready when it starts sending.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import random
import resource
import select
import signal
import socket
import struct
import sys
import time

from lab_packets import checksum, cmd_gre, cmd_rawproto, cmd_sctp, syn_packet


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _family(v6: bool) -> int:
    return socket.AF_INET6 if v6 else socket.AF_INET


def _server(args) -> str:
    return args.dst or ("::1" if args.v6 else "127.0.0.1")


def _sources(arg: str) -> list:
    return [s for s in (arg or "").split(",") if s] or [None]


def _hold(announce: bool = True) -> None:
    """Keep everything open until SIGTERM or stdin closes."""
    if announce:
        print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            r, _, _ = select.select([sys.stdin], [], [], 3600)
            if r and not sys.stdin.read(1):
                return
    except KeyboardInterrupt:
        return


def _connect_pairs(args, listener: socket.socket) -> list:
    """n connected (client, server) socket pairs, clients bound round-robin to --src."""
    srcs = _sources(args.src)
    pairs = []
    for i in range(args.n):
        c = socket.socket(_family(args.v6), socket.SOCK_STREAM)
        src = srcs[i % len(srcs)]
        if src:
            c.bind((src, 0))
        c.connect((_server(args), args.port))
        s, _ = listener.accept()
        pairs.append((c, s))
    return pairs


def _listener(args) -> socket.socket:
    s = socket.socket(_family(args.v6), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::" if args.v6 else _server(args), args.port))
    s.listen(args.backlog)
    return s


def cmd_hold_tcp(args) -> None:
    """ESTABLISHED flows kept open; --time-wait N more finished ones on the same listener."""
    _raise_nofile()
    listener = _listener(args)
    pairs = _connect_pairs(args, listener)
    for c, s in pairs:
        c.sendall(b"hello")
        s.recv(16)
        s.sendall(b"world")
        c.recv(16)
    if args.time_wait:
        args.n = args.time_wait
        _close_in_order(_connect_pairs(args, listener))
    _hold()


def cmd_half_close(args) -> None:
    """Client shut down writing, server keeps its side open: CLOSE_WAIT."""
    _raise_nofile()
    listener = _listener(args)
    pairs = _connect_pairs(args, listener)
    for c, s in pairs:
        c.shutdown(socket.SHUT_WR)
        s.recv(16)
    time.sleep(0.2)
    _hold()


def cmd_time_wait(args) -> None:
    """Orderly close from the client side first: TIME_WAIT."""
    _raise_nofile()
    _close_in_order(_connect_pairs(args, _listener(args)))


def _close_in_order(pairs: list) -> None:
    for c, s in pairs:
        c.sendall(b"x")
        s.recv(1)
        c.close()
        s.recv(1)
        s.close()
    time.sleep(0.2)


def cmd_syn_sent(args) -> None:
    """Connects whose SYN the lab drops after tracking (Lab.drop_syn): SYN_SENT."""
    _raise_nofile()
    srcs = _sources(args.src)
    socks = []
    for i in range(args.n):
        c = socket.socket(_family(args.v6), socket.SOCK_STREAM)
        if srcs[i % len(srcs)]:
            c.bind((srcs[i % len(srcs)], 0))
        c.setblocking(False)
        c.connect_ex((_server(args), args.port))
        socks.append(c)
    time.sleep(0.3)
    if args.hold:
        _hold()


def cmd_syn_recv(args) -> None:
    """A listener whose SYN-ACKs the lab drops after tracking (Lab.drop_synack): SYN_RECV."""
    _raise_nofile()
    listener = _listener(args)
    cmd_syn_sent(args)
    listener.close()


def cmd_reset(args) -> None:
    """Established connections aborted with a RST (SO_LINGER 0): CLOSE.

    (A RST answering a bare SYN would not do: the kernel deletes such an entry at once.)
    """
    _raise_nofile()
    listener = _listener(args)
    for c, s in _connect_pairs(args, listener):
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        s.close()
    time.sleep(0.2)


def cmd_udp(args) -> None:
    """n UDP flows from distinct ports; with --echo a server answers (and --assured waits
    the kernel's 2 s before a second packet, which marks the flow ASSURED)."""
    _raise_nofile()
    server = None
    if args.echo:
        server = socket.socket(_family(args.v6), socket.SOCK_DGRAM)
        server.bind((_server(args), args.port))
    srcs = _sources(args.src)
    clients = []
    dst = (_server(args), args.port)
    for i in range(args.n):
        c = socket.socket(_family(args.v6), socket.SOCK_DGRAM)
        if srcs[i % len(srcs)]:
            c.bind((srcs[i % len(srcs)], 0))
        c.sendto(b"query", dst)
        clients.append(c)
        if server is not None:
            data, peer = server.recvfrom(64)
            server.sendto(b"answer", peer)
            c.recv(64)
    if server is not None and args.assured:
        time.sleep(2.2)
        for c in clients:
            c.sendto(b"again", dst)
            server.recvfrom(64)


def cmd_fill_udp(args) -> None:
    """n distinct unreplied UDP flows as fast as one socket can send them."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    base = int(ipaddress.IPv4Address("127.1.0.1"))
    failed = 0
    for i in range(args.n):
        try:
            s.sendto(b"x", (str(ipaddress.IPv4Address(base + i // 8)), args.port + i % 8))
        except OSError:
            failed += 1  # EPERM once the table is full: the kernel dropped it
    print(f"sent {args.n - failed} failed {failed}")


def cmd_flood(args) -> None:
    """Spoofed-source TCP SYNs (raw) and/or UDP from a few 127.0.0.x sources, paced."""
    srcs = _sources(args.src)
    srcs = [s or "127.0.0.2" for s in srcs]
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    # A listener answers with SYN-ACKs (SYN_RECV when Lab.drop_synack hides them from
    # the spoofed sources); without one the RST would delete each entry at once.
    listener = _listener(args) if args.listen else None
    dst = _server(args)
    if args.hold:  # a held flood runs in the background: ready as soon as it starts
        print("ready", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sent = failed = 0
    start = time.monotonic()
    deadline = start + args.duration if args.duration else None
    i = 0
    while (args.n == 0 or i < args.n) and (deadline is None or time.monotonic() < deadline):
        src = srcs[i % len(srcs)]
        sport = 1024 + random.randrange(64000)
        try:
            if args.udp_share and random.random() < args.udp_share:
                udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                udp.bind((src, 0))
                udp.sendto(b"x", (dst, args.udp_port))
                udp.close()
            else:
                raw.sendto(syn_packet(src, dst, sport, args.port), (dst, 0))
            sent += 1
        except OSError:
            failed += 1
        i += 1
        if args.rate:
            ahead = i / args.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    print(f"sent {sent} failed {failed}", flush=True)
    if args.hold or listener is not None:
        _hold(announce=not args.hold)


def cmd_calm(args) -> None:
    """Steady light load until stopped: short HTTP-like connections (TIME_WAIT afterwards)
    and answered DNS-like UDP queries, `--rate` of each per second from the --src clients.
    Requests the kernel drops (a full table) time out and are skipped, as a client would."""
    _raise_nofile()
    listener = _listener(args)
    listener.settimeout(2)
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.bind((args.dns or _server(args), args.udp_port))
    dns.settimeout(1)
    srcs = _sources(args.src)
    print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    rate = args.rate or 5
    start = time.monotonic()
    i = 0
    while not args.duration or time.monotonic() - start < args.duration:
        src = srcs[i % len(srcs)]
        for one in (_calm_http, _calm_dns):
            try:
                one(args, src, listener, dns)
            except OSError:
                pass
        i += 1
        ahead = i / rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
        elif ahead < -1:  # after a stall, carry on at the rate instead of bursting
            start = time.monotonic() - i / rate


def _calm_http(args, src, listener, dns) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as c:
        c.settimeout(2)
        if src:
            c.bind((src, 0))
        c.connect((_server(args), args.port))
        s, _ = listener.accept()
        with s:
            s.settimeout(2)
            c.sendall(b"GET /")
            s.recv(16)
            c.close()
            s.recv(16)


def _calm_dns(args, src, listener, dns) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as q:
        q.settimeout(1)
        if src:
            q.bind((src, 0))
        q.sendto(b"query", (args.dns or _server(args), args.udp_port))
        _, peer = dns.recvfrom(64)
        dns.sendto(b"answer", peer)
        q.recv(64)


def cmd_icmp(args) -> None:
    """Echo requests with distinct ids; the kernel answers them."""
    if args.v6:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    for i in range(args.n):
        ident = 1000 + i
        if args.v6:  # the kernel fills the ICMPv6 checksum on raw sockets
            pkt = struct.pack("!BBHHH", 128, 0, 0, ident, 1) + b"ctwatch"
        else:
            body = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"ctwatch"
            pkt = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
        s.sendto(pkt, (_server(args), 0))
    time.sleep(0.2)


def cmd_udplite(args) -> None:
    """UDP-Lite flows (socket if the kernel has UDP-Lite, else unsupported)."""
    s = socket.socket(_family(args.v6), socket.SOCK_DGRAM, 136)
    for i in range(args.n):
        s.sendto(b"lite", (_server(args), args.port + i))


COMMANDS = {
    "hold-tcp": cmd_hold_tcp,
    "half-close": cmd_half_close,
    "time-wait": cmd_time_wait,
    "syn-sent": cmd_syn_sent,
    "syn-recv": cmd_syn_recv,
    "reset": cmd_reset,
    "udp": cmd_udp,
    "fill-udp": cmd_fill_udp,
    "flood": cmd_flood,
    "calm": cmd_calm,
    "icmp": cmd_icmp,
    "gre": cmd_gre,
    "rawproto": cmd_rawproto,
    "sctp": cmd_sctp,
    "udplite": cmd_udplite,
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("command", choices=sorted(COMMANDS))
    p.add_argument("--n", type=int, default=1)
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--v6", action="store_true")
    p.add_argument("--dst", default="", help="server address (default 127.0.0.1 or ::1)")
    p.add_argument("--backlog", type=int, default=4096)
    p.add_argument("--src", default="", help="comma list of source addresses to bind")
    p.add_argument("--hold", action="store_true")
    p.add_argument("--time-wait", type=int, default=0)
    p.add_argument("--echo", action="store_true")
    p.add_argument("--listen", action="store_true")
    p.add_argument("--assured", action="store_true")
    p.add_argument("--established", action="store_true")
    p.add_argument("--proto", type=int, default=253)
    p.add_argument("--rate", type=float, default=0, help="packets per second (0: flat out)")
    p.add_argument("--duration", type=float, default=0)
    p.add_argument("--udp-share", type=float, default=0)
    p.add_argument("--udp-port", type=int, default=53)
    p.add_argument("--dns", default="", help="calm: resolver address (default the server)")
    args = p.parse_args(argv)
    COMMANDS[args.command](args)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
