"""Strict validators for the numbers the kernel (or a recording) hands us: refuse, never guess."""

from __future__ import annotations

import math
import re

# The kernel's count, max and bucket count are 32-bit (atomic_t / unsigned int): a value
# of 2**32 or more cannot come from it. Per-CPU stats are printed as unsigned 32-bit hex;
# their sums over CPUs (what a recording stores) fit in 64 bits.
U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1
SHOWN_CHARS = 40  # of a refused value, in an error line

# ASCII only: Python's int() also takes "4_25", "+5", " ٤٢ " (Arabic-Indic digits), which no
# kernel prints. More than 20 digits is out of range before int() sees a 5000-digit string.
_DECIMAL = re.compile(r"[0-9]+")
_MAX_DIGITS = 20
_HEX = re.compile(r"[0-9a-fA-F]+")
_SPACE = " \t\n\r\x0b\x0c"  # str.strip() would also eat \x1c-\x1f and Unicode spaces


class RefusedValue(ValueError):
    """A value no kernel could have produced; str() is one line naming the value."""


def shown(value) -> str:
    """A refused value for an error line: repr-escaped (no control bytes), at most 40 chars."""
    text = value if isinstance(value, str) else repr(value)
    cut = text[:SHOWN_CHARS]
    return repr(cut) + ("..." if len(text) > SHOWN_CHARS else "")


def parse_uint(text: str, limit: int = U32_MAX) -> int:
    """A plain decimal number from a sysctl-style file, 0..limit; RefusedValue otherwise."""
    body = text.strip(_SPACE)
    if not _DECIMAL.fullmatch(body):
        raise RefusedValue(f"{shown(body)} is not a plain decimal number")
    if len(body) > _MAX_DIGITS or int(body) > limit:
        raise RefusedValue(f"{shown(body)} is above {limit:,}, more than a kernel can hold")
    return int(body)


def parse_hex(token: str, limit: int = U32_MAX) -> int:
    """One per-CPU stats column (`%08x`); RefusedValue for signs, `0x`, `_` or overflow."""
    if not _HEX.fullmatch(token):
        raise RefusedValue(f"{shown(token)} is not hexadecimal")
    if len(token) > _MAX_DIGITS or int(token, 16) > limit:
        raise RefusedValue(f"{shown(token)} is above {limit:,}")
    return int(token, 16)


def check_uint(value, limit: int = U32_MAX) -> int:
    """A whole number from JSON (a recording): an int, not a bool, float, NaN or string."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and not math.isfinite(value):
            raise RefusedValue(f"{shown(value)} is not a number")
        raise RefusedValue(f"{shown(value)} is not a whole number")
    if value < 0:
        raise RefusedValue(f"{shown(value)} is negative")
    if value > limit:
        raise RefusedValue(f"{shown(value)} is above {limit:,}")
    return value


def check_seconds(value, limit: float = 1e12) -> float:
    """A finite, non-negative time in seconds from JSON (timestamps, scan durations)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RefusedValue(f"{shown(value)} is not a number of seconds")
    if not (math.isfinite(value) and 0 <= value <= limit):
        raise RefusedValue(f"{shown(value)} is not a possible number of seconds")
    return float(value)
