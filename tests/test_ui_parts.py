"""UI pieces without a running app: terminal detection, the `/` parser, formatting, launch."""

from __future__ import annotations

import argparse

import pytest
from test_ui_support import FakeClock, FakeSource, calm_lines, screen_text, wait_for

from ctwatch.cli import build_parser
from ctwatch.faces.ui import launch
from ctwatch.faces.ui.app import create_app
from ctwatch.faces.ui.glyphs import wants_ansi_theme, wants_ascii
from ctwatch.faces.ui.screens.prompt import parse_focus
from ctwatch.model import format as fmt


@pytest.mark.parametrize(
    "term, ascii_only",
    [("linux", True), ("vt100", True), ("vt220", True), ("xterm-256color", False),
     ("screen", False), ("", False)],
)  # fmt: skip
def test_ascii_glyphs_on_the_linux_console_and_vt(term, ascii_only):
    assert wants_ascii({"TERM": term}) is ascii_only


@pytest.mark.parametrize(
    "env, ansi",
    [({"TERM": "linux"}, True), ({"TERM": "xterm"}, True), ({"TERM": "screen"}, True),
     ({"TERM": "xterm-256color"}, False), ({"TERM": "tmux-256color"}, False),
     ({"TERM": "xterm-kitty"}, False), ({"TERM": "linux", "COLORTERM": "truecolor"}, False)],
)  # fmt: skip
def test_ansi_theme_where_rich_draws_16_colours(env, ansi):
    assert wants_ansi_theme(env) is ansi


@pytest.mark.parametrize(
    "text, title",
    [
        ("10.1.2.3", "src 10.1.2.3"),
        ("10.0.0.0/8", "src 10.0.0.0/8"),
        ("dst 10.0.0.5 dport 443", "dst 10.0.0.5, dport 443"),
        ("src=1.2.3.4 proto TCP", "src 1.2.3.4, proto tcp"),
        ("-s 1.2.3.4 -d 5.6.7.8", "src 1.2.3.4, dst 5.6.7.8"),
        ("syn_sent", "state SYN_SENT"),
        ("udp 53", "proto udp, dport 53"),
        ("2001:db8::1", "src 2001:db8::1"),
    ],
)
def test_slash_prompt_words(text, title):
    assert parse_focus(text).title == title


def test_bare_address_follows_the_focused_panel():
    assert parse_focus("10.0.0.5", bare_address="dst").title == "dst 10.0.0.5"


@pytest.mark.parametrize("text", ["", "bogus", "dst", "dport 70000", "src 10.0.0.300"])
def test_slash_prompt_rejects_with_a_message(text):
    with pytest.raises(ValueError) as err:
        parse_focus(text)
    assert str(err.value)


def test_formatting():
    assert fmt.count(1234567) == "1,234,567" and fmt.count(None) == "?"
    assert fmt.percent(0.1234) == "12.3%" and fmt.percent(1.0) == "100%"
    assert fmt.seconds(0.004) == "4 ms" and fmt.seconds(42) == "42 s"
    assert fmt.seconds(600) == "10 min"
    assert fmt.timeout(29) == "29s" and fmt.timeout(431999) == "4d23h"
    assert fmt.shorten("203.0.113.77", 8, "~") == "203.0.1~"


def args_for(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


@pytest.mark.parametrize(
    "argv, message",
    [(("--interval", "0"), "--interval"), (("--cpu-budget", "0"), "--cpu-budget"),
     (("--cpu-budget", "150"), "--cpu-budget")],
)  # fmt: skip
def test_bad_monitor_options_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit) as exited:
        args_for(*argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_no_mouse_reaches_app_run(monkeypatch, tmp_path):
    """--no-mouse: the app runs with mouse=False; the log goes where --log-file says."""
    seen = {}

    class FakeApp:
        return_code = 0

        def __init__(self, monitor):
            self.monitor = monitor

        def run(self, mouse=True):
            seen["mouse"] = mouse

    def fake_create_app(source, **kw):
        seen["kw"] = kw
        return FakeApp(kw["monitor"])

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    monkeypatch.setattr("ctwatch.faces.ui.app.create_app", fake_create_app)
    monkeypatch.setenv("TERM", "linux")
    log = tmp_path / "state" / "ctwatch.log"
    root = tmp_path / "root"
    (root / "proc/sys/net/netfilter").mkdir(parents=True)
    (root / "proc/sys/net/netfilter/nf_conntrack_count").write_text("3\n")
    (root / "proc/net").mkdir(parents=True)
    (root / "proc/net/nf_conntrack").write_text("")
    code = launch.run_tui(args_for("--no-mouse", "--root", str(root), "--log-file", str(log)), None)
    assert code == 0 and seen["mouse"] is False
    assert seen["kw"]["ascii"] is True and seen["kw"]["ansi"] is True  # TERM=linux
    assert log.exists()


def test_log_file_defaults_under_xdg_state_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert launch.default_log_path() == str(tmp_path / "ctwatch" / "ctwatch.log")
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert launch.default_log_path() == str(tmp_path / ".local/state/ctwatch/ctwatch.log")


def test_unwritable_log_falls_back_to_none(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert launch.setup_logging(str(blocker / "sub" / "ctwatch.log")) == ""


async def test_no_color_is_honoured(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    clock = FakeClock()
    app = create_app(FakeSource(calm_lines(), clock), clock=clock, host="lab", autopoll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.latest is not None and app.latest.scan is not None)
        assert app.no_color
        assert "count" in screen_text(app)


async def test_tab_and_arrows_move_between_panels():
    clock = FakeClock()
    app = create_app(FakeSource(calm_lines(), clock), clock=clock, host="lab", autopoll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.latest is not None and app.latest.scan is not None)
        assert app.focused.id == "panel-src"
        await pilot.press("left")
        assert app.focused.id == "panel-state"
        await pilot.press("right")
        assert app.focused.id == "panel-src"
        for _ in range(20):  # down to the last row, then into the panel below
            await pilot.press("down")
        assert app.focused.id == "panel-dport"
        await pilot.press("tab")
        assert app.focused.id != "panel-dport"
