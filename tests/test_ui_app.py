"""The live monitor driven by Pilot: every key, drill-down, pause, filters, errors, resizing."""

from __future__ import annotations

import pytest
from test_ui_support import (
    FakeClock,
    FakeSource,
    calm_lines,
    flood_lines,
    make_app,
    poll,
    screen_text,
    started,
    wait_for,
    write_incident,
)

from ctwatch.faces.ui.app import create_app
from ctwatch.faces.ui.screens.drill import DrillScreen
from ctwatch.faces.ui.screens.help import HelpScreen
from ctwatch.faces.ui.screens.monitor_screen import MonitorScreen
from ctwatch.faces.ui.screens.prompt import FilterPrompt
from ctwatch.faces.ui.widgets.entries import EntriesTable
from ctwatch.faces.ui.widgets.panel import BreakdownPanel
from ctwatch.sources.base import SourceError
from ctwatch.sources.recording import ReplaySource

SIZE = (80, 24)


def panel(app, dim: str) -> BreakdownPanel:
    return app.screen.query_one(
        f"#{'drill' if isinstance(app.screen, DrillScreen) else 'panel'}-{dim}", BreakdownPanel
    )


def rows(table) -> list:
    """Row keys in display order."""
    return [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(table.row_count)]


async def select(pilot, table, key: str) -> None:
    table.focus()
    table.move_cursor(row=rows(table).index(key))
    await pilot.pause()


async def test_first_screen_shows_counters_and_breakdowns():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        text = screen_text(app)
        assert "count 180 / 1,024" in text
        assert "lab" in text and "fake table" in text and "every 1 s" in text
        for title in ("States", "Sources", "Destinations", "Destination ports"):
            assert title in text
        assert "SYN_SENT" in text and "203.0.113.7" in text
        assert rows(panel(app, "src"))[0] == "10.0.0.5"  # the largest first
        assert "enter Drill" in text and "q Quit" in text


async def test_q_quits():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_space_freezes_display_while_collection_goes_on():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("space")
        assert app.paused and "PAUSED" in screen_text(app)
        before = panel(app, "state").get_row("SYN_SENT")
        polls = app.monitor.polls
        source.lines += flood_lines(40, start=1000)
        for _ in range(3):
            await poll(pilot, app, clock)
        assert app.monitor.polls == polls + 3  # still collecting
        assert app.latest.snapshot.count == 220
        assert panel(app, "state").get_row("SYN_SENT") == before  # display frozen
        text = screen_text(app)
        assert "count 180" in text and "3 polls collected" in text
        await pilot.press("space")
        assert not app.paused
        text = screen_text(app)
        assert "count 220" in text and "PAUSED" not in text
        assert "100" in str(panel(app, "state").get_row("SYN_SENT")[1].text)


async def test_plus_and_minus_change_the_interval():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("plus")
        assert app.monitor.interval == 2.0
        assert "every 2 s" in screen_text(app)
        await pilot.press("minus", "minus")
        assert app.monitor.interval == 0.5
        assert "every 0.5 s" in screen_text(app)


async def test_s_sorts_the_focused_panel_by_name_and_back():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        src = panel(app, "src")
        src.focus()
        polls = app.monitor.polls
        app.action_sort()  # what `s` runs; checked before the event loop gets to poll
        assert src.panel.sort == "name" and app.monitor.polls == polls
        assert rows(src)[:2] == ["10.0.0.5", "192.0.2.10"]  # the rows shown, re-sorted
        await wait_for(pilot, lambda: app.monitor.polls > polls)
        await pilot.press("s", "s")  # the key itself, there and back
        keys = rows(src)
        assert keys[0] == "10.0.0.5" and keys[1] == "192.0.2.10" and keys[-1] == "203.0.113.8"
        assert "by name" in screen_text(app)
        await pilot.press("s")
        await wait_for(pilot, lambda: src.panel.sort == "count")
        assert panel(app, "state").panel.sort == "count"  # other panels untouched


async def test_sort_works_on_the_frozen_display_while_paused():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("space")
        panel(app, "dport").focus()
        await pilot.press("s")
        assert rows(panel(app, "dport")) == ["53", "80", "443"]
        assert app.paused


