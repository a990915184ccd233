"""`--once --rules`: the firewall rules and their counters as JSON fields, CSV and text."""

from __future__ import annotations

import csv
import io
from typing import Optional

from ctwatch.engine.rules import RulesView
from ctwatch.model import format as fmt
from ctwatch.sources.safe_text import safe_cell

CSV_HEADER = (
    "backend",
    "family",
    "table",
    "chain",
    "position",
    "rule",
    "packets",
    "bytes",
    "conntrack",
)


def _r(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 3)


def _readable(view: Optional[RulesView]) -> bool:
    return view is not None and view.taken_at is not None and not view.denied


def rules_json(view: Optional[RulesView]) -> dict:
    """The `rules`, `rules_chains` and `rules_errors` fields (`rules` null when the
    ruleset could not be read: unknown, not empty)."""
    if not _readable(view):
        return {
            "rules": None,
            "rules_chains": None,
            "rules_errors": list(view.errors) if view else ["rules not read"],
        }
    return {
        "rules": [
            {
                "backend": r.rule.backend,
                "family": r.rule.family,
                "table": r.rule.table,
                "chain": r.rule.chain,
                "position": r.rule.position,
                "handle": r.rule.handle,
                "rule": r.rule.text,
                "packets": r.rule.packets,
                "bytes": r.rule.bytes,
                "conntrack": r.rule.conntrack,
                "packets_per_second": _r(r.pps),
                "bytes_per_second": _r(r.bps),
            }
            for r in view.rows
        ],
        "rules_chains": [
            {
                "backend": c.backend,
                "family": c.family,
                "table": c.table,
                "chain": c.name,
                "hook": c.hook,
                "policy": c.policy,
                "policy_packets": c.packets,
                "policy_bytes": c.bytes,
                "rules": c.rules,
                "counted": c.counted,
            }
            for c in view.chains
        ],
        "rules_errors": list(view.errors),
    }


def cell(value):
    """Printable, never a formula (a rule like `-p udp ...` starts with a minus)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else safe_cell(value)


def rules_csv(view: Optional[RulesView]) -> str:
    """One row per rule, in the view's order; empty counts where a rule has no counter."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for r in view.rows if _readable(view) else ():
        rule = r.rule
        writer.writerow(
            tuple(
                map(
                    cell,
                    (
                        rule.backend,
                        rule.family,
                        rule.table,
                        rule.chain,
                        rule.position,
                        rule.text,
                        rule.packets,
                        rule.bytes,
                        rule.conntrack,
                    ),
                )
            )
        )
    return out.getvalue()


def rules_text(view: Optional[RulesView]) -> list:
    """Lines of the text report: one rule a line, counts and the conntrack mark first."""
    if not _readable(view):
        return ["", "rules: " + "; ".join(view.errors if view else ("not read",))]
    lines = ["", f"{len(view.rows)} firewall rules ({', '.join(view.backends) or 'none'})"]
    lines.append(f"{'PACKETS':>9} {'BYTES':>9} CT BACKEND/FAMILY/TABLE/CHAIN#POS  RULE")
    for r in view.rows:
        rule = r.rule
        where = f"{rule.backend}/{rule.family}/{rule.table}/{rule.chain}#{rule.position}"
        lines.append(
            f"{fmt.count(rule.packets) if rule.packets is not None else '-':>9} "
            f"{fmt.count(rule.bytes) if rule.bytes is not None else '-':>9} "
            f"{'ct' if rule.conntrack else '  '} {where}  {rule.text}"
        )
    for chain in view.chains:
        if chain.policy and chain.packets is not None:  # iptables counts its policies
            lines.append(
                f"{fmt.count(chain.packets):>9} {fmt.count(chain.bytes):>9}    "
                f"{chain.backend}/{chain.family}/{chain.table}/{chain.name}  policy {chain.policy}"
            )
    for chain in view.uncounted:
        lines.append(
            f"no counter: {chain.uncounted} of {chain.rules} rules in "
            f"{chain.backend} {chain.family} {chain.table} {chain.name} (not shown as zero)"
        )
    for problem in view.errors:
        lines.append(f"warning  {problem}")
    return lines
