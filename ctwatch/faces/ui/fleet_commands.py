"""The fleet view's command table: keys, footer, `?` help and palette, as the host monitor's."""

from __future__ import annotations

from ctwatch.faces.ui.commands import Command, CommandsProvider

# Same keys as the host monitor where they mean the same thing (s, /, enter, esc, space,
# +/-, ?, q); [ and ] move in time here as they move through a replay there.
FLEET_COMMANDS = (
    Command("back", "escape", "back", "Back", "Back", "Leave the host.", key_display="esc"),
    Command(
        "drill",
        "enter",
        "drill",
        "Host",
        "Open the selected host",
        "Its states, sources, destinations, ports, namespaces and kernel stats over time.",
        key_display="enter",
        priority=True,
    ),
    Command(
        "filter",
        "slash",
        "filter",
        "Select",
        "Select hosts by label",
        'Prometheus label matchers, e.g. job="node",env=~"prod.*" (empty: every host).',
        key_display="/",
    ),
    Command(
        "sort",
        "s",
        "sort",
        "Sort",
        "Sort hosts",
        "By drops per second, by fill, or by time to full (soonest first), in turn.",
    ),
    Command(
        "pause",
        "space",
        "toggle_pause",
        "Pause",
        "Pause or resume the display",
        "Freeze the screen to read it; refreshes go on underneath.",
    ),
    Command(
        "slower",
        "plus",
        "interval(1)",
        "Interval",
        "Refresh less often",
        "Longer refresh interval (1 s to 5 min; -i sets the first, default 10 s).",
        key_display="+-",
        help_key="+",
    ),
    Command(
        "faster",
        "minus",
        "interval(-1)",
        "Interval",
        "Refresh more often",
        "Shorter refresh interval; each refresh is five queries, whatever the fleet's size.",
        show=False,
        key_display="-",
    ),
    Command(
        "earlier",
        "left_square_bracket",
        "cursor(1)",
        "Time",
        "Host: 5 minutes earlier",
        "[ and ] (or left and right) move the time cursor by 5 minutes, { and } by an hour, "
        "back over the last 6 hours; end returns to now.",
        key_display="[]",
        help_key="[ ]",
    ),
    Command(
        "later",
        "right_square_bracket",
        "cursor(-1)",
        "Later",
        "Host: 5 minutes later",
        "Move the time cursor 5 minutes toward now.",
        show=False,
    ),
    Command("earlier_arrow", "left", "cursor(1)", "Time", "Host: earlier", "", show=False),
    Command("later_arrow", "right", "cursor(-1)", "Later", "Host: later", "", show=False),
    Command(
        "hour_back",
        "left_curly_bracket",
        "cursor(12)",
        "Hour",
        "Host: an hour earlier",
        "Move the time cursor an hour back.",
        show=False,
    ),
    Command(
        "hour_on",
        "right_curly_bracket",
        "cursor(-12)",
        "Hour",
        "Host: an hour later",
        "Move the time cursor an hour toward now.",
        show=False,
    ),
    Command("now", "end", "cursor_now", "Now", "Host: back to now", "", show=False),
    Command("help", "question_mark", "help", "Help", "Help", "Keys and columns.", key_display="?"),
    Command("quit", "q", "quit", "Quit", "Quit", "Leave ctwatch (it only reads Prometheus)."),
)

FLEET_BINDINGS = [c.binding() for c in FLEET_COMMANDS]
HELP_ORDER = ("quit", "pause", "slower", "faster", "sort", "drill", "filter", "back", "earlier",
              "hour_back", "now", "help")  # fmt: skip


class FleetCommandsProvider(CommandsProvider):
    """The palette's view of the fleet's command table, offering only what works now."""

    commands = FLEET_COMMANDS

    def offered(self, command: Command) -> bool:
        return bool(command.help)
