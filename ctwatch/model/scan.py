"""One-pass aggregation of a conntrack table read as byte chunks.

Speed matters here: a 250k-entry table must be aggregated in about the time the kernel
takes to print it. Instead of splitting every line in Python, one compiled regex pulls
the fields the breakdowns need out of a whole chunk at once (`findall` runs in C) and
`Counter.update` over `map(itemgetter)` counts them, also in C. Full per-line parsing
(`entry.parse_line`) only runs for the few lines a drill-down shows.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import Optional

from ctwatch.model.entry import Entry, ParseError, display_addr, parse_line
from ctwatch.model.filters import Filter

# Groups: l4 name, timeout, state, original src, original dst, original dport.
# Covers the modern layout, `conntrack -L [-o extended]` and the legacy 2.4 layout
# (no l3 columns), offloaded flows (no timeout, no state) and GRE's two timeouts.
_FIELDS = (
    rb"(?:(?:ipv4|ipv6|unknown) +\d+ +)?([a-z][a-z0-9]*) +\d+ +(?:(\d+) +)?"
    rb"(?:([A-Z][A-Z0-9_]*) +)?(?:timeout=\d+, stream_timeout=\d+ +)?"
    rb"src=([^ \n]+) dst=([^ \n]+) (?:sport=\d+ dport=(\d+) )?"
)
FAST_RE = re.compile(rb"^" + _FIELDS, re.M)
# Same fields plus the whole line (last group), for filtered scans and drill-downs.
LINE_RE = re.compile(rb"^(?=" + _FIELDS + rb")([^\n]*)", re.M)

L4, TIMEOUT, STATE, SRC, DST, DPORT, LINE = range(7)
_EXPIRY_KEY = itemgetter(L4, STATE, TIMEOUT)
_GET = {
    name: itemgetter(i)
    for name, i in (("proto", L4), ("state", STATE), ("src", SRC), ("dst", DST), ("dport", DPORT))
}
DIMENSIONS = tuple(_GET)


@dataclass(frozen=True)
class Breakdown:
    """Counts of one set of entries along each dimension.

    Keys are the raw bytes the kernel printed (decoding a million source keys on every
    scan would cost more than counting them); `top()` decodes only what is shown.
    """

    entries: int
    counts: dict  # dimension name -> Counter of raw bytes keys
    expiry: Counter = None  # (l4, state, timeout) raw bytes -> count; see model/expiry.py

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

    @staticmethod
    def label(dimension: str, raw: bytes) -> str:
        text = raw.decode("ascii", "replace")
        if dimension in ("src", "dst"):
            return display_addr(text)
        return text


def _raw_keys(dimension: str, key: str) -> tuple:
    """Forms the kernel may have printed `key` in: /proc writes IPv6 exploded,
    conntrack(8) compressed."""
    if dimension in ("src", "dst") and ":" in key:
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
    if dimension in ("src", "dst"):
        try:
            addr = ipaddress.ip_address(label)
            return (addr.version, int(addr), "")
        except ValueError:
            pass
    return (9, 0, label)


class _Accumulator:
    def __init__(self) -> None:
        self.entries = 0
        self.counts = {name: Counter() for name in DIMENSIONS}
        self.expiry = Counter()

    def add(self, rows: list) -> None:
        self.entries += len(rows)
        for name, counter in self.counts.items():
            counter.update(map(_GET[name], rows))
        # (l4, state, seconds left): few distinct keys in practice, bucketed after the scan.
        self.expiry.update(map(_EXPIRY_KEY, rows))

    def freeze(self) -> Breakdown:
        # Entries without a state (udp, icmp...) or a port (icmp, gre...) are counted under
        # the empty key while scanning; they do not belong in those breakdowns.
        self.counts["state"].pop(b"", None)
        self.counts["dport"].pop(b"", None)
        return Breakdown(self.entries, self.counts, self.expiry)


@dataclass(frozen=True)
class TableScan:
    """What one read of the whole table found."""

    totals: Breakdown
    bad_lines: int
    scan_seconds: float
    bytes_read: int
    focus: Optional[Breakdown] = None
    focus_entries: tuple = ()
    sample_bad_line: str = ""


def complete_lines(chunks: Iterable[bytes]) -> Iterator[tuple]:
    """Re-cut raw reads at line ends; yields (chunk, partial) where the final piece
    without a newline (a truncated last line) comes with partial=True."""
    # Pieces of the unfinished line; a list, because joining once is linear where `+=`
    # on a newline-less stream (binary garbage) copies it over and over.
    pending: list = []
    for raw in chunks:
        if not raw:
            continue
        cut = raw.rfind(b"\n") + 1
        if cut == 0:
            pending.append(raw)
            continue
        if pending:
            pending.append(raw[:cut])
            yield b"".join(pending), False
            pending = []
        else:
            yield raw[:cut], False
        if cut < len(raw):
            pending.append(raw[cut:])
    if pending:
        yield b"".join(pending), True


def scan_table(
    chunks: Iterable[bytes],
    filt: Optional[Filter] = None,
    focus: Optional[Filter] = None,
    entry_limit: int = 5000,
    clock=time.perf_counter,
) -> TableScan:
    """Read and aggregate every chunk once.

    `filt` restricts what is counted at all (conntrack's -s/-d/-p options); `focus`
    additionally collects a breakdown and fully parsed entries of a subset (a drill-down).
    """
    started = clock()
    totals = _Accumulator()
    focused = _Accumulator() if focus is not None else None
    focus_entries: list = []
    bad = 0
    nbytes = 0
    sample_bad = ""
    slow = filt is not None or focus is not None
    for chunk, partial in complete_lines(chunks):
        nbytes += len(chunk)
        if partial:
            bad += 1
            sample_bad = sample_bad or _sample(chunk)
            continue
        rows = (LINE_RE if slow else FAST_RE).findall(chunk)
        missing = chunk.count(b"\n") - len(rows)
        if missing:
            bad += missing
            if not sample_bad:
                sample_bad = _first_bad_line(chunk)
        if filt is not None:
            rows = [r for r in rows if filt.match_row(r)]
        totals.add(rows)
        if focused is not None:
            mine = [r for r in rows if focus.match_row(r)]
            focused.add(mine)
            for r in mine:
                if len(focus_entries) >= entry_limit:
                    break
                try:
                    focus_entries.append(parse_line(r[LINE]))
                except ParseError:
                    pass
    return TableScan(
        totals=totals.freeze(),
        bad_lines=bad,
        scan_seconds=clock() - started,
        bytes_read=nbytes,
        focus=focused.freeze() if focused is not None else None,
        focus_entries=tuple(focus_entries),
        sample_bad_line=sample_bad,
    )


def _sample(line: bytes) -> str:
    return line[:120].decode("ascii", "replace").strip()


def _first_bad_line(chunk: bytes) -> str:
    for line in chunk.split(b"\n"):
        if line and not FAST_RE.match(line):
            return _sample(line)
    # An empty line is the only thing that failed to match.
    return "(empty line)"


def parse_entries(chunks: Iterable[bytes]) -> list:
    """Every entry fully parsed (tests and small tables; the scanner does not use this)."""
    out: list = []
    for chunk, partial in complete_lines(chunks):
        if partial:
            continue
        for line in chunk.splitlines():
            try:
                out.append(parse_line(line))
            except ParseError:
                pass
    return out


__all__ = ["Breakdown", "Entry", "TableScan", "scan_table", "parse_entries", "DIMENSIONS"]
