"""A breakdown panel: one dimension's rows with count, share and change since the baseline."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from typing import Optional

from ctwatch.engine.answers import Panel
from ctwatch.faces.ui.widgets import cells
from ctwatch.faces.ui.widgets.tables import PanelTable, cursor_key, sync_rows
from ctwatch.model import format as fmt
from ctwatch.model.dimensions import DIMENSIONS

TITLES = {d.name: d.title for d in DIMENSIONS}
NOTE_KEY = "\0note"
# Column sets by width: numbers get 9 (count), 7 (share) and 8 (change) cells, more when
# the keys leave room for a longer number in full; else it is abbreviated (1.0M), never cut.
WIDTHS = {"count": 9, "share": 7, "delta": 8}
MODES = (
    (("key", "count", "share", "delta"), 24),
    (("key", "count", "delta"), 17),
    (("key", "count"), 9),
)
MIN_KEY = 9


def number_widths(columns: tuple, key_width: int, panel: Panel) -> dict:
    """Each number column's width: its base, grown to its longest full number while the
    keys still fit whole in what is left; or narrowed to the abbreviated numbers (1.0M)
    when that lets every key fit whole (an address is never worth less than a count)."""
    widths = {c: WIDTHS[c] for c in columns if c in WIDTHS}
    spare = key_width - max(len(r.key) for r in panel.rows)
    deltas = [r.delta for r in panel.rows if r.delta]
    longest = {
        "count": max(len(fmt.count(r.count)) for r in panel.rows),
        "delta": max((len(fmt.signed(d)) for d in deltas), default=0),
    }
    shortest = {
        "count": max(len(fmt.compact(r.count)) for r in panel.rows),
        "delta": max((len(fmt.compact(d, "+")) for d in deltas), default=0),
    }
    numbers = [c for c in ("count", "delta") if c in widths]
    if spare < 0:
        narrow = {c: min(widths[c], 1 + shortest[c]) for c in numbers}
        if sum(widths[c] - narrow[c] for c in numbers) >= -spare:
            for column in numbers:
                take = min(widths[column] - narrow[column], -spare)
                widths[column] -= take
                spare += take
        return widths
    for column in numbers:
        grow = 1 + longest[column] - widths[column]
        if 0 < grow <= spare:
            widths[column] += grow
            spare -= grow
    return widths


class BreakdownPanel(PanelTable):
    """Rows keyed by the breakdown key; only changed cells are redrawn on a new scan."""

    def __init__(self, dim: str, *, id: Optional[str] = None) -> None:
        super().__init__(
            id=id or f"panel-{dim}",
            classes="panel",
            cursor_type="row",
            show_header=False,
            cell_padding=0,
        )
        self.dim = dim
        self.border_title = TITLES[dim]
        self.panel: Optional[Panel] = None
        self.note = "waiting for the first scan"
        self.ellipsis = "…"
        self._columns: tuple = ()
        self._widths: tuple = ()

    def on_resize(self) -> None:
        self._fill()

    def show(self, panel: Optional[Panel], note: str = "", ellipsis: str = "…") -> None:
        self.panel, self.note, self.ellipsis = panel, note, ellipsis
        self._fill()

    def followable(self, key: Optional[str]) -> bool:
        return key is not None and not key.startswith(NOTE_KEY)

    def _set_columns(self, columns: tuple, widths: tuple) -> None:
        if (columns, widths) == (self._columns, self._widths):
            return
        self._columns, self._widths = columns, widths
        with self.placing():  # clear() puts the cursor on row 0: not the operator's move
            self.clear(columns=True)
        for column, width in zip(columns, widths):
            self.add_column("", key=column, width=width)

    def _fill(self) -> None:
        panel = self.panel
        inner = max(4, self.size.width - 1)  # content width less the scrollbar
        if panel is None or not panel.rows:
            self.set_summary()
            if panel is None:
                note = self.note
            else:
                note = "no entries with a state" if self.dim == "state" else "none"
            self._set_columns(("note",), (inner,))
            lines = textwrap.wrap(note, inner) or [""]
            rows = [
                (f"{NOTE_KEY}{i}", [cells.text(line, style="dim")]) for i, line in enumerate(lines)
            ]
            sync_rows(self, self._columns, rows)
            return
        columns, numbers = MODES[-1]
        for candidate, width in MODES:
            if inner - width >= MIN_KEY:
                columns, numbers = candidate, width
                break
        key_width = max(4, inner - numbers)
        widths = number_widths(columns, key_width, panel)
        key_width -= sum(widths.values()) - numbers
        self._set_columns(columns, tuple(widths.get(c, key_width) for c in columns))
        more = panel.distinct - len(panel.rows)
        top = f" (top {len(panel.rows)})" if more > 0 else ""
        self.set_summary(
            f"{fmt.count(panel.distinct)}{top} by {panel.sort}",
            f"{fmt.count(panel.distinct)} by {panel.sort}",
            f"{fmt.compact(panel.distinct)} by {panel.sort}",
        )
        count_room, delta_room = widths.get("count", 1) - 1, widths.get("delta", 1) - 1
        rows = []
        for row in panel.rows:
            changed = bool(row.delta)
            shown = fmt.shorten(row.key, key_width, self.ellipsis)
            values = {
                "key": cells.key(self.dim, row.key, shown, "bold" if changed else ""),
                "count": cells.number(row.count, "bold" if changed else "", count_room),
                "share": cells.share(row.share),
                "delta": cells.delta(row.delta, delta_room),
            }
            rows.append((row.key, [values[c] for c in columns]))
        if panel.sort == "name":
            sync_rows(self, columns, rows, ("key",), order="name")
        else:
            sync_rows(
                self,
                columns,
                rows,
                ("count", "key"),
                sort_key=lambda pair: (-pair[0].sort_key, pair[1].sort_key),
                order="count",
            )

    def resort(self, sort: str) -> None:
        """Show the rows on screen in the new order at once; the monitor's next view
        (the top rows by that order over the whole table) follows after its poll."""
        panel = self.panel
        if panel is None:
            return
        if sort == "name":
            rows = sorted(panel.rows, key=lambda r: cells.name_key(self.dim, r.key))
        else:
            rows = sorted(panel.rows, key=lambda r: (-r.count, cells.name_key(self.dim, r.key)))
        self.panel = replace(panel, rows=tuple(rows), sort=sort)
        self._fill()

    def zero_deltas(self) -> None:
        """A baseline pinned on the scan shown: every change is 0 until the next scan."""
        if self.panel is not None:
            rows = tuple(replace(r, delta=0) for r in self.panel.rows)
            self.panel = replace(self.panel, rows=rows)
            self._fill()

    def selected_key(self) -> Optional[str]:
        key = cursor_key(self)
        return None if key is None or key.startswith(NOTE_KEY) else key
