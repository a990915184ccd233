"""Validation of recorded frames: a recording may come from anyone, so every field is checked."""

from __future__ import annotations

from typing import Optional

from ctwatch.sources.stats import is_counter_name
from ctwatch.sources.values import U64_MAX, RefusedValue, check_seconds, check_uint, shown

MAX_STATS = 256  # counters in one frame; a kernel prints about 20
MAX_ROWS = 10_000  # rows of one recorded breakdown (the recorder keeps 200)
MAX_KEY = 256  # characters of one recorded key (an IPv6 subnet is under 50)


class BadFrame(ValueError):
    """The frame as a whole is unusable (not an object, no valid time): it is skipped."""


def check_frame(obj) -> tuple:
    """(clean frame, [one-line problems]) for one decoded JSON line; BadFrame to skip it.

    The clean frame holds only checked values: count/max/buckets are ints or None (a value
    that was there but impossible becomes None, with a problem naming it), stats only
    valid counters, and `table` (text) or `scan` (aggregates) only when well formed.
    """
    if not isinstance(obj, dict):
        raise BadFrame(f"not a JSON object but {type(obj).__name__}")
    try:
        t = check_seconds(obj.get("t"))
    except RefusedValue as exc:
        raise BadFrame(f"time {exc}") from None
    problems = []
    frame: dict = {"t": t}
    for key in ("count", "max", "buckets"):
        frame[key] = None
        if obj.get(key) is not None:
            try:
                frame[key] = check_uint(obj[key])
            except RefusedValue as exc:
                problems.append(f"{key} {exc}; treated as unknown")
    frame["stats"] = _stats(obj.get("stats"), problems)
    if "table" in obj:
        if isinstance(obj["table"], str):
            frame["table"] = obj["table"]
        else:
            problems.append(f"table is {type(obj['table']).__name__}, not text; not replayed")
    elif "scan" in obj:
        try:
            frame["scan"] = check_scan(obj["scan"])
        except RefusedValue as exc:
            problems.append(f"scan aggregates refused: {exc}")
    return frame, problems


def _stats(stats, problems: list) -> dict:
    if stats is None:
        return {}
    if not isinstance(stats, dict):
        problems.append(f"stats is {type(stats).__name__}, not an object; treated as unknown")
        return {}
    clean = {}
    refused = []
    for name, value in list(stats.items())[:MAX_STATS]:
        if not is_counter_name(name):
            refused.append(f"name {shown(name)}")
            continue
        try:
            clean[name] = check_uint(value, U64_MAX)
        except RefusedValue as exc:
            refused.append(f"{name} {exc}")
    if len(stats) > MAX_STATS:
        refused.append(f"{len(stats) - MAX_STATS} counters over {MAX_STATS}")
    if refused:
        more = f" (+{len(refused) - 1} more)" if len(refused) > 1 else ""
        problems.append(f"stats {refused[0]}{more}; those counters unknown")
    return clean


def check_scan(rec) -> dict:
    """Recorded aggregates (model/recorded.py's format) with every field checked."""
    if not isinstance(rec, dict):
        raise RefusedValue(f"not an object but {type(rec).__name__}")
    counts = rec.get("counts", {})
    if not isinstance(counts, dict):
        raise RefusedValue("counts is not an object")
    return {
        "entries": _uint(rec.get("entries", 0), "entries"),
        "bad_lines": _uint(rec.get("bad_lines", 0), "bad_lines"),
        "scan_seconds": _seconds(rec.get("scan_seconds", 0.0)),
        "counts": {_key(d, "dimension"): _rows(rows, d, 1) for d, rows in counts.items()},
        "expiry": _rows(rec.get("expiry", []), "expiry", 3),
    }


def _uint(value, what: str) -> int:
    try:
        return check_uint(value, U64_MAX)
    except RefusedValue as exc:
        raise RefusedValue(f"{what} {exc}") from None


def _seconds(value) -> float:
    try:
        return check_seconds(value)
    except RefusedValue as exc:
        raise RefusedValue(f"scan_seconds {exc}") from None


def _key(value, what: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_KEY:
        raise RefusedValue(f"{what} {shown(value)} is not a short text")
    return value


def _rows(rows, what: str, keys: int) -> list:
    """[[key, ..., count]] rows: `keys` texts then a count, at most MAX_ROWS of them."""
    if not isinstance(rows, list) or len(rows) > MAX_ROWS:
        raise RefusedValue(f"{what} is not a list of at most {MAX_ROWS:,} rows")
    clean = []
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != keys + 1:
            raise RefusedValue(f"{what} row {i + 1} is not {keys} key(s) and a count")
        clean.append([_key(k, f"{what} key") for k in row[:keys]] + [_uint(row[keys], what)])
    return clean


def header_label(header) -> Optional[str]:
    """The recorded label if it is a short text, else None."""
    label = header.get("label") if isinstance(header, dict) else None
    return label if isinstance(label, str) and len(label) <= MAX_KEY else None
