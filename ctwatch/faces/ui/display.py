"""Display: what the app hands a screen beside the Answers (the operator's choices, the look).

Screens draw from these two only; they never reach into the app, the monitor or the source.
"""

from __future__ import annotations

from dataclasses import dataclass

from ctwatch.faces.ui.glyphs import UNICODE, Glyphs


@dataclass(frozen=True)
class Display:
    host: str = ""
    glyphs: Glyphs = UNICODE
    paused: bool = False  # the playback's pause, as the operator set it just now
    speed: float = 1.0  # a replay's playback speed, as set just now
    interval: float = 1.0  # the poll interval, as set just now
    frozen: bool = False  # live pause: the screen holds while polling goes on
    held_polls: int = 0  # polls collected since the display froze
    graph_scale: str = "limit"  # or "zoom"
    subnets: bool = False  # the Sources panel rolled up by /24 and /64
    allow_delete: bool = False  # --allow-delete on the live system
    log_path: str = ""
    cpu_budget: float = 10.0  # percent of one core
