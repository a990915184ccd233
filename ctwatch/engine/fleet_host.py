"""One host of the fleet over time: its entries curve and, at a time cursor, its breakdowns."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Optional

from ctwatch.model.fleet import CTWATCH, FleetRow
from ctwatch.model.fleet_host import HostMoment, host_matchers, host_moment, moment_queries
from ctwatch.model.promql import Matcher, selector
from ctwatch.sources.prometheus import Client

HOURS = 6  # how far back the time cursor goes
CURSOR_STEP = 300  # seconds per cursor step ([ and ], left and right)
TIMELINE_POINTS = 144  # one point per 2.5 minutes over 6 hours


@dataclass(frozen=True)
class Timeline:
    """The host's entries from `start` every `step` seconds (None: no sample)."""

    start: float
    step: float
    points: tuple
    limit: Optional[float]


class HostWatch:
    """Queries for one host: 1 for the timeline, 2 per cursor position. Raises
    PrometheusError; the screen keeps what it had and says so."""

    def __init__(
        self,
        client: Client,
        row: FleetRow,
        window: int = 600,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.row = row
        self.window = window
        self.matchers = host_matchers(row.labels)
        self.has_ctwatch = row.source == CTWATCH
        self._wall = wall
        self.now = wall()

    def refresh_now(self) -> float:
        self.now = self._wall()
        return self.now

    def cursor_time(self, steps_back: int) -> float:
        steps_back = max(0, min(steps_back, HOURS * 3600 // CURSOR_STEP))
        return self.now - steps_back * CURSOR_STEP

    def timeline(self) -> Timeline:
        name = "ctwatch_entries" if self.has_ctwatch else "node_nf_conntrack_entries"
        step = HOURS * 3600 / TIMELINE_POINTS
        start = self.now - step * (TIMELINE_POINTS - 1)
        sel = selector(self.matchers, Matcher("__name__", "=", name))
        series = self.client.query_range(sel, start, self.now, step)
        slots: list = [None] * TIMELINE_POINTS
        for _, points in series[:1]:
            for t, v in points:
                i = int(round((t - start) / step)) if t is not None else -1
                if 0 <= i < TIMELINE_POINTS:
                    slots[i] = v
        return Timeline(start, step, tuple(slots), self.row.limit)

    def moment(self, at: float) -> Optional[HostMoment]:
        """None for a host without ctwatch's exporter (node_exporter has no breakdowns)."""
        if not self.has_ctwatch:
            return None
        levels_q, rates_q = moment_queries(self.matchers, self.window)
        levels = self.client.query(levels_q, at=at)
        rates = self.client.query(rates_q, at=at)
        return host_moment(at, levels, rates)