async def test_cursor_stays_on_its_row_when_the_order_changes():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        src = panel(app, "src")
        await select(pilot, src, "192.0.2.12")
        source.lines += [line.replace("192.0.2.12", "192.0.2.99") for line in calm_lines()[:1]]
        source.lines += flood_lines(90, start=500)  # the attackers overtake 10.0.0.5
        await poll(pilot, app, clock)
        assert rows(src)[0] != "10.0.0.5"
        assert src.selected_key() == "192.0.2.12"


async def test_enter_drills_into_a_source_and_esc_comes_back():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await select(pilot, panel(app, "src"), "203.0.113.7")
        await pilot.press("enter")
        assert isinstance(app.screen, DrillScreen)
        await wait_for(pilot, lambda: app.latest.scan.focus is not None)
        await pilot.pause()
        text = screen_text(app)
        assert "src 203.0.113.7" in text and "20 entries" in text
        entries = app.screen.query_one(EntriesTable)
        assert entries.row_count == 20
        assert "Destinations" in text and "Sources" not in text  # pinned: no sources panel
        assert "esc Back" in text
        # Entries sort: timeout, then state, then destination.
        entries.focus()
        await pilot.press("s")
        assert entries.sort_by == "state"
        await pilot.press("escape")
        assert isinstance(app.screen, MonitorScreen)
        assert app.monitor.focus is None


async def test_drill_from_a_destination_and_narrow_further():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await select(pilot, panel(app, "dst"), "10.0.0.5")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.latest.scan.focus is not None)
        assert app.screen.focus_target.title == "dst 10.0.0.5"
        await wait_for(pilot, lambda: panel(app, "src").row_count > 1)
        await select(pilot, panel(app, "src"), "203.0.113.8")
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                app.latest.scan.focus is not None
                and app.latest.scan.focus.focus.title == "dst 10.0.0.5, src 203.0.113.8"
            ),
        )
        assert app.latest.scan.focus.entries == 20
        await pilot.press("escape")
        assert app.monitor.focus.title == "dst 10.0.0.5"
        await pilot.press("escape")
        assert app.monitor.focus is None and isinstance(app.screen, MonitorScreen)


async def test_slash_filters_by_cidr_and_rejects_nonsense():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("slash")
        assert isinstance(app.screen, FilterPrompt)
        await pilot.press(*"bogus", "enter")
        assert isinstance(app.screen, FilterPrompt)
        assert "not an address" in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, MonitorScreen)
        await pilot.press("slash")
        await pilot.press(*"203.0.113.0/24", "enter")
        assert isinstance(app.screen, DrillScreen)
        await wait_for(pilot, lambda: app.latest.scan.focus is not None)
        assert app.latest.scan.focus.entries == 40
        await pilot.pause()
        assert "src 203.0.113.0/24" in screen_text(app)
        assert "Sources" in screen_text(app)  # a CIDR has several sources


async def test_r_pins_the_change_baseline():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        source.lines += flood_lines(30, start=2000)
        await poll(pilot, app, clock)
        assert panel(app, "state").get_row("SYN_SENT")[3].sort_key == 30
        await pilot.press("r")
        await wait_for(pilot, lambda: app.latest.baseline_at is not None)
        for _ in range(2):
            source.lines += flood_lines(5, start=3000 + len(source.lines))
            await poll(pilot, app, clock)
        assert panel(app, "state").get_row("SYN_SENT")[3].sort_key == 10  # since the pin
        assert "changes since" in screen_text(app)
        await pilot.press("R")
        await wait_for(pilot, lambda: app.latest.baseline_at is None)
        source.lines += flood_lines(1, start=5000)
        await poll(pilot, app, clock)
        assert panel(app, "state").get_row("SYN_SENT")[3].sort_key == 1


async def test_question_mark_shows_help_and_esc_closes_it():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "Reset the change baseline" in text and "Pause or resume" in text
        await pilot.press("escape")
        assert isinstance(app.screen, MonitorScreen)


async def test_g_switches_the_graph_scale():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        assert "0-limit" in screen_text(app)
        await pilot.press("g")
        assert app.graph_scale == "zoom" and "min-max" in screen_text(app)


