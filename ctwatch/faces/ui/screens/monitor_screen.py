"""The main view: top line, fill gauge, count graph, status and the breakdown panels."""

from __future__ import annotations

from typing import Optional

from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.screen import Screen

from ctwatch.engine.answers import Answers, Panel, Row
from ctwatch.faces.ui.display import Display
from ctwatch.faces.ui.widgets.footer import Footer
from ctwatch.faces.ui.widgets.gauge import FillGauge
from ctwatch.faces.ui.widgets.graph import CountGraph
from ctwatch.faces.ui.widgets.incident_line import IncidentLine
from ctwatch.faces.ui.widgets.panel import TITLES, BreakdownPanel
from ctwatch.faces.ui.widgets.status import StatusLine
from ctwatch.faces.ui.widgets.too_small import MIN_HEIGHT, MIN_WIDTH, TooSmall
from ctwatch.faces.ui.widgets.topline import TopLine
from ctwatch.model.dimensions import NAMES


def subnet_panel(panel: BreakdownPanel, shown: Optional[Panel], subnets) -> Optional[Panel]:
    """The Sources panel rolled up by /24 and /64 while `b` is on."""
    panel.subnets = subnets is not None
    panel.border_title = "Sources by subnet" if subnets is not None else TITLES["src"]
    if subnets is None or shown is None:
        return shown
    rows = tuple(Row(net, n, share, delta) for net, n, share, delta in subnets)
    return Panel(rows, len(rows), "count")


PANEL_ORDER = NAMES  # the registry's order fills the grid (see ctwatch.tcss)


def table_note(sample: Answers) -> str:
    error = sample.table_error
    if error and "needs root" in error:
        return "reading the table needs root; count and max above are still live"
    if error:
        return error
    return "waiting for the first scan"


class AnswersScreen(Screen):
    """A screen that draws samples; the app hands it each one (unless paused)."""

    shown: Optional[Answers] = None
    display: Display = Display()

    def show_answers(self, sample: Optional[Answers], display: Optional[Display] = None) -> None:
        self.shown = sample
        display = self.display = display or self.display
        too_small = self.size.width < MIN_WIDTH or self.size.height < MIN_HEIGHT
        if too_small != self.has_class("-too-small"):
            self._toggle_small(too_small)
        self.query_one(TopLine).show(
            sample,
            host=display.host,
            glyphs=display.glyphs,
            paused=display.paused,
            speed=display.speed,
            interval=display.interval,
            where=self.where(),
        )
        if too_small:
            self.query_one(TooSmall).show(sample, self.size.width, self.size.height)
            return
        status = self.query_one(StatusLine)
        if display.frozen:
            status.show(sample, paused_samples=display.held_polls)
        else:
            status.show(sample)
        if sample is not None:
            self.draw(sample, display)

    def where(self) -> str:
        return ""

    def _toggle_small(self, too_small: bool) -> None:
        # Hidden widgets lose the focus; give it back when the panels return.
        if too_small:
            self._focus_before_small = self.focused
        self.set_class(too_small, "-too-small")
        if not too_small:
            target = getattr(self, "_focus_before_small", None)
            if target is None or not target.is_attached:
                target = next((w for w in self.query(".panel") if w.display), None)
            if target is not None:
                self.call_after_refresh(target.focus)

    def draw(self, sample: Answers, display: Display) -> None:
        raise NotImplementedError

    def on_resize(self) -> None:
        self.show_answers(self.shown)

    def on_screen_resume(self) -> None:
        self.app.screen_resumed(self)

    def on_mount(self) -> None:
        # A sample may have come in before this screen existed (the first poll is
        # started before the app): draw it as soon as the screen has a size.
        self.call_after_refresh(self.app.screen_resumed, self)


class MonitorScreen(AnswersScreen):
    _panels_drawn: tuple = (None, None)
    _last_max: Optional[int] = None

    def compose(self) -> ComposeResult:
        yield TopLine(id="top")
        with Vertical(id="body"):
            yield FillGauge(id="gauge")
            yield IncidentLine(id="incident")
            yield CountGraph(id="graph")
            yield StatusLine(id="status")
            with Grid(id="panels"):
                for dim in PANEL_ORDER:
                    yield BreakdownPanel(dim)
        yield TooSmall(id="too-small")
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        self.query_one("#panel-src", BreakdownPanel).focus()

    def draw(self, sample: Answers, display: Display) -> None:
        self.query_one(FillGauge).show(sample, display.glyphs)
        self.query_one(IncidentLine).show(sample, display.glyphs)
        snap = sample.snapshot
        if snap is not None and snap.max:
            self._last_max = snap.max  # keeps the graph's scale while the source is away
        self.query_one(CountGraph).show(
            sample.history,
            reference=self._last_max,
            now=sample.at,
            interval=sample.interval,
            scale=display.graph_scale,
            glyphs=display.glyphs,
        )
        scan = sample.scan
        note = table_note(sample)
        subnets = sample.incident.subnets if display.subnets else None
        note = (note, subnets)
        if scan is self._panels_drawn[0] and note == self._panels_drawn[1]:
            return  # the breakdowns change only with a new scan (or sort, or baseline)
        panels = list(self.query(BreakdownPanel))
        if not panels:
            return  # not composed yet: on_mount draws this sample again
        self._panels_drawn = (scan, note)
        with self.app.batch_update():
            for panel in panels:
                shown = scan.panels[panel.dim] if scan else None
                if panel.dim == "src":
                    shown = subnet_panel(panel, shown, subnets)
                panel.show(shown, note[0], display.glyphs.ellipsis)
