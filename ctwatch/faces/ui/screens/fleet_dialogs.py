"""The fleet's `/` selector prompt and its `?` help, built from the fleet command table."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from ctwatch.faces.ui.fleet_commands import FLEET_COMMANDS, HELP_ORDER
from ctwatch.model.promql import SelectorError, parse_selector

COLUMNS = (
    ("entries", "the table's entries now (ctwatch_entries, else node_nf_conntrack_entries)"),
    ("limit", "nf_conntrack_max as the host exports it"),
    ("fill", "entries / limit: green, yellow from 75 %, red from 90 %"),
    ("drops/s", "the kernel's `drop` counter per second over the window"),
    ("full in", "at the window's growth (deriv, predict_linear's slope); - when not growing"),
    ("last hour", "entries over the last hour, 0 to the limit"),
)


class SelectorPrompt(ModalScreen):
    """Dismisses with the selector text (validated; "" for every host), or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", key_display="esc")]

    def __init__(self, current: str = "") -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box") as box:
            box.border_title = "Select hosts by label"
            yield Input(
                value=self.current, placeholder='job="node",env=~"prod.*"', id="prompt-input"
            )
            yield Label("", id="prompt-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            parse_selector(event.value)
        except SelectorError as exc:
            self.query_one("#prompt-error", Label).update(Text(str(exc)))
            return
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


def fleet_help() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    by_id = {c.id: c for c in FLEET_COMMANDS}
    for command in [by_id[i] for i in HELP_ORDER if i in by_id]:
        table.add_row(command.keys_shown, f"{command.title}. {command.help}")
    table.add_row(
        "home",
        "The table shows its heaviest rows from the top on every refresh. Once you move "
        "the cursor it follows the host you chose; home goes back to the top.",
    )
    table.add_row("ctrl+p", "Command palette: the same commands by name.")
    table.add_row("", "")
    for name, meaning in COLUMNS:
        table.add_row(name, meaning)
    table.add_row("", "")
    table.add_row(
        "stale",
        "When Prometheus cannot be reached or is slow, the last rows stay on screen, "
        "marked STALE with the reason, until it answers again.",
    )
    return table


class FleetHelpScreen(ModalScreen):
    BINDINGS = [
        Binding("escape", "dismiss", "Close", key_display="esc"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "ctwatch fleet keys"
            box.border_subtitle = "esc closes"
            yield Static(fleet_help(), id="help-text")
            yield Static(Text("ctwatch only reads Prometheus; it changes nothing.", style="dim"))

    def action_dismiss(self) -> None:
        self.dismiss()