async def test_command_palette_runs_the_same_commands():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("ctrl+p")
        await pilot.press(*"pause or resume")
        await pilot.pause(0.3)
        assert "Pause or resume the display" in screen_text(app)
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: app.paused)


async def test_footer_offers_what_works_here():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        assert app.command_state("back", app.screen) is False
        assert app.command_state("drill", app.screen) is True
        await pilot.press("space")
        assert app.command_state("reset_baseline", app.screen) is None  # shown, disabled
        await pilot.press("space")
        await pilot.press("enter")
        assert app.command_state("back", app.screen) is True


async def test_not_root_shows_count_and_says_why():
    app, source, clock = make_app()
    source.table_error = SourceError("permission denied reading /proc/net/nf_conntrack: needs root")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_received >= 2)
        text = screen_text(app)
        assert "count 180 / 1,024" in text
        assert "needs root" in text
        assert "Traceback" not in text


async def test_errors_show_in_the_status_line_and_polling_recovers():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        source.counter_error = SourceError("network namespace 'lab' is gone")
        source.table_error = RuntimeError("unexpected")
        await poll(pilot, app, clock, 10)
        text = screen_text(app)
        assert "! network namespace 'lab' is gone" in text
        assert "internal error: RuntimeError: unexpected" in text
        source.counter_error = source.table_error = None
        await poll(pilot, app, clock, 10)
        text = screen_text(app)
        assert "!" not in text.splitlines()[6] and "count 180" in text


@pytest.mark.parametrize("ascii_only", [True, False])
async def test_resizing_from_huge_to_tiny_and_back(ascii_only):
    app, source, clock = make_app(ascii=ascii_only, ansi=ascii_only)
    async with app.run_test(size=(300, 100)) as pilot:
        await started(pilot, app)
        assert "Protocols" in screen_text(app)  # wide: the fifth panel
        for size in ((200, 60), (120, 40), (80, 24), (60, 16), (59, 15), (40, 12), (300, 100)):
            await pilot.resize_terminal(*size)
            await poll(pilot, app, clock)
            text = screen_text(app)
            if size[0] < 60 or size[1] < 16:
                assert "terminal too small" in text and "conntrack 180 / 1,024" in text
            else:
                assert "Sources" in text and "terminal too small" not in text
        await pilot.press("enter")
        await pilot.resize_terminal(40, 12)
        await poll(pilot, app, clock)
        assert "terminal too small" in screen_text(app)
        await pilot.resize_terminal(80, 24)
        await poll(pilot, app, clock)
        assert "Entries" in screen_text(app)


async def test_ascii_mode_draws_ascii_only():
    app, source, clock = make_app(ascii=True, ansi=True)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await poll(pilot, app, clock)
        assert app.theme == "ansi-dark"
        text = screen_text(app)
        assert all(ord(ch) < 128 for ch in text), {ch for ch in text if ord(ch) >= 128}


async def test_replay_plays_a_recording(tmp_path):
    path = write_incident(str(tmp_path / "incident.jsonl.gz"), frames=8)
    source = ReplaySource(path)
    clock = FakeClock()
    app = create_app(source, clock=clock, host="lab", autopoll=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        counts = set()
        for _ in range(8):
            await poll(pilot, app, clock)
            counts.add(app.latest.snapshot.count)
        assert len(counts) >= 4
        assert "replay of test incident" in screen_text(app)


async def test_autopoll_keeps_polling_by_itself():
    clock = FakeClock()
    source = FakeSource(calm_lines(), clock)
    app = create_app(source, clock=clock, host="lab", interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_received >= 5)
        assert app.monitor.polls >= 5


async def test_first_poll_started_before_the_app_is_used():
    from ctwatch.engine.monitor import Monitor
    from ctwatch.faces.ui.launch import FirstPoll

    clock = FakeClock()
    source = FakeSource(calm_lines() + flood_lines(60), clock)
    monitor = Monitor(source, clock=clock)
    first = FirstPoll(monitor)
    app = create_app(source, monitor=monitor, first_poll=first, host="lab", autopoll=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_received >= 1)
        assert app.latest.scanned and app.latest.seq == 1  # the prefetched poll, shown
        assert "SYN_SENT" in screen_text(app)
