"""The --allow-delete confirmation: the preview count and the exact command, y or n."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from ctwatch.model import format as fmt


class DeleteConfirm(ModalScreen):
    """Dismisses with True on y, False on n or esc."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes, delete"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, ip: str, count: Optional[int], command: str) -> None:
        super().__init__()
        self.ip, self.count, self.command = ip, count, command

    def compose(self) -> ComposeResult:
        text = Text()
        text.append(f"Delete every conntrack entry from {self.ip}?\n\n", style="bold")
        shown = "an unknown number of" if self.count is None else fmt.count(self.count)
        text.append(f"The last scan saw {shown} entries from it. This runs:\n\n")
        text.append(f"  {self.command}\n\n", style="bold cyan")
        text.append("Their flows lose their state (NAT mappings included) and are tracked\n")
        text.append("anew from their next packet. The attempt is logged.\n\n")
        text.append("y", style="bold")
        text.append(" delete   ")
        text.append("n", style="bold")
        text.append(" / esc keep them")
        with Vertical(id="delete-box") as box:
            box.border_title = "delete entries"
            yield Static(text)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
