"""A full-screen incident view (kernel log, growers, expiry, SNAT, advice): top line, body."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from ctwatch.model.monitor_views import Sample
from ctwatch.ui.footer import Footer
from ctwatch.ui.monitor_screen import SampleScreen
from ctwatch.ui.small import TooSmall
from ctwatch.ui.status import StatusLine
from ctwatch.ui.topline import TopLine


class InfoScreen(SampleScreen):
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
        scroll = self.query_one("#info-scroll")
        scroll.border_title = self.heading
        scroll.focus()
        self.opened()
        super().on_mount()

    def where(self) -> str:
        return self.heading

    def opened(self) -> None:
        """Ask the monitor for what this view needs (a SNAT read, ...)."""

    def closed(self) -> None:
        """Stop asking for it."""

    def draw(self, sample: Sample) -> None:
        try:
            body = self.body(sample)
        except Exception:  # a display bug must not take the monitor down
            import logging

            logging.getLogger("ctwatch").exception("%s", self.heading)
            body = Text("(display error, see the log)", style="red")
        self.last_body = body
        self.query_one("#info-body", Static).update(body)

    def body(self, sample: Sample) -> RenderableType:
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
