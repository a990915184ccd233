"""`--once` as text: the seed's watch/grep/sort/uniq loops answered in one screenful."""

from __future__ import annotations

from ctwatch.engine.answers import Answers
from ctwatch.faces.report.namespaces import namespaces_text
from ctwatch.model import format as fmt
from ctwatch.model.dimensions import DIMENSIONS

# The stats shown in the one-line summary: the drop counters and invalid packets.
SUMMARY_STATS = ("drop", "early_drop", "insert_failed", "invalid")


def _pct(part: int, whole: int) -> str:
    return f"{fmt.percent(part / whole):>6}" if whole else "     -"


def answers_text(answers: Answers, filter_text: str = "") -> str:
    snap = answers.snapshot
    lines = []
    fill = "" if snap is None or snap.fill is None else f"  ({fmt.percent(snap.fill)} full)"
    source = snap.source if snap else "?"
    lines.append(f"source   {source}: {answers.source_label}")
    count = snap.count if snap else None
    maximum = snap.max if snap else None
    lines.append(f"count    {fmt.count(count)} / max {fmt.limit(maximum)}{fill}")
    if snap is not None and snap.buckets:
        load = snap.load_factor
        lines.append(
            f"buckets  {fmt.count(snap.buckets)}"
            + (f"  (load factor {load:.2f})" if load is not None else "")
        )
    if snap is not None and snap.stats:
        drops = "  ".join(f"{k}={snap.stats[k]:,}" for k in SUMMARY_STATS if k in snap.stats)
        lines.append(f"stats    {drops}")
    if answers.rates or answers.forecast.kind != "unknown":
        lines.append(f"trend    {answers.forecast.describe()}")
    for problem in answers.problems:
        lines.append(f"warning  {problem}")
    if answers.namespaces is not None:
        lines += namespaces_text(answers.namespaces)
    scan = answers.scan
    if scan is None:
        return "\n".join(lines) + "\n"
    skipped = f", {scan.bad_lines:,} bad lines skipped" if scan.bad_lines else ""
    summary = f"scanned  {scan.entries:,} entries in {scan.scan_seconds:.3f} s{skipped}"
    if filter_text:
        summary += f"  (filter: {filter_text})"
    lines.append(summary)
    for dim in DIMENSIONS:
        panel = scan.panels[dim.name]
        rows = sorted(panel.rows, key=lambda r: -r.count)
        if not rows:
            continue
        more = panel.distinct - len(rows)
        width = max(len(dim.heading), *(len(r.key) for r in rows))
        lines.append("")
        lines.append(f"{dim.heading:<{width}}  {'COUNT':>10}  {'SHARE':>6}")
        for r in rows:
            lines.append(f"{r.key:<{width}}  {r.count:>10,}  {_pct(r.count, scan.entries)}")
        if more > 0:
            lines.append(f"{'(' + format(more, ',') + ' more)':<{width}}")
    return "\n".join(lines) + "\n"
