"""The rules view: firewall rules by packets or bytes per second, with counts since `z`."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from ctwatch.engine.answers import Answers
from ctwatch.engine.rules import RulesView
from ctwatch.faces.ui.screens.info_screen import InfoScreen
from ctwatch.faces.ui.widgets import cells
from ctwatch.faces.ui.widgets.footer import Footer
from ctwatch.faces.ui.widgets.status import StatusLine
from ctwatch.faces.ui.widgets.tables import PanelTable, sync_rows
from ctwatch.faces.ui.widgets.too_small import TooSmall
from ctwatch.faces.ui.widgets.topline import TopLine
from ctwatch.model import format as fmt
from ctwatch.model.rule_rates import SORT_TITLES

NOTE_KEY = "\0note"
SHORT_BACKEND = {"nft": "nft", "iptables-nft": "ipt-nft", "iptables-legacy": "ipt-leg"}
# Number columns and their cells (a leading space each); the widest set that leaves the
# rule text RULE_MIN cells is used. Numbers are abbreviated to fit (1.2M), never cut.
COLUMNS = (
    (("pps", "bps", "packets", "bytes"), {"pps": 9, "bps": 9, "packets": 9, "bytes": 9}),
    (("pps", "packets"), {"pps": 9, "packets": 9}),
    (("pps",), {"pps": 8}),
)
CT_WIDTH = 3
WHERE_MAX = 26
# A screen shows a few dozen rows; a table of 20,000 would cost the UI thread seconds
# on each reading. The busiest MAX_ROWS (or the first, by position) are shown.
MAX_ROWS = 500
TEXT_ROOM = 50  # where + rule text: below this, fewer number columns (80x24: two)


def row_key(rule) -> str:
    return "\x1f".join(map(str, rule.key))


def where(rule, backends: tuple) -> str:
    """[backend] family table/chain#position: the backend only when several hold rules
    (the heading names a single one)."""
    backend = f"{SHORT_BACKEND.get(rule.backend, rule.backend)} " if len(backends) > 1 else ""
    return f"{backend}{rule.family} {rule.table}/{rule.chain}#{rule.position}"


class RulesTable(PanelTable):
    """One rule a row, the busiest first; the cursor follows a rule the operator picked."""

    def followable(self, key: Optional[str]) -> bool:
        return key is not None and not key.startswith(NOTE_KEY)

    def follow_label(self, key: str) -> str:
        return key.split("\x1f")[3] if "\x1f" in key else key

    last: tuple = ()

    def on_resize(self) -> None:
        super().on_resize()
        if self.last:
            self.fill(*self.last)

    def fill(self, view: Optional[RulesView], ellipsis: str, missing: str = "") -> None:
        self.last = (view, ellipsis, missing)
        inner = max(20, self.size.width - 1)
        if view is None or not view.rows:
            self._columns(("note",), (inner,))
            note = "reading the rules..." if view is None or view.taken_at is None else "no rules"
            if view is None and missing:
                note = missing
            if view is not None and view.errors and not view.rows:
                note = "; ".join(view.errors)
            self.set_summary()
            sync_rows(self, ("note",), [(f"{NOTE_KEY}0", [cells.text(note, style="dim")])])
            return
        names, widths = COLUMNS[-1]
        for candidate, sizes in COLUMNS:
            if inner - sum(sizes.values()) - CT_WIDTH >= TEXT_ROOM:
                names, widths = candidate, sizes
                break
        rest = inner - sum(widths.values()) - CT_WIDTH
        place = min(WHERE_MAX, max(10, rest * 2 // 5))
        text_width = max(8, rest - place - 1)
        columns = (*names, "ct", "where", "rule")
        self._columns(columns, (*(widths[n] for n in names), CT_WIDTH, place + 1, text_width))
        rows = []
        for rank, row in enumerate(view.rows[:MAX_ROWS]):
            rule = row.rule
            busy = "bold" if row.pps else ""
            values = {
                "pps": cells.Cell(
                    " " + _rate(row.pps, widths.get("pps", 9) - 1), rank, busy, "right"
                ),
                "bps": cells.Cell(
                    " " + _bytes_rate(row.bps, widths.get("bps", 9) - 1), rank, "", "right"
                ),
                "packets": cells.Cell(
                    " " + _count(row.packets, widths.get("packets", 9) - 1), 0, busy, "right"
                ),
                "bytes": cells.Cell(
                    " " + _count(row.bytes, widths.get("bytes", 9) - 1), 0, "", "right"
                ),
                "ct": cells.text(" ct" if rule.conntrack else "", style="bold cyan"),
                "where": cells.text(" " + fmt.shorten(where(rule, view.backends), place, ellipsis)),
                "rule": cells.text(" " + fmt.shorten(rule.text, text_width - 1, ellipsis)),
            }
            rows.append((row_key(rule), [values[c] for c in columns]))
        top = f"top {MAX_ROWS:,} of " if len(view.rows) > MAX_ROWS else ""
        self.set_summary(
            f"{top}{fmt.count(len(view.rows))} rules by {SORT_TITLES[view.sort]}",
            f"{fmt.count(len(view.rows))} by {SORT_TITLES[view.sort]}",
        )
        sync_rows(self, columns, rows, (columns[0],), order=view.sort)

    def _columns(self, columns: tuple, widths: tuple) -> None:
        if (columns, widths) == getattr(self, "_shape", None):
            return
        self._shape = (columns, widths)
        with self.placing():
            self.clear(columns=True)
        for column, width in zip(columns, widths):
            self.add_column("", key=column, width=width)


def _count(value: Optional[int], room: int) -> str:
    return "-" if value is None else fmt.count(value, room)  # no counter: unknown, not 0


def _rate(value: Optional[float], room: int) -> str:
    return "-" if value is None else fmt.rate(value, room)


def _bytes_rate(value: Optional[float], room: int) -> str:
    return "-" if value is None else fmt.rate(value, room).replace("/s", "B/s")


def heading(view: Optional[RulesView], budget: float) -> Text:
    """One line above the table: the sort, the baseline, what the reading cost."""
    line = Text(no_wrap=True, overflow="ellipsis", end="")
    if view is None or view.taken_at is None:
        return line
    line.append(f"sort {SORT_TITLES[view.sort]}", style="bold")
    line.append(f"  since {fmt.clock(view.baseline_at)}" if view.baseline_at else "")
    line.append("  (z: from now)", style="dim")
    line.append(f"  {', '.join(view.backends) or 'no rules'}", style="dim")
    line.append(f"  read {view.cost:.2f} s CPU", style="dim")
    return line


def notes(view: Optional[RulesView]) -> Text:
    """Chains without counters named (never shown as 0), and what could not be read."""
    text = Text(end="")
    if view is None:
        return text
    for chain in view.uncounted[:3]:
        text.append(
            f"no counter: {chain.uncounted} of {chain.rules} rules in {chain.backend} "
            f"{chain.family} {chain.table} {chain.name} (shown as -)\n",
            style="dim",
        )
    if len(view.uncounted) > 3:
        text.append(f"no counter in {len(view.uncounted) - 3} more chains\n", style="dim")
    for problem in view.errors[:2]:
        text.append(f"! {problem}\n", style="bold red")
    return text


class RulesScreen(InfoScreen):
    heading = "rules"
    collects = ("rules",)
    # `s` sorts this view's table (the app's `s` sorts breakdown panels); `z` is in the
    # command table (app action rules_zero), offered only here.
    BINDINGS = [Binding("s", "rules_sort", "Sort", tooltip="Packets/s, bytes/s or position.")]
    DEFAULT_CSS = """
    #rules-head { height: 1; }
    #rules-notes { height: auto; max-height: 4; }
    """

    def compose(self) -> ComposeResult:
        yield TopLine(id="top")
        with Vertical(id="body"):
            yield StatusLine(id="status")
            yield Static(id="rules-head")
            yield RulesTable(
                id="rules-table",
                classes="panel",
                cursor_type="row",
                show_header=False,
                cell_padding=0,
            )
            yield Static(id="rules-notes")
        yield TooSmall(id="too-small")
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self, event) -> None:
        # InfoScreen's handler sets up its scrolled text body; this view is a table.
        event.prevent_default()
        table = self.query_one(RulesTable)
        table.border_title = "firewall rules"
        table.focus()
        self.view: Optional[RulesView] = None
        self.call_after_refresh(self.app.screen_resumed, self)  # as AnswersScreen does

    def draw(self, sample: Answers, display) -> None:
        self.view = sample.rules
        glyphs = display.glyphs
        self.query_one("#rules-head", Static).update(heading(self.view, display.cpu_budget))
        missing = "" if self.app.rules_watch is not None else self.app.rules_missing
        self.query_one(RulesTable).fill(self.view, glyphs.ellipsis, missing)
        self.query_one("#rules-notes", Static).update(notes(self.view))

    def action_rules_sort(self) -> None:
        self.app.rules_sort()
