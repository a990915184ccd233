"""Which local processes own a drilled-into source's flows (psutil), where permitted."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Optional

from ctwatch.sources.safe_text import safe_line


@dataclass(frozen=True)
class Owner:
    pid: Optional[int]
    name: str
    flows: int
    side: str  # "client" (the flow starts here) or "server" (it arrives at a local socket)


def _socket_map(connections) -> dict:
    """(local ip, local port, remote ip, remote port) -> pid; listeners under remote None."""
    out: dict = {}
    for c in connections:
        if not c.laddr:
            continue
        local = (c.laddr.ip, c.laddr.port)
        remote = (c.raddr.ip, c.raddr.port) if c.raddr else (None, None)
        out[(*local, *remote)] = c.pid
    return out


def flow_owners(entries, connections=None, process_name=None) -> tuple:
    """(owners busiest first, problem or None) for parsed entries of one source.

    Only this host's sockets in ctwatch's own network namespace are visible: forwarded
    flows (a router, NAT) have no local owner, and other users' processes need root.
    """
    if connections is None:
        import psutil

        try:
            connections = psutil.net_connections(kind="inet")
        except (psutil.AccessDenied, PermissionError):
            return [], "process owners need root (psutil.net_connections was denied)"
        except OSError as exc:
            return [], f"cannot list sockets: {exc}"
    sockets = _socket_map(connections)
    found: Counter = Counter()
    for e in entries:
        o = e.orig
        if o.sport is None or o.dport is None:
            continue
        for key, side in (
            ((o.src, o.sport, o.dst, o.dport), "client"),
            ((o.dst, o.dport, o.src, o.sport), "server"),
            ((o.dst, o.dport, None, None), "server"),
        ):
            if key in sockets:
                found[(sockets[key], side)] += 1
                break
    name = process_name or _process_name
    owners = [Owner(pid, name(pid), n, side) for (pid, side), n in found.most_common()]
    return owners, None


def _process_name(pid: Optional[int]) -> str:
    if pid is None:
        return "(pid hidden: needs root)"
    import psutil

    try:
        return safe_line(psutil.Process(pid).name(), 64)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return f"pid {pid}"
