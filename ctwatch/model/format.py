"""Number, duration and time formatting shared by the widgets."""

from __future__ import annotations

import math
import time
from typing import Optional

UNITS = ("K", "M", "G", "T", "P", "E")


def count(value: Optional[int], width: Optional[int] = None) -> str:
    """1,234,567 in full; with `width`, `1.2M` when the full form is wider."""
    if value is None:
        return "?"
    return fit(f"{value:,}", value, width)


def limit(value: Optional[int], width: Optional[int] = None) -> str:
    """The table's max: 0 is no limit at all to the kernel, so it says "unlimited"."""
    return "unlimited" if value == 0 else count(value, width)


def signed(value: int, width: Optional[int] = None) -> str:
    return fit(f"{value:+,}", value, width, "+" if value > 0 else "")


def compact(value: float, plus: str = "") -> str:
    """A number in at most 5 cells (6 with a sign): 999, 12K, 1.0M, 4.3G."""
    sign = "-" if value < 0 else plus
    v = abs(value)
    if v < 999.5:
        return f"{sign}{v:.0f}"
    for power, unit in enumerate(UNITS, 1):
        scaled = v / 1000**power
        if scaled < 9.95:
            return f"{sign}{scaled:.1f}{unit}"
        if scaled < 999.5:
            return f"{sign}{scaled:.0f}{unit}"
    return f"{sign}{v:.0e}"


def fit(full: str, value: float, width: Optional[int], plus: str = "") -> str:
    """`full` when it fits in `width`, else the value abbreviated with its unit. Never cut:
    a caller that leaves fewer than 6 cells gets a number wider than its room."""
    if width is None or len(full) <= width:
        return full
    return compact(value, plus)


def percent(fraction: Optional[float]) -> str:
    if fraction is None:
        return "?"
    pct = 100.0 * fraction
    return f"{pct:.0f}%" if pct >= 99.95 or pct == 0 else f"{pct:.1f}%"


def rate(per_second: Optional[float], width: Optional[int] = None, plus: str = "") -> str:
    if per_second is None or not math.isfinite(per_second):
        return "?"
    if abs(per_second) >= 100 or per_second == int(per_second):
        full = f"{per_second:{plus},.0f}/s"
    else:
        full = f"{per_second:{plus},.1f}/s"
    if width is None or len(full) <= width:
        return full
    return compact(per_second, plus if per_second > 0 else "") + "/s"


def seconds(value: Optional[float]) -> str:
    """Short duration: 0.42 s, 7 s, 3 min, 2.5 h."""
    if value is None:
        return "?"
    if value < 0.01:
        return f"{value * 1000:.0f} ms" if value >= 0.0005 else "0 s"
    if value < 1:
        return f"{value:.2f} s"
    if value < 10:
        return f"{value:.1f} s"
    if value < 90:
        return f"{value:.0f} s"
    if value < 90 * 60:
        return f"{value / 60:.0f} min"
    if value < 48 * 3600:
        return f"{value / 3600:.1f} h"
    return f"{value / 86400:.1f} d"


def interval(value: float) -> str:
    return f"{value:g} s"


def timeout(value: Optional[int]) -> str:
    """An entry's remaining timeout: 29s, 4m59s, 4d23h."""
    if value is None:
        return "-"
    if value < 120:
        return f"{value}s"
    if value < 3600:
        return f"{value // 60}m{value % 60:02d}s"
    if value < 86400:
        return f"{value // 3600}h{value % 3600 // 60:02d}m"
    return f"{value // 86400}d{value % 86400 // 3600:02d}h"


def clock(wall: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(wall))


def shorten(text: str, width: int, ellipsis: str = "…") -> str:
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    return text[: max(0, width - len(ellipsis))] + ellipsis[:width]


def human_bytes(n: Optional[float]) -> str:
    """1536 -> '1.5 KiB'."""
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover - loop always returns
