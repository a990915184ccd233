"""Entry filters like conntrack(8)'s: source/destination IP or CIDR, protocol, state, port."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Optional

from ctwatch.model.grammar import STATE_LISTS
from ctwatch.sources.values import shown

# Row layout shared with scan.py: l4, timeout, state, src, dst, dport[, line].
_L4, _STATE, _SRC, _DST, _DPORT = 0, 2, 3, 4, 5

PROTOCOLS = ("tcp", "udp", "udplite", "icmp", "icmpv6", "sctp", "dccp", "gre", "unknown")
# Every state name the kernel prints (the grammar's per-protocol lists, in one order).
STATES = tuple(dict.fromkeys(n for names in STATE_LISTS.values() for n in names))


def parse_network(text: str):
    """An IP address or CIDR as a network; ValueError with a readable message otherwise."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(f"not an IP address or CIDR: {shown(text)}") from None


@dataclass(frozen=True)
class Filter:
    """Entries pass when every given criterion matches (any value within one criterion)."""

    src: tuple = ()
    dst: tuple = ()
    proto: frozenset = frozenset()
    state: frozenset = frozenset()
    dport: frozenset = frozenset()
    # Address keys repeat across thousands of rows: decide each distinct one only once.
    _memo: dict = field(default_factory=dict, compare=False, repr=False)
    # Ports as the kernel prints them: a row's port is compared as bytes, never converted
    # (a hostile 5,000-digit "port" would make int() raise).
    _port_keys: frozenset = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_port_keys", frozenset(str(p).encode() for p in self.dport))

    @classmethod
    def build(
        cls,
        src: Optional[list] = None,
        dst: Optional[list] = None,
        proto: Optional[list] = None,
        state: Optional[list] = None,
        dport: Optional[list] = None,
    ) -> Optional[Filter]:
        """A filter from user text, or None when nothing was asked for."""
        if not any((src, dst, proto, state, dport)):
            return None
        ports = set()
        for p in dport or ():
            p = str(p).strip()
            if not (p.isascii() and p.isdigit() and len(p) <= 5 and int(p) <= 65535):
                raise ValueError(f"not a port number (0-65535): {shown(p)}")
            ports.add(int(p))
        protos = {p.lower() for p in proto or ()}
        for p in protos:
            if p not in PROTOCOLS:
                raise ValueError(f"unknown protocol {shown(p)} (one of {', '.join(PROTOCOLS)})")
        states = {s.strip().upper() for s in state or ()}
        for s in states:
            if s not in STATES:
                raise ValueError(f"unknown state {shown(s)} (one of {' '.join(STATES)})")
        return cls(
            src=tuple(parse_network(s) for s in src or ()),
            dst=tuple(parse_network(d) for d in dst or ()),
            proto=frozenset(protos),
            state=frozenset(states),
            dport=frozenset(ports),
        )

    def describe(self) -> str:
        parts = [
            f"src {', '.join(map(str, self.src))}" if self.src else "",
            f"dst {', '.join(map(str, self.dst))}" if self.dst else "",
            f"proto {', '.join(sorted(self.proto))}" if self.proto else "",
            f"state {', '.join(sorted(self.state))}" if self.state else "",
            f"dport {', '.join(map(str, sorted(self.dport)))}" if self.dport else "",
        ]
        return "; ".join(p for p in parts if p)

    def _addr_in(self, raw: bytes, nets: tuple, which: str) -> bool:
        key = (which, raw)
        hit = self._memo.get(key)
        if hit is None:
            try:
                addr = ipaddress.ip_address(raw.decode("ascii"))
                hit = any(addr in n for n in nets)
            except (ValueError, UnicodeDecodeError):
                hit = False
            if len(self._memo) > 1_000_000:
                self._memo.clear()
            self._memo[key] = hit
        return hit

    def match_row(self, row: tuple) -> bool:
        if self.proto and row[_L4].decode() not in self.proto:
            return False
        if self.state and row[_STATE].decode() not in self.state:
            return False
        if self.dport and row[_DPORT] not in self._port_keys:
            return False
        if self.src and not self._addr_in(row[_SRC], self.src, "s"):
            return False
        return not (self.dst and not self._addr_in(row[_DST], self.dst, "d"))
