"""Top growers: which sources or destinations gained the most entries over a window."""

from __future__ import annotations

from collections import deque
from typing import Optional

from ctwatch.model.scan import Breakdown

WINDOWS = ((10.0, "10 s"), (60.0, "60 s"), (None, "since start"))
STEPS = 5  # references kept per window: its reach is then window to window * (1 + 1/STEPS)


class GrowthTracker:
    """Keeps the top `keep` keys of a few scans of one dimension: the first (or the last
    reset), the latest, and for each window about STEPS scans spaced window / STEPS apart.

    Keeping every scan of the last two minutes held 240 dicts of 5,000 keys per dimension
    at two scans a second (~100 MB for both); this keeps at most 2 * (STEPS + 2) + 2,
    whatever the interval.
    A key missing from an older scan's top `keep` is taken as 0 then, so a grower that
    rose from the long tail shows its full count as growth.
    """

    def __init__(
        self,
        dimension: str,
        keep: int = 5000,
        windows: tuple = tuple(w for w, _ in WINDOWS if w is not None),
        steps: int = STEPS,
    ) -> None:
        self.dimension = dimension
        self.keep = keep
        self.start: Optional[tuple] = None  # (time, top) of the baseline
        self.latest: Optional[tuple] = None
        self._refs = {float(w): deque() for w in windows}
        self._spacing = {float(w): float(w) / max(1, steps) for w in windows}

    def add(self, t: float, totals: Breakdown) -> None:
        scan = (t, dict(totals.counts[self.dimension].most_common(self.keep)))
        if self.start is None:
            self.start = scan
        self.latest = scan
        for window, refs in self._refs.items():
            if not refs or t - refs[-1][0] >= self._spacing[window]:
                refs.append(scan)
            # The newest scan at least a window old is the reference; older ones go.
            while len(refs) > 1 and refs[1][0] <= t - window:
                refs.popleft()

    def reset(self) -> None:
        self.start = self.latest

    def kept(self) -> int:
        """How many distinct scans' tops are held (a window's reference may be shared)."""
        scans = {id(s[1]) for refs in self._refs.values() for s in refs}
        scans.update(id(s[1]) for s in (self.start, self.latest) if s is not None)
        return len(scans)

    def _reference(self, window: Optional[float]) -> Optional[tuple]:
        if self.latest is None:
            return None
        if window is None:
            return self.start
        refs = self._refs[float(window)]
        # Younger than the window: compare with the oldest scan kept, and say so.
        return refs[0] if refs else None

    def growers(self, window: Optional[float], n: int = 10) -> tuple:
        """(seconds actually covered, [(label, count now, growth)]) largest growth first."""
        ref = self._reference(window)
        if ref is None or ref is self.latest and window is not None:
            return 0.0, []
        now_t, now = self.latest
        ref_t, before = ref
        changes = [(k, c, c - before.get(k, 0)) for k, c in now.items()]
        changes.sort(key=lambda kcg: -kcg[2])
        label = Breakdown.label
        chosen = changes[: n or None]  # n=0: every key that grew
        return now_t - ref_t, [(label(self.dimension, k), c, g) for k, c, g in chosen if g > 0]
