"""Pilot tests of export (e), delete (D, --allow-delete), record -> replay and replay controls."""

from __future__ import annotations

import csv
import json
import subprocess

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

from ctwatch.engine import playback as monitor_playback
from ctwatch.engine.answers import Focus
from ctwatch.engine.monitor import Monitor
from ctwatch.faces.ui.app import create_app
from ctwatch.faces.ui.screens.delete_modal import DeleteConfirm
from ctwatch.faces.ui.screens.drill import DrillScreen
from ctwatch.faces.ui.widgets.entries import EntriesTable
from ctwatch.faces.ui.widgets.panel import BreakdownPanel
from ctwatch.sources import delete as delete_module
from ctwatch.sources.recording import Recorder, ReplaySource, load_recording

SIZE = (80, 24)


def read_csv(path: str) -> list:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


async def test_e_exports_what_the_main_screen_shows(tmp_path):
    app, source, clock = make_app(export_dir=str(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await poll(pilot, app, clock)
        shown = {
            p.dim: [(r.key, r.count) for r in p.panel.rows]
            for p in app.screen.query(BreakdownPanel)
            if p.display  # the protocol panel shows only on wide terminals
        }
        assert set(shown) == {"state", "src", "dst", "dport"}
        await pilot.press("e")
        paths = app.last_export
        rows = read_csv(paths.csv_path)
        got: dict = {}
        for row in rows:
            got.setdefault(row["section"], []).append((row["key"], int(row["count"])))
        assert got == shown
        assert any("Exported:" in n.message for n in app._notifications)
        doc = json.loads(open(paths.json_path).read())
        assert doc["snapshot"]["count"] == app.shown.snapshot.count == 180
        assert doc["snapshot"]["entries"] == 180 and doc["snapshot"]["view"] == "main"
        assert read_csv(paths.entries_csv_path) == []


async def test_e_in_a_drill_down_exports_its_entries(tmp_path):
    app, source, clock = make_app(export_dir=str(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        app.open_focus(Focus.of(("src", "203.0.113.7")))
        await wait_for(pilot, lambda: app.latest.scan.focus is not None)
        await pilot.pause()
        table = app.screen.query_one(EntriesTable)
        await pilot.press("e")
        paths = app.last_export
        entries = read_csv(paths.entries_csv_path)
        assert len(entries) == table.row_count == 20
        assert {e["src"] for e in entries} == {"203.0.113.7"}
        shown_ports = sorted(int(e.orig.sport) for e in table.entries)
        assert sorted(int(e["sport"]) for e in entries) == shown_ports
        doc = json.loads(open(paths.json_path).read())
        assert doc["snapshot"]["view"] == "src 203.0.113.7"
        assert len(doc["entries"]) == 20


async def test_e_says_why_it_cannot_write(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    app, source, clock = make_app(export_dir=str(blocker / "sub"))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("e")
        await pilot.pause()
        assert any("cannot write export" in n.message for n in app._notifications)


class FakeConntrack:
    def __init__(self) -> None:
        self.calls: list = []

    def __call__(self, argv, **kw):
        self.calls.append(argv)
        return subprocess.CompletedProcess(argv, 0, "", "20 flow entries have been deleted.\n")


async def test_capital_d_deletes_after_yes_only(tmp_path, monkeypatch):
    fake = FakeConntrack()
    monkeypatch.setattr(delete_module, "subprocess", type("S", (), {
        "run": staticmethod(fake), "DEVNULL": None, "TimeoutExpired": subprocess.TimeoutExpired,
        "CompletedProcess": subprocess.CompletedProcess,
    }))  # fmt: skip
    app, source, clock = make_app(allow_delete=True, log_path=str(tmp_path / "ctwatch.log"))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        assert app.command_state("delete_source", app.screen) is False  # not on the main view
        app.open_focus(Focus.of(("src", "203.0.113.7")))
        await wait_for(pilot, lambda: app.latest.scan.focus is not None)
        await pilot.pause()
        assert "D deletes these entries" in screen_text(app)
        await pilot.press("D")
        assert isinstance(app.screen, DeleteConfirm)
        await pilot.pause()
        text = screen_text(app)
        assert "saw 20 entries" in text and "conntrack -D -s 203.0.113.7" in text, text
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, DrillScreen) and fake.calls == []
        assert any("Nothing deleted" in n.message for n in app._notifications)
        await pilot.press("D")
        await pilot.press("y")
        await wait_for(pilot, lambda: getattr(app, "last_delete", None) is not None)
        assert fake.calls == [["conntrack", "-D", "-s", "203.0.113.7"]]
        assert app.last_delete.deleted == 20
        log = (tmp_path / "ctwatch-delete.log").read_text()
        assert "delete src=203.0.113.7 netns=- deleted=20" in log


async def test_no_delete_key_without_the_flag():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        app.open_focus(Focus.of(("src", "203.0.113.7")))
        await wait_for(pilot, lambda: app.latest.scan.focus is not None)
        await pilot.press("D")
        await pilot.pause()
        assert not isinstance(app.screen, DeleteConfirm)
        assert "Delete" not in screen_text(app) and "D deletes" not in screen_text(app)


def record(path: str, polls: int, monkeypatch=None) -> tuple:
    """Polls of a growing fake table written by the monitor; the counts it saw per poll."""
    clock = FakeClock()
    source = FakeSource(calm_lines(), clock)
    recorder = Recorder(path, label="fake", source="fake")
    monitor = Monitor(source, clock=clock, recorder=recorder)
    seen = []
    for i in range(polls):
        source.lines += flood_lines(10, start=10 * i)
        source.drop += i
        sample = monitor.poll()
        seen.append((sample.snapshot.count, sample.scan.entries if sample.scanned else None))
        clock.advance(1.0)
    recorder.close()
    return seen, monitor


def replayed(path: str, frames: int) -> list:
    source = ReplaySource(path, loop=False)
    clock = FakeClock()
    monitor = Monitor(source, clock=clock)
    out = []
    for _ in range(frames):
        sample = monitor.poll()
        out.append((sample.snapshot.count, sample.scan.entries if sample.scanned else None))
        clock.advance(1.0)
    return out


def test_record_then_replay_gives_the_same_counts(tmp_path):
    path = str(tmp_path / "rec.jsonl.gz")
    seen, _ = record(path, 6)
    header, frames = load_recording(path)
    assert len(frames) == 6 and all("table" in f for f in frames)  # small: verbatim
    assert replayed(path, 6) == seen


def test_a_big_table_is_recorded_as_aggregates(tmp_path, monkeypatch):
    monkeypatch.setattr(monitor_playback, "RECORD_RAW_MAX", 100)
    path = str(tmp_path / "rec.jsonl.gz")
    seen, _ = record(path, 4)
    header, frames = load_recording(path)
    assert "table" not in frames[-1] and frames[-1]["scan"]["entries"] == seen[-1][1]
    assert replayed(path, 4) == seen


async def test_replay_pause_seek_and_speed(tmp_path):
    path = write_incident(str(tmp_path / "incident.jsonl.gz"), frames=30)
    clock = FakeClock()
    app = create_app(ReplaySource(path), clock=clock, host="lab", autopoll=False)
    async with app.run_test(size=(100, 24)) as pilot:
        await started(pilot, app)
        await poll(pilot, app, clock)
        index = app.latest.playback.position
        assert f"frame {index + 1}/30 1x" in screen_text(app)
        await pilot.press("space")  # hold the frame
        await poll(pilot, app, clock)
        held = app.latest.playback.position
        for _ in range(2):
            await poll(pilot, app, clock)
        assert app.latest.playback.position == held and "PAUSED" in screen_text(app)
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: app.latest.playback.position == held + 10)
        assert f"frame {held + 11}/30" in screen_text(app)
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: app.latest.playback.position == held)
        await pilot.press("end")
        await wait_for(pilot, lambda: app.latest.playback.position == 29)
        await pilot.press("home")
        await wait_for(pilot, lambda: app.latest.playback.position == 0)
        assert app.latest.snapshot.count == 120  # the recording's first frame
        await pilot.press("greater_than_sign", "greater_than_sign")
        assert app.monitor.interval == 0.25 and "4x" in screen_text(app)
        for _ in range(3):
            await pilot.press("less_than_sign")
        assert app.monitor.interval == 2.0 and "0.5x" in screen_text(app)
        await pilot.press("space")
        await poll(pilot, app, clock)
        await poll(pilot, app, clock)
        assert app.latest.playback.position == 1 and "PAUSED" not in screen_text(app)
