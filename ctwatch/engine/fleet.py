"""One fleet refresh: five aggregate queries merged into rows; the last rows kept on failure."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Optional

from ctwatch.model.fleet import fleet_rows, sort_rows
from ctwatch.model.promql import fleet_queries
from ctwatch.sources.prometheus import Client, PrometheusError

SPARK_SECONDS = 3600  # the sparkline's hour
SPARK_POINTS = 30  # one point per 2 minutes: ~1.5 MB of JSON for 1,000 hosts


@dataclass(frozen=True)
class FleetAnswers:
    """What one refresh knows. `stale`: the last refresh failed; rows are the last good ones."""

    rows: tuple
    taken_at: Optional[float]  # wall time of the rows' queries (None: never answered)
    window: int  # seconds of the drop rate and the slope
    queries: int  # HTTP requests this refresh made
    seconds: float  # wall time this refresh took
    error: Optional[str] = None
    stale: bool = False
    spark_step: float = SPARK_SECONDS / SPARK_POINTS

    def sorted(self, by: str) -> tuple:
        return sort_rows(self.rows, by)


class FleetWatch:
    """Refreshes the fleet: five queries per refresh, not per host."""

    def __init__(
        self,
        client: Client,
        matchers: tuple = (),
        window: int = 600,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.matchers = matchers
        self.window = window
        self.queries = fleet_queries(matchers, window)
        self.wall = wall
        self.latest: Optional[FleetAnswers] = None

    def reselect(self, matchers: tuple) -> None:
        """Other hosts from now on; the last rows were of the old selection, so they go."""
        self.matchers = matchers
        self.queries = fleet_queries(matchers, self.window)
        self.latest = None

    def poll(self) -> FleetAnswers:
        started = time.monotonic()
        calls = self.client.calls
        now = self.wall()
        step = SPARK_SECONDS / SPARK_POINTS
        start = now - step * (SPARK_POINTS - 1)
        q = self.queries
        try:
            # One evaluation time for all five, so the rows' numbers agree with each other.
            levels = self.client.query(q.levels, at=now)
            drops = self.client.query(q.drops, at=now)
            slopes = self.client.query(q.slope, at=now)
            history = self.client.query_range(q.history, start, now, step)
            down = self.client.query(q.down, at=now)
        except PrometheusError as exc:
            last = self.latest
            answers = FleetAnswers(
                rows=last.rows if last else (),
                taken_at=last.taken_at if last else None,
                window=self.window,
                queries=self.client.calls - calls,
                seconds=time.monotonic() - started,
                error=str(exc),
                stale=last is not None,
            )
        else:
            rows = fleet_rows(
                levels, drops, slopes, history, start, step, SPARK_POINTS, self.window, down
            )
            answers = FleetAnswers(
                rows=rows,
                taken_at=now,
                window=self.window,
                queries=self.client.calls - calls,
                seconds=time.monotonic() - started,
            )
        self.latest = answers
        return answers
