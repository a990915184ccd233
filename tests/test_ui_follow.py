"""Panels show their heaviest rows like `top` until the operator moves; then they follow."""

from __future__ import annotations

import os

from test_ui_support import (
    FakeClock,
    calm_lines,
    flood_lines,
    make_app,
    poll,
    screen_text,
    started,
    tcp_line,
    wait_for,
    write_incident,
)

from ctwatch.faces.ui.app import create_app
from ctwatch.faces.ui.screens.drill import DrillScreen
from ctwatch.faces.ui.screens.help import help_text
from ctwatch.sources.recording import ReplaySource

SIZE = (80, 24)
HEAVY = (40, 60, 80, 100, 120, 140, 160)  # more new sources than the panel has rows


def heavy_lines(n: int, src: str) -> list:
    return [tcp_line(src, "10.0.0.5", 1024 + i, 80, "SYN_SENT", timeout=60) for i in range(n)]


def rows(table) -> list:
    return [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(table.row_count)]


def first_visible(table) -> str:
    return rows(table)[int(table.scroll_y)]


async def flood(pilot, app, source, clock, sizes=HEAVY) -> str:
    """Heavier and heavier new sources, one per scan; returns the heaviest."""
    for n in sizes:
        src = f"198.18.0.{n // 10}"
        source.lines += heavy_lines(n, src)
        await poll(pilot, app, clock)
    return src


async def test_new_heavy_rows_above_the_first_ones_stay_in_view():
    """The issue's bug: the cursor kept its first row, which new heavier rows pushed
    below the panel's edge, and the panel scrolled after it, hiding the heaviest."""
    app, source, clock = make_app(lines=calm_lines())
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        src = app.screen.query_one("#panel-src")
        assert app.focused is src and rows(src)[0] == "10.0.0.5"
        heaviest = await flood(pilot, app, source, clock)
        await pilot.pause()
        assert rows(src)[:2] == [heaviest, "198.18.0.14"]
        assert src.cursor_row == 0 and first_visible(src) == heaviest
        assert src.selected_key() == heaviest  # Enter drills into the heaviest
        assert heaviest in screen_text(app)
        assert "following" not in str(src.border_subtitle)


async def test_a_moved_cursor_follows_its_row_until_home():
    app, source, clock = make_app(lines=calm_lines())
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        src = app.screen.query_one("#panel-src")
        await pilot.press("down", "down")
        chosen = rows(src)[2]
        assert src.followed == chosen
        assert str(src.border_subtitle) == f"following {chosen} · Home: top"
        assert f"following {chosen} · Home: top" in screen_text(app)
        await flood(pilot, app, source, clock)
        assert src.selected_key() == chosen and rows(src).index(chosen) > 5
        assert src.scroll_y > 0  # scrolled to keep the chosen row in view
        await pilot.press("home")
        assert src.followed is None and src.cursor_row == 0 and src.scroll_y == 0
        assert "by count" in str(src.border_subtitle)
        await pilot.press("end")
        assert src.followed == rows(src)[-1]
        await pilot.press("up")
        assert src.followed == rows(src)[-2]


async def test_a_followed_row_that_goes_away_falls_back_to_the_top():
    app, source, clock = make_app(lines=calm_lines() + flood_lines(90))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        src = app.screen.query_one("#panel-src")
        await pilot.press("down")
        gone = src.followed
        assert gone is not None
        source.lines = [line for line in source.lines if f"src={gone} " not in line]
        await poll(pilot, app, clock)
        assert src.followed is None and src.cursor_row == 0
        assert str(src.border_subtitle) == f"{gone} gone · top"  # 33 cells at 80x24
        await pilot.press("down")  # the next move clears the note
        assert "gone" not in str(src.border_subtitle)


async def test_every_panel_and_the_drill_down_follow_the_top():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        for panel in app.screen.query(".panel"):
            if panel.display:
                panel.focus()
                await pilot.press("down")
                assert panel.followed is not None, panel.id
        await pilot.press("home")
        app.screen.query_one("#panel-dst").focus()
        await pilot.press("home")
        app.screen.query_one("#panel-dst").move_cursor(row=0)
        await pilot.press("enter")  # the top destination: 10.0.0.5
        assert isinstance(app.screen, DrillScreen)
        await wait_for(pilot, lambda: app.latest.scan.focus is not None)
        for panel in app.screen.query(".panel"):
            assert panel.followed is None, panel.id  # a new drill-down starts at the top
        entries = app.screen.query_one("#entries")
        await pilot.pause()
        # Entries sorted by timeout: new ones with shorter timeouts arrive above.
        for step in range(4):
            source.lines += [
                tcp_line(f"192.0.2.{50 + step}", "10.0.0.5", 2000 + i, 443, timeout=30 - step)
                for i in range(20)
            ]
            await poll(pilot, app, clock)
        await wait_for(pilot, lambda: entries.row_count >= 230)
        assert entries.cursor_row == 0 and entries.scroll_y == 0
        assert rows(entries)[0].startswith("ipv4 tcp 192.0.2.53 ")
        entries.focus()
        await pilot.press("down", "down")
        assert str(entries.border_subtitle).startswith("following tcp ")
        assert "Home: top" in str(entries.border_subtitle)


async def test_home_in_a_replay_returns_a_following_panel_to_the_top_first(tmp_path):
    path = write_incident(str(tmp_path / "incident.jsonl.gz"), frames=30)
    clock = FakeClock()
    app = create_app(ReplaySource(path), clock=clock, host="lab", autopoll=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        for _ in range(12):
            await poll(pilot, app, clock)
        frame = app.latest.playback.position
        state = app.screen.query_one("#panel-state")
        state.focus()
        await pilot.press("down")
        assert state.followed is not None
        await pilot.press("home")  # what the border offers: back to the top
        assert state.followed is None and app.latest.playback.position == frame
        await pilot.press("home")  # nothing followed: the recording's first frame
        await wait_for(pilot, lambda: app.latest.playback.position == 0)


def test_help_says_what_home_does():
    from rich.console import Console

    with open(os.devnull, "w") as sink:
        console = Console(width=100, record=True, file=sink)
        console.print(help_text("", 10))
    text = console.export_text()
    assert "home" in text and "heaviest rows from the top" in text


async def test_a_click_on_a_row_follows_it():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        dst = app.screen.query_one("#panel-dport")
        assert dst.followed is None
        await pilot.click("#panel-dport", offset=(3, 2))  # border, row 0, row 1
        assert dst.followed == rows(dst)[1]
        assert "following" in str(dst.border_subtitle)
