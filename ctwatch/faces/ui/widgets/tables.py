"""Panel tables: row-key diffing, and rows shown from the top until the operator picks one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Callable, Optional

from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.timer import Timer
from textual.widgets import DataTable

from ctwatch.faces.ui.widgets.navigation import move_focus
from ctwatch.model import format as fmt

GONE_SECONDS = 10.0  # how long the border says that the followed row went away


def cursor_key(table: DataTable) -> Optional[str]:
    if table.row_count == 0:
        return None
    try:
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    except Exception:  # a cursor beyond the rows (table just shrank)
        return None


# DataTable keys its render caches by an update counter, so every change (each scan)
# makes all cached entries stale, and they pile up to Textual's sizes (10,000 cells and
# 1,000 rows and lines a table: RSS grew ~3 MB a minute for 25 minutes on a churning
# table). A panel shows one screenful; these hold a few.
RENDER_CACHE_SIZES = {
    "_cell_render_cache": 1024,
    "_row_render_cache": 256,
    "_row_renderable_cache": 256,
    "_line_cache": 256,
}


class PanelTable(DataTable):
    """A panel's table. Like `top`, it shows its rows from the top on every refresh, with
    the cursor on the first (heaviest) row. Once the operator moves the cursor (keys, a
    click), it follows that row's key and its border says so; Home goes back to the top.

    Arrows that leave an edge hand the focus to the neighbour panel.
    """

    BINDINGS = [
        Binding("left", "move('left')", "Panel left", show=False),
        Binding("right", "move('right')", "Panel right", show=False),
        Binding("home", "follow_top", "Top", show=False),
        Binding("end", "scroll_bottom", "Last row", show=False),
    ]

    followed: Optional[str] = None  # the key the operator chose; None: the top
    gone: Optional[str] = None  # a followed key that left the rows, said for a while
    summary: tuple = ()  # what the border says of the rows, longest form first
    _placing = 0
    _gone_timer: Optional[Timer] = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, size in RENDER_CACHE_SIZES.items():
            cache = getattr(self, name, None)
            if hasattr(cache, "maxsize"):
                cache.maxsize = size

    # ---- the operator's moves ----
    def action_move(self, direction: str) -> None:
        move_focus(self, direction)

    def action_cursor_up(self) -> None:
        if self.cursor_row <= 0 and move_focus(self, "up"):
            return
        super().action_cursor_up()

    def action_cursor_down(self) -> None:
        if self.cursor_row >= self.row_count - 1 and move_focus(self, "down"):
            return
        super().action_cursor_down()

    def action_follow_top(self) -> None:
        self.followed = None
        self._forget_gone()
        self.place_cursor()

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        super().watch_cursor_coordinate(old, new)
        if self._placing or old == new:
            return
        # Any move we did not make ourselves is the operator's: keys, a click, a test.
        key = cursor_key(self)
        self.followed = None if new.row == 0 or not self.followable(key) else key
        self._forget_gone()
        self.show_subtitle()

    def followable(self, key: Optional[str]) -> bool:
        """Note rows and the like are not worth following."""
        return key is not None

    @contextlib.contextmanager
    def placing(self) -> Iterator[None]:
        """Cursor moves inside this block are the table's own, not the operator's."""
        self._placing += 1
        try:
            yield
        finally:
            self._placing -= 1

    # ---- the table's own moves ----
    def place_cursor(self) -> None:
        """After the rows changed: the cursor on the followed key, else on the top row
        with the view scrolled to the top."""
        with self.placing():
            if self.followed is not None and self.followed not in self.rows:
                self.gone, self.followed = self.followed, None
                if self._gone_timer is not None:
                    self._gone_timer.stop()
                self._gone_timer = self.set_timer(GONE_SECONDS, self._forget_gone)
            if self.followed is None:
                if self.row_count and self.cursor_row != 0:
                    self.move_cursor(row=0, animate=False)
                self.scroll_to(y=0, animate=False, immediate=True)
            else:
                index = self.get_row_index(self.followed)
                if index != self.cursor_row:
                    self.move_cursor(row=index, animate=False)
        self.show_subtitle()

    def _forget_gone(self) -> None:
        if self._gone_timer is not None:
            self._gone_timer.stop()
            self._gone_timer = None
        if self.gone is not None:
            self.gone = None
            self.show_subtitle()

    # ---- the border ----
    def set_summary(self, *forms: str) -> None:
        """What the border says of the rows: `forms` from the longest to the shortest."""
        self.summary = forms
        self.show_subtitle()

    def follow_label(self, key: str) -> str:
        return key

    def on_resize(self) -> None:
        self.show_subtitle()

    def show_subtitle(self) -> None:
        room = max(0, self.outer_size.width - 6)  # corners, a rule each side, a space each
        glyphs = getattr(self.app, "glyphs", None)
        sep = " - " if glyphs is None or glyphs.ascii else " · "
        dots = "…" if glyphs is None else glyphs.ellipsis
        if self.followed is not None:
            key, forms, last = self.followed, [("following ", f"{sep}Home: top")], "Home: top"
        elif self.gone is not None:
            key, last = self.gone, "top"
            forms = [("", f" gone{sep}showing the top"), ("", f" gone{sep}top")]
        else:
            key, forms, last = "", [], ""
        options = list(self.summary)
        if key:
            label = self.follow_label(key)
            said = [f"{head}{label}{tail}" for head, tail in forms]
            options = [f"{said[0]}{sep}{s}" for s in self.summary] + said
            head, tail = forms[-1]
            short = room - len(head) - len(tail)
            if short >= 6:  # the key shortened: it is a name, not a number
                options.append(f"{head}{fmt.shorten(label, short, dots)}{tail}")
            options.append(last)
        self.border_subtitle = next((o for o in options if len(o) <= room), "")


def sync_rows(
    table: DataTable,
    columns: tuple,
    rows: list,
    sort_columns: tuple = (),
    sort_key: Optional[Callable] = None,
    reverse: bool = False,
    order: object = None,
) -> None:
    """Show `rows` ([(row key, [cells in `columns` order])]) in `table`.

    Rows gone are removed, new ones added, changed cells updated one by one; then the
    table is sorted on the cells' own sort keys (never on their rendered text). A panel
    table then shows its top rows, or the row the operator follows; another table keeps
    its cursor on the row it was on. Call inside `app.batch_update()`. `order` names the
    sort in use: a new one re-sorts even when no cell changed.
    """
    panel = table if isinstance(table, PanelTable) else None
    with panel.placing() if panel is not None else contextlib.nullcontext():
        keep = cursor_key(table)
        wanted = {key for key, _ in rows}
        changed = getattr(table, "_synced_order", None) != order
        table._synced_order = order
        for row_key in [k for k in table.rows if k.value not in wanted]:
            table.remove_row(row_key)
            changed = True
        for key, cells in rows:
            if key in table.rows:
                current = table.get_row(key)
                for column, new, old in zip(columns, cells, current):
                    if new != old:
                        table.update_cell(key, column, new)
                        changed = True
            else:
                table.add_row(*cells, key=key)
                changed = True
        if not changed:
            return  # same rows, same order: nothing to redraw
        if sort_columns and table.row_count:
            table.sort(*sort_columns, key=sort_key, reverse=reverse)
        if panel is not None:
            panel.place_cursor()
        elif keep is not None and keep in table.rows:
            index = table.get_row_index(keep)
            if index != table.cursor_row:
                table.move_cursor(row=index, animate=False)
