"""Pilot tests of the incident keys: drop line, kernel log, growers, expiry, subnets, SNAT, advice."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from test_ui_support import (
    FakeSource,
    calm_lines,
    flood_lines,
    make_app,
    poll,
    screen_text,
    started,
    wait_for,
)

from ctwatch.faces.ui.screens.advice_screen import AdviceScreen
from ctwatch.faces.ui.screens.expiry_screen import ExpiryScreen
from ctwatch.faces.ui.screens.growers_screen import GrowersScreen
from ctwatch.faces.ui.screens.help import HelpScreen
from ctwatch.faces.ui.screens.kernel_screen import KernelLogScreen
from ctwatch.faces.ui.screens.monitor_screen import MonitorScreen
from ctwatch.faces.ui.screens.snat_screen import SnatScreen
from ctwatch.sources.base import Tunables
from ctwatch.sources.kmsg import KernelLog

SIZE = (80, 24)


def rendered(renderable, width: int = 200) -> str:
    console = Console(width=width, file=io.StringIO(), record=True)
    console.print(renderable)
    return console.export_text()


NETNS_INODE = 4026532999
BOOT = 1_700_000_000.0  # wall time of the fake boot


class TunedSource(FakeSource):
    def read_tunables(self) -> Tunables:
        return Tunables(timeouts={"tcp_timeout_syn_sent": 120, "udp_timeout": 30}, slab_objsize=256)


def snat_line(src: str, nat: str, sport: int, nat_port: int) -> str:
    return (
        f"ipv4     2 udp      17 25 src={src} dst=198.51.100.1 sport={sport} dport=53 "
        f"src=198.51.100.1 dst={nat} sport=53 dport={nat_port} mark=0 zone=0 use=2"
    )


def kmsg_root(tmp_path) -> str:
    """A --root tree whose dev/kmsg holds two table-full lines and a suppressed count."""
    root = tmp_path / "kroot"
    (root / "dev").mkdir(parents=True)
    (root / "proc").mkdir()
    (root / "run" / "netns").mkdir(parents=True)
    (root / "proc" / "uptime").write_text("100.0 100.0\n")
    records = [
        f"4,10,50000000,-;nf_conntrack: nf_conntrack: table full in netns {NETNS_INODE}, "
        "dropping packet",
        "4,11,50100000,-;nf_conntrack: nf_conntrack: table full, dropping packet",
        "4,12,55000000,-;net_ratelimit: 7 callbacks suppressed",
        "4,13,56000000,-;EXT4-fs: 3 callbacks suppressed",
    ]
    (root / "dev" / "kmsg").write_text("\n".join(records) + "\n")
    return str(root)


async def test_drop_line_shows_rates_and_the_time_of_the_last_drop():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await poll(pilot, app, clock)
        text = screen_text(app)
        assert "drop 0/s" in text and "no drop seen" in text
        source.drop += 30
        await poll(pilot, app, clock, 2.0)
        dropped_at = app.latest.snapshot.taken_at
        text = screen_text(app)
        assert "drop 15/s" in text and "FULL, dropping" in text
        assert app.latest.incident.last_drop == dropped_at
        await poll(pilot, app, clock)  # no new drops: the rate falls, the time stays
        text = screen_text(app)
        assert "drop 0/s" in text
        assert app.latest.incident.last_drop == dropped_at
        assert "last drop " in text


async def test_k_shows_the_kernel_log_per_minute_with_namespaces(tmp_path):
    root = kmsg_root(tmp_path)
    klog = KernelLog(root, dmesg="", clock=lambda: BOOT + 100.0)
    app, source, clock = make_app(kernel_log=klog)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        kernel = app.latest.incident.kernel
        assert kernel.table_full == 2 and kernel.suppressed == 7  # EXT4's not counted
        assert kernel.namespaces == (str(NETNS_INODE), "initial")
        assert "table-full logged" in screen_text(app)
        await pilot.press("k")
        assert isinstance(app.screen, KernelLogScreen)
        await poll(pilot, app, clock)
        text = screen_text(app)
        assert "2 table-full lines, 7 more suppressed" in text
        assert f"{NETNS_INODE}, initial" in text or f"initial, {NETNS_INODE}" in text
        await pilot.press("escape")
        assert isinstance(app.screen, MonitorScreen)


async def test_kernel_log_problem_is_a_line_not_a_crash(tmp_path):
    klog = KernelLog(str(tmp_path), dmesg="")  # no dev/kmsg there
    app, source, clock = make_app(kernel_log=klog)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("k")
        await poll(pilot, app, clock)
        assert "! kernel log:" in screen_text(app)


async def test_t_ranks_growers_and_r_resets_since_start():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        source.lines += flood_lines(30, start=500)
        await poll(pilot, app, clock)
        await pilot.press("t")
        assert isinstance(app.screen, GrowersScreen)
        await poll(pilot, app, clock)
        growers = dict((label, rows) for label, _, rows in app.latest.incident.growers["src"])
        assert growers["10 s"][0][0] in ("203.0.113.7", "203.0.113.8", "198.51.100.23")
        assert sum(g for _, _, g in growers["since start"]) == 30
        text = screen_text(app)
        assert "Sources, growth over the last 10 s" in text and "+10" in text
        await pilot.press("r")
        await poll(pilot, app, clock)
        await poll(pilot, app, clock)
        growers = dict((label, rows) for label, _, rows in app.latest.incident.growers["src"])
        assert growers["since start"] == []


async def test_x_shows_expiry_buckets_beside_their_sysctl():
    app, source, clock = make_app(source_class=TunedSource)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("x")
        assert isinstance(app.screen, ExpiryScreen)
        await poll(pilot, app, clock)
        rows = {r.key: r for r in app.latest.incident.expiry}
        assert rows["SYN_SENT"].buckets == (0, 1, 59, 0)  # timeouts 60..119 s
        assert rows["ESTABLISHED"].buckets == (0, 0, 0, 90)
        assert rows["udp"].buckets == (0, 30, 0, 0)
        text = screen_text(app)
        assert "2m00s  tcp_timeout_syn_sent" in text and "30s  udp_timeout" in text, text


async def test_b_rolls_sources_up_by_subnet_and_back():
    app, source, clock = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        await pilot.press("b")
        await poll(pilot, app, clock)
        text = screen_text(app)
        assert "Sources by subnet" in text and "203.0.113.0/24" in text
        counts = {r[0]: r[1] for r in app.latest.incident.subnets}
        assert counts == {"192.0.2.0/24": 90, "203.0.113.0/24": 40, "10.0.0.0/24": 30,
                          "198.51.100.0/24": 20}  # fmt: skip
        src = app.screen.query_one("#panel-src")
        src.focus()
        src.move_cursor(row=1)
        await pilot.press("enter")  # a network drills like an address
        await wait_for(pilot, lambda: app.latest.scan.focus is not None)
        assert app.latest.scan.focus.focus.title == "src 203.0.113.0/24"
        assert app.latest.scan.focus.entries == 40
        await pilot.press("escape")
        await pilot.press("b")
        await poll(pilot, app, clock)
        text = screen_text(app)
        assert "Sources by subnet" not in text and "203.0.113.7" in text


async def test_n_shows_translated_addresses_and_ports():
    lines = calm_lines(8) + [
        snat_line(f"10.0.0.{i}", "192.0.2.1", 5000, 40000 + i) for i in range(5)
    ]
    app, source, clock = make_app(lines)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        reads = source.reads
        await pilot.press("n")
        assert isinstance(app.screen, SnatScreen)
        await wait_for(pilot, lambda: app.latest.incident.snat is not None)
        assert source.reads >= reads + 2  # the scan and the SNAT read
        (nat,) = app.latest.incident.snat
        assert (nat.address, nat.entries, nat.ports, nat.port_min, nat.port_max) == (
            "192.0.2.1", 5, 5, 40000, 40004,
        )  # fmt: skip
        assert "40000-40004" in screen_text(app)
        await pilot.press("escape")
        assert not app.monitor.incident.want_snat  # no second read once closed


async def test_a_shows_read_only_advice_with_commands():
    app, source, clock = make_app(source_class=TunedSource)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("a")
        assert isinstance(app.screen, AdviceScreen)
        await poll(pilot, app, clock)
        text = screen_text(app)
        assert "never applies" in text and "bytes per entry" in text and "256" in text
        body = rendered(app.screen.last_body)
        commands = [i.command for i in app.latest.advice.items if i.command]
        assert commands and all(c in body for c in commands)


async def test_drill_down_says_who_owns_the_flows_or_why_not():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        from ctwatch.engine.answers import Focus

        app.open_focus(Focus.of(("src", "203.0.113.7")))
        await wait_for(pilot, lambda: app.latest.incident.owners is not None, timeout=10)
        owners, problem = app.latest.incident.owners
        assert owners == () and "no local socket" in problem
        assert "process: no local socket" in screen_text(app)


async def test_help_and_palette_list_the_incident_keys():
    app, source, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        from ctwatch.faces.ui.screens.help import help_text

        text = rendered(help_text("", 10.0))
        for title in ("Kernel log", "Top growers", "Expiry", "SNAT", "Advice", "Export"):
            assert title in text, title
        await pilot.press("escape")
        from ctwatch.faces.ui.commands import COMMANDS

        available = {c.id for c in COMMANDS if app.command_state(c.action, app.screen) is not False}
        assert {"kernel", "growers", "expiry", "snat", "advice", "subnets", "export"} <= available
        assert "delete" not in available and "seek_back" not in available


@pytest.mark.parametrize("key", ["k", "t", "x", "n", "a"])
async def test_incident_views_fit_80x24_in_ascii(key):
    app, source, clock = make_app(ascii=True)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press(key)
        await poll(pilot, app, clock)
        text = screen_text(app)
        assert text.isascii(), text
        assert "esc Back" in text
        await pilot.resize_terminal(40, 12)
        await pilot.pause()
        assert "too small" in screen_text(app)
