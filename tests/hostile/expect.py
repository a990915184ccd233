"""What the issue says a case's JSON must hold: unknown values as null, bad lines counted."""

from __future__ import annotations

import json
from typing import Callable

NEED_MAX = ("full", "filling")


def _json(fmt: str, stdout: bytes):
    if fmt != "json":
        return None
    try:
        return json.loads(stdout)
    except ValueError:
        return None  # reported by the generic checks


def unknown(*fields: str) -> Callable:
    """Section 5: each field (`count`, `max`, `stats.drop`) is null or absent, never shown."""

    def check(fmt: str, stdout: bytes) -> list:
        out = _json(fmt, stdout)
        if not isinstance(out, dict):
            return []
        found = []
        for field in fields:
            value = out
            for part in field.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value is not None:
                found.append(f"JSON {field} is {value!r:.40}, expected null (unknown)")
        forecast = out.get("forecast")
        # "full" and "filling ... full in N" need the max; draining or steady do not.
        if "max" in fields and isinstance(forecast, dict) and forecast.get("kind") in NEED_MAX:
            found.append(f"JSON forecast built on an unknown max: {forecast}")
        return found

    return check


def positive(field: str) -> Callable:
    """A size the advice divides or multiplies by: null or above 0."""

    def check(fmt: str, stdout: bytes) -> list:
        out = _json(fmt, stdout)
        value = out
        for part in field.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, (int, float)) and not value > 0:
            return [f"JSON {field} is {value!r}, expected null or above 0"]
        return []

    return check


def bad_lines(n: int = 1, total: int = 425) -> Callable:
    """Section 4: `n` invalid lines count as bad_lines, not entries, with bad_examples."""

    def check(fmt: str, stdout: bytes) -> list:
        out = _json(fmt, stdout)
        if not isinstance(out, dict):
            return []
        found = []
        if not (out.get("bad_lines") or 0) >= n:
            found.append(f"JSON bad_lines is {out.get('bad_lines')!r}, expected at least {n}")
        if isinstance(out.get("entries"), int) and out["entries"] > total - n:
            found.append(f"JSON entries is {out['entries']}: the invalid line was counted")
        examples = out.get("bad_examples")
        if not isinstance(examples, list) or not 1 <= len(examples) <= 5:
            found.append(f"JSON bad_examples is {examples!r:.60}, expected 1-5 examples")
        elif any(len(json.dumps(e)) > 600 for e in examples):
            found.append("a bad_examples item is not cut short (200 characters)")
        return found

    return check


def snat_skips(address: str) -> Callable:
    """The SNAT view reads the reply tuple, which the scan only requires to be printable:
    a reply address or port that is not one is left out of the view, never listed."""

    def check(fmt: str, stdout: bytes) -> list:
        out = _json(fmt, stdout)
        if not isinstance(out, dict):
            return []
        rows = out.get("snat")
        if not isinstance(rows, list):
            return [f"JSON snat is {rows!r:.60}, expected a list"]
        return [f"SNAT lists {r!r:.80}" for r in rows if r.get("address") == address]

    return check


def absent(*texts: str) -> Callable:
    """Nonsense built on an impossible value (`-42500.0% full`) must not be printed."""

    def check(fmt: str, stdout: bytes) -> list:
        text = stdout.decode("utf-8", "replace")
        return [f"{fmt} output shows {t!r}" for t in texts if t in text]

    return check


def every(*checks: Callable) -> Callable:
    return lambda fmt, stdout: [p for c in checks for p in c(fmt, stdout)]
