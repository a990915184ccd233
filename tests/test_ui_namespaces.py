"""The namespaces view on a sample tree (Pilot), its listing budget, the kernel-log link and the
advice that sums every namespace's memory."""

from __future__ import annotations

from dataclasses import replace

import kernel_lines as K
from test_namespaces import DOCKER, HOST, NAMED, SLEEPER, stats_text, tree  # noqa: F401
from test_ui_support import FakeClock

from ctwatch.engine.incident import KernelLogView
from ctwatch.engine.namespaces import Listing, NamespacesView, NamespaceWatch
from ctwatch.engine.switching import Watched, last_blamed
from ctwatch.faces.ui.app import create_app
from ctwatch.faces.ui.commands import COMMANDS
from ctwatch.faces.ui.glyphs import UNICODE
from ctwatch.faces.ui.screens.namespaces_screen import NamespacesScreen, NamespacesTable
from ctwatch.faces.ui.widgets.incident_line import incident_text
from ctwatch.model.advice import NamespaceLoad, advise
from ctwatch.sources.procfs import ProcSource


def app_for(root):
    # The listing's cost paces it (cost / budget): measured in real CPU seconds it
    # would race the fake clock on a loaded machine, so it costs nothing here.
    listing = Listing(NamespaceWatch(str(root), cpu=lambda: 0.0))
    return create_app(
        ProcSource(str(root)),
        host="lab",
        autopoll=False,
        namespaces=listing,
        root=str(root),
        clock=FakeClock(),
    )


def idle(app) -> bool:
    """No poll running, none asked for, none armed."""
    return not app._polling and not app._poll_again and app._poll_timer is None


async def settle(app, pilot) -> None:
    for _ in range(1000):  # a loaded CI machine: up to 20 s
        await pilot.pause(0.02)
        if idle(app):
            return


async def poll(app, pilot) -> None:
    """One whole poll that starts after this call: a poll already under way (a key may
    have asked for one) must not be taken for it, its files read before a test wrote."""
    await settle(app, pilot)
    app.monitor.clock.t += 1.0  # a tick: the view open lists every tick
    seen = app.samples_received
    app.request_poll()
    for _ in range(1000):
        await pilot.pause(0.02)
        if app.samples_received > seen and idle(app):
            break
    await pilot.pause()


def rows_shown(table: NamespacesTable) -> list:
    return [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(table.row_count)]


async def test_the_view_lists_every_namespace_the_heaviest_in_view(tree):  # noqa: F811
    app = app_for(tree)
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        await pilot.press("N")
        await poll(app, pilot)
        assert isinstance(app.screen, NamespacesScreen)
        assert app.monitor.listing.wanted
        table = app.screen.query_one(NamespacesTable)
        assert rows_shown(table)[0] == str(NAMED)  # the one that dropped
        assert set(rows_shown(table)) == {
            str(i) for i in (HOST, NAMED, DOCKER, SLEEPER, 4026532302)
        }
        assert table.cursor_row == 0
        # Another starts dropping: it comes first, in view, the cursor on it.
        K.write(tree, "/proc/500/net/stat/nf_conntrack", stats_text(7, drop=400))
        K.write(tree, "/proc/999/net/stat/nf_conntrack", stats_text(7, drop=400))
        await poll(app, pilot)
        assert rows_shown(table)[0] == str(SLEEPER)
        assert table.cursor_row == 0 and table.scroll_y == 0
        await pilot.press("s")
        assert table.order == "entries" and rows_shown(table)[0] == str(NAMED)
        await pilot.press("s")
        assert table.order == "fill"
        await pilot.press("escape")
        assert not isinstance(app.screen, NamespacesScreen)
        assert not app.monitor.listing.wanted


async def test_a_namespace_that_cannot_be_entered_says_why_and_the_monitor_goes_on(tree):  # noqa: F811
    app = app_for(tree)
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        await pilot.press("N")
        await poll(app, pilot)
        await pilot.press("enter")  # `blue` is a plain file in the tree, not a namespace
        await pilot.pause()
        assert any("blue" in n.message for n in app._notifications)
        assert not app.monitor.away
        await poll(app, pilot)
        assert app.latest.watched.home


async def test_the_key_is_in_the_footer_and_the_palette(tree):  # noqa: F811
    command = next(c for c in COMMANDS if c.id == "namespaces")
    assert command.key == "N" and command.show
    app = app_for(tree)
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        assert app.command_state(command.action, app.screen) is True
        assert app.command_state("go_home", app.screen) is False  # not away: hidden
        footer = app.screen.query_one("Footer")
        await pilot.pause()
        assert any("Netns" in str(k.render()) for k in footer.query("FooterKey"))


