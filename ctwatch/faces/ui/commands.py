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
        "home",
        "h",
        "go_home",
        "Home",
        "Back to the namespace ctwatch started on",
        "Leave the namespace chosen in the namespaces view; its own table again.",
    ),
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
    Command(
        "rules_zero",
        "z",
        "rules_zero",
        "Zero",
        "Rules: count from now",
        "The rules view counts packets from now, like iptables -Z (the kernel's stay as they are).",
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
    Command(
        "kernel",
        "k",
        "open_view('kernel')",
        "Kernel",
        "Kernel log: table full",
        "The kernel's 'table full, dropping packet' lines per minute, suppressed counts, netns.",
        show=False,
    ),
    Command(
        "growers",
        "t",
        "open_view('growers')",
        "Growers",
        "Top growers",
        "Sources and destinations that gained the most entries over 10 s, 60 s, since start.",
        show=False,
    ),
    Command(
        "expiry",
        "x",
        "open_view('expiry')",
        "Expiry",
        "Expiry by state",
        "Entries expiring within 10 s, 60 s, 5 min or later, beside the timeout sysctl.",
        show=False,
    ),
    Command(
        "snat",
        "n",
        "open_view('snat')",
        "SNAT",
        "SNAT addresses and ports",
        "Translated source addresses and port ranges (one more table read while open).",
        show=False,
    ),
    Command(
        "advice",
        "a",
        "open_view('advice')",
        "Advice",
        "Advice (read-only)",
        "Memory per entry, a max from RAM, buckets, timeouts: commands to copy, never applied.",
        show=False,
    ),
    Command(
        "rules",
        "f",
        "open_view('rules')",
        "Rules",
        "Firewall rules and counters",
        "nft and iptables rules by packets/s, bytes/s or position; conntrack rules marked ct.",
    ),
    Command(
        "namespaces",
        "N",
        "open_view('namespaces')",
        "Netns",
        "Network namespaces",
        "Every namespace's entries, fill, drops and last table-full; enter watches one's table.",
        key_display="N",
    ),
    Command(
        "jump",
        "j",
        "jump_netns",
        "Jump",
        "Watch the namespace the kernel log blames",
        "The namespace named by the newest 'table full in netns N' line: watch its table.",
        show=False,  # the incident line says "j: watch it" when it applies
    ),
    Command(
        "subnets",
        "b",
        "toggle_subnets",
        "Subnets",
        "Sources by subnet (/24, /64)",
        "The Sources panel rolls addresses up into /24 (IPv4) and /64 (IPv6) networks, or back.",
        show=False,
    ),
    Command(
        "export",
        "e",
        "export",
        "Export",
        "Export the view to CSV and JSON",
        "Writes the breakdowns (and a drill-down's entries) to timestamped files (--export-dir).",
        show=False,
    ),
    Command(
        "delete",
        "D",
        "delete_source",
        "Delete",
        "Delete this source's entries",
        "Only with --allow-delete: conntrack -D -s IP after a preview and a y/n confirmation.",
        key_display="D",
    ),
    Command(
        "seek_back",
        "left_square_bracket",
        "replay_seek(-10)",
        "Seek",
        "Replay: back 10 frames",
        "[ and ] jump 10 recorded frames, home and end to the start and the end.",
        key_display="[]",
        help_key="[ ]",
    ),
    Command(
        "seek_on",
        "right_square_bracket",
        "replay_seek(10)",
        "Seek",
        "Replay: on 10 frames",
        "Jump 10 recorded frames on.",
        show=False,
    ),
    Command(
        "seek_start",
        "home",
        "replay_seek_to(0)",
        "Start",
        "Replay: first frame",
        "Jump to the start of the recording.",
        show=False,
        priority=True,
    ),
    Command(
        "seek_end",
        "end",
        "replay_seek_to(-1)",
        "End",
        "Replay: last frame",
        "Jump to the end of the recording.",
        show=False,
        priority=True,
    ),
    Command(
        "slower_replay",
        "less_than_sign",
        "replay_speed(-1)",
        "Speed",
        "Replay: slower",
        "< and > change the playback speed (0.5x to 8x).",
        key_display="<>",
        help_key="< >",
    ),
    Command(
        "faster_replay",
        "greater_than_sign",
        "replay_speed(1)",
        "Speed",
        "Replay: faster",
        "Faster playback (up to 8x).",
        show=False,
    ),
)

BINDINGS = [c.binding() for c in COMMANDS]


class CommandsProvider(Provider):
    """The palette's view of the command table, offering only what works right now."""

    commands: tuple = COMMANDS  # the fleet view's provider offers its own table

    def offered(self, command: Command) -> bool:
        return True

    def _available(self):
        app = self.app
        for command in self.commands:
            if (
                self.offered(command)
                and app.command_state(command.action, self.screen) is not False
            ):
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
