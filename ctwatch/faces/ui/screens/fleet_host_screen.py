"""One host of the fleet: its 6-hour entries graph with a time cursor, and its breakdowns then."""

from __future__ import annotations

from typing import Optional

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

from ctwatch.engine.fleet_host import HOURS, Timeline
from ctwatch.faces.ui.glyphs import UNICODE, Glyphs
from ctwatch.faces.ui.widgets.fleet_table import host_name
from ctwatch.faces.ui.widgets.footer import Footer
from ctwatch.faces.ui.widgets.gauge import fill_style
from ctwatch.model import format as fmt
from ctwatch.model.fleet import FleetRow
from ctwatch.model.fleet_host import ADD_CTWATCH, BREAKDOWNS, HostMoment
from ctwatch.sources.safe_text import safe_line

LABEL_WIDTH = 16
PANEL_ROWS = 6  # rows per breakdown panel: the heaviest keys, like the host monitor's
TITLES = tuple(title for _, _, title, _ in BREAKDOWNS) + ("Kernel stats",)


class HostGraph(Widget):
    """The host's entries over 6 hours, 0 to its limit; the cursor's column in reverse."""

    DEFAULT_CSS = "HostGraph { height: 3; padding: 0 1; }"

    def __init__(self, *, id: Optional[str] = None) -> None:
        super().__init__(id=id)
        self.timeline: Optional[Timeline] = None
        self.cursor: Optional[float] = None
        self.glyphs = UNICODE

    def show(self, timeline: Optional[Timeline], cursor: Optional[float], glyphs: Glyphs):
        self.timeline, self.cursor, self.glyphs = timeline, cursor, glyphs
        self.refresh()

    def render(self) -> Text:
        height = max(1, self.size.height)
        columns = max(1, self.size.width - LABEL_WIDTH - 1)
        tl = self.timeline
        if tl is None:
            return Text("loading the last 6 hours...", style="dim")
        n = len(tl.points)
        values = [
            tl.points[min(n - 1, round(c * (n - 1) / max(1, columns - 1)))] for c in range(columns)
        ]
        known = [v for v in values if v is not None]
        top = tl.limit or (max(known) if known else 1) or 1
        cursor_col = None
        if self.cursor is not None and n > 1:
            span = tl.step * (n - 1)
            cursor_col = round((self.cursor - tl.start) / span * (columns - 1))
        levels = height * 8
        out = Text(no_wrap=True, end="")
        labels = [
            f"max {fmt.count(int(max(known)), 12)}" if known else "no data",
            f"min {fmt.count(int(min(known)), 12)}" if known else "",
            f"{HOURS} h, 0-{'limit' if tl.limit else 'max'}",
        ] + [""] * height
        for row in range(height):
            floor = (height - 1 - row) * 8
            for col, v in enumerate(values):
                style = fill_style(v / tl.limit) if v is not None and tl.limit else "cyan"
                if col == cursor_col:
                    style = "reverse bold"
                if v is None:
                    glyph = "|" if col == cursor_col else " "
                else:
                    level = max(1 if v > 0 else 0, min(levels, round(v / top * levels)))
                    glyph = self.glyphs.levels[max(0, min(8, level - floor))]
                    if col == cursor_col and glyph == " ":
                        glyph = "|"
                out.append(glyph, style=style or "green")
            out.append(" " + fmt.shorten(labels[row], LABEL_WIDTH, self.glyphs.ellipsis), "dim")
            if row < height - 1:
                out.append("\n")
        return out


