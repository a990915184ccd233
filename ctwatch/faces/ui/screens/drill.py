"""A drill-down: one source's (destination's, port's...) count over time, breakdowns, entries."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.widgets import Static

from ctwatch.engine.answers import Answers, Focus, FocusView
from ctwatch.faces.ui.display import Display
from ctwatch.faces.ui.screens.monitor_screen import AnswersScreen
from ctwatch.faces.ui.widgets.entries import EntriesTable
from ctwatch.faces.ui.widgets.footer import Footer
from ctwatch.faces.ui.widgets.graph import CountGraph
from ctwatch.faces.ui.widgets.lines import Line
from ctwatch.faces.ui.widgets.panel import BreakdownPanel
from ctwatch.faces.ui.widgets.status import StatusLine
from ctwatch.faces.ui.widgets.too_small import TooSmall
from ctwatch.faces.ui.widgets.topline import TopLine
from ctwatch.model import format as fmt
from ctwatch.model.dimensions import DIMENSIONS

DRILL_PANELS = tuple(d.name for d in DIMENSIONS if d.in_drill)


def owners_text(sample: Answers, view, width: int = 80) -> Text:
    """Which local processes own these flows, or why that cannot be told."""
    found = sample.incident.owners
    if view is None or found is None:
        return Text(end="")
    owners, problem = found
    line = Line(width)
    if owners:
        line.add(("owned by ", "dim"))
        for i, o in enumerate(owners[:4]):
            # Whole owners only: a cut one would show a wrong pid or count.
            gap = ", " if i else ""
            line.first(*(
                (f"{gap}{o.name} (pid {o.pid}, {o.side}, {flows})"
                 if o.pid is not None else f"{gap}{o.name} ({flows})",)
                for flows in (fmt.count(o.flows), fmt.compact(o.flows))
            ))  # fmt: skip
    elif problem:
        text = Text(f"process: {problem}", style="dim", no_wrap=True, overflow="ellipsis", end="")
        return text
    return line.text


def focus_note(sample: Answers) -> str:
    """Why a drill-down shows no entries yet."""
    if sample.table_error:
        return sample.table_error
    if sample.scan is not None and sample.scan.totals_only:
        return "this recording keeps only totals: no per-entry detail"
    return "scanning the table for it..."


class DrillScreen(AnswersScreen):
    _panels_drawn: tuple = (None, None)

    def __init__(self, focus: Focus) -> None:
        super().__init__()
        self.focus_target = focus

    def compose(self) -> ComposeResult:
        yield TopLine(id="top")
        with Vertical(id="body"):
            yield Static(id="focus-summary")
            yield Static(id="owners")
            yield CountGraph(id="focus-graph")
            yield StatusLine(id="status")
            with Grid(id="drill-panels"):
                for dim in DRILL_PANELS:
                    yield BreakdownPanel(dim, id=f"drill-{dim}")
            yield EntriesTable(id="entries")
        yield TooSmall(id="too-small")
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        focus = self.focus_target
        visible = [dim for dim in DRILL_PANELS if not focus.pins(dim)]
        for panel in self.query(BreakdownPanel):
            panel.display = panel.dim in visible
        self.query_one("#drill-panels").styles.grid_size_columns = max(1, len(visible))
        self.query_one(EntriesTable).set_columns(focus.pins("src"), focus.pins("dst"))
        self.query_one(f"#drill-{visible[0]}", BreakdownPanel).focus()

    def where(self) -> str:
        return self.focus_target.title

    def focus_view(self, sample: Answers):
        scan = sample.scan
        if scan is None or scan.focus is None or scan.focus.focus != self.focus_target:
            return None
        return scan.focus

    def delete_target(self, display: Display):
        """The one source address `D` would delete the entries of, or None."""
        found = self.focus_target.address()
        if not display.allow_delete or not found or found[0] != "src":
            return None
        return found[1]

    def draw(self, sample: Answers, display: Display) -> None:
        view = self.focus_view(sample)
        self.query_one("#focus-summary", Static).update(self._summary(sample, view), layout=False)
        width = self.query_one("#owners").size.width or 80
        if self.delete_target(display) is not None:
            # The footer is full at 80 columns: say here that D works.
            owners = owners_text(sample, view, width - 25)
            owners = Text.assemble(("D", "bold"), (" deletes these entries  ", "dim"), owners)
        else:
            owners = owners_text(sample, view, width)
        self.query_one("#owners", Static).update(owners, layout=False)
        self.query_one(CountGraph).show(
            view.history if view else (),
            reference=None,  # 0 to its own peak: one source is a sliver of the table
            now=sample.at,
            interval=max(sample.interval, 1.0),
            scale=display.graph_scale,
            glyphs=display.glyphs,
            title="its count, ",
        )
        note = focus_note(sample) if view is None else ""
        if view is self._panels_drawn[0] and note == self._panels_drawn[1]:
            return
        if not self.query(EntriesTable):
            return  # not composed yet: on_mount draws this sample again
        self._panels_drawn = (view, note)
        with self.app.batch_update():
            for panel in self.query(BreakdownPanel):
                if panel.display:
                    shown = view.panels[panel.dim] if view else None
                    panel.show(shown, note, display.glyphs.ellipsis)
            self.query_one(EntriesTable).show(
                view.entry_list if view else (), view.entries if view else 0
            )

    def _summary(self, sample: Answers, view) -> Text:
        width = self.query_one("#focus-summary").size.width or 80
        title = self.focus_target.title
        if view is None or len(title) > width:
            text = Text(no_wrap=True, overflow="ellipsis", end="")
            text.append(title, style="bold")
            if view is None:
                text.append(f"  {focus_note(sample)}", style="dim")
            return text
        # Whole parts only; numbers are abbreviated (1.0M) before a part is left out.
        line = self._summary_line(sample, view, width, fmt.count, fmt.signed)
        if line.full:
            line = self._summary_line(sample, view, width, fmt.compact, lambda n: fmt.signed(n, 1))
        return line.text

    def _summary_line(self, sample: Answers, view, width: int, number, signed) -> Line:
        line = Line(width)
        line.add((self.focus_target.title, "bold"))
        assert isinstance(view, FocusView)
        line.add((f"  {number(view.entries)} entries", "bold"))
        line.add(f"  {fmt.percent(view.share)} of the table")
        if view.delta:
            style = "bold yellow" if view.delta > 0 else "bold green"
            line.add((f"  {signed(view.delta)}", style))
        for dim, word in (("src", "source"), ("dst", "destination"), ("dport", "port")):
            if not self.focus_target.pins(dim):
                n = view.panels[dim].distinct
                line.add((f"  {number(n)} {word}{'' if n == 1 else 's'}", "dim"))
        return line
