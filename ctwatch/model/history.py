"""Bounded time series of readings (the count over time) and their resampling for graphs."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Callable, Optional

DEFAULT_LENGTH = 3600  # one hour of 1 s samples; ~100 kB


class History:
    """A ring of (time, value) samples; value None marks a gap (the reading failed).

    Times are monotonic seconds; samples are appended in time order.
    """

    def __init__(self, maxlen: int = DEFAULT_LENGTH) -> None:
        self._samples: deque = deque(maxlen=maxlen)

    def __len__(self) -> int:
        return len(self._samples)

    def __iter__(self):
        return iter(self._samples)

    @property
    def maxlen(self) -> int:
        return self._samples.maxlen or 0

    def append(self, t: float, value: Optional[float]) -> None:
        self._samples.append((t, value))

    def extend(self, samples: Iterable) -> None:
        self._samples.extend(samples)

    def clear(self) -> None:
        self._samples.clear()

    def last(self) -> Optional[tuple]:
        return self._samples[-1] if self._samples else None

    def window(self, seconds: float, now: Optional[float] = None) -> list:
        """Samples no older than `seconds` before `now` (default: the last sample's time)."""
        if not self._samples:
            return []
        end = self._samples[-1][0] if now is None else now
        start = end - seconds
        out = []
        for sample in reversed(self._samples):
            if sample[0] < start:
                break
            out.append(sample)
        out.reverse()
        return out

    def span(self, seconds: float, now: Optional[float] = None) -> Optional[tuple]:
        """(min, max) of the known values in the window, or None."""
        values = [v for _, v in self.window(seconds, now) if v is not None]
        if not values:
            return None
        return min(values), max(values)

    def rate(self, seconds: float, now: Optional[float] = None) -> Optional[float]:
        """Average change per second across the window (first to last known value)."""
        known = [(t, v) for t, v in self.window(seconds, now) if v is not None]
        if len(known) < 2 or known[-1][0] <= known[0][0]:
            return None
        return (known[-1][1] - known[0][1]) / (known[-1][0] - known[0][0])

    def snapshot(self, seconds: Optional[float] = None) -> tuple:
        """An immutable copy (of the last `seconds`, or everything) for another thread."""
        if seconds is None:
            return tuple(self._samples)
        return tuple(self.window(seconds))


def resample(
    samples: Iterable,
    start: float,
    end: float,
    columns: int,
    summary: Callable = max,
) -> list:
    """One value per column covering [start, end): the summary (max by default, so a brief
    peak is not averaged away) of the samples falling in it, None where none did."""
    if columns <= 0 or end <= start:
        return []
    buckets: list = [[] for _ in range(columns)]
    width = (end - start) / columns
    for t, value in samples:
        if value is None or t < start or t > end:
            continue
        index = min(columns - 1, int((t - start) / width))
        buckets[index].append(value)
    return [summary(b) if b else None for b in buckets]
