"""Rates from the kernel's counters and the fill forecast: "full in 4 min", "draining"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from ctwatch.model.format import seconds as seconds_text

# Per-CPU stat columns turned into per-second rates. `new` and `insert` are not counted
# by current kernels (they stay 0); growth of the count is always available instead.
RATE_COUNTERS = (
    "new",
    "insert",
    "drop",
    "early_drop",
    "insert_failed",
    "invalid",
    "search_restart",
    "clashres",
)
DROP_COUNTERS = ("drop", "early_drop", "insert_failed")


def drop_rate(rates: dict) -> Optional[float]:
    """Packets dropped per second (drop + early_drop + insert_failed); None when the
    kernel prints none of those counters."""
    known = [rates[n] or 0.0 for n in DROP_COUNTERS if n in rates]
    return sum(known) if known else None


def counter_rates(prev: dict, prev_t: float, cur: dict, cur_t: float) -> dict:
    """name -> events per second between two stats readings.

    A counter that went down (CPU hot-unplug, module reload) gives no rate rather than a
    negative one.
    """
    dt = cur_t - prev_t
    if dt <= 0:
        return {}
    out = {}
    for name in RATE_COUNTERS:
        if name in cur and name in prev:
            delta = cur[name] - prev[name]
            if delta >= 0:
                out[name] = delta / dt
    return out


@dataclass(frozen=True)
class Forecast:
    """Where the count is heading. kind: full, filling, draining, steady, unknown."""

    kind: str
    seconds: Optional[float] = None  # until full (filling) or empty (draining)
    slope: Optional[float] = None  # entries per second, least squares over the window

    def describe(self) -> str:
        if self.kind == "full":
            return "FULL, dropping"
        if self.kind == "filling" and self.seconds is not None:
            return f"full in {seconds_text(self.seconds)}"
        if self.kind == "draining" and self.seconds is not None:
            return f"draining, empty in {seconds_text(self.seconds)}"
        if self.kind == "steady":
            return "steady"
        return "trend unknown"


def slope(points: Sequence) -> Optional[float]:
    """Least-squares slope of (t, value) points; None with fewer than two distinct times."""
    n = len(points)
    if n < 2:
        return None
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / var


def forecast(
    points: Sequence,
    max_entries: Optional[int],
    drop_rate: float = 0.0,
    window: float = 30.0,
    steady_fraction: float = 0.0005,
) -> Forecast:
    """Forecast from recent (t, count) points.

    FULL when the count has reached max or the kernel is dropping right now; otherwise
    the least-squares trend over the last `window` seconds. A slope below
    `steady_fraction` of max per second (about 130 entries/s on a 262,144 table) is
    noise, not a trend.
    """
    if not points:
        return Forecast("unknown")
    latest_t, count = points[-1]
    if drop_rate > 0 or (max_entries and count >= max_entries):
        return Forecast("full", 0.0, None)
    recent = [(t, v) for t, v in points if t >= latest_t - window]
    s = slope(recent)
    if s is None or not max_entries:
        return Forecast("unknown", None, s)
    if abs(s) < steady_fraction * max_entries:
        return Forecast("steady", None, s)
    if s > 0:
        return Forecast("filling", (max_entries - count) / s, s)
    return Forecast("draining", count / -s, s)
