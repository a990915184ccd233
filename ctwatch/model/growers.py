"""Top growers: which sources or destinations gained the most entries over a window."""

from __future__ import annotations

from collections import deque
from typing import Optional

from ctwatch.model.scan import Breakdown

WINDOWS = ((10.0, "10 s"), (60.0, "60 s"), (None, "since start"))


class GrowthTracker:
    """Keeps the top `keep` keys of each scan of one dimension for `horizon` seconds.

    Keeping every key of every scan would cost hundreds of MB in a spoofed-source flood;
    a key missing from an older scan's top `keep` is taken as 0 then, so a grower that
    rose from the long tail shows its full count as growth.
    """

    def __init__(self, dimension: str, keep: int = 5000, horizon: float = 120.0) -> None:
        self.dimension = dimension
        self.keep = keep
        self.horizon = horizon
        self.start: Optional[tuple] = None
        self.ring: deque = deque()

    def add(self, t: float, totals: Breakdown) -> None:
        top = dict(totals.counts[self.dimension].most_common(self.keep))
        if self.start is None:
            self.start = (t, top)
        self.ring.append((t, top))
        while len(self.ring) > 2 and self.ring[1][0] <= t - self.horizon:
            self.ring.popleft()

    def reset(self) -> None:
        self.start = self.ring[-1] if self.ring else None

    def _reference(self, window: Optional[float]) -> Optional[tuple]:
        if not self.ring:
            return None
        if window is None:
            return self.start
        now = self.ring[-1][0]
        best = None
        for t, top in self.ring:
            if t <= now - window:
                best = (t, top)
        # Younger than the window: compare with the oldest scan kept, and say so.
        return best or self.ring[0]

    def growers(self, window: Optional[float], n: int = 10) -> tuple:
        """(seconds actually covered, [(label, count now, growth)]) largest growth first."""
        ref = self._reference(window)
        if ref is None or len(self.ring) < 2 and window is not None:
            return 0.0, []
        now_t, now = self.ring[-1]
        ref_t, before = ref
        changes = [(k, c, c - before.get(k, 0)) for k, c in now.items()]
        changes.sort(key=lambda kcg: -kcg[2])
        label = Breakdown.label
        return now_t - ref_t, [(label(self.dimension, k), c, g) for k, c, g in changes[:n] if g > 0]
