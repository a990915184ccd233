"""Firewall rules and their counters: nft JSON and iptables-save -c parsed into frozen rows."""

from __future__ import annotations

import contextlib
import gc
import json
import re
from dataclasses import dataclass
from typing import Optional

from ctwatch.model.nft_text import rule_text
from ctwatch.sources.safe_text import safe_line

BACKENDS = ("nft", "iptables-nft", "iptables-legacy")
NAME_LIMIT = 64  # table and chain names: nft allows 256 bytes, the screen does not
TEXT_LIMIT = 1000  # one rule's text (a long set literal is cut, never the counters)
# iptables-nft's tables hold only these built-in chains as base chains; a table of the
# same name made with nft(8) is "incompatible" and stays nft's.
IPTABLES_TABLES = frozenset(("filter", "nat", "raw", "mangle", "security"))
_IPT_CONNTRACK = re.compile(
    r"-m (?:state|conntrack|connlimit|helper|connmark|connbytes|connlabel|cluster)\b"
    r"|--ctstate\b|--state\b"
    r"|-j (?:NOTRACK|CT|SNAT|DNAT|MASQUERADE|REDIRECT|NETMAP|CONNMARK|SYNPROXY)\b"
)
_IPT_COUNTS = re.compile(r"\[([0-9]{1,20}):([0-9]{1,20})\]")
_IPT_INCOMPATIBLE = re.compile(r"# Table `([^']*)' (?:contains incompatible|is incompatible)")


@dataclass(frozen=True)
class Rule:
    """One rule where the kernel holds it, with its counters (None: no counter)."""

    backend: str  # nft, iptables-nft or iptables-legacy
    family: str  # ip, ip6, inet, arp, bridge, netdev (iptables: ip or ip6)
    table: str
    chain: str
    position: int  # 1-based within its chain
    handle: Optional[int]  # nft's handle; None for iptables
    text: str  # the rule as its tool writes it (printable, counters left out)
    packets: Optional[int]
    bytes: Optional[int]
    conntrack: bool  # matches or acts on conntrack (state, notrack, helpers, NAT, count)

    @property
    def key(self) -> tuple:
        """Identity across readings: nft's handle; for iptables the text and its position
        (a rule inserted above shifts positions: then its counts restart, never go wrong)."""
        where = (self.backend, self.family, self.table, self.chain)
        return where + ((self.handle,) if self.handle is not None else (self.position, self.text))


@dataclass(frozen=True)
class Chain:
    """A chain with its policy (base chains) and how many of its rules count packets."""

    backend: str
    family: str
    table: str
    name: str
    hook: Optional[str]  # nft base chains: input, prerouting...; iptables built-ins: None
    policy: Optional[str]  # ACCEPT/DROP (iptables), accept/drop (nft); None: user chain
    packets: Optional[int]  # policy counters (iptables only: nft keeps none)
    bytes: Optional[int]
    rules: int
    counted: int  # rules with a counter

    @property
    def uncounted(self) -> int:
        return self.rules - self.counted


@dataclass(frozen=True)
class Ruleset:
    rules: tuple = ()
    chains: tuple = ()
    backends: tuple = ()  # backends that hold at least one chain, in BACKENDS order
    errors: tuple = ()


_NAMES: dict = {}  # the few table, chain and family names, made printable once each


def _name(value) -> str:
    try:
        return _NAMES[value]
    except (KeyError, TypeError):
        pass
    shown = safe_line(value if isinstance(value, str) else str(value), NAME_LIMIT)
    if isinstance(value, str) and len(_NAMES) < 100_000:
        _NAMES[value] = shown
    return shown


def _uint(value) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


