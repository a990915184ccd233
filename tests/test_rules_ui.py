"""The rules view driven by Pilot: its key, rates and counts, `z`, the sort, escapes, the
footer and palette from the command table, rules without counters, a recording."""

from __future__ import annotations

from test_rules import _Fixed, sample
from test_ui_support import make_app, poll, screen_text, started, wait_for

from ctwatch.engine.rules import RulesWatch
from ctwatch.faces.ui.commands import COMMANDS
from ctwatch.faces.ui.screens.monitor_screen import MonitorScreen
from ctwatch.faces.ui.screens.rules_screen import RulesScreen, RulesTable

SIZE = (80, 24)


def _texts(counts: list) -> list:
    """Legacy v4 listings whose raw PREROUTING notrack rule grew to each count."""
    base = sample("iptables_legacy_v4.txt")
    return [
        (
            (
                "iptables-legacy",
                "ip",
                base.replace("[5:190] -A PREROUTING", f"[{n}:{n * 38}] -A PREROUTING"),
            ),
        )
        for n in counts
    ]


def rules_app(counts, **kw):
    app, source, clock = make_app(**kw)
    watch = RulesWatch(_Fixed(sequence=_texts(counts)), clock=clock)
    app.rules_watch, app.rules_prefix = watch, ()
    return app, clock, watch


def shown_rows(app) -> list:
    table = app.screen.query_one(RulesTable)
    return [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(table.row_count)]


async def test_f_opens_the_rules_busiest_first_and_esc_goes_back():
    app, clock, watch = rules_app([5, 5, 2005, 4005])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        assert "f Rules" in screen_text(app)  # the footer, from the command table
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, RulesScreen))
        assert watch.active
        await poll(pilot, app, clock, 2.0)
        text = screen_text(app)
        assert "1,000/s" in text and "2,000" in text  # 2000 packets in 2 s, since the start
        assert "ip raw/PREROUTING#1" in text  # one backend: the heading names it
        assert "-p udp -m udp --dport 5003" in text
        assert shown_rows(app)[0].split("\x1f")[3] == "PREROUTING"  # the busiest on top
        assert " ct " in text  # conntrack rules marked
        assert "z Zero" in text  # offered here only
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen))
        assert not watch.active and "z Zero" not in screen_text(app)


def pre(app):
    return [r for r in app.latest.rules.rows if r.rule.chain == "PREROUTING"][0]


async def test_z_counts_from_now_and_the_kernel_counts_stay():
    app, clock, watch = rules_app([5, 1005, 2005, 3005, 4005])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, RulesScreen))
        await poll(pilot, app, clock, 2.0)
        assert pre(app).packets == 2000 and "2,000" in screen_text(app)
        clock.advance(2.0)
        await pilot.press("z")
        await wait_for(pilot, lambda: pre(app).packets == 0)
        assert pre(app).rule.packets == 3005  # what the kernel says, untouched
        await poll(pilot, app, clock, 2.0)
        assert pre(app).packets == 1000 and pre(app).pps == 500.0


async def test_s_cycles_the_sort_and_the_heading_says_it():
    app, clock, watch = rules_app([5] * 10)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, RulesScreen))
        await poll(pilot, app, clock, 2.0)
        assert "sort packets/s" in screen_text(app)
        for want in ("bytes/s", "position", "packets/s"):
            await pilot.press("s")
            await poll(pilot, app, clock, 2.0)
            assert f"sort {want}" in screen_text(app)
        await pilot.press("s", "s")
        await poll(pilot, app, clock, 2.0)
        assert shown_rows(app)[0].split("\x1f")[2] == "nat"  # as the kernel holds them


async def test_rules_without_counters_show_a_dash_and_their_chain_is_named():
    app, _, clock = make_app()
    app.rules_watch = RulesWatch(_Fixed(((("nft", None, sample("nft_native.json"))),)), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("f")
        await wait_for(pilot, lambda: "no counter" in screen_text(app))
        text = screen_text(app)
        assert "no counter: 2 of 2 rules in nft inet filt plain" in text
        assert "meta l4proto icmp accept" in text
        line = [x for x in text.splitlines() if "meta l4proto icmp" in x][0]
        assert " - " in line and " 0 " not in line


async def test_without_privilege_the_view_says_what_is_needed():
    app, _, clock = make_app()
    app.rules_watch = RulesWatch(_Fixed(denied=True), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("f")
        await wait_for(pilot, lambda: "need root" in screen_text(app))
        assert screen_text(app).count("need root (CAP_NET_ADMIN)") >= 1


async def test_no_reader_says_why_and_the_palette_offers_the_view():
    app, _, clock = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        titles = {c.title for c in COMMANDS}
        assert "Firewall rules and counters" in titles and "Rules: count from now" in titles
        await pilot.press("f")
        await wait_for(pilot, lambda: "no firewall rules here" in screen_text(app))
        await pilot.press("z")  # nothing to reset: no error
        assert isinstance(app.screen, RulesScreen)


async def test_rule_text_from_outside_is_never_obeyed():
    import json

    doc = json.loads(sample("nft_native.json"))
    doc["nftables"][4]["rule"]["comment"] = "\x1b]0;owned\x07\x1b[2J"
    app, _, clock = make_app()
    app.rules_watch = RulesWatch(_Fixed(((("nft", None, json.dumps(doc))),)), clock=clock)
    async with app.run_test(size=(160, 30)) as pilot:
        await started(pilot, app)
        await pilot.press("f")
        await wait_for(pilot, lambda: "udp svc" in screen_text(app) or "owned" in screen_text(app))
        text = screen_text(app)
        assert "\x1b" not in text and "\\x1b]0;owned" in text


async def test_a_20000_rule_ruleset_shows_its_busiest_rows_only():
    import rules_gen

    app, _, clock = make_app()
    text = rules_gen.nft_json(20_000)
    app.rules_watch = RulesWatch(_Fixed(((("nft", None, text)),)), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("f")
        await wait_for(pilot, lambda: "top 500 of 20,000" in screen_text(app), timeout=30)
        assert app.screen.query_one(RulesTable).row_count == 500


async def test_a_max_of_zero_is_shown_as_unlimited_and_advised_first():
    from test_ui_support import FakeSource

    class Unlimited(FakeSource):
        def __init__(self, lines, clock=None):
            super().__init__(lines, clock, max_entries=0)

    app, _, clock = make_app(source_class=Unlimited)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        text = screen_text(app)
        assert "count 180 / unlimited" in text
        assert "unlimited" in app.latest.advice.items[0].title


def test_help_lists_the_rules_keys():
    from ctwatch.faces.ui.screens.help import help_text

    keys = [str(cell) for cell in help_text("", 10).columns[0].cells]
    assert "f" in keys and "z" in keys
