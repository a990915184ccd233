"""One conntrack entry, fully parsed from any layout the kernel or conntrack(8) prints."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

from ctwatch.model.badline import explain

L3_NAMES = frozenset(("ipv4", "ipv6", "unknown"))
FLAGS = frozenset(("[UNREPLIED]", "[ASSURED]", "[OFFLOAD]", "[HW_OFFLOAD]"))
_INT_TAIL_KEYS = frozenset(("mark", "secmark", "zone", "zone-orig", "zone-reply", "use"))


def display_addr(raw: str) -> str:
    """Compressed form of an address (/proc prints IPv6 exploded); anything else unchanged."""
    # Outside the cache: IPv4 needs no work, and caching 65,536 flood sources held ~12 MB.
    return _compressed_v6(raw) if ":" in raw else raw


@lru_cache(maxsize=4096)
def _compressed_v6(raw: str) -> str:
    try:
        return ipaddress.IPv6Address(raw).compressed
    except ValueError:
        return raw


@dataclass(frozen=True)
class Tuple:
    """One direction of a flow: addresses and the protocol's own identifiers."""

    src: str
    dst: str
    sport: Optional[int] = None
    dport: Optional[int] = None
    icmp_type: Optional[int] = None
    icmp_code: Optional[int] = None
    icmp_id: Optional[int] = None
    srckey: Optional[str] = None
    dstkey: Optional[str] = None
    packets: Optional[int] = None
    bytes: Optional[int] = None
    zone: Optional[int] = None


@dataclass(frozen=True)
class Entry:
    """A conntrack entry; fields absent from the line (offload, no accounting) are None."""

    l3: str
    l4: str
    l4num: int
    timeout: Optional[int]
    state: Optional[str]
    orig: Tuple
    reply: Optional[Tuple]
    flags: frozenset = frozenset()
    mark: Optional[int] = None
    secctx: Optional[str] = None
    secmark: Optional[int] = None
    zone: Optional[int] = None
    delta_time: Optional[int] = None
    use: Optional[int] = None
    gre_timeout: Optional[int] = None
    gre_stream_timeout: Optional[int] = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def unreplied(self) -> bool:
        return "[UNREPLIED]" in self.flags

    @property
    def assured(self) -> bool:
        return "[ASSURED]" in self.flags

    @property
    def offloaded(self) -> bool:
        return "[OFFLOAD]" in self.flags or "[HW_OFFLOAD]" in self.flags


class ParseError(ValueError):
    """A line that is not a conntrack entry."""


def _build_tuple(d: dict) -> Tuple:
    def num(key: str) -> Optional[int]:
        value = d.get(key)
        return None if value is None else int(value)

    if "src" not in d or "dst" not in d:
        raise ParseError("tuple without src/dst")
    return Tuple(
        src=display_addr(d["src"]),
        dst=display_addr(d["dst"]),
        sport=num("sport"),
        dport=num("dport"),
        icmp_type=num("type"),
        icmp_code=num("code"),
        icmp_id=num("id"),
        srckey=d.get("srckey"),
        dstkey=d.get("dstkey"),
        packets=num("packets"),
        bytes=num("bytes"),
        zone=num("zone"),
    )


def parse_line(line: str | bytes, check: bool = True) -> Entry:
    """Parse one line; raises ParseError when it is not a valid entry (model/badline.py
    says why; `check=False` for lines the scanner already accepted)."""
    reason = explain(line) if check else None
    if isinstance(line, bytes):
        line = line.decode("ascii", "replace")
    if reason is not None:
        raise ParseError(f"not a conntrack entry ({reason}): {line[:80]!r}")
    tokens = line.split()
    try:
        return _parse_tokens(tokens)
    except (IndexError, ValueError) as exc:
        raise ParseError(f"unparseable conntrack line: {line[:80]!r}") from exc


def _parse_tokens(tokens: list) -> Entry:
    i = 0
    l3 = None
    # Modern and `-o extended` lines start with the l3 name and number; legacy ones do not.
    if (
        tokens[0] in L3_NAMES
        and tokens[1].isdigit()
        and not tokens[2].isdigit()
        and "=" not in tokens[2]
    ):
        l3 = tokens[0]
        i = 2
    l4 = tokens[i]
    l4num = int(tokens[i + 1])
    i += 2
    timeout = None
    if tokens[i].isdigit():
        timeout = int(tokens[i])
        i += 1
    state = None
    if "=" not in tokens[i] and not tokens[i].startswith("["):
        state = tokens[i]
        i += 1
    gre_timeout = gre_stream = None
    if tokens[i].startswith("timeout="):
        gre_timeout = int(tokens[i][8:].rstrip(","))
        gre_stream = int(tokens[i + 1].split("=", 1)[1])
        i += 2
    tuples: list = []
    current: dict = {}
    flags = set()
    tail: dict = {}
    for tok in tokens[i:]:
        if tok in FLAGS:
            flags.add(tok)
            continue
        if tok.startswith("["):
            tail.setdefault("unknown_flags", []).append(tok)
            continue
        key, sep, value = tok.partition("=")
        if not sep:
            raise ParseError(f"stray token {tok!r}")
        if key == "src":
            if current:
                tuples.append(current)
            current = {"src": value}
        elif (
            key
            in (
                "dst",
                "sport",
                "dport",
                "type",
                "code",
                "id",
                "srckey",
                "dstkey",
                "packets",
                "bytes",
            )
            and current
            and len(tuples) < 2
        ):
            current[key] = value
        elif key in ("zone-orig", "zone-reply") and current:
            current["zone"] = value
        else:
            tail[key] = value
    if current:
        tuples.append(current)
    if not tuples or len(tuples) > 2:
        raise ParseError("expected one or two tuples")
    orig = _build_tuple(tuples[0])
    reply = _build_tuple(tuples[1]) if len(tuples) == 2 else None
    if l3 is None:
        l3 = "ipv6" if ":" in orig.src else "ipv4"
    extra = {
        k: v
        for k, v in tail.items()
        if k not in _INT_TAIL_KEYS and k not in ("secctx", "delta-time")
    }
    return Entry(
        l3=l3,
        l4=l4,
        l4num=l4num,
        timeout=timeout,
        state=state,
        orig=orig,
        reply=reply,
        flags=frozenset(flags),
        mark=_int_or_none(tail.get("mark")),
        secctx=tail.get("secctx"),
        secmark=_int_or_none(tail.get("secmark")),
        zone=_int_or_none(tail.get("zone")),
        delta_time=_int_or_none(tail.get("delta-time")),
        use=_int_or_none(tail.get("use")),
        gre_timeout=gre_timeout,
        gre_stream_timeout=gre_stream,
        extra=extra,
    )


def _int_or_none(value: Optional[str]) -> Optional[int]:
    return None if value is None else int(value)
