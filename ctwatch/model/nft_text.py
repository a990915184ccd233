"""nftables JSON rule expressions written back as nft syntax, noting what involves conntrack."""

from __future__ import annotations

import json

# Statements that need conntrack: they act on the tracked flow or exist only with it
# (NAT is done by conntrack: the first packet's translation is stored in its entry).
CONNTRACK_STATEMENTS = frozenset(
    (
        "notrack",
        "snat",
        "dnat",
        "masquerade",
        "redirect",
        "ct helper",
        "ct count",
        "ct expectation",
        "ct timeout",
        "synproxy",
        "flow",
    )
)
VERDICTS = frozenset(("accept", "drop", "continue", "return", "queue"))
_OPS_SHOWN_BARE = frozenset(("==", "in"))  # nft prints the implicit comparison as nothing
MAX_PIECE = 400  # one unknown expression shown as compact JSON, cut here


class Walk:
    """Rendering state of one rule: whether anything in it involves conntrack."""

    __slots__ = ("conntrack",)

    def __init__(self) -> None:
        self.conntrack = False


def _json(value) -> str:
    text = json.dumps(value, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= MAX_PIECE else text[: MAX_PIECE - 3] + "..."


def expr(value, walk: Walk) -> str:
    """One expression (the left or right side of a match, a statement's argument)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        # A list on the right of `in` is a set of flags: ct state established,related.
        return ",".join(expr(v, walk) for v in value)
    if not isinstance(value, dict) or len(value) != 1:
        return _json(value)
    ((key, arg),) = value.items()
    if key == "payload" and isinstance(arg, dict):
        if "protocol" in arg:
            return f"{arg['protocol']} {arg.get('field', '?')}"
        return f"@{arg.get('base', '?')},{arg.get('offset', '?')},{arg.get('len', '?')}"
    if key == "meta" and isinstance(arg, dict):
        return f"meta {arg.get('key', '?')}"
    if key == "ct" and isinstance(arg, dict):
        walk.conntrack = True
        where = f"{arg['dir']} " if arg.get("dir") else ""
        family = f"{arg['family']} " if arg.get("family") else ""
        return f"ct {where}{family}{arg.get('key', '?')}"
    if key == "prefix" and isinstance(arg, dict):
        return f"{expr(arg.get('addr'), walk)}/{arg.get('len')}"
    if key == "range" and isinstance(arg, list) and len(arg) == 2:
        return f"{expr(arg[0], walk)}-{expr(arg[1], walk)}"
    if key == "set":
        items = arg if isinstance(arg, list) else [arg]
        return "{ " + ", ".join(expr(v, walk) for v in items) + " }"
    if key == "concat" and isinstance(arg, list):
        return " . ".join(expr(v, walk) for v in arg)
    if key in ("&", "|", "^", "<<", ">>") and isinstance(arg, list) and len(arg) == 2:
        return f"{expr(arg[0], walk)} {key} {expr(arg[1], walk)}"
    if key == "elem" and isinstance(arg, dict):
        return expr(arg.get("val"), walk)
    if key == "map" and isinstance(arg, dict):
        return f"{expr(arg.get('key'), walk)} map {expr(arg.get('data'), walk)}"
    if key in ("fib", "rt", "socket", "osf", "exthdr", "tcp option", "numgen", "jhash"):
        return f"{key} {_json(arg)}"
    return f"{key} {_json(arg)}"


def _nat(key: str, arg, walk: Walk) -> str:
    if not isinstance(arg, dict):
        return key
    out = key
    if key in ("snat", "dnat") and "addr" in arg:
        family = f"{arg['family']} " if arg.get("family") else ""
        out += f" {family}to {expr(arg['addr'], walk)}"
        if "port" in arg:
            out += f":{expr(arg['port'], walk)}"
    elif "port" in arg:
        out += f" to :{expr(arg['port'], walk)}"
    if arg.get("flags"):
        out += " " + expr(arg["flags"], walk)
    return out


def statement(stmt, walk: Walk, counters: list) -> str:
    """One statement of a rule as nft writes it. A counter's numbers go to `counters`
    ([packets, bytes], or the name of a named counter) instead of into the text."""
    if not isinstance(stmt, dict) or len(stmt) != 1:
        return _json(stmt)
    ((key, arg),) = stmt.items()
    if key in CONNTRACK_STATEMENTS:
        walk.conntrack = True
    if key == "match" and isinstance(arg, dict):
        op = arg.get("op", "==")
        left, right = expr(arg.get("left"), walk), expr(arg.get("right"), walk)
        return f"{left} {right}" if op in _OPS_SHOWN_BARE else f"{left} {op} {right}"
    if key == "counter":
        counters.append(arg)
        return "counter" if not isinstance(arg, str) else f'counter name "{arg}"'
    if key in VERDICTS:
        return key
    if key in ("jump", "goto") and isinstance(arg, dict):
        return f"{key} {arg.get('target', '?')}"
    if key in ("snat", "dnat", "masquerade", "redirect"):
        return _nat(key, arg, walk)
    if key == "notrack":
        return "notrack"
    if key == "limit" and isinstance(arg, dict):
        over = "over " if arg.get("inv") else ""
        unit = "" if arg.get("rate_unit", "packets") == "packets" else f" {arg['rate_unit']}"
        burst = f" burst {arg['burst']} packets" if arg.get("burst") else ""
        return f"limit rate {over}{arg.get('rate')}{unit}/{arg.get('per', 'second')}{burst}"
    if key == "ct count" and isinstance(arg, dict):
        return f"ct count {'over ' if arg.get('inv') else ''}{arg.get('val')}"
    if key == "ct helper":
        return f'ct helper set "{expr(arg, walk)}"'
    if key == "mangle" and isinstance(arg, dict):
        return f"{expr(arg.get('key'), walk)} set {expr(arg.get('value'), walk)}"
    if key == "log":
        if isinstance(arg, dict) and "prefix" in arg:
            return f'log prefix "{arg["prefix"]}"'
        return "log"
    if key == "reject":
        kind = f" with {arg.get('type')}" if isinstance(arg, dict) and arg.get("type") else ""
        return f"reject{kind}"
    if key == "meter" and isinstance(arg, dict):
        inner = statement(arg.get("stmt"), walk, [])
        return f"meter {arg.get('name', '?')} {{ {expr(arg.get('key'), walk)} {inner} }}"
    if key == "set" and isinstance(arg, dict):
        return f"{arg.get('op', 'add')} {arg.get('set', '?')} {{ {expr(arg.get('elem'), walk)} }}"
    if key == "xt" and isinstance(arg, dict):
        # iptables-nft's compat extensions; conntrack ones carry the match's name.
        name = str(arg.get("name", "?"))
        if name in ("conntrack", "state", "connlimit", "helper", "CT", "NOTRACK", "connmark"):
            walk.conntrack = True
        return f"xt {arg.get('type', '?')} {name}"
    return f"{key} {_json(arg)}" if arg is not None else key


def rule_text(exprs, comment=None) -> tuple:
    """(text, conntrack, counters) of one rule's `expr` list."""
    walk = Walk()
    counters: list = []
    parts = [statement(s, walk, counters) for s in exprs] if isinstance(exprs, list) else []
    if comment:
        parts.append(f'comment "{comment}"')
    return " ".join(parts), walk.conntrack, counters
