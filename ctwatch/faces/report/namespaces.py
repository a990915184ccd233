"""`--once --all-netns`: the namespaces list as JSON objects, CSV rows and a text table."""

from __future__ import annotations

from typing import Optional

from ctwatch.engine.namespaces import NamespacesView
from ctwatch.model import format as fmt
from ctwatch.model.trend import DROP_COUNTERS

CSV_DIMENSION = "netns"
NAME_WIDTH = 40


def _r(value: Optional[float], digits: int = 3) -> Optional[float]:
    return None if value is None else round(value, digits)


def namespaces_json(view: NamespacesView) -> list:
    """The `namespaces` field: one object per namespace, the most dropping first."""
    return [
        {
            "inode": row.inode,
            "name": row.name,
            "kind": row.kind,
            "pids": list(row.pids),
            "entries": row.entries,
            "max": row.max,
            "fill": _r(row.fill, 6),
            "stats": dict(row.stats),
            "rates": {k: _r(v) for k, v in row.rates.items()},
            "last_full": _r(row.last_full),
            "since": _r(row.since),
            "table_error": row.table_error,
        }
        for row in view.rows
    ]


def namespaces_csv_rows(view: NamespacesView) -> list:
    """(dimension, key, count, share) rows: key `name (inode)`, count its entries, share
    its part of the entries of every namespace listed."""
    total = sum(row.entries or 0 for row in view.rows)
    out = []
    for row in view.rows:
        share = round(row.entries / total, 6) if total and row.entries is not None else None
        out.append((CSV_DIMENSION, f"{row.name} ({row.inode})", row.entries, share))
    return out


def namespaces_text(view: NamespacesView) -> list:
    """Lines of a table: one namespace a line, the most dropping first."""
    lines = ["", f"{len(view.rows)} network namespaces (drops per second over the rate window)"]
    lines.append(
        f"{'NAME':<{NAME_WIDTH}}  {'KIND':<11}  {'INODE':>10}  {'ENTRIES':>9}  {'FILL':>6}  "
        f"{'DROP':>7}  {'EARLY':>7}  {'INSFAIL':>7}  LAST FULL"
    )
    for row in view.rows:
        rates = [fmt.rate(row.rates.get(k)) if row.rates else "-" for k in DROP_COUNTERS]
        last = fmt.clock(row.last_full) if row.last_full is not None else "-"
        lines.append(
            f"{fmt.shorten(row.name, NAME_WIDTH, '...'):<{NAME_WIDTH}}  {row.kind:<11}  "
            f"{row.inode:>10}  {fmt.count(row.entries):>9}  {fmt.percent(row.fill):>6}  "
            f"{rates[0]:>7}  {rates[1]:>7}  {rates[2]:>7}  {last}"
        )
        if row.table_error:
            lines.append(f"{'':<{NAME_WIDTH}}  ({row.table_error})")
    for problem in view.errors:
        lines.append(f"warning  {problem}")
    return lines
