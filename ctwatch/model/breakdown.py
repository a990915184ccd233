"""Breakdown: the counts of one scan (or of its drill-down) along each dimension."""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass
from typing import Optional

from ctwatch.model.dimensions import ADDRESS_NAMES
from ctwatch.model.entry import display_addr
from ctwatch.model.grammar import split_port


@dataclass(frozen=True)
class Breakdown:
    """Counts of one set of entries along each dimension.

    Keys are the raw bytes the kernel printed (decoding a million source keys on every
    scan would cost more than counting them); `top()` decodes only what is shown.
    """

    entries: int
    counts: dict  # dimension name -> Counter of raw bytes keys
    expiry: Counter = None  # (l4, state, timeout) raw bytes -> count; see model/expiry.py
    # dimension -> Counter, for the dimensions also counted per protocol: "state" by
    # (l4, state) pairs, "dport" by the scan's dport groups (grammar.split_port reads
    # them). None for a recorded scan, which keeps no pairs.
    pairs: Optional[dict] = None

    def top(self, dimension: str, n: int = 10, by: str = "count") -> list:
        """[(display key, count)], largest first (`by="name"` sorts by key); n=0 means all."""
        counter = self.counts[dimension]
        if by == "name":
            items = sorted(
                ((self.label(dimension, k), c) for k, c in counter.items()),
                key=lambda kc: _name_key(dimension, kc[0]),
            )
            return items[:n] if n else items
        chosen = counter.most_common(n or None)
        return [(self.label(dimension, k), c) for k, c in chosen]

    def as_dict(self, dimension: str, n: int = 10) -> dict:
        return dict(self.top(dimension, n))

    def get(self, dimension: str, key: str) -> int:
        counter = self.counts[dimension]
        for raw in _raw_keys(dimension, key):
            if raw in counter:
                return counter[raw]
        return 0

    def distinct(self, dimension: str) -> int:
        return len(self.counts[dimension])

    def top_pairs(self, dimension: str, n: int = 10) -> list:
        """[((protocol, key), count)], largest first, of a dimension counted per protocol
        (n=0: all); [] when the scan kept no pairs for it."""
        counter = (self.pairs or {}).get(dimension)
        if not counter:
            return []
        split = split_port if dimension == "dport" else tuple
        out = []
        for raw, count in counter.most_common(n or None):
            l4, key = split(raw)
            out.append(((l4.decode("ascii", "replace"), self.label(dimension, key)), count))
        return out

    def pair_total(self, dimension: str) -> int:
        """Entries counted in a per-protocol dimension (dport: those with a port)."""
        return sum(((self.pairs or {}).get(dimension) or {}).values())

    @staticmethod
    def label(dimension: str, raw: bytes) -> str:
        text = raw.decode("ascii", "replace")
        if dimension in ADDRESS_NAMES:
            return display_addr(text)
        return text


def _raw_keys(dimension: str, key: str) -> tuple:
    """Forms the kernel may have printed `key` in: /proc writes IPv6 exploded,
    conntrack(8) compressed."""
    if dimension in ADDRESS_NAMES and ":" in key:
        try:
            addr = ipaddress.IPv6Address(key)
        except ValueError:
            pass
        else:
            return (addr.exploded.encode(), addr.compressed.encode())
    return (key.encode(),)


def _name_key(dimension: str, label: str):
    if dimension == "dport" and label.isdigit():
        return (0, int(label), "")
    if dimension in ADDRESS_NAMES:
        try:
            addr = ipaddress.ip_address(label)
            return (addr.version, int(addr), "")
        except ValueError:
            pass
    return (9, 0, label)
