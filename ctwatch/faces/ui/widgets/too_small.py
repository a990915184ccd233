"""What a terminal below the minimum size shows instead of a garbled layout."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.widgets import Static

from ctwatch.engine.answers import Answers
from ctwatch.model import format as fmt

MIN_WIDTH = 60
MIN_HEIGHT = 16


class TooSmall(Static):
    def show(self, sample: Optional[Answers], width: int, height: int) -> None:
        text = Text(justify="center", end="")
        snap = sample.snapshot if sample else None
        if snap is not None:
            text.append(f"conntrack {fmt.count(snap.count)} / {fmt.limit(snap.max)}", "bold")
            if snap.fill is not None:
                text.append(f"  {fmt.percent(snap.fill)}", "bold")
            text.append("\n\n")
        text.append(
            f"terminal too small: {width}x{height}\nneeds at least {MIN_WIDTH}x{MIN_HEIGHT}"
        )
        self.update(text, layout=False)
