"""One-pass aggregation of a conntrack table read as byte chunks.

Speed matters here: a 250k-entry table must be aggregated in about the time the kernel
takes to print it, also when every key is distinct (a spoofed flood). Instead of splitting
every line in Python, one compiled regex (model/grammar.py) checks each whole line and
pulls out the fields the breakdowns need, a 64 KiB piece at a time (`findall` runs in C),
and `Counter.update` over `map(itemgetter)` counts them, also in C. Each distinct key (an
address, a port, l4-timeout-state) is checked once, when it first enters its counter;
the rare line found bad that way is taken back out of every count. Full per-line parsing
(`entry.parse_line`) only runs for the few lines a drill-down shows.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from operator import itemgetter
from typing import Optional

from ctwatch.model.badline import explain
from ctwatch.model.breakdown import Breakdown
from ctwatch.model.dimensions import NAMES
from ctwatch.model.entry import Entry, ParseError, parse_line
from ctwatch.model.filters import Filter
from ctwatch.model.grammar import (
    COMBO,
    DPORT,
    DST,
    FAST_RE,
    LINE_FAST_RE,
    LINE_STRICT_RE,
    SRC,
    STRICT_RE,
    bad_addresses,
    bad_combos,
    bad_ports,
    clean_lines,
    port_of,
    printable,
    split_combo,
    split_combos,
    sum_ports,
)

DIMENSIONS = NAMES  # the registry's names (model/dimensions.py), in its order
# Bytes per regex pass: the text, its rows and the counters' hot part stay in the CPU
# cache (measured: 1 MiB passes cost about 25 % more CPU than 64 KiB ones).
PIECE = 64 * 1024
MAX_EXAMPLES = 5


class _Accumulator:
    """Counts rows of the grammar's regex; proto, state and expiry come from `combo`."""

    def __init__(self, offset: int = 0) -> None:
        """`offset`: 1 for rows of the LINE_ regexes (the whole line comes first)."""
        self.entries = 0
        self.combos: Counter = Counter()  # b"tcp      6 117 SYN_SENT " -> count
        self.src: Counter = Counter()
        self.dst: Counter = Counter()
        self.dport: Counter = Counter()
        self._parts = tuple(
            zip(
                (self.combos, self.src, self.dst, self.dport),
                (itemgetter(i + offset) for i in (COMBO, SRC, DST, DPORT)),
                (bad_combos, bad_addresses, bad_addresses, bad_ports),
            )
        )

    def add(self, rows: list) -> None:
        self.entries += len(rows)
        for counter, get, _ in self._parts:
            counter.update(map(get, rows))

    def add_checked(self, rows: list) -> list:
        """Count rows, then check each key seen for the first time; the rows that hold
        a bad one are taken back out of every count and returned."""
        had = [len(counter) for counter, _, _ in self._parts]
        self.add(rows)
        bad: list = []
        for (counter, get, check), old in zip(self._parts, had):
            if len(counter) > old:
                # Dicts keep insertion order: the newest keys are the last ones.
                wrong = check(list(islice(reversed(counter), len(counter) - old)))
                if wrong:
                    bad.append((get, set(wrong)))
        if not bad:
            return []
        rows = [r for r in rows if any(get(r) in keys for get, keys in bad)]
        self.remove(rows)
        return rows

    def remove(self, rows: list) -> None:
        self.entries -= len(rows)
        for counter, get, _ in self._parts:
            for key in map(get, rows):
                left = counter[key] - 1
                if left:
                    counter[key] = left
                else:
                    del counter[key]

    def freeze(self) -> Breakdown:
        # (l4, state, seconds left) -> count. A table of long-lived flows has a combo per
        # remaining second (190k of 250k entries, measured): split them all in one C pass.
        expiry = Counter(split_combos(self.combos))
        states: dict = {}  # (l4, state) -> count; few keys, summed from the many combos
        for (l4, st, _), n in expiry.items():
            states[l4, st] = states.get((l4, st), 0) + n
        proto: Counter = Counter()
        state: Counter = Counter()
        for (l4, st), n in states.items():
            proto[l4] += n
            if st:
                state[st] += n
        # Entries without a port (icmp, gre...) were counted under the empty key.
        self.dport.pop(b"", None)
        counts = {"proto": proto, "state": state, "src": self.src, "dst": self.dst}
        counts["dport"] = sum_ports(self.dport)
        pairs = {"state": Counter({k: n for k, n in states.items() if k[1]}), "dport": self.dport}
        return Breakdown(self.entries, counts, expiry, pairs)


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
    bad_examples: tuple = ()  # up to MAX_EXAMPLES (line as safe text, reason)
    totals_only: bool = False  # a recording's aggregates: no line to drill into


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
    A line the grammar rejects is counted in `bad_lines`, never in a breakdown.
    """
    started = clock()
    scan = _Scan(filt, focus, entry_limit)
    nbytes = 0
    for buf, start, end, before in _line_runs(chunks):
        nbytes += end - start
        if before < 0:
            scan.bad += 1
            scan.example(buf, "truncated last line (no newline)")
        else:
            scan.run(buf, start, end, before)
    examples = tuple(scan.examples)
    return TableScan(
        totals=scan.totals.freeze(),
        bad_lines=scan.bad,
        scan_seconds=clock() - started,
        bytes_read=nbytes,
        focus=scan.focused.freeze() if scan.focused is not None else None,
        focus_entries=tuple(scan.focus_entries),
        sample_bad_line=examples[0][0][:120] if examples else "",
        bad_examples=examples,
    )


def _line_runs(chunks: Iterable[bytes]) -> Iterator[tuple]:
    """(buffer, start, end, newlines in buffer[:start]) for each run of whole lines,
    without copying the chunks (a copy of every megabyte cost 13 % of a scan); only a line
    cut between two chunks is joined on its own. A last piece without a newline comes
    with -1 as its newline count. The same cuts as complete_lines(), zero-copy."""
    pending: list = []  # pieces of the unfinished line (joined once: linear, see above)
    for raw in chunks:
        if not raw:
            continue
        start = 0
        if pending:
            start = raw.find(b"\n") + 1
            if start == 0:
                pending.append(raw)
                continue
            pending.append(raw[:start])
            head = b"".join(pending)
            pending = []
            yield head, 0, len(head), 0
        cut = raw.rfind(b"\n") + 1
        if cut > start:
            yield raw, start, cut, 1 if start else 0
        if cut < len(raw):
            pending.append(raw[max(cut, start) :])
    if pending:
        tail = b"".join(pending)
        yield tail, 0, len(tail), -1


def _pieces(chunk: bytes, start: int = 0, size: Optional[int] = None) -> Iterator[tuple]:
    """(start, end) of consecutive runs of whole lines, about PIECE bytes each."""
    size = len(chunk) if size is None else size
    while start < size:
        end = chunk.rfind(b"\n", start, start + PIECE) + 1
        if end <= start:  # one line longer than a piece
            end = chunk.find(b"\n", start + PIECE) + 1 or size
        yield start, end
        start = end


class _Scan:
    """The running state of one scan_table call."""

    def __init__(self, filt: Optional[Filter], focus: Optional[Filter], entry_limit: int):
        self.filt, self.focus, self.entry_limit = filt, focus, entry_limit
        # Filters and drill-downs need the whole line too (parse_line): rows of the
        # LINE_ regexes, one group more in front.
        self.slow = filt is not None or focus is not None
        self.totals = _Accumulator(int(self.slow))
        self.focused = _Accumulator(1) if focus is not None else None
        # Every row is checked, filtered out or not: by the totals themselves, or by an
        # accumulator of its own when a filter keeps rows out of the totals.
        self.checker = _Accumulator(1) if filt is not None else self.totals
        self.focus_entries: list = []
        self.bad = 0
        self.examples: list = []

    def run(self, buf: bytes, start: int, end: int, before: int) -> None:
        """Count the entries among the whole lines buf[start:end]; the bad lines are
        counted and explained. `before`: newlines in buf[:start] (none after end)."""
        clean = clean_lines(buf)
        # Printable text (the normal case) needs no check of the uncounted tail.
        regex = _REGEX[self.slow, clean is not None]
        spans = [(a, b, self.piece(buf, a, b, regex)) for a, b in _pieces(buf, start, end)]
        lines = buf.count(b"\n", start, end) if clean is None else clean - before
        bad = lines - sum(n for _, _, n in spans)
        if not bad:
            return
        self.bad += bad
        for a, b, n in spans:
            if len(self.examples) >= MAX_EXAMPLES:
                break
            if buf.count(b"\n", a, b) != n:
                self._explain_lines(buf[a:b])

    def piece(self, chunk: bytes, start: int, end: int, regex) -> int:
        """Count the valid lines among chunk[start:end]; returns how many there were."""
        rows = regex.findall(chunk, start, end)
        wrong = self.checker.add_checked(rows)
        if wrong:
            gone = set(map(id, wrong))
            rows = [r for r in rows if id(r) not in gone]
        if self.slow:
            self._count_filtered(rows)
        return len(rows)

    def _count_filtered(self, rows: list) -> None:
        if self.filt is not None:
            rows = [r for r in rows if self.filt.match_row(_view(r))]
            self.totals.add(rows)
        if self.focused is None:
            return
        mine = [r for r in rows if self.focus.match_row(_view(r))]
        self.focused.add(mine)
        for r in mine:
            if len(self.focus_entries) >= self.entry_limit:
                break
            try:
                self.focus_entries.append(parse_line(r[0], check=False))
            except ParseError:
                pass

    def _explain_lines(self, text: bytes) -> None:
        for line in text.split(b"\n")[:-1]:
            reason = explain(line)
            if reason:
                self.example(line, reason)
                if len(self.examples) >= MAX_EXAMPLES:
                    return

    def example(self, line: bytes, reason: str) -> None:
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append((printable(line.rstrip(b"\n")), reason))


def _view(row: tuple) -> tuple:
    """A LINE_ regex row as filters read it: l4, timeout, state, src, dst, dport."""
    return (*_split_cached(row[COMBO + 1]), row[SRC + 1], row[DST + 1], port_of(row[DPORT + 1]))


# (whole lines wanted, text clean) -> regex
_REGEX = {
    (False, True): FAST_RE,
    (False, False): STRICT_RE,
    (True, True): LINE_FAST_RE,
    (True, False): LINE_STRICT_RE,
}


_split_cached = lru_cache(maxsize=4096)(split_combo)


__all__ = ["Breakdown", "Entry", "TableScan", "scan_table", "DIMENSIONS"]
