"""The command table: one list feeds the key bindings, the footer, `?` help and the palette."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Optional

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider


@dataclass(frozen=True)
class Command:
    id: str  # binding id: a keymap can rebind it
    key: str
    action: str  # an action of the app
    label: str  # footer
    title: str  # palette and help
    help: str
    show: bool = True
    key_display: Optional[str] = None
    priority: bool = False
    help_key: Optional[str] = None  # when the footer shows a pair (+/-) but this is one key

    def binding(self) -> Binding:
        return Binding(
            self.key,
            self.action,
            self.label,
            show=self.show,
            key_display=self.key_display,
            priority=self.priority,
            tooltip=self.help,
            id=self.id,
        )

    @property
    def keys_shown(self) -> str:
        return self.help_key or self.key_display or self.key


COMMANDS = (
    Command("back", "escape", "back", "Back", "Back", "Leave the drill-down.", key_display="esc"),
    Command(
        "drill",
        "enter",
        "drill",
        "Drill",
        "Open the selected row",
        "A source, destination, state, port or protocol gets its own view.",
        key_display="enter",
        priority=True,
    ),
    Command(
        "filter",
        "slash",
        "filter",
        "Find",
        "Drill into an address or filter",
        "An IP or CIDR (a source), or words like: dst 10.0.0.5 proto tcp dport 443.",
        key_display="/",
    ),
    Command(
        "sort",
        "s",
        "sort",
        "Sort",
        "Sort the focused panel",
        "Breakdowns: by count or by name. Entries: by timeout, state or destination.",
    ),
    Command(
        "pause",
        "space",
        "toggle_pause",
        "Pause",
        "Pause or resume the display",
        "Freeze the screen to read it; polling and history go on underneath.",
    ),
    Command(
        "slower",
        "plus",
        "interval(1)",
        "Interval",
        "Poll less often",
        "Longer poll interval (0.5 s to 60 s).",
        key_display="+-",
        help_key="+",
    ),
    Command(
        "faster",
        "minus",
        "interval(-1)",
        "Interval",
        "Poll more often",
        "Shorter poll interval. Full table scans still keep to the CPU budget.",
        show=False,
        key_display="-",
    ),
    Command(
        "reset",
        "r",
        "reset_baseline",
        "Reset",
        "Reset the change baseline",
        "+N/-N count from the scan on screen now (nothing in the kernel is reset).",
    ),
    Command("help", "question_mark", "help", "Help", "Help", "Keys and columns.", key_display="?"),
    Command("quit", "q", "quit", "Quit", "Quit", "Leave ctwatch (it never changes the kernel)."),
    Command(
        "rolling",
        "R",
        "rolling_baseline",
        "Per scan",
        "Changes since the previous scan",
        "+N/-N count from the previous scan again (the default).",
        show=False,
    ),
    Command(
        "graph",
        "g",
        "graph_scale",
        "Scale",
        "Graph scale: limit or min-max",
        "The count graph from 0 to the table limit, or zoomed to its own min and max.",
        show=False,
    ),
)

BINDINGS = [c.binding() for c in COMMANDS]


class CommandsProvider(Provider):
    """The palette's view of the command table, offering only what works right now."""

    def _available(self):
        app = self.app
        for command in COMMANDS:
            if app.command_state(command.action, self.screen) is not False:
                yield command

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._available():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.title),
                    partial(self.app.run_command, command),
                    help=f"{command.keys_shown}: {command.help}",
                )

    async def discover(self) -> Hits:
        for command in self._available():
            yield DiscoveryHit(
                command.title,
                partial(self.app.run_command, command),
                help=f"{command.keys_shown}: {command.help}",
            )
