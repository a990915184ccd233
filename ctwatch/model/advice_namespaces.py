"""The advice's namespace parts: a namespace near its max, and the memory of every table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ctwatch.model.format import count as count_text
from ctwatch.model.format import human_bytes, percent

NEAR_FULL = 0.8


@dataclass(frozen=True)
class AdviceItem:
    """One piece of advice: what, why (with the numbers), and a command a user could run."""

    key: str  # drops | source | established_timeout | time_wait_timeout | max | buckets
    title: str  # one line
    reasoning: str
    command: Optional[str] = None  # copy-pastable; ctwatch never runs it


def _pct(part: float, whole: Optional[float]) -> str:
    return percent(part / whole if whole else None)


@dataclass(frozen=True)
class NamespaceLoad:
    """One namespace as the advice sees it (the engine lists them; no table is read)."""

    name: str
    entries: Optional[int]
    drop_rate: float = 0.0
    watch: str = ""  # the ctwatch option that watches it: `--netns NAME`, `--pid PID`
    watched: bool = False  # the one the rest of the advice is about


def namespace_items(namespaces: tuple, maximum: Optional[int]) -> list:
    """Each other namespace near or at the max: named, with the way to watch it."""
    items = []
    if not maximum:
        return items
    loaded = [n for n in namespaces if not n.watched and n.entries is not None]
    for ns in sorted(loaded, key=lambda n: (-n.drop_rate, -n.entries, n.name)):
        fill = ns.entries / maximum
        if not (ns.drop_rate > 0 or fill >= NEAR_FULL):
            continue
        state = (
            f"is full and dropping {ns.drop_rate:,.1f} packets/s"
            if ns.drop_rate > 0
            else f"is {_pct(ns.entries, maximum)} full"
        )
        items.append(
            AdviceItem(
                "netns",
                f"Namespace {ns.name} {state} ({count_text(ns.entries)} of {count_text(maximum)})",
                f"Its table fills on its own: the max applies to each namespace separately, "
                f"and this screen's count is another table's. Watch {ns.name}'s table to see "
                "which sources and states fill it (Enter on it in the namespaces view), and "
                "stop that source there. Raising the global max raises every namespace's "
                "limit, and the memory they may use with it (see below).",
                f"ctwatch {ns.watch}" if ns.watch else None,
            )
        )
    return items


def memory_item(namespaces, all_entries, maximum, per_entry, ram_bytes) -> AdviceItem:
    n = len(namespaces)
    now = all_entries * per_entry if all_entries is not None else None
    worst = n * maximum * per_entry if maximum else None
    held = (
        f"hold {count_text(all_entries)} entries in total now ({human_bytes(now)})"
        if all_entries is not None
        else "hold an unknown number of entries"
    )
    full = (
        f"; each may hold up to the max, {count_text(maximum)}, so all of them full would "
        f"use {human_bytes(worst)}" + (f" ({_pct(worst, ram_bytes)} of RAM)" if ram_bytes else "")
        if worst is not None
        else ""
    )
    return AdviceItem(
        "memory",
        f"{n:,} network namespaces {held}",
        f"Every namespace's table takes the same kernel memory, {per_entry} bytes an "
        f"entry{full}. Size the max for the namespaces this host runs, not for the host's "
        "own table alone.",
    )
