"""Rule counters between readings: rates per second, counts since a baseline, and the sorts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ctwatch.model.rules import Rule, Ruleset

SORTS = ("pps", "bps", "position")
SORT_TITLES = {"pps": "packets/s", "bps": "bytes/s", "position": "position"}


@dataclass(frozen=True)
class RuleRow:
    """A rule as the view shows it. None where the rule has no counter, or no earlier
    reading to compare with."""

    rule: Rule
    pps: Optional[float]
    bps: Optional[float]
    packets: Optional[int]  # since the baseline (the first reading until `z`)
    bytes: Optional[int]


def counts(ruleset: Optional[Ruleset]) -> dict:
    """rule key -> (packets, bytes), for rules with a counter."""
    if ruleset is None:
        return {}
    return {r.key: (r.packets, r.bytes) for r in ruleset.rules if r.packets is not None}


def _since(now: int, then: Optional[int]) -> int:
    # A counter that went down was reset (iptables -Z, the rule replaced): count from 0.
    return now if then is None or now < then else now - then


def rule_rows(
    ruleset: Ruleset,
    before: dict,
    span: Optional[float],
    baseline: dict,
    sort: str = "pps",
) -> tuple:
    """Every rule of `ruleset` with its rates over `span` seconds since the counts
    `before` (counts() of the previous reading), and its counts since `baseline`."""
    rows = []
    for rule in ruleset.rules:
        if rule.packets is None:
            rows.append(RuleRow(rule, None, None, None, None))
            continue
        key = rule.key
        pps = bps = None
        old = before.get(key)
        if old is not None and span and span > 0 and rule.packets >= old[0]:
            pps = (rule.packets - old[0]) / span
            bps = (
                (rule.bytes - old[1]) / span
                if rule.bytes is not None and old[1] is not None
                else None
            )
        base = baseline.get(key)
        packets = _since(rule.packets, base[0] if base else 0)
        size = None
        if rule.bytes is not None:
            size = _since(rule.bytes, base[1] if base else 0)
        rows.append(RuleRow(rule, pps, bps, packets, size))
    return sort_rows(rows, sort)


def sort_rows(rows, sort: str) -> tuple:
    """By packets or bytes per second, largest first (no rate: last), or as the kernel
    holds them. Python's sort is stable: equal rates stay in ruleset order."""
    if sort == "pps":
        return tuple(sorted(rows, key=lambda r: -(r.pps if r.pps is not None else -1.0)))
    if sort == "bps":
        return tuple(sorted(rows, key=lambda r: -(r.bps if r.bps is not None else -1.0)))
    return tuple(rows)


def uncounted_chains(ruleset: Ruleset) -> tuple:
    """Chains holding rules none of whose packets are counted (nft rules without a
    `counter` statement): each is named, never shown as zero."""
    return tuple(c for c in ruleset.chains if c.rules and c.uncounted)
