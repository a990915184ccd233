"""Glyph sets: Unicode blocks for capable terminals, plain ASCII for the Linux console."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

from textual.scrollbar import ScrollBar, ScrollBarRender


@dataclass(frozen=True)
class Glyphs:
    ascii: bool
    levels: tuple  # 9 glyphs: empty, 1/8 .. 8/8 of a cell, for the graph
    bar_full: str
    bar_empty: str
    sep: str
    ellipsis: str
    up: str
    down: str


UNICODE = Glyphs(
    ascii=False,
    levels=(" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"),
    bar_full="█",
    bar_empty="░",
    sep=" │ ",
    ellipsis="…",
    up="▲",
    down="▼",
)
# The stock console font has no eighth blocks, shades or light box bars: use what any
# VT100 and any serial line can show.
ASCII = Glyphs(
    ascii=True,
    levels=(" ", "_", "_", ".", ".", "-", "-", "=", "#"),
    bar_full="#",
    bar_empty=".",
    sep=" | ",
    ellipsis="~",
    up="^",
    down="v",
)


def wants_ascii(environ: Optional[Mapping] = None) -> bool:
    """The Linux console and VT terminals get ASCII glyphs; everything else Unicode."""
    term = (environ if environ is not None else os.environ).get("TERM", "")
    return term == "linux" or term.startswith("vt")


def wants_ansi_theme(environ: Optional[Mapping] = None) -> bool:
    """Terminals limited to 16 colours (the Linux console, TERM=xterm or screen without
    COLORTERM) get a theme made of the terminal's own palette instead of approximations.
    Same rule as Rich's colour detection, which Textual uses to draw."""
    env = environ if environ is not None else os.environ
    if env.get("COLORTERM", "").strip().lower() in ("truecolor", "24bit"):
        return False
    colors = env.get("TERM", "").strip().lower().rpartition("-")[2]
    return colors not in ("256color", "kitty")


class AsciiScrollBarRender(ScrollBarRender):
    """Scrollbar thumb drawn in reverse video only: no eighth-block ends."""

    VERTICAL_BARS = [" "] * 8
    HORIZONTAL_BARS = [" "] * 8


def use_scrollbar_glyphs(ascii_only: bool) -> None:
    # A class attribute, so every scrollbar of this process follows the last app started.
    ScrollBar.renderer = AsciiScrollBarRender if ascii_only else ScrollBarRender
