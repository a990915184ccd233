"""Per-CPU conntrack statistics (/proc/net/stat/nf_conntrack), summed by column name."""

from __future__ import annotations


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
    if not header or any(not _is_name(h) for h in header):
        raise StatsError(f"stats file has no header row: {lines[0][:60]!r}")
    totals = dict.fromkeys(header, 0)
    rows = 0
    for line in lines[1:]:
        values = line.split()
        if len(values) != len(header):
            raise StatsError(f"stats row has {len(values)} columns, header has {len(header)}")
        try:
            numbers = [int(v, 16) for v in values]
        except ValueError:
            raise StatsError(f"stats row is not hexadecimal: {line[:60]!r}") from None
        for name, value in zip(header, numbers):
            if name == "entries":
                totals[name] = value
            else:
                totals[name] += value
        rows += 1
    if rows == 0:
        raise StatsError("stats file has a header but no per-CPU rows")
    return totals


def _is_name(token: str) -> bool:
    return token.replace("_", "").isalpha()
