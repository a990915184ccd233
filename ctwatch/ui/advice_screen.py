"""The advice view, read-only: sizing numbers, what a user could change, why, and the command."""

from __future__ import annotations

from typing import Optional

from rich.console import Group, RenderableType
from rich.text import Text

from ctwatch.model.advice import Advice, advise, human_bytes
from ctwatch.model.monitor_views import Sample
from ctwatch.model.trend import drop_rate
from ctwatch.ui import formatting as fmt
from ctwatch.ui.info_screen import InfoScreen, grid


def ram_bytes() -> Optional[int]:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except Exception:
        return None


def sample_advice(sample: Sample, netns: Optional[str], ram: Optional[int]) -> Optional[Advice]:
    snap = sample.snapshot
    if snap is None:
        return None
    scan = sample.scan
    top_sources: tuple = ()
    states = None
    if scan is not None:
        src = sorted(scan.panels["src"].rows, key=lambda r: -r.count)
        top_sources = tuple((r.key, r.count) for r in src[:5])
        states = {r.key: r.count for r in scan.panels["state"].rows}
    tunables = sample.incident.tunables
    return advise(
        count=snap.count,
        maximum=snap.max,
        buckets=snap.buckets,
        slab_objsize=tunables.slab_objsize,
        ram_bytes=ram,
        timeouts=tunables.timeouts,
        top_sources=top_sources,
        states=states,
        drop_rate=drop_rate(sample.rates),
        entries=scan.entries if scan else None,
        netns=netns,
        legacy=snap.source == "proc-legacy",
    )


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
            parts.append(Text(f"   {item.command}", style="bold cyan"))
        parts.append(Text(""))
    return Group(*parts)


class AdviceScreen(InfoScreen):
    heading = "advice (read-only)"
    _ram: Optional[int] = None

    def opened(self) -> None:
        self._ram = ram_bytes()

    def body(self, sample: Sample) -> RenderableType:
        netns = getattr(self.app.monitor.source, "netns", None)
        return advice_body(sample_advice(sample, netns, self._ram))
