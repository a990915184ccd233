"""Arrow-key focus moves between the panels of a screen, by where they sit."""

from __future__ import annotations

from textual.widget import Widget

DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}


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