def test_help_lists_the_namespace_keys():
    from ctwatch.faces.ui.screens.help import help_text

    rows = [str(cell) for column in help_text("", 10).columns for cell in column._cells]
    for key in ("N", "h", "j"):
        assert key in rows


class FakeWatch:
    def __init__(self, cost: float) -> None:
        self.cost = cost
        self.calls = 0

    def poll(self, kernel=None) -> NamespacesView:
        self.calls += 1
        return NamespacesView(rows=(), cpu_seconds=self.cost)


def test_listing_keeps_to_the_cpu_budget():
    watch = FakeWatch(cost=0.2)  # 300 namespaces on a slow machine
    listing = Listing(watch)
    listing.want(True)
    listing.poll(100.0, None, cpu_budget=0.10, interval=1.0)
    # Half of a 10% budget: 0.2 s of CPU at most every 4 s.
    for now in (101.0, 102.0, 103.0, 103.9):
        listing.poll(now, None, 0.10, 1.0)
    assert watch.calls == 1
    listing.poll(104.0, None, 0.10, 1.0)
    assert watch.calls == 2
    cheap = FakeWatch(cost=0.002)
    listing = Listing(cheap)
    listing.want(True)
    for tick in range(10):
        listing.poll(200.0 + tick, None, 0.10, 1.0)
    assert cheap.calls == 10  # every tick while the view is open
    listing.want(False)
    for tick in range(10, 40):
        listing.poll(200.0 + tick, None, 0.10, 1.0)
    assert cheap.calls == 11  # closed: every 30 s
    # A namespace the kernel log blames and the last listing lacks is listed at once.
    blamed = KernelLogView(netns_ids=(4026539999,))
    listing.poll(241.0, blamed, 0.10, 1.0)
    assert cheap.calls == 12


async def test_kernel_log_link_names_the_namespace_and_its_key(tree):  # noqa: F811
    app = app_for(tree)
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        sample = app.latest
    kernel = KernelLogView(
        last_table_full=1000.0,
        namespaces=(str(NAMED),),
        netns_ids=(NAMED,),
        last_full_by_netns=((NAMED, 1000.0),),
    )
    sample = replace(sample, incident=replace(sample.incident, kernel=kernel))
    line = incident_text(sample, UNICODE, width=100).plain
    assert "in blue" in line and "j: watch it" in line
    blamed = last_blamed(kernel, sample.namespaces, sample.watched)
    assert blamed.row.inode == NAMED and blamed.elsewhere
    watching = replace(sample, watched=Watched(name="blue", inode=NAMED, initial=False))
    assert "in blue" not in incident_text(watching, UNICODE, width=100).plain


def test_advice_sums_every_namespace_and_names_the_full_one():
    loads = (
        NamespaceLoad("host", 1_000, watched=True),
        NamespaceLoad("blue", 9_500, drop_rate=12.0, watch="--netns blue"),
        NamespaceLoad("docker web", 8_500, watch="--pid 4242"),
        NamespaceLoad("quiet", 10),
    )
    advice = advise(
        count=1_000,
        maximum=10_000,
        buckets=10_000,
        slab_objsize=320,
        ram_bytes=8 << 30,
        namespaces=loads,
    )
    assert advice.entries_all_namespaces == 19_010
    assert advice.memory_all_namespaces == 19_010 * 320
    assert advice.memory_all_namespaces_full == 4 * 10_000 * 320
    by_key = {}
    for item in advice.items:
        by_key.setdefault(item.key, []).append(item)
    netns = by_key["netns"]
    assert [i.command for i in netns] == ["ctwatch --netns blue", "ctwatch --pid 4242"]
    assert "blue is full and dropping 12.0 packets/s" in netns[0].title
    assert "docker web is 85.0% full (8,500 of 10,000)" in netns[1].title
    memory = by_key["memory"][0]
    assert "4 network namespaces hold 19,010 entries" in memory.title
    assert "12.2 MiB" in memory.reasoning  # 4 x 10,000 x 320 bytes
    alone = advise(count=1_000, maximum=10_000, buckets=10_000, slab_objsize=320, ram_bytes=8 << 30)
    assert alone.entries_all_namespaces is None and "memory" not in {i.key for i in alone.items}
