"""Numbers are never cut: whole, or abbreviated with their unit (1.0M), on every screen."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from test_ui_support import make_app, poll, screen_text, started, wait_for

from ctwatch.engine.answers import Focus, FocusView, Panel, Row
from ctwatch.engine.incident import KernelLogView
from ctwatch.engine.owners import Owner
from ctwatch.faces.ui.messages import AnswersReady
from ctwatch.faces.ui.screens.drill import DrillScreen
from ctwatch.model import format as fmt
from ctwatch.model.expiry import ExpiryRow
from ctwatch.model.rollup import NatAddress
from ctwatch.model.trend import Forecast

MILLION, U32 = 1_000_000, 2**32 - 1
KNOWN = {MILLION, U32}
NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+")


@pytest.mark.parametrize(
    "value, width, shown",
    [
        (999, None, "999"),
        (999_999, 7, "999,999"),
        (999_999, 6, "1.0M"),
        (MILLION, None, "1,000,000"),
        (MILLION, 9, "1,000,000"),
        (MILLION, 8, "1.0M"),
        (12_345, 4, "12K"),
        (U32, 13, "4,294,967,295"),
        (U32, 12, "4.3G"),
        (2**64, 8, "18E"),
        (-5_000_000, 8, "-5.0M"),
        (None, 3, "?"),
    ],
)
def test_count_is_whole_or_abbreviated(value, width, shown):
    assert fmt.count(value, width) == shown


def test_signed_rates_and_compact_forms():
    assert fmt.signed(MILLION, 8) == "+1.0M" and fmt.signed(-MILLION, 10) == "-1,000,000"
    assert fmt.rate(float(U32)) == "4,294,967,295/s" and fmt.rate(float(U32), 8) == "4.3G/s"
    assert fmt.rate(float("nan")) == "?" and fmt.rate(float("inf"), 8) == "?"
    for value in range(0, 10**13, 7_777_777_777):
        assert len(fmt.compact(value)) <= 5, value  # 5 cells hold any count up to 999E


def assert_no_cut_number(text: str) -> None:
    """Every grouped number on screen is one of the values fed in, whole."""
    for match in NUMBER.finditer(text):
        start, end = match.span()
        assert not text[end : end + 1].isdigit(), text  # grouping broken off mid-number
        assert int(match.group().replace(",", "")) in KNOWN, (match.group(), text)
    assert not re.search(r"(?<![\d.:])\d+(?:[,.]\d+)*[KMGTPE]?[…~]", text), text  # under "…"


def panel(*keys: str) -> Panel:
    rows = (
        Row(keys[0], U32, 0.9997, U32),
        Row(keys[1], MILLION, 0.0002, -MILLION),
    )
    return Panel(rows, U32, "count")


PANELS = {
    "state": panel("SYN_SENT", "ESTABLISHED"),
    "proto": panel("tcp", "udp"),
    "src": panel("203.0.113.7", "10.0.0.5"),
    "dst": panel("10.0.0.5", "10.0.0.53"),
    "dport": panel("80", "443"),
}


def huge(sample, focus=None):
    """`sample` with counts of a million and near 2**32 everywhere a number is shown."""
    wall = sample.snapshot.taken_at
    snapshot = replace(sample.snapshot, count=U32, max=U32, buckets=U32)
    view = None
    if focus is not None:
        history = tuple((sample.at - i, U32 - i) for i in range(5))
        view = FocusView(focus, U32, 0.9997, MILLION, PANELS, (), history)
    scan = replace(sample.scan, entries=U32, bad_lines=MILLION, panels=PANELS, focus=view)
    grown = (("10 s", 10.0, (("203.0.113.7", U32, MILLION), ("10.0.0.5", MILLION, U32))),)
    incident = replace(
        sample.incident,
        last_drop=wall,
        kernel=KernelLogView(
            per_minute=((wall - 60, U32, MILLION, "initial"),),
            table_full=U32,
            suppressed=MILLION,
            last_table_full=wall,
            via="/dev/kmsg",
        ),
        growers={"src": grown, "dst": grown},
        expiry=(ExpiryRow("ESTABLISHED", "tcp", (U32, MILLION, MILLION, U32), "tcp_timeout_x", 5),),
        snat=(NatAddress("203.0.113.7", "tcp", U32, MILLION, 1024, 65535),),
        owners=((Owner(4321, "nginx", U32, "server"), Owner(None, "other", MILLION, "client")),)
        + (None,),
    )
    return replace(
        sample,
        snapshot=snapshot,
        scan=scan,
        history=tuple((sample.at - i, U32) for i in range(20)),
        rates={"drop": float(U32), "early_drop": float(MILLION), "new": float(MILLION)},
        forecast=Forecast("filling", 60.0, float(U32)),
        incident=incident,
    )


async def show(pilot, app, sample) -> str:
    app.post_message(AnswersReady(sample))
    await wait_for(pilot, lambda: app.shown is sample)
    await pilot.pause()
    return screen_text(app)


@pytest.mark.parametrize("size", [(80, 24), (60, 16), (130, 40)])
async def test_no_screen_cuts_a_number(size):
    app, source, clock = make_app()
    async with app.run_test(size=size) as pilot:
        await started(pilot, app)
        await poll(pilot, app, clock)
        text = await show(pilot, app, huge(app.latest))
        assert_no_cut_number(text)
        assert "4,294,967,295" in text or "4.3G" in text
        src = app.screen.query_one("#panel-src")
        assert str(src.get_row("10.0.0.5")[1].text).strip() in ("1,000,000", "1.0M")
        for key in ("k", "t", "x", "n"):
            await pilot.press(key)
            await wait_for(pilot, lambda: app.shown is not None)
            assert_no_cut_number(await show(pilot, app, huge(app.latest)))
            await pilot.press("escape")
        focus = Focus.of(("src", "10.0.0.5"))
        app.open_focus(focus)
        await wait_for(pilot, lambda: isinstance(app.screen, DrillScreen))
        await wait_for(pilot, lambda: app.latest.scan.focus is not None)
        text = await show(pilot, app, huge(app.latest, focus))
        assert_no_cut_number(text)
        assert "src 10.0.0.5" in text and "nginx" in text


async def test_the_drop_line_leaves_out_whole_parts_least_important_first():
    from ctwatch.faces.ui.glyphs import UNICODE
    from ctwatch.faces.ui.widgets.incident_line import incident_text

    app, source, clock = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        base = huge(app.latest)
    kernel = replace(base.incident.kernel, namespaces=("ctwlab-12345-0",))
    sample = replace(
        base,
        rates={"drop": 1234.0, "early_drop": 56.0, "insert_failed": 7.0},
        incident=replace(base.incident, kernel=kernel),
    )
    logged = f"table-full logged {fmt.clock(kernel.last_table_full)}"
    wide = incident_text(sample, UNICODE, width=200).plain
    assert wide.startswith("drop 1,234/s  early_drop 56/s  insert_failed 7/s │ last drop ")
    assert wide.endswith(f"{logged} in ctwlab-12345-0")
    line = incident_text(sample, UNICODE, width=78).plain
    assert line.startswith("drop 1.2K/s  early_drop 56/s │ last drop ") and logged in line
    assert len(line) <= 78 and "ctwlab" not in line
    tight = incident_text(replace(sample, rates={"drop": float(U32)}), UNICODE, width=40)
    assert tight.plain.startswith("drop 4.3G/s │ last drop ")
