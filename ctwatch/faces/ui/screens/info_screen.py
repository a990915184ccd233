"""A full-screen incident view (kernel log, growers, expiry, SNAT, advice): top line, body."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from ctwatch.engine.answers import Answers
from ctwatch.faces.ui.screens.monitor_screen import AnswersScreen
from ctwatch.faces.ui.widgets.footer import Footer
from ctwatch.faces.ui.widgets.status import StatusLine
from ctwatch.faces.ui.widgets.too_small import TooSmall
from ctwatch.faces.ui.widgets.topline import TopLine
from ctwatch.model import format as fmt


class InfoScreen(AnswersScreen):
    """Subclasses say what they show (`body`) and what the monitor must collect meanwhile."""

    heading = ""

    def compose(self) -> ComposeResult:
        yield TopLine(id="top")
        with Vertical(id="body"):
            yield StatusLine(id="status")
            with VerticalScroll(id="info-scroll", classes="panel"):
                yield Static(id="info-body")
        yield TooSmall(id="too-small")
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        for scroll in self.query("#info-scroll"):  # a subclass may compose its own body
            scroll.border_title = self.heading
            scroll.focus()
        super().on_mount()

    def where(self) -> str:
        return self.heading

    # What the monitor must collect while this view is open (the app asks it): "snat".
    collects: tuple = ()

    @property
    def body_width(self) -> int:
        """Cells the body has for a line (its tables fit their numbers to it)."""
        return self.query_one("#info-body").size.width or max(20, self.size.width - 5)

    def draw(self, sample: Answers, display) -> None:
        try:
            body = self.body(sample)
        except Exception:  # a display bug must not take the monitor down
            import logging

            logging.getLogger("ctwatch").exception("%s", self.heading)
            body = Text("(display error, see the log)", style="red")
        self.last_body = body
        self.query_one("#info-body", Static).update(body)

    def body(self, sample: Answers) -> RenderableType:
        raise NotImplementedError


def grid(*headers: str, justify: tuple = ()) -> Table:
    """A borderless table (no box glyphs: fine on the Linux console)."""
    table = Table(box=None, pad_edge=False, padding=(0, 1), show_edge=False)
    for i, header in enumerate(headers):
        # "crop", not "ellipsis": the Linux console font may lack "…".
        table.add_column(
            header, justify=justify[i] if i < len(justify) else "left", overflow="crop"
        )
    return table


class Num:
    """A number cell: whole when its table fits the width, else abbreviated (1.0M)."""

    __slots__ = ("forms",)

    def __init__(self, value: int, signed: bool = False) -> None:
        if signed:
            self.forms = (fmt.signed(value), fmt.compact(value, "+"))
        else:
            self.forms = (fmt.count(value), fmt.compact(value))


SHRINK_MIN = 8  # cells a text column that may shrink is counted at when fitting


def fitted_grid(headers: tuple, rows: list, width: int, justify: tuple = (), shrink=()) -> Table:
    """A `grid` of `rows` (cells: str or Num, an optional style last) that fits `width`
    without cutting a number: text columns named in `shrink` give up room first (their
    text folds onto more lines); then number columns are abbreviated, the widest first."""
    styles = [row[-1] if len(row) > len(headers) else "" for row in rows]
    rows = [row[: len(headers)] for row in rows]
    short = [False] * len(headers)

    def column_width(i: int) -> int:
        cells = [c.forms[short[i]] if isinstance(c, Num) else str(c) for c in (r[i] for r in rows)]
        natural = max([len(headers[i])] + [len(c) for c in cells])
        return min(natural, SHRINK_MIN) if i in shrink else natural

    numeric = [i for i in range(len(headers)) if any(isinstance(r[i], Num) for r in rows)]
    while sum(map(column_width, range(len(headers)))) + 2 * (len(headers) - 1) > width:
        full = [i for i in numeric if not short[i]]
        if not full:
            break  # as small as it gets: the screen is below its minimum size
        short[max(full, key=column_width)] = True
    table = grid(*headers, justify=justify)
    for i, column in enumerate(table.columns):
        column.no_wrap = i not in shrink  # only these may be narrowed by Rich,
        if i in shrink:
            column.overflow = "fold"  # and they fold: a cropped address would be wrong
    for row, style in zip(rows, styles):
        table.add_row(
            *(c.forms[short[i]] if isinstance(c, Num) else c for i, c in enumerate(row)),
            style=style,
        )
    return table
