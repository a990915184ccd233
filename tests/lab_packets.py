"""Hand-built packets for the lab's raw sockets: spoofed TCP SYNs, GRE, SCTP, unknown protocols."""

from __future__ import annotations

import random
import socket
import struct
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def syn_packet(src: str, dst: str, sport: int, dport: int) -> bytes:
    seq = random.getrandbits(32)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(tcp),
        0,
        0,
        64,
        6,
        0,
        socket.inet_aton(src),
        socket.inet_aton(dst),
    )
    return ip + tcp


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def sctp_packet(sport: int, dport: int, vtag: int, chunk: bytes) -> bytes:
    pkt = struct.pack("!HHII", sport, dport, vtag, 0) + chunk
    return pkt[:8] + struct.pack("<I", crc32c(pkt)) + pkt[12:]


def sctp_init(kind: int, tag: int) -> bytes:
    return struct.pack("!BBHIIHHI", kind, 0, 20, tag, 65535, 10, 10, tag)


def cmd_gre(args) -> None:
    """GRE: plain (version 0) to distinct addresses, and PPTP-style (version 1) call ids."""
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
    for i in range(args.n):
        if i % 2:
            pkt = struct.pack("!HHHH", 0x2001, 0x880B, 0, 100 + i)
            dst = "127.0.0.1"
        else:
            pkt = struct.pack("!HH", 0, 0x0800) + b"\0" * 20
            dst = f"127.0.3.{1 + i // 2 % 250}"
        s.sendto(pkt, (dst, 0))


def cmd_rawproto(args) -> None:
    """A protocol conntrack has no tracker for: shown as `unknown`."""
    s = socket.socket(socket.AF_INET6 if args.v6 else socket.AF_INET, socket.SOCK_RAW, args.proto)
    for i in range(args.n):
        dst = "::1" if args.v6 else f"127.0.4.{1 + i % 250}"
        s.sendto(b"ctwatch", (dst, 0))


def cmd_sctp(args) -> None:
    """SCTP built by hand (no SCTP stack needed): INITs (COOKIE_WAIT), and with --established
    a full four-way handshake played from both ends."""
    client = socket.socket(socket.AF_INET, socket.SOCK_RAW, 132)
    client.bind(("127.0.0.2", 0))
    server = socket.socket(socket.AF_INET, socket.SOCK_RAW, 132)
    server.bind(("127.0.0.1", 0))
    for i in range(args.n):
        sport, ta, tb = 40000 + i, 0x1000 + i, 0x2000 + i
        client.sendto(sctp_packet(sport, args.port, 0, sctp_init(1, ta)), ("127.0.0.1", 0))
        if not args.established:
            continue
        time.sleep(0.01)
        server.sendto(sctp_packet(args.port, sport, ta, sctp_init(2, tb)), ("127.0.0.2", 0))
        time.sleep(0.01)
        cookie = struct.pack("!BBH", 10, 0, 8) + b"cook"
        client.sendto(sctp_packet(sport, args.port, tb, cookie), ("127.0.0.1", 0))
        time.sleep(0.01)
        server.sendto(
            sctp_packet(args.port, sport, ta, struct.pack("!BBH", 11, 0, 4)), ("127.0.0.2", 0)
        )
