"""When entries expire: counts by remaining timeout, per state, beside the governing sysctl."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

# Upper bounds in seconds; the last bucket is everything later.
BUCKETS = ((10, "<=10s"), (60, "<=60s"), (300, "<=5min"), (None, "later"))

# Which timeout sysctl (name without the nf_conntrack_ prefix) governs a (proto, state).
_TCP = {
    "SYN_SENT": "tcp_timeout_syn_sent",
    "SYN_SENT2": "tcp_timeout_syn_sent",
    "SYN_RECV": "tcp_timeout_syn_recv",
    "ESTABLISHED": "tcp_timeout_established",
    "FIN_WAIT": "tcp_timeout_fin_wait",
    "CLOSE_WAIT": "tcp_timeout_close_wait",
    "LAST_ACK": "tcp_timeout_last_ack",
    "TIME_WAIT": "tcp_timeout_time_wait",
    "CLOSE": "tcp_timeout_close",
}


def governing_sysctl(proto: str, state: str, assured: Optional[bool] = None) -> Optional[str]:
    """The sysctl (without the nf_conntrack_ prefix) whose value sets this entry's timeout."""
    if proto == "tcp":
        return _TCP.get(state)
    if proto in ("udp", "udplite"):
        return "udp_timeout_stream" if assured else "udp_timeout"
    if proto in ("icmp", "icmpv6"):
        return f"{proto}_timeout"
    if proto == "sctp" and state:
        return f"sctp_timeout_{state.lower()}"
    if proto == "gre":
        return "gre_timeout"
    return "generic_timeout" if proto == "unknown" else None


@dataclass(frozen=True)
class ExpiryRow:
    key: str  # the state, or the protocol for stateless ones
    proto: str
    buckets: tuple  # counts per BUCKETS entry
    sysctl: Optional[str]
    sysctl_value: Optional[int]

    @property
    def total(self) -> int:
        return sum(self.buckets)


def _bucket(seconds: int) -> int:
    for i, (limit, _) in enumerate(BUCKETS):
        if limit is None or seconds <= limit:
            return i
    return len(BUCKETS) - 1


def expiry_table(expiry_counts, timeouts: Optional[dict] = None) -> list:
    """Rows by state (or protocol), largest first, from Breakdown.expiry.

    Offloaded flows print no timeout; they are counted under "later" (they do not expire
    while the offload lasts).
    """
    timeouts = timeouts or {}
    acc: dict = {}
    for (l4, state, timeout), n in (expiry_counts or {}).items():
        proto = l4.decode("ascii", "replace")
        key = state.decode("ascii", "replace") or proto
        seconds = int(timeout) if timeout else None
        row = acc.setdefault((key, proto), [0] * len(BUCKETS))
        row[len(BUCKETS) - 1 if seconds is None else _bucket(seconds)] += n
    rows = []
    for (key, proto), counts in acc.items():
        name = governing_sysctl(proto, key if key != proto else "")
        rows.append(ExpiryRow(key, proto, tuple(counts), name, timeouts.get(name)))
    rows.sort(key=lambda r: -r.total)
    return rows


def expiry_json(rows: list) -> dict:
    return {
        f"{r.proto}/{r.key}" if r.key != r.proto else r.proto: {
            **{label: n for (_, label), n in zip(BUCKETS, r.buckets)},
            "sysctl": f"net.netfilter.nf_conntrack_{r.sysctl}" if r.sysctl else None,
            "sysctl_value": r.sysctl_value,
        }
        for r in rows
    }
