"""Why a table line is not an entry: the short reason `--once --json` shows in bad_examples."""

from __future__ import annotations

import re
from typing import Optional

from ctwatch.model.grammar import (
    EITHER,
    L3_NUMBERS,
    L4_NUMBERS,
    OCTET,
    PORT,
    STATES,
    STRICT_RE,
    TIMEOUT,
    V4_SHAPE,
    V6_SHAPE,
    bad_addresses,
    bad_combos,
    bad_ports,
)

_L4_NAMES = set(L4_NUMBERS) | {"unknown"}
_TOKEN = re.compile(rb"([^ ]+) +")
_VALUE = re.compile(rb"[^ ]*")
_OCTET = re.compile(OCTET)
_PORT = re.compile(PORT)
_TIMEOUT = re.compile(TIMEOUT)
_GRE_TIMEOUTS = re.compile(rb"timeout=\d{1,10}, stream_timeout=\d{1,10} +")
_GRE_KEY = re.compile(rb"0x[0-9a-f]{1,8}")
_SHAPES = {"ipv4": re.compile(V4_SHAPE), "ipv6": re.compile(V6_SHAPE)}
_ANY_SHAPE = re.compile(EITHER)
_NAMES = {"src": "source address", "dst": "destination address"}
_UNPRINTABLE = re.compile(rb"[^ -~]")


class _Bad(Exception):
    """Carries the reason out of the walk."""


def explain(line: bytes) -> Optional[str]:
    """None when `line` is an entry the scanner counts; else a short reason."""
    if isinstance(line, str):
        line = line.encode("utf-8", "surrogateescape")
    if line.endswith(b"\n"):
        line = line[:-1]
    if not line:
        return "empty line"
    m = STRICT_RE.fullmatch(line + b"\n")
    if (
        m is not None
        and not bad_combos([m["combo"]])
        and not bad_ports([m["dport"] or b""])
        and not bad_addresses([m["src"], m["dst"]])
    ):
        return None
    try:
        _walk(line)
    except _Bad as exc:
        return str(exc)
    return "malformed line"


def _walk(line: bytes) -> None:
    """Field by field, as the scanner's regex reads them; raises _Bad at the first fault."""
    pos = 0
    family = None
    tokens = _tokens(line, 3)
    first = tokens[0].group(1) if tokens else b""
    third = tokens[2].group(1).decode("latin-1") if len(tokens) == 3 else ""
    if first in (b"ipv4", b"ipv6") or (first == b"unknown" and third in _L4_NAMES):
        _need(len(tokens) == 3, "no source address")
        number = tokens[1].group(1)
        if first == b"unknown":
            _need(_OCTET.fullmatch(number), "bad l3 protocol number")
        else:
            family = first.decode()
            _need(number == L3_NUMBERS[family].encode(), "bad l3 protocol number")
        pos = tokens[2].start()
    m = _TOKEN.match(line, pos)
    _need(m is not None, "not a conntrack line")
    l4 = m.group(1).decode("latin-1")
    if l4 not in _L4_NAMES:
        raise _Bad("not a conntrack line" if pos == 0 else "unknown protocol name")
    m = _TOKEN.match(line, m.end())
    _need(m is not None, "no source address")
    number = m.group(1)
    if l4 == "unknown":
        _need(_OCTET.fullmatch(number), "bad protocol number")
    else:
        _need(number == L4_NUMBERS[l4].encode(), "bad protocol number")
    pos = m.end()
    m = _TOKEN.match(line, pos)
    if m and m.group(1)[:1] in b"0123456789-+":
        _need(_TIMEOUT.fullmatch(m.group(1)), "bad timeout")
        pos = m.end()
        m = _TOKEN.match(line, pos)
    if m and m.group(1)[:1].isupper():
        _need(m.group(1).decode("latin-1") in STATES.get(l4, ()), "bad state")
        pos = m.end()
    if l4 == "gre" and line.startswith(b"timeout=", pos):
        m = _GRE_TIMEOUTS.match(line, pos)
        _need(m is not None, "bad gre timeouts")
        pos = m.end()
    pos = _address(line, pos, "src", family, first=True)
    pos = _address(line, pos, "dst", family)
    if l4 in ("tcp", "udp", "udplite", "sctp", "dccp"):
        pos = _field(line, pos, "sport", _PORT, "no ports")
        pos = _field(line, pos, "dport", _PORT, "no ports")
    elif l4 in ("icmp", "icmpv6"):
        pos = _field(line, pos, "type", _OCTET, "no icmp type")
        pos = _field(line, pos, "code", _OCTET, "no icmp code")
        pos = _field(line, pos, "id", _PORT, "no icmp id")
    elif l4 == "gre":
        pos = _field(line, pos, "srckey", _GRE_KEY, "no gre keys")
        pos = _field(line, pos, "dstkey", _GRE_KEY, "no gre keys")
    _tail(line, pos)


def _tokens(line: bytes, n: int) -> list:
    """Up to n leading tokens (each followed by spaces) as match objects."""
    out: list = []
    pos = 0
    while len(out) < n:
        m = _TOKEN.match(line, pos)
        if m is None:
            break
        out.append(m)
        pos = m.end()
    return out


def _need(ok, reason: str) -> None:
    if not ok:
        raise _Bad(reason)


def _address(line: bytes, pos: int, key: str, family: Optional[str], first=False) -> int:
    prefix = (key + "=").encode() if first else (" " + key + "=").encode()
    if not line.startswith(prefix, pos):
        raise _Bad("no source address" if first else f"no {key}= after src")
    start = pos + len(prefix)
    value = _VALUE.match(line, start).group(0)
    shape = _SHAPES.get(family, _ANY_SHAPE)
    _need(shape.fullmatch(value) and not bad_addresses([value]), f"bad {_NAMES[key]}")
    return start + len(value)


def _field(line: bytes, pos: int, key: str, pattern, missing: str) -> int:
    prefix = (" " + key + "=").encode()
    _need(line.startswith(prefix, pos), missing)
    start = pos + len(prefix)
    value = _VALUE.match(line, start).group(0)
    if pattern.fullmatch(value):
        return start + len(value)
    if pattern is _PORT:
        _need(not value.startswith(b"-"), "negative port")
        _need(not value.isdigit() or value.startswith(b"0"), "port out of range")
    _need(not value.isdigit(), f"bad {key}")
    head = pattern.match(value)
    _need(not head or head.end() == 0, f"garbage after {key}")
    raise _Bad(f"bad {key}")


def _tail(line: bytes, pos: int) -> None:
    _need(pos == len(line) or line[pos : pos + 1] == b" ", "garbage after the tuple")
    m = _UNPRINTABLE.search(line, pos)
    if m is not None:
        token = line[line.rfind(b" ", 0, m.start()) + 1 : m.start()]
        key = token.split(b"=", 1)[0] if b"=" in token else b""
        where = f" in {key.decode()}" if re.fullmatch(rb"[a-z][a-z-]*", key) else ""
        raise _Bad(("non-ASCII byte" if m.group(0) >= b"\x80" else "control byte") + where)
