"""The namespaces view (N): every network namespace's count, fill and drops; Enter watches one."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ctwatch.engine.answers import Answers
from ctwatch.engine.namespaces import NamespaceRow, NamespacesView, sort_key
from ctwatch.faces.ui.screens.info_screen import InfoScreen
from ctwatch.faces.ui.widgets import cells
from ctwatch.faces.ui.widgets.footer import Footer
from ctwatch.faces.ui.widgets.status import StatusLine
from ctwatch.faces.ui.widgets.tables import PanelTable, cursor_key, sync_rows
from ctwatch.faces.ui.widgets.too_small import TooSmall
from ctwatch.faces.ui.widgets.topline import TopLine
from ctwatch.model import format as fmt

SORTS = ("drops", "entries", "fill")
SORT_KEYS = {
    "drops": sort_key,
    "entries": lambda r: (-(r.entries if r.entries is not None else -1), r.inode),
    "fill": lambda r: (-(r.fill if r.fill is not None else -1.0), r.inode),
}
# Columns: (key, header, width); the name takes what is left. Widths hold a whole number
# (entries up to 4,294,967,295 would be abbreviated to 4.3G, never cut).
COLUMNS = (
    ("kind", " kind", 12),
    ("entries", "entries", 10),
    ("fill", "fill", 17),
    ("drops", "drop/s", 8),
    ("last", "last full", 10),
)
NARROW_DROP = ("last", "kind")  # left out first when the screen is narrow
MIN_NAME = 12
BAR = 10


def fill_cell(fill: Optional[float], glyphs, width: int) -> cells.Cell:
    if fill is None:
        return cells.Cell(" ?".rjust(width), -1.0, "dim", "right")
    bar = max(0, width - 7)
    filled = min(bar, int(round(fill * bar)))
    text = glyphs.bar_full * filled + glyphs.bar_empty * (bar - filled)
    style = "bold red" if fill >= 0.95 else "yellow" if fill >= 0.8 else ""
    return cells.Cell(f" {text}{fmt.percent(fill):>6}", fill, style, "right")


def row_cells(row: NamespaceRow, columns: tuple, widths: dict, glyphs) -> list:
    drops = row.drops_per_second
    values = {
        "name": cells.text(
            fmt.shorten(row.name, widths["name"], glyphs.ellipsis),
            (row.name, row.inode),
            "dim" if row.kind == "unreachable" else "",
        ),
        "kind": cells.text(" " + row.kind, row.kind),
        "entries": (
            cells.number(row.entries, "", widths["entries"] - 1)
            if row.entries is not None
            else cells.Cell(" ?", -1, "dim", "right")
        ),
        "fill": fill_cell(row.fill, glyphs, widths["fill"]),
        "drops": cells.Cell(
            " " + (fmt.rate(drops, widths["drops"] - 1) if row.rates else "-"),
            drops,
            "bold red" if drops else "",
            "right",
        ),
        "last": cells.Cell(
            " " + (fmt.clock(row.last_full) if row.last_full is not None else "-"),
            row.last_full or 0.0,
            "bold red" if row.last_full is not None else "dim",
            "right",
        ),
    }
    return [values[c] for c in columns]


class NamespacesTable(PanelTable):
    """One row per namespace, keyed by inode: the top rows stay in view (the panel rule)."""

    view: Optional[NamespacesView] = None
    order = "drops"  # `sort` is DataTable's method

    def __init__(self) -> None:
        super().__init__(id="namespaces", classes="panel", cursor_type="row", cell_padding=0)
        self.border_title = "Network namespaces"
        self._layout: tuple = ()
        self.glyphs = None

    def layout_for(self, width: int) -> tuple:
        columns = [c for c in COLUMNS]
        while columns and width - sum(w for _, _, w in columns) < MIN_NAME:
            drop = next((c for c in columns if c[0] in NARROW_DROP), None)
            if drop is None:
                break
            columns.remove(drop)
        name = max(MIN_NAME, width - sum(w for _, _, w in columns))
        return (("name", "namespace", name),) + tuple(columns)

    def show_view(self, view: Optional[NamespacesView], glyphs) -> None:
        self.view, self.glyphs = view, glyphs
        self._fill()

    def on_resize(self) -> None:
        super().on_resize()
        self._fill()

    def _fill(self) -> None:
        view, glyphs = self.view, self.glyphs
        if glyphs is None:
            return
        layout = self.layout_for(max(40, self.size.width - 1))
        if layout != self._layout:
            self._layout = layout
            with self.placing():
                self.clear(columns=True)
            for key, header, width in layout:
                justify = "left" if key in ("name", "kind") else "right"
                self.add_column(
                    header.rjust(width) if justify == "right" else header, key=key, width=width
                )
        columns = tuple(key for key, _, _ in layout)
        widths = {key: width for key, _, width in layout}
        rows = []
        for row in view.rows if view is not None else ():
            rows.append((str(row.inode), row_cells(row, columns, widths, glyphs)))
        order = SORT_KEYS[self.order]
        ranked = (
            {str(r.inode): i for i, r in enumerate(sorted(view.rows, key=order))} if view else {}
        )
        sync_rows(
            self,
            columns,
            rows,
            ("name",),
            sort_key=lambda cell: ranked.get(self._key_of(cell), 0),
            order=(self.order, tuple(ranked)),
        )
        total = len(view.rows) if view else 0
        self.set_summary(f"{total:,} by {self.order}", f"{total:,}")

    def _key_of(self, name_cell) -> str:
        return str(name_cell.sort_key[1])

    def selected(self) -> Optional[NamespaceRow]:
        key = cursor_key(self)
        if key is None or self.view is None:
            return None
        return next((r for r in self.view.rows if str(r.inode) == key), None)

    def follow_label(self, key: str) -> str:
        row = next((r for r in (self.view.rows if self.view else ()) if str(r.inode) == key), None)
        return row.name if row is not None else key


class NamespacesScreen(InfoScreen):
    heading = "namespaces"
    collects = ("namespaces",)

    def compose(self) -> ComposeResult:
        yield TopLine(id="top")
        with Vertical(id="body"):
            yield StatusLine(id="status")
            yield NamespacesTable()
            yield Static(id="namespaces-note")
        yield TooSmall(id="too-small")
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        self.query_one(NamespacesTable).focus()

    def draw(self, sample: Answers, display) -> None:
        table = self.query_one(NamespacesTable)
        table.show_view(sample.namespaces, display.glyphs)
        self.query_one("#namespaces-note", Static).update(self.note(sample))

    def note(self, sample: Answers) -> Text:
        view = sample.namespaces
        if view is None:
            return Text("listing the namespaces at the next poll")
        row = self.query_one(NamespacesTable).selected()
        parts = []
        if row is not None and row.table_error:
            parts.append(f"{row.name}: {row.table_error}")
        parts.extend(view.errors[:1])
        parts.append(
            f"listed in {fmt.seconds(view.cpu_seconds)} CPU; "
            "enter: watch its table  h: back to the start  s: sort"
        )
        return Text("\n".join(parts), no_wrap=False)

    def cycle_sort(self) -> str:
        table = self.query_one(NamespacesTable)
        table.order = SORTS[(SORTS.index(table.order) + 1) % len(SORTS)]
        table._fill()
        return table.order

    def selected(self) -> Optional[NamespaceRow]:
        return self.query_one(NamespacesTable).selected()
