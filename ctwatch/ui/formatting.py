"""Number, duration and time formatting shared by the widgets."""

from __future__ import annotations

import time
from typing import Optional


def count(value: Optional[int]) -> str:
    return "?" if value is None else f"{value:,}"


def signed(value: int) -> str:
    return f"{value:+,}"


def percent(fraction: Optional[float]) -> str:
    if fraction is None:
        return "?"
    pct = 100.0 * fraction
    return f"{pct:.0f}%" if pct >= 99.95 or pct == 0 else f"{pct:.1f}%"


def rate(per_second: Optional[float]) -> str:
    if per_second is None:
        return "?"
    if abs(per_second) >= 100 or per_second == int(per_second):
        return f"{per_second:,.0f}/s"
    return f"{per_second:,.1f}/s"


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
