"""Per-CPU conntrack statistics (/proc/net/stat/nf_conntrack), summed by column name."""

from __future__ import annotations

import re

from ctwatch.sources.values import RefusedValue, parse_hex


class StatsError(ValueError):
    """The stats file is not in the header-plus-hex-rows format."""


def parse_stats(text: str) -> dict:
    """Sum each named column over the per-CPU rows.

    Columns are matched by header name, never by position: the set changed in 2.6.35,
    5.10 and 5.15. `entries` is the table count repeated on every row, so it is taken
    once, not summed.
    """
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise StatsError("stats file is empty")
    header = lines[0].split()
    if not header or any(not is_counter_name(h) for h in header):
        raise StatsError(f"stats file has no header row: {lines[0][:60]!r}")
    totals = dict.fromkeys(header, 0)
    rows = 0
    for row, line in enumerate(lines[1:], 1):
        values = line.split()
        if len(values) != len(header):
            raise StatsError(f"stats row has {len(values)} columns, header has {len(header)}")
        numbers = []
        for name, token in zip(header, values):
            try:
                numbers.append(parse_hex(token))
            except RefusedValue as exc:
                # One impossible value (`-1`, `0x1`) makes the whole file suspect: every
                # counter is unknown rather than some of them wrong.
                raise StatsError(f"stats row {row}, column {name[:40]}: {exc}") from None
        for name, value in zip(header, numbers):
            if name == "entries":
                totals[name] = value
            else:
                totals[name] += value
        rows += 1
    if rows == 0:
        raise StatsError("stats file has a header but no per-CPU rows")
    return totals


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")  # ASCII: str.isalpha() takes any script


def is_counter_name(token) -> bool:
    """A stats column name as the kernel prints them (`insert_failed`)."""
    return isinstance(token, str) and _NAME.fullmatch(token) is not None
