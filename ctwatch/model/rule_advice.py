"""Advice that names the firewall rule to add, for the backend in use; shown, never run."""

from __future__ import annotations

import shlex
from typing import Optional

from ctwatch.model.advice import AdviceItem
from ctwatch.model.format import count as count_text
from ctwatch.model.format import percent
from ctwatch.model.rules import Ruleset

DOMINANT_PORT_SHARE = 0.5  # one UDP port holding half the table
HALF_OPEN_SHARE = 0.5
MANY_SOURCES = 100  # distinct sources that make a half-open table a flood, not one peer
MIN_ENTRIES = 100  # below this no table is "dominated" by anything worth a rule
NEW_RATE = 200  # new connections per second the suggested limit lets through
HALF_OPEN = ("SYN_RECV", "SYN_SENT")
NOTRACK_NEEDS = (
    "Consequence: conntrack no longer sees that traffic. Its packets are UNTRACKED, so "
    "stateful rules (ct state / -m conntrack, an 'established,related accept') do not "
    "match them: allow the port statelessly, in both directions, or the service breaks; "
    "NAT is not applied to it, and it leaves the conntrack counts and this monitor."
)
MAX_ZERO_WARNING = (
    "Do not use the old trick of setting nf_conntrack_max to 0 instead: 0 means no "
    "limit, and a flood then grows the table until kernel memory runs out."
)


def backend_in_use(ruleset: Optional[Ruleset], available: tuple = ("nft",)) -> str:
    """The backend whose tool the commands use: the one holding the most rules (nft
    first on a tie), else the first tool installed."""
    if ruleset is not None and ruleset.rules:
        held: dict = {}
        for rule in ruleset.rules:
            held[rule.backend] = held.get(rule.backend, 0) + 1
        return max(held, key=lambda b: (held[b], b == "nft"))
    if ruleset is not None and ruleset.backends:
        return ruleset.backends[0]
    return available[0] if available else "nft"


def _cmd(prefix: tuple, *argv: str) -> str:
    return " ".join(shlex.quote(a) for a in (*prefix, *argv))


def _ipt(backend: str, six: bool) -> str:
    base = "ip6tables" if six else "iptables"
    return f"{base}-legacy" if backend == "iptables-legacy" else f"{base}-nft"


NOTRACK_TABLE = "untracked"  # nft's own word `notrack` cannot name a table
LIMIT_TABLE = "newlimit"
NFT_CHAIN = "{ type filter hook %s priority %s; }"


def notrack_commands(backend: str, port: int, prefix: tuple = ()) -> list:
    """Commands, shell-quoted, one per line: untrack UDP `port` before conntrack sees it
    (raw priority): inbound, and on output the local replies and local clients."""
    p = str(port)
    if backend == "nft":
        t = f"inet {NOTRACK_TABLE}"
        words = [
            f"add table {t}".split(),
            [*f"add chain {t} prerouting".split(), NFT_CHAIN % ("prerouting", "raw")],
            [*f"add chain {t} output".split(), NFT_CHAIN % ("output", "raw")],
            f"add rule {t} prerouting udp dport {p} notrack".split(),
            f"add rule {t} output udp sport {p} notrack".split(),
            f"add rule {t} output udp dport {p} notrack".split(),
        ]
        return [_cmd(prefix, "nft", *w) for w in words]
    out = []
    for six in (False, True):
        tool = _ipt(backend, six)
        for chain, side in (
            ("PREROUTING", "--dport"),
            ("OUTPUT", "--sport"),
            ("OUTPUT", "--dport"),
        ):
            rule = f"-t raw -I {chain} -p udp {side} {p} -j CT --notrack"
            out.append(_cmd(prefix, tool, *rule.split()))
    return out


