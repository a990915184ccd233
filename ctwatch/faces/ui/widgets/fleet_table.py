"""The fleet table: a row per host with entries, limit, fill bar, drops, time to full, last hour."""

from __future__ import annotations

from typing import Optional

from ctwatch.faces.ui.glyphs import UNICODE, Glyphs
from ctwatch.faces.ui.widgets.cells import Cell
from ctwatch.faces.ui.widgets.gauge import fill_style
from ctwatch.faces.ui.widgets.tables import PanelTable, cursor_key, sync_rows
from ctwatch.model import format as fmt
from ctwatch.model.fleet import FleetRow
from ctwatch.sources.safe_text import safe_line

NOTE_KEY = "\0note"
# (columns, their widths) from the widest terminal down; the host name takes the rest.
# Numbers are abbreviated (262K) when a column is narrower than the full form, never cut.
MODES = (
    (("host", "entries", "limit", "fill", "drops", "full", "spark"), (9, 9, 14, 9, 8, 24), 100),
    (("host", "entries", "limit", "fill", "drops", "full", "spark"), (8, 8, 12, 8, 8, 12), 74),
    (("host", "entries", "fill", "drops", "full", "spark"), (8, 12, 8, 8, 8), 60),
    (("host", "entries", "fill", "drops", "full"), (8, 12, 8, 8), 0),
)
HEADINGS = {
    "host": "host",
    "entries": "entries",
    "limit": "limit",
    "fill": " fill",
    "drops": "drops/s",
    "full": "full in",
    "spark": " last hour",
}
MIN_HOST = 12


def row_key(row: FleetRow) -> str:
    host, netns = row.key
    return f"{host}\t{netns or ''}\t{row.instance}"


def host_name(row: FleetRow) -> str:
    name = safe_line(row.instance, 200)
    return f"{safe_line(row.netns, 100)}@{name}" if row.netns else name


def spark(values: tuple, top: Optional[float], width: int, glyphs: Glyphs) -> str:
    """The last `width` values as one row of level glyphs, 0 to `top` (the limit)."""
    shown = list(values)[-width:] if width > 0 else []
    known = [v for v in shown if v is not None]
    top = top or (max(known) if known else 0) or 1
    out = []
    for v in shown:
        if v is None:
            out.append(" ")
            continue
        level = max(0, min(8, round(v / top * 8)))
        out.append(glyphs.levels[max(level, 1 if v > 0 else 0)])
    return "".join(out).rjust(width)


def fill_bar(fraction: Optional[float], width: int, glyphs: Glyphs) -> tuple:
    """(text, style): a bar and the percent (5 cells: 100%, 90.0%), `width` - 2 in all."""
    pct = fmt.percent(fraction)
    cells = max(0, width - 8)
    if fraction is None:
        return f"{'':{cells}} {pct:>5}", ""
    full = max(0, min(cells, round(fraction * cells)))
    bar = glyphs.bar_full * full + glyphs.bar_empty * (cells - full)
    return f"{bar} {pct:>5}", fill_style(fraction)


class FleetTable(PanelTable):
    """Hosts in the order the model sorted them; the cursor stays on the top (heaviest)
    row on every refresh until the operator moves it, then follows that host."""

    def __init__(self, *, id: Optional[str] = None) -> None:
        super().__init__(id=id, classes="panel", cursor_type="row", cell_padding=0)
        self.border_title = "Fleet"
        self.rows_shown: tuple = ()
        self.glyphs = UNICODE
        self.note = "asking Prometheus"
        self._columns: tuple = ()
        self._widths: tuple = ()
        self._order = 0

    def followable(self, key: Optional[str]) -> bool:
        return key is not None and not key.startswith(NOTE_KEY)

    def on_resize(self) -> None:
        self._fill()
        super().on_resize()

    def show(self, rows: tuple, glyphs: Glyphs, note: str = "", summary: tuple = ()) -> None:
        self.rows_shown, self.glyphs, self.note = rows, glyphs, note
        self.set_summary(*summary)
        self._fill()

    def _set_columns(self, columns: tuple, widths: tuple) -> None:
        if (columns, widths) == (self._columns, self._widths):
            return
        self._columns, self._widths = columns, widths
        with self.placing():
            self.clear(columns=True)
        for column, width in zip(columns, widths):
            label = HEADINGS.get(column, "")
            justify = "left" if column in ("host", "note", "spark", "fill") else "right"
            self.add_column(
                label.rjust(width) if justify == "right" else label, key=column, width=width
            )

    def _fill(self) -> None:
        inner = max(10, self.size.width - 1)
        if not self.rows_shown:
            self._set_columns(("note",), (inner,))
            sync_rows(self, self._columns, [(NOTE_KEY, [Cell(self.note, 0, "dim")])])
            return
        columns, widths, _ = next(m for m in MODES if inner >= m[2])
        host_width = max(MIN_HOST, inner - sum(widths))
        all_widths = (host_width, *widths)
        self._set_columns(columns, all_widths)
        width = dict(zip(columns, all_widths))
        g = self.glyphs
        self._order += 1
        rows = []
        for rank, row in enumerate(self.rows_shown):
            bar, bar_style = fill_bar(row.fill, width["fill"], g)
            full = row.seconds_until_full
            values = {
                "host": Cell(fmt.shorten(host_name(row), host_width - 1, g.ellipsis), rank),
                "entries": _number(row.entries, width["entries"]),
                "limit": _number(row.limit, width.get("limit", 0)),
                "fill": Cell(" " + bar, row.fill or 0, bar_style),
                "drops": Cell(
                    fmt.rate(row.drop_rate, width["drops"] - 1) if row.up else "down",
                    row.drop_rate or 0,
                    "bold red" if row.drop_rate or not row.up else "",
                    "right",
                ),
                "full": Cell(
                    "-" if full is None else ("full" if full == 0 else fmt.seconds(full)),
                    full if full is not None else float("inf"),
                    "bold red" if full is not None and full < 3600 else "",
                    "right",
                ),
                "spark": Cell(
                    " " + spark(row.history, row.limit, width.get("spark", 1) - 1, g),
                    0,
                    "cyan",
                ),
            }
            rows.append((row_key(row), [values[c] for c in columns]))
        sync_rows(self, columns, rows, ("host",), order=self._order)

    def follow_label(self, key: str) -> str:
        row = next((r for r in self.rows_shown if row_key(r) == key), None)
        return host_name(row) if row is not None else key.rsplit("\t", 1)[-1]

    def selected_row(self) -> Optional[FleetRow]:
        key = cursor_key(self)
        if key is None or key.startswith(NOTE_KEY):
            return None
        return next((r for r in self.rows_shown if row_key(r) == key), None)


def _number(value: Optional[float], width: int) -> Cell:
    whole = None if value is None else int(round(value))
    return Cell(fmt.count(whole, max(1, width - 1)), whole or 0, "", "right")