def breakdown_table(rows: tuple, total: Optional[float], limit: int) -> Table:
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    table.add_column(justify="right", no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    if not rows:
        table.add_row(Text("none", style="dim"), "", "")
    for key, value in rows[:limit]:
        share = fmt.percent(value / total) if total else ""
        table.add_row(Text(safe_line(key, 80)), fmt.count(int(value), 9), Text(share, "dim"))
    return table


def stats_table(stats: tuple, limit: int) -> Table:
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    table.add_column(justify="right", no_wrap=True)
    # The counters that say the table is in trouble first, then the rest by rate.
    first = ("drop", "early_drop", "insert_failed", "invalid")
    ordered = sorted(stats, key=lambda s: (s[0] not in first, -(s[2] or 0), s[0]))
    if not ordered:
        table.add_row(Text("none", style="dim"), "")
    for name, _total, rate in ordered[:limit]:
        style = "bold red" if name in first[:3] and rate else ""
        table.add_row(Text(safe_line(name, 40), style=style), Text(fmt.rate(rate, 9), style))
    return table


class FleetHostScreen(Screen):
    """Not focusable inside: left/right and [ ] move the time cursor, never a panel;
    up/down and the page keys scroll the panels."""

    BINDINGS = [
        Binding("up", "scroll_body(-1)", "Up", show=False),
        Binding("down", "scroll_body(1)", "Down", show=False),
        Binding("pageup", "scroll_body(-10)", "Page up", show=False),
        Binding("pagedown", "scroll_body(10)", "Page down", show=False),
    ]

    def __init__(self, row: FleetRow) -> None:
        super().__init__()
        self.row = row
        self.steps_back = 0
        self.moment: Optional[HostMoment] = None
        self.timeline: Optional[Timeline] = None
        self.error: Optional[str] = None

    def compose(self) -> ComposeResult:
        yield Static("", id="top")
        yield Static("", id="host-status")
        yield HostGraph(id="host-graph")
        with VerticalScroll(id="host-body", can_focus=False):
            if self.row.source == "ctwatch":
                with Grid(id="host-panels"):
                    for i, title in enumerate(TITLES):
                        panel = Static("", id=f"host-panel-{i}", classes="panel host-panel")
                        panel.border_title = title
                        yield panel
            else:
                yield Static(self._no_ctwatch(), id="host-note")
        yield Footer(show_command_palette=False, compact=True)

    ready = False

    def on_mount(self) -> None:
        self.ready = True
        self.app.show()

    def action_scroll_body(self, lines: int) -> None:
        body = self.query_one("#host-body", VerticalScroll)
        body.scroll_relative(y=lines, animate=False)

    def _no_ctwatch(self) -> Text:
        text = Text()
        text.append(host_name(self.row), "bold")
        text.append(
            " exports node_exporter's conntrack series only: entries, limit and drops, "
            "no breakdowns. To add them, run this on that host (node_exporter's textfile "
            "collector then serves ctwatch's series under the same instance):\n\n"
        )
        text.append(f"    {ADD_CTWATCH}\n\n", "bold")
        text.append(
            "as a service, every few seconds (contrib/systemd/ctwatch.service), or "
            "`ctwatch --serve` and a scrape job for port 9611.",
            "dim",
        )
        return text

    def show_host(self, view, at: float) -> None:
        """`view`: the app's FleetView; `at`: the cursor's time."""
        g = view.glyphs
        top = Text(no_wrap=True, overflow="ellipsis", end="")
        top.append(host_name(self.row), "bold")
        top.append(f" ({self.row.source})  ", "dim")
        m = self.moment
        top.append(f"at {fmt.clock(at)}")
        ago = view.now - at
        top.append(f" ({fmt.seconds(ago)} ago)" if ago >= 60 else " (now)", "dim")
        self.query_one("#top", Static).update(top)
        status = Text(no_wrap=True, overflow="ellipsis", end="")
        if self.error:
            # The panels keep the last moment that came: say which, and why no newer.
            status.append(" STALE ", "reverse bold red")
            shown = f" showing {fmt.clock(m.at)}:" if m is not None else ""
            status.append(f"{shown} {safe_line(self.error, 200)}", "red")
        elif m is not None and abs(m.at - at) < 1:
            status.append(f"entries {fmt.count(_int(m.entries))} / {fmt.count(_int(m.limit))}")
            if m.entries is not None and m.limit:
                fill = m.entries / m.limit
                status.append(f"  {fmt.percent(fill)}", fill_style(fill))
        elif self.row.source == "ctwatch":
            status.append("asking Prometheus...", "dim")
        else:
            status.append(
                f"entries {fmt.count(_int(self.row.entries))} / {fmt.count(_int(self.row.limit))}"
            )
        self.query_one("#host-status", Static).update(status)
        self.query_one(HostGraph).show(self.timeline, at, g)
        if self.row.source != "ctwatch" or m is None:
            return
        for i, title in enumerate(TITLES):
            panel = self.query_one(f"#host-panel-{i}", Static)
            if title == "Kernel stats":
                panel.update(stats_table(m.stats, PANEL_ROWS))
            else:
                panel.update(breakdown_table(m.top(title), m.entries, PANEL_ROWS))


def _int(value: Optional[float]) -> Optional[int]:
    return None if value is None else int(round(value))
