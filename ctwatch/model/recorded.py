"""A table scan as a recording stores it (aggregates only) and back."""

from __future__ import annotations

from collections import Counter

from ctwatch.model.grammar import printable
from ctwatch.model.scan import DIMENSIONS, MAX_EXAMPLES, Breakdown, TableScan

RECORD_TOP = 200  # rows kept per breakdown in a recorded big-table scan


def scan_to_record(scan: TableScan, top: int = RECORD_TOP) -> dict:
    """Aggregates of one scan: the top rows of each breakdown, raw keys as text."""
    totals = scan.totals
    return {
        "entries": totals.entries,
        "bad_lines": scan.bad_lines,
        "bad_examples": [list(pair) for pair in scan.bad_examples],
        "scan_seconds": round(scan.scan_seconds, 4),
        "distinct": {d: totals.distinct(d) for d in DIMENSIONS},
        "counts": {
            d: [[k.decode("ascii", "replace"), n] for k, n in totals.counts[d].most_common(top)]
            for d in DIMENSIONS
        },
        "expiry": [
            [k[0].decode(), k[1].decode(), k[2].decode(), n]
            for k, n in (totals.expiry or Counter()).most_common(top)
        ],
    }


def scan_from_record(rec: dict) -> TableScan:
    counts = {
        d: Counter({k.encode(): n for k, n in rec.get("counts", {}).get(d, [])}) for d in DIMENSIONS
    }
    expiry = Counter(
        {(a.encode(), b.encode(), c.encode()): n for a, b, c, n in rec.get("expiry", [])}
    )
    return TableScan(
        totals=Breakdown(int(rec.get("entries", 0)), counts, expiry),
        bad_lines=int(rec.get("bad_lines", 0)),
        scan_seconds=float(rec.get("scan_seconds", 0.0)),
        bytes_read=0,
        bad_examples=_examples(rec.get("bad_examples")),
        totals_only=True,
    )


def _examples(value) -> tuple:
    """(line, reason) pairs from a recording, which anyone may have written: made safe."""
    if not isinstance(value, list):
        return ()
    pairs = [p for p in value if isinstance(p, list) and len(p) == 2]
    return tuple(
        (printable(line.encode("utf-8", "replace")), printable(why.encode("utf-8", "replace"), 80))
        for line, why in pairs[:MAX_EXAMPLES]
        if isinstance(line, str) and isinstance(why, str)
    )