def limit_commands(backend: str, port: Optional[int], prefix: tuple = ()) -> list:
    """Drop new TCP connections above NEW_RATE a second (to `port` when one dominates)
    before they are confirmed: a dropped packet's entry never enters the table."""
    rate = NEW_RATE
    if backend == "nft":
        t = f"inet {LIMIT_TABLE}"
        match = f"tcp dport {port}" if port else "meta l4proto tcp"
        words = [
            f"add table {t}".split(),
            [*f"add chain {t} input".split(), NFT_CHAIN % ("input", "-10")],
            f"add rule {t} input {match} ct state new limit rate over {rate}/second "
            f"burst {rate} packets drop".split(),
        ]
        return [_cmd(prefix, "nft", *w) for w in words]
    match = f"--dport {port} " if port else ""
    rule = (
        f"-I INPUT -p tcp {match}--syn -m conntrack --ctstate NEW -m hashlimit "
        f"--hashlimit-above {rate}/sec --hashlimit-burst {rate} "
        "--hashlimit-name ctwatch_new -j DROP"
    )
    return [_cmd(prefix, _ipt(backend, six), *rule.split()) for six in (False, True)]


def _has_notrack(ruleset: Ruleset, port: int) -> bool:
    needles = (f"dport {port} ", f"dport {port}\n", f"--dport {port} ")
    for rule in ruleset.rules:
        text = rule.text + "\n"
        if ("notrack" in text.lower()) and any(n in text for n in needles):
            return True
    return False


def _has_limit(ruleset: Ruleset) -> bool:
    for rule in ruleset.rules:
        text = rule.text
        limits = any(w in text for w in ("limit rate", "meter ", "hashlimit", "-m limit"))
        new = any(
            w in text
            for w in ("ct state new", "--ctstate NEW", "--state NEW", "--syn", "flags syn")
        )
        if limits and new:
            return True
    return False


def rule_advice(
    *,
    ruleset: Optional[Ruleset],
    backend: str,
    entries: Optional[int],
    udp_ports: tuple = (),
    tcp_ports: tuple = (),
    states: Optional[dict] = None,
    distinct_src: Optional[int] = None,
    prefix: tuple = (),
    ruleset_error: Optional[str] = None,
) -> tuple:
    """Items naming the rule to add when the table is dominated by traffic that need not
    be tracked (one UDP port), or flooded with half-open TCP from many sources, and no
    such rule exists. `udp_ports`/`tcp_ports`: ((port, entries), ...), largest first."""
    if not entries or entries < MIN_ENTRIES:
        return ()
    unknown = (
        f" The ruleset could not be read ({ruleset_error}): check that no such rule exists."
        if ruleset is None
        else ""
    )
    items = []
    if udp_ports:
        port, held = udp_ports[0]
        if held / entries >= DOMINANT_PORT_SHARE and (
            ruleset is None or not _has_notrack(ruleset, port)
        ):
            items.append(
                AdviceItem(
                    "notrack",
                    f"UDP port {port} holds {percent(held / entries)} of the table "
                    f"({count_text(held)} entries) and no rule exempts it from tracking",
                    f"A UDP service such as DNS or syslog gains nothing from a conntrack entry "
                    f"per client: each holds memory for the UDP timeout and, in a flood, fills the "
                    f"table. A notrack rule at raw priority ({backend}) keeps that traffic out of "
                    f"the table. {NOTRACK_NEEDS} {MAX_ZERO_WARNING}{unknown}",
                    "\n".join(notrack_commands(backend, port, prefix)),
                )
            )
    states = states or {}
    half_open = sum(states.get(s, 0) for s in HALF_OPEN)
    many = distinct_src is not None and distinct_src >= MANY_SOURCES
    if (
        half_open / entries >= HALF_OPEN_SHARE
        and many
        and (ruleset is None or not _has_limit(ruleset))
    ):
        port = (
            tcp_ports[0][0] if tcp_ports and tcp_ports[0][1] / entries >= HALF_OPEN_SHARE else None
        )
        target = f"port {port}" if port else "TCP"
        items.append(
            AdviceItem(
                "limit_new",
                f"Half-open TCP from {count_text(distinct_src)} sources holds "
                f"{percent(half_open / entries)} of the table, and no rule limits new connections",
                f"Handshakes that never complete, from many (often spoofed) sources: a SYN flood "
                f"on {target}. A rate limit on new connections ({backend}) drops them before "
                f"their entry is confirmed, so the table stops growing. Consequence: while the "
                f"flood lasts, genuine new connections above {NEW_RATE}/s are dropped too (set "
                f"the rate above your normal peak); established flows are not touched. "
                f"{MAX_ZERO_WARNING}{unknown}",
                "\n".join(limit_commands(backend, port, prefix)),
            )
        )
    return tuple(items)
