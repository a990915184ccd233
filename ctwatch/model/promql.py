"""The fleet's PromQL: a validated label selector and the few aggregate queries built on it."""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_OPS = ("=~", "!~", "!=", "=")
_DURATION = re.compile(r"([0-9]{1,6})([smhd])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_SELECTOR = 2000
# The names a fleet row is read from; a selector may not choose among them itself.
RESERVED = ("__name__",)
TAG = "ctwatch_fleet"  # the label our `or` queries add to say which exporter answered


class SelectorError(ValueError):
    """A --selector that is not a list of label matchers."""


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def promql(self) -> str:
        return f"{self.name}{self.op}{quote(self.value)}"


def quote(value: str) -> str:
    """A PromQL double-quoted string holding exactly `value`."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def parse_selector(text: str) -> tuple:
    """`job="node",env=~"prod.*"` (braces optional) -> Matchers. Everything is re-rendered
    from the parsed parts, so no text of the user's reaches a query unparsed."""
    s = text.strip()
    if len(s) > MAX_SELECTOR:
        raise SelectorError(f"longer than {MAX_SELECTOR} characters")
    if s.startswith("{") and s.endswith("}"):
        s = s[1:-1].strip()
    out: list = []
    i = 0
    while i < len(s):
        m = _NAME.match(s, i)
        if not m:
            raise SelectorError(f"a label name expected at character {i + 1}")
        name, i = m.group(), m.end()
        if name in RESERVED:
            raise SelectorError(f"{name} is chosen by ctwatch, not the selector")
        i = _skip_space(s, i)
        op = next((o for o in _OPS if s.startswith(o, i)), None)
        if op is None:
            raise SelectorError(f"=, !=, =~ or !~ expected after {name}")
        i = _skip_space(s, i + len(op))
        value, i = _string(s, i)
        out.append(Matcher(name, op, value))
        i = _skip_space(s, i)
        if i < len(s):
            if s[i] != ",":
                raise SelectorError(f"',' expected at character {i + 1}")
            i = _skip_space(s, i + 1)
    return tuple(out)


def _skip_space(s: str, i: int) -> int:
    while i < len(s) and s[i] in " \t":
        i += 1
    return i


_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t"}


def _string(s: str, i: int) -> tuple:
    if i >= len(s) or s[i] != '"':
        raise SelectorError(f'a "quoted" value expected at character {i + 1}')
    out: list = []
    i += 1
    while i < len(s):
        c = s[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\\":
            if i + 1 >= len(s) or s[i + 1] not in _ESCAPES:
                raise SelectorError(f"unknown escape at character {i + 1}")
            out.append(_ESCAPES[s[i + 1]])
            i += 2
            continue
        if ord(c) < 0x20:
            raise SelectorError("control character in a value")
        out.append(c)
        i += 1
    raise SelectorError("unterminated quoted value")


def parse_duration(text: str) -> int:
    """`10m`, `1h`, `90s` (one unit) -> seconds; PromQL's own syntax for range windows."""
    m = _DURATION.fullmatch(text.strip())
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"not a duration like 90s, 10m or 1h: {text[:40]!r}")
    return int(m.group(1)) * _UNIT[m.group(2)]


def duration(seconds: int) -> str:
    """Seconds as a PromQL duration (the largest whole unit)."""
    for unit in ("d", "h", "m"):
        if seconds % _UNIT[unit] == 0:
            return f"{seconds // _UNIT[unit]}{unit}"
    return f"{seconds}s"


def selector(matchers: tuple, *extra: Matcher) -> str:
    return "{" + ",".join(m.promql() for m in (*extra, *matchers)) + "}"


def _name(*names: str) -> Matcher:
    if len(names) == 1:
        return Matcher("__name__", "=", names[0])
    return Matcher("__name__", "=~", "|".join(names))


def _tagged(expr: str, tag: str) -> str:
    return f'label_replace({expr}, "{TAG}", "{tag}", "", "")'


LEVELS = (
    "ctwatch_entries",
    "ctwatch_entries_limit",
    "node_nf_conntrack_entries",
    "node_nf_conntrack_entries_limit",
)
ENTRIES = ("ctwatch_entries", "node_nf_conntrack_entries")
DOWN_MEMORY = "1h"  # how long a host that stopped answering keeps its row, marked down


@dataclass(frozen=True)
class FleetQueries:
    """Every query of one fleet refresh: five, whatever the number of hosts."""

    levels: str  # instant: entries and limits of both exporters (names kept)
    drops: str  # instant: drops per second over the window, tagged by exporter
    slope: str  # instant: deriv (predict_linear's least-squares slope), tagged
    history: str  # range: entries of both exporters, for the sparklines
    down: str  # instant: last entries (1 h) of exporters whose scrape now fails, tagged


def fleet_queries(matchers: tuple, window: int) -> FleetQueries:
    w = duration(window)
    ct_drop = selector(matchers, Matcher("__name__", "=", "ctwatch_stat_total"))
    ct_drop = ct_drop[:-1] + ',stat="drop"}'
    node_drop = selector(matchers, _name("node_nf_conntrack_stat_drop"))
    drops = (
        _tagged(f"sum without (stat) (rate({ct_drop}[{w}]))", "ctwatch")
        + " or "
        + _tagged(f"rate({node_drop}[{w}])", "node_exporter")
    )
    slope = (
        _tagged(f"deriv({selector(matchers, _name('ctwatch_entries'))}[{w}])", "ctwatch")
        + " or "
        + _tagged(
            f"deriv({selector(matchers, _name('node_nf_conntrack_entries'))}[{w}])",
            "node_exporter",
        )
    )
    # A target that stops answering loses its series at the next failed scrape
    # (staleness markers): without this its row would silently vanish.
    down = " or ".join(
        _tagged(
            f"last_over_time({selector(matchers, _name(name))}[{DOWN_MEMORY}]) "
            f"and on (instance, job) ({selector(matchers, _name('up'))} == 0)",
            tag,
        )
        for name, tag in (
            ("ctwatch_entries", "ctwatch"),
            ("node_nf_conntrack_entries", "node_exporter"),
        )
    )
    return FleetQueries(
        levels=selector(matchers, _name(*LEVELS)),
        down=down,
        drops=drops,
        slope=slope,
        history=selector(matchers, _name(*ENTRIES)),
    )
