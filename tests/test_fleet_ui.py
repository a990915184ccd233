"""The fleet view with Pilot and in tmux (80x24, TERM=linux) on 6 backfilled hours of 50 hosts."""

from __future__ import annotations

import io
import shutil
import time

import fleet_backfill as fb
import pytest
from rich.console import Console
from test_ui_tmux import Terminal, installed_ctwatch

from ctwatch.engine.fleet import FleetWatch
from ctwatch.engine.fleet_host import CURSOR_STEP
from ctwatch.faces.ui.fleet_app import create_fleet_app
from ctwatch.faces.ui.screens.fleet_dialogs import FleetHelpScreen, fleet_help
from ctwatch.faces.ui.screens.fleet_host_screen import FleetHostScreen
from ctwatch.faces.ui.widgets.fleet_table import FleetTable
from ctwatch.model.fleet_host import ADD_CTWATCH
from ctwatch.model.promql import parse_selector
from ctwatch.sources.prometheus import Client, Config

HOSTS = 50


@pytest.fixture(scope="module")
def fleet():
    with fb.backfilled_fleet(HOSTS, detail=3) as data:
        yield data


def app_for(fleet, selector: str = "", **kw):
    client = Client(Config(fleet.server.url, timeout=5))
    watch = FleetWatch(client, parse_selector(selector), wall=lambda: fleet.end)
    return create_fleet_app(watch, fleet.server.url, selector=selector, autorefresh=False, **kw)


async def until(pilot, predicate, timeout: float = 20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        await pilot.pause(0.05)
        if predicate():
            return
    raise AssertionError("the screen never got there")


def top_instance(app) -> str:
    table = app.screen.query_one(FleetTable)
    return table.selected_row().instance


async def test_fleet_sorts_drills_and_moves_back_in_time(fleet):
    app = app_for(fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.shown is not None)
        table = app.screen.query_one(FleetTable)
        assert table.row_count == HOSTS and app.shown.queries == 5
        # the host whose exporter stopped answering first, then the ones dropping
        order = [r.instance for r in app.shown.sorted("drops")]
        assert top_instance(app) == order[0] == fb.instance(fb.DOWN_HOST)
        assert fb.shape(int(order[1][4:8])) == "dropping"
        await pilot.press("s")  # fill: after the down host, the full (dropping) ones lead
        order = [r.instance for r in app.shown.sorted("fill")]
        assert app.sort == "fill" and fb.shape(int(order[1][4:8])) == "dropping"
        await pilot.press("s")  # time to full: the full ones (0 s) first, then the growing
        assert app.sort == "full"
        order = [r.instance for r in app.shown.sorted("full")]
        assert fb.shape(int(order[6][4:8])) == "growing"  # after down and the 5 full
        await pilot.press("down", "down")  # the operator's row: followed, not the top
        chosen = table.selected_row()
        assert table.cursor_row == 2
        assert table.border_subtitle.startswith(f"following {chosen.instance[:10]}")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, FleetHostScreen))
        assert app.screen.row == chosen
        await pilot.press("escape")
        assert not isinstance(app.screen, FleetHostScreen)
        await pilot.press("question_mark")
        assert isinstance(app.screen, FleetHelpScreen)
        console = Console(width=100, record=True, file=io.StringIO())
        console.print(fleet_help())
        said = " ".join(console.export_text().split())
        assert "move the time cursor" in said and "marked STALE" in said
        await pilot.press("escape")
        assert isinstance(app.screen.query_one(FleetTable), FleetTable)
        # the flood host, chosen with the same selector syntax as --selector
        await pilot.press("slash")
        await pilot.press(*f'instance="{fb.instance(fb.FLOOD_HOST)}"', "enter")
        await until(pilot, lambda: app.shown is not None and len(app.shown.rows) == 1)
        await pilot.press("enter")
        await until(pilot, lambda: getattr(app.screen, "moment", None) is not None)
        host = app.screen
        assert fb.FLOOD_SOURCE not in dict(host.moment.top("Sources"))
        steps = (fb.FLOOD_TO + 600) // CURSOR_STEP
        for _ in range(steps):
            await pilot.press("left_square_bracket")
        at = fleet.end - steps * CURSOR_STEP
        await until(pilot, lambda: host.moment.at == at)
        assert host.moment.top("Sources")[0][0] == fb.FLOOD_SOURCE
        text = str(app.screen.query_one("#top").render())
        assert "ago" in text
        await pilot.press("end")
        await until(pilot, lambda: host.moment.at == fleet.end)
        await pilot.press("q")


async def test_node_exporter_host_says_the_command_and_ascii_glyphs(fleet):
    app = app_for(fleet, ascii=True, selector='job="node"')
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.shown is not None and len(app.shown.rows) == 5)
        table = app.screen.query_one(FleetTable)
        cells = "".join(str(c.text) for i in range(table.row_count) for c in table.get_row_at(i))
        assert cells.isascii()  # TERM=linux and --ascii: no blocks the console font lacks
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, FleetHostScreen))
        note = str(app.screen.query_one("#host-note").render())
        assert ADD_CTWATCH in note and "node_exporter" in note


async def test_unreachable_prometheus_keeps_the_rows_marked_stale(fleet):
    app = app_for(fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.shown is not None)
        rows = len(app.shown.rows)
        app.watch.client.config = Config("http://127.0.0.1:1", timeout=2)
        app.start_refresh()
        await until(pilot, lambda: app.shown.stale)
        status = str(app.screen.query_one("#fleet-status").render())
        assert "STALE" in status and "refused" in status and len(status.splitlines()) == 1
        assert app.screen.query_one(FleetTable).row_count == rows


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
def test_fleet_in_tmux_at_80x24_on_the_linux_console(fleet, tmp_path):
    log = tmp_path / "ctwatch.log"
    term = Terminal(
        [installed_ctwatch(), "--prometheus", fleet.server.url, "--log-file", str(log)],
        env="TERM=linux",
    )
    try:
        text = term.wait(lambda s: "50 hosts at" in s and "enter Host" in s, timeout=30)
        assert text.isascii(), text  # the Linux console font: ASCII only
        lines = text.splitlines()
        assert "host0005.fleet" in lines[4] and "down" in lines[4]  # stopped answering
        assert "host0007.fleet" in lines[5] and "50/s" in lines[5]  # dropping: next by drops
        term.keys("Enter")
        text = term.wait(lambda s: "esc Back" in s and "States" in s, timeout=30)
        term.keys("[", "[", "[")
        text = term.wait(lambda s: "15 min ago" in s)
        assert text.isascii(), text
        term.keys("Escape")
        term.wait(lambda s: "enter Host" in s)
        term.keys("q")
        deadline = time.monotonic() + 10
        while term.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not term.alive(), term.screen()
    finally:
        term.close()
    assert "Traceback" not in log.read_text()
