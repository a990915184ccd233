"""The `?` screen: every key from the command table, what the columns mean, where the log is."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ctwatch.faces.ui.commands import COMMANDS

# The footer leads with what the view offers; help reads best from the basics on.
HELP_ORDER = ("quit", "pause", "slower", "faster", "sort", "drill", "filter", "back", "reset",
              "rolling", "graph", "help", "kernel", "growers", "expiry", "snat", "advice",
              "rules", "rules_zero", "namespaces", "home", "jump", "subnets", "export",
              "delete", "seek_back", "seek_start", "seek_end", "slower_replay")  # fmt: skip

COLUMNS = (
    ("count", "entries with that key in the last table scan"),
    ("share", "of all entries scanned (states: TCP, SCTP and DCCP only)"),
    ("+N/-N", "change since the previous scan, or since `r` was pressed"),
    ("graph", "the count over the last minutes; 0 to the table limit (g: zoom)"),
    ("colours", "table fill: green, yellow from 75 %, red from 90 %"),
)


def help_text(log_path: str, budget: float) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    by_id = {c.id: c for c in COMMANDS}
    for command in [by_id[i] for i in HELP_ORDER if i in by_id]:
        table.add_row(command.keys_shown, f"{command.title}. {command.help}")
    table.add_row("tab, arrows", "Move between panels; up/down within one.")
    table.add_row(
        "home",
        "Panels show their heaviest rows from the top on every scan, like top. Once you "
        "move the cursor in one (arrows, pgup/pgdn, end, a click), it follows the row you "
        "chose and its border says so; home goes back to the top. In a replay, home on a "
        "panel that follows nothing jumps to the first frame.",
    )
    table.add_row("ctrl+p", "Command palette: the same commands by name.")
    table.add_row("", "")
    for name, meaning in COLUMNS:
        table.add_row(name, meaning)
    table.add_row("", "")
    table.add_row(
        "scans",
        f"Counters are read every tick; the whole table is read only as often as a CPU "
        f"budget of {budget:g} % of one core allows (--cpu-budget). The top line says how "
        "old the breakdowns are.",
    )
    table.add_row("log", log_path or "(no log file)")
    return table


class HelpScreen(ModalScreen):
    BINDINGS = [
        Binding("escape", "dismiss", "Close", key_display="esc"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def __init__(self, log_path: str, cpu_budget: float) -> None:
        super().__init__()
        self.log_path, self.cpu_budget = log_path, cpu_budget  # percent of one core

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "ctwatch keys"
            box.border_subtitle = "esc closes"
            yield Static(help_text(self.log_path, self.cpu_budget), id="help-text")
            yield Static(Text("ctwatch only reads; it never changes the kernel.", style="dim"))

    def action_dismiss(self) -> None:
        self.dismiss()
