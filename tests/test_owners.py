"""Local process owners of a source's flows, matched from real sockets."""

from __future__ import annotations

import os
import socket
from collections import namedtuple

from ctwatch.engine.owners import flow_owners
from ctwatch.model.entry import parse_line

Addr = namedtuple("Addr", "ip port")
Conn = namedtuple("Conn", "laddr raddr pid")


def line(src, sport, dst, dport):
    return parse_line(
        f"ipv4 2 tcp 6 300 ESTABLISHED src={src} dst={dst} sport={sport} "
        f"dport={dport} src={dst} dst={src} sport={dport} dport={sport} "
        "[ASSURED] mark=0 use=1"
    )


def test_client_and_server_sides_are_matched():
    conns = [
        Conn(Addr("10.0.0.1", 40000), Addr("10.0.0.9", 443), 11),
        Conn(Addr("10.0.0.9", 22), None, 22),
    ]
    entries = [
        line("10.0.0.1", 40000, "10.0.0.9", 443),
        line("10.0.0.5", 50000, "10.0.0.9", 22),
        line("10.0.0.5", 50001, "10.0.0.9", 22),
        line("10.0.0.7", 1, "10.0.0.8", 2),
    ]  # forwarded: no local socket
    owners, problem = flow_owners(entries, conns, process_name=lambda pid: f"p{pid}")
    assert problem is None
    assert [(o.pid, o.name, o.flows, o.side) for o in owners] == [
        (22, "p22", 2, "server"),
        (11, "p11", 1, "client"),
    ]


def test_real_socket_of_this_process_is_found():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = socket.create_connection(server.getsockname())
    try:
        cport = client.getsockname()[1]
        sport = server.getsockname()[1]
        owners, problem = flow_owners([line("127.0.0.1", cport, "127.0.0.1", sport)])
        assert problem is None
        assert owners and owners[0].pid == os.getpid() and owners[0].side == "client"
    finally:
        client.close()
        server.close()
