"""The advice view, read-only: sizing numbers, what a user could change, why, and the command."""

from __future__ import annotations

from typing import Optional

from rich.console import Group, RenderableType
from rich.text import Text

from ctwatch.engine.answers import Answers
from ctwatch.faces.ui.screens.info_screen import InfoScreen, grid
from ctwatch.model import format as fmt
from ctwatch.model.advice import Advice, human_bytes


def advice_body(advice: Optional[Advice]) -> RenderableType:
    if advice is None:
        return Text("waiting for the counters", style="dim")
    head = Text("Advice only: ctwatch never applies any of it.\n", style="bold")
    numbers = grid("", "")
    numbers.show_header = False
    assumed = " (assumed: slabinfo unreadable)" if advice.bytes_per_entry_assumed else ""
    numbers.add_row("bytes per entry", f"{advice.bytes_per_entry}{assumed}")
    numbers.add_row("memory at the current max", human_bytes(advice.memory_at_current_max))
    suggested = fmt.count(advice.suggested_max) if advice.suggested_max else "?"
    numbers.add_row(
        "max suggested from RAM",
        f"{suggested} ({human_bytes(advice.memory_at_suggested_max)})",
    )
    numbers.add_row("hash table memory", human_bytes(advice.hash_memory))
    load = "?" if advice.load_factor is None else f"{advice.load_factor:.2f}"
    at_max = "?" if advice.load_factor_at_max is None else f"{advice.load_factor_at_max:.2f}"
    numbers.add_row("load factor now / at max", f"{load} / {at_max}")
    if advice.suggested_buckets:
        numbers.add_row("buckets suggested", fmt.count(advice.suggested_buckets))
    parts: list = [head, numbers, Text("")]
    for i, item in enumerate(advice.items, 1):
        parts.append(Text(f"{i}. {item.title}", style="bold"))
        parts.append(Text(item.reasoning))
        if item.command:
            command = item.command.replace("\n", "\n   ")  # one command a line
            parts.append(Text(f"   {command}", style="bold cyan"))
        parts.append(Text(""))
    return Group(*parts)


class AdviceScreen(InfoScreen):
    heading = "advice (read-only)"

    def body(self, sample: Answers) -> RenderableType:
        return advice_body(sample.advice)
