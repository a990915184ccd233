"""`--once` output: the stable JSON object and the human summary."""

from __future__ import annotations

from typing import Optional

from ctwatch.model.snapshot import Snapshot

JSON_DIMENSIONS = (
    ("by_state", "state"),
    ("by_proto", "proto"),
    ("by_src", "src"),
    ("by_dst", "dst"),
    ("by_dport", "dport"),
)
# The stats shown in the one-line summary: the drop counters and invalid packets.
SUMMARY_STATS = ("drop", "early_drop", "insert_failed", "invalid")


def snapshot_json(snap: Snapshot, top: int = 10, filter_text: str = "") -> dict:
    """The documented --json object (README, "JSON output"); keys are kept stable."""
    table = snap.table
    out = {
        "source": snap.source,
        "label": snap.label,
        "taken_at": round(snap.taken_at, 3),
        "count": snap.count,
        "max": snap.max,
        "buckets": snap.buckets,
        "fill": None if snap.fill is None else round(snap.fill, 6),
        "entries": table.totals.entries if table else None,
        "bad_lines": table.bad_lines if table else None,
        "bad_examples": [{"line": line, "reason": why} for line, why in table.bad_examples]
        if table
        else [],
    }
    for key, dim in JSON_DIMENSIONS:
        out[key] = table.totals.as_dict(dim, top) if table else {}
    out["distinct_src"] = table.totals.distinct("src") if table else None
    out["distinct_dst"] = table.totals.distinct("dst") if table else None
    out["stats"] = dict(snap.stats)
    out["scan_seconds"] = round(table.scan_seconds, 6) if table else None
    out["filter"] = filter_text or None
    out["table_error"] = snap.table_error
    out["errors"] = list(snap.errors)
    return out


def _n(value: Optional[int]) -> str:
    return "?" if value is None else f"{value:,}"


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:5.1f}%" if whole else "    -"


def human_summary(snap: Snapshot, top: int = 10, filter_text: str = "") -> str:
    """The seed's watch/grep/sort/uniq loops answered in one screenful of plain text."""
    lines = []
    fill = "" if snap.fill is None else f"  ({100 * snap.fill:.1f}% full)"
    lines.append(f"source   {snap.source}: {snap.label}")
    lines.append(f"count    {_n(snap.count)} / max {_n(snap.max)}{fill}")
    if snap.buckets:
        load = snap.load_factor
        lines.append(
            f"buckets  {_n(snap.buckets)}"
            + (f"  (load factor {load:.2f})" if load is not None else "")
        )
    if snap.stats:
        drops = "  ".join(f"{k}={snap.stats[k]:,}" for k in SUMMARY_STATS if k in snap.stats)
        lines.append(f"stats    {drops}")
    for problem in snap.problems:
        lines.append(f"warning  {problem}")
    table = snap.table
    if table is None:
        return "\n".join(lines) + "\n"
    t = table.totals
    scan = (
        f"scanned  {t.entries:,} entries in {table.scan_seconds:.3f} s"
        f"{'' if not table.bad_lines else f', {table.bad_lines:,} bad lines skipped'}"
    )
    if filter_text:
        scan += f"  (filter: {filter_text})"
    lines.append(scan)
    for title, dim in (
        ("STATE", "state"),
        ("PROTO", "proto"),
        ("SOURCE", "src"),
        ("DESTINATION", "dst"),
        ("DPORT", "dport"),
    ):
        rows = t.top(dim, top)
        if not rows:
            continue
        more = t.distinct(dim) - len(rows)
        lines.append("")
        width = max(len(title), *(len(k) for k, _ in rows))
        lines.append(f"{title:<{width}}  {'COUNT':>10}  {'SHARE':>6}")
        for key, count in rows:
            lines.append(f"{key:<{width}}  {count:>10,}  {_pct(count, t.entries)}")
        if more > 0:
            lines.append(f"{'(' + format(more, ',') + ' more)':<{width}}")
    return "\n".join(lines) + "\n"
