"""Screenshots at 80x24 with a frozen clock and a fixed source: default, ASCII/16-colour, drill.

Update after an intended change of the look: pytest tests/test_ui_snapshots.py --snapshot-update
"""

from __future__ import annotations

import time

import pytest
from test_ui_support import FakeClock, FakeSource, calm_lines, flood_lines, wait_for

from ctwatch.faces.ui.app import create_app


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """The top line prints local time: pin the zone so the screenshots do not move."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def incident(**kw):
    """An app two scans into a SYN flood: the second scan has +N changes to show."""
    clock = FakeClock()
    source = FakeSource(calm_lines() + flood_lines(400), clock)
    source.max = 1024
    app = create_app(source, clock=clock, host="lab", autopoll=False, **kw)

    async def run_before(pilot, drill: str = ""):
        await wait_for(pilot, lambda: app.latest is not None and app.latest.scan is not None)
        for step in range(1, 6):
            source.lines += flood_lines(60, start=400 + 60 * step)
            source.drop += 40 * step
            seen = app.samples_received
            clock.advance(1.0)
            app.request_poll()
            await wait_for(pilot, lambda seen=seen: app.samples_received > seen)
        if drill:
            table = app.screen.query_one("#panel-src")
            table.focus()
            keys = [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(5)]
            table.move_cursor(row=keys.index(drill))
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.latest.scan.focus is not None)
            await pilot.pause()
            # A DataTable can keep lines drawn before its columns widened (seen when
            # another app ran earlier in the process): draw the entries afresh.
            entries = app.screen.query_one("#entries")
            entries._clear_caches()
            entries.refresh()
            await pilot.pause()

    return app, run_before


def test_default_look(snap_compare):
    app, run_before = incident()
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_ascii_and_16_colour_look(snap_compare):
    app, run_before = incident(ascii=True, ansi=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_drill_down_look(snap_compare):
    app, run_before = incident()

    async def drill(pilot):
        await run_before(pilot, drill="203.0.113.7")

    assert snap_compare(app, terminal_size=(80, 24), run_before=drill)
