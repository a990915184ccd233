"""Memory stays flat while the monitor runs: growers' references, address cache, footer keys."""

from __future__ import annotations

import gc
import tracemalloc

from test_ui_support import FakeClock, FakeSource, make_app, poll, started, tcp_line

from ctwatch.engine.monitor import Monitor
from ctwatch.faces.ui.widgets.footer import Footer
from ctwatch.model.growers import GrowthTracker
from ctwatch.model.scan import scan_table

SIZE = (80, 24)


class Churn:
    """A spoofed-source flood's table: `size` entries, `per_poll` replaced by new sources."""

    def __init__(self, size: int, per_poll: int) -> None:
        self.next = 0
        self.per_poll = per_poll
        self.lines = [self._line() for _ in range(size)]

    def _line(self) -> str:
        n = self.next = self.next + 1
        src = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
        return tcp_line(src, f"192.0.2.{n % 200}", 1024 + n % 60000, 80, "SYN_SENT", 60)

    def step(self) -> list:
        self.lines = self.lines[self.per_poll :] + [self._line() for _ in range(self.per_poll)]
        return self.lines


def test_monitor_memory_is_flat_after_warm_up_on_a_churning_table():
    """Two scans a second for 200 s (fake clock): what the monitor holds at 200 s is
    about what it held at 60 s. Keeping every scan's top keys for 120 s doubled it."""
    clock = FakeClock()
    churn = Churn(1000, 100)
    source = FakeSource(churn.lines, clock)
    monitor = Monitor(source, clock=clock, interval=0.5, cpu_budget=0.5)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        held = {}
        for i in range(1, 401):
            source.lines = churn.step()
            clock.advance(0.5)
            monitor.poll()
            if i in (120, 400):
                gc.collect()
                held[i] = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert monitor.scans == 400
    assert held[400] < held[120] * 1.25, held


def test_a_scan_is_counted_while_one_older_scan_at_most_is_held():
    """A 250k-key scan is ~45 MB: holding the current, the previous and the new one
    at once made the 250k TUI peak ~60 MB higher."""
    from ctwatch.model.scan import TableScan

    class Watching(FakeSource):
        def table_chunks(self):
            yield from super().table_chunks()
            gc.collect()
            held.append(sum(isinstance(o, TableScan) for o in gc.get_objects()))

    held: list = []
    clock = FakeClock()
    churn = Churn(200, 20)
    source = Watching(churn.lines, clock)
    monitor = Monitor(source, clock=clock, interval=0.5, cpu_budget=0.5)
    for _ in range(5):
        source.lines = churn.step()
        clock.advance(0.5)
        monitor.poll()
    assert monitor.scans == 5
    assert max(held) == 1, held
    assert monitor.poll().scan.panels["src"].rows[0].delta is not None  # deltas still there


def test_growers_keep_a_few_references_whatever_the_interval():
    tracker = GrowthTracker("src", keep=50)
    churn = Churn(60, 6)
    most = 0
    for i in range(2400):  # ten scans a second for four minutes
        tracker.add(i / 10, scan_table([("\n".join(churn.step()) + "\n").encode()]).totals)
        most = max(most, tracker.kept())
    assert most <= 16
    covered, rows = tracker.growers(10.0)
    assert 10.0 <= covered <= 12.5 and rows
    covered, _ = tracker.growers(60.0)
    assert 60.0 <= covered <= 72.5
    assert tracker.growers(None)[0] == 239.9


async def test_new_scans_do_not_rebuild_the_footer():
    """Textual rebuilds the footer's keys on each bindings refresh; a refresh per scan
    cost CPU and, with Textual's watcher leak, 8 key widgets a scan."""
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        footer = app.screen.query_one(Footer)
        rebuilt = []
        original = footer.recompose

        async def counting() -> None:
            rebuilt.append(1)
            await original()

        footer.recompose = counting
        for i in range(10):
            source.lines = source.lines[1:] + [tcp_line(f"198.51.100.{i}", "10.0.0.5", 9, 80)]
            await poll(pilot, app, clock)
        assert app.monitor.scans >= 10
        assert len(rebuilt) <= 1


async def test_footer_rebuilds_leave_no_key_widgets_behind():
    from textual.widgets._footer import FooterKey

    def alive() -> int:
        gc.collect()
        return sum(isinstance(o, FooterKey) for o in gc.get_objects())

    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.pause()
        before = alive()
        for _ in range(30):
            app.refresh_bindings()
            await pilot.pause()
        await pilot.pause()
        shown = len(app.screen.query(FooterKey))
        assert shown > 0
        assert alive() - before <= shown, (before, alive(), shown)


async def test_a_panel_redrawn_for_hours_keeps_a_few_screens_of_renders():
    """DataTable keys its render caches by an update counter, so each scan's redraw makes
    every cached line stale; Textual's sizes (1,000 lines and rows, 10,000 cells a table)
    then fill up over the first half hour of a churning flood."""
    from textual.app import App
    from textual.strip import Strip

    from ctwatch.engine.answers import Panel, Row
    from ctwatch.faces.ui.widgets.panel import BreakdownPanel

    class One(App):
        def compose(self):
            yield BreakdownPanel("src")

    app = One()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(BreakdownPanel)

        def strips() -> int:
            gc.collect()  # other tests' leftovers count the same before and after
            return sum(isinstance(o, Strip) for o in gc.get_objects())

        before = strips()
        for scan in range(150):
            rows = tuple(Row(f"10.0.{scan % 250}.{i}", 100 - i, 0.01, 1) for i in range(30))
            table.show(Panel(rows, 30, "count"))
            await pilot.pause()
        added = strips() - before
        assert added < 700, added