@contextlib.contextmanager
def _no_gc():
    """The cyclic collector off while a big ruleset is parsed: 20,000 rules make
    millions of objects, none of them cycles, and the collections it would run meanwhile
    cost 40 % of the parse (0.40 s -> 0.22 s measured on 20,000 nft rules)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def parse_nft_json(text: str, skip: frozenset = frozenset()) -> tuple:
    """(rules, chains, errors) of `nft -j list ruleset`. `skip`: (family, table) pairs
    another backend reports (iptables-nft's tables), left out so nothing counts twice."""
    with _no_gc():
        return _parse_nft_json(text, skip)


def _parse_nft_json(text: str, skip: frozenset) -> tuple:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        return (), (), (f"nft -j: not JSON ({exc})",)
    items = doc.get("nftables") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        return (), (), ("nft -j: no nftables list in its output",)
    chains: dict = {}
    named: dict = {}  # (family, table, name) -> (packets, bytes) of named counters
    rows: list = []
    for item in items:
        if not isinstance(item, dict) or len(item) != 1:
            continue
        ((kind, body),) = item.items()
        if not isinstance(body, dict):
            continue
        if kind == "counter":
            where = (body.get("family"), body.get("table"), body.get("name"))
            named[where] = (_uint(body.get("packets")), _uint(body.get("bytes")))
        elif kind == "chain":
            where = (body.get("family"), body.get("table"), body.get("name"))
            chains[where] = body
        elif kind == "rule":
            rows.append(body)
    rules = []
    per_chain: dict = {}
    for body in rows:
        family, table, chain = body.get("family"), body.get("table"), body.get("chain")
        if (family, table) in skip:
            continue
        text, conntrack, counters = rule_text(body.get("expr"), body.get("comment"))
        chain_body = chains.get((family, table, chain), {})
        if chain_body.get("type") == "nat":
            conntrack = True  # NAT chains see only a flow's first packet: conntrack's
        packets = size = None
        if counters:
            first = counters[0]
            if isinstance(first, dict):
                packets, size = _uint(first.get("packets")), _uint(first.get("bytes"))
            else:
                packets, size = named.get((family, table, first), (None, None))
        where = (family, table, chain)
        n, counted = per_chain.get(where, (0, 0))
        per_chain[where] = (n + 1, counted + (packets is not None))
        rules.append(
            Rule(
                "nft",
                _name(family),
                _name(table),
                _name(chain),
                n + 1,
                _uint(body.get("handle")),
                safe_line(text, TEXT_LIMIT),
                packets,
                size,
                conntrack,
            )
        )
    out_chains = []
    for (family, table, name), body in chains.items():
        if (family, table) in skip:
            continue
        n, counted = per_chain.get((family, table, name), (0, 0))
        policy = body.get("policy") if body.get("hook") else None
        out_chains.append(
            Chain(
                "nft",
                _name(family),
                _name(table),
                _name(name),
                _name(body["hook"]) if body.get("hook") else None,
                _name(policy) if policy else None,
                None,
                None,
                n,
                counted,
            )
        )
    return tuple(rules), tuple(out_chains), ()


def parse_iptables_save(text: str, backend: str, family: str) -> tuple:
    """(rules, chains, tables, incompatible) of `iptables-save -c` (or ip6tables-save):
    `tables` the table names it printed, `incompatible` those iptables-nft refused (nft
    tables it cannot show: their rules are nft's, the built-in chains it prints are not)."""
    with _no_gc():
        return _parse_iptables_save(text, backend, family)


def _parse_iptables_save(text: str, backend: str, family: str) -> tuple:
    rules: list = []
    chains: dict = {}
    order: list = []
    tables: list = []
    incompatible = set()
    table = ""
    positions: dict = {}
    for line in text.splitlines():
        if not line:
            continue
        first = line[0]
        if first == "#":
            found = _IPT_INCOMPATIBLE.match(line)
            if found:
                incompatible.add(found.group(1))
            continue
        if first == "*":
            table = _name(line[1:].strip())
            tables.append(table)
            continue
        if first == ":":
            # :INPUT ACCEPT [12:3456]  or  :custom - [0:0]
            parts = line[1:].split(" ", 2)
            name = _name(parts[0])
            policy = parts[1] if len(parts) > 1 and parts[1] != "-" else None
            counts = _IPT_COUNTS.match(parts[2]) if len(parts) > 2 else None
            chains[(table, name)] = [
                _name(policy) if policy else None,
                int(counts.group(1)) if counts and policy else None,
                int(counts.group(2)) if counts and policy else None,
                0,
            ]
            order.append((table, name))
            continue
        if first == "[":
            counts = _IPT_COUNTS.match(line)
            if counts is None:
                continue
            rest = line[counts.end() :].lstrip()
            packets, size = int(counts.group(1)), int(counts.group(2))
        elif line.startswith("-A "):
            rest, packets, size = line, None, None
        else:
            continue  # COMMIT and anything newer versions add
        if not rest.startswith("-A "):
            continue
        chain, _, body = rest[3:].partition(" ")
        chain = _name(chain)
        where = (table, chain)
        position = positions.get(where, 0) + 1
        positions[where] = position
        if where in chains:
            chains[where][3] += 1
        conntrack = table == "nat" or _IPT_CONNTRACK.search(body) is not None
        rules.append(
            Rule(
                backend,
                family,
                table,
                chain,
                position,
                None,
                safe_line(body, TEXT_LIMIT),
                packets,
                size,
                conntrack,
            )
        )
    if incompatible:
        rules = [r for r in rules if r.table not in incompatible]
    out_chains = tuple(
        Chain(backend, family, t, n, None, p, pk, b, count, count)
        for (t, n), (p, pk, b, count) in ((w, chains[w]) for w in order)
        if t not in incompatible
    )
    return tuple(rules), out_chains, tuple(tables), frozenset(incompatible)


def merge(outputs: tuple, errors: tuple = ()) -> Ruleset:
    """One Ruleset from the raw outputs of a reading: (backend, family, text) triples,
    family None for nft. iptables-nft's tables are taken from iptables-nft-save, not
    from nft's listing of the same tables."""
    rules: list = []
    chains: list = []
    problems = list(errors)
    nft_managed = set()
    for backend, family, text in outputs:
        if backend == "nft":
            continue
        r, c, tables, incompatible = parse_iptables_save(text, backend, family)
        rules += r
        chains += c
        if backend == "iptables-nft":
            nft_managed.update((family, t) for t in tables if t not in incompatible)
    for backend, _family, text in outputs:
        if backend == "nft":
            r, c, errs = parse_nft_json(text, frozenset(nft_managed))
            rules += r
            chains += c
            problems += errs
    held = {c.backend for c in chains}
    ordered = sorted(rules, key=lambda r: BACKENDS.index(r.backend))
    ordered_chains = sorted(chains, key=lambda c: BACKENDS.index(c.backend))
    return Ruleset(
        tuple(ordered),
        tuple(ordered_chains),
        tuple(b for b in BACKENDS if b in held),
        tuple(problems),
    )
