"""Arrow-key focus moves between the panels of a screen, by where they sit."""

from __future__ import annotations

from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import DataTable

DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}
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


def move_focus(origin: Widget, direction: str) -> bool:
    """Focus the nearest focusable table in `direction`; False when there is none."""
    dx, dy = DIRECTIONS[direction]
    here = origin.region
    if not here.area:
        return False
    cx, cy = here.x + here.width / 2, here.y + here.height / 2
    best, best_score = None, None
    for widget in origin.screen.focus_chain:
        if widget is origin or not widget.region.area or not widget.has_class("panel"):
            continue
        r = widget.region
        wx, wy = r.x + r.width / 2, r.y + r.height / 2
        along = (wx - cx) * dx + (wy - cy) * dy
        if along <= 0:
            continue
        across = abs((wx - cx) * dy) + abs((wy - cy) * dx)
        score = along + 2 * across
        if best_score is None or score < best_score:
            best, best_score = widget, score
    if best is None:
        return False
    best.focus()
    return True


class PanelTable(DataTable):
    """A table that hands focus to its neighbour panel when an arrow leaves its edge."""

    BINDINGS = [
        Binding("left", "move('left')", "Panel left", show=False),
        Binding("right", "move('right')", "Panel right", show=False),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, size in RENDER_CACHE_SIZES.items():
            cache = getattr(self, name, None)
            if hasattr(cache, "maxsize"):
                cache.maxsize = size

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
