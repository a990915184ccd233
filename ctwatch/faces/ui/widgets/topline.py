"""The top line: host, source, poll interval, age and cost of the last scan, PAUSED."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.widgets import Static

from ctwatch.engine.answers import Answers
from ctwatch.faces.ui.glyphs import Glyphs
from ctwatch.model import format as fmt


def scan_age(sample: Answers) -> str:
    scan = sample.scan
    if scan is None:
        return "no scan yet" if sample.table_error is None else "no table"
    age = max(0.0, sample.at - scan.finished)
    when = "just now" if age < 0.5 else f"{fmt.seconds(age)} ago"
    return f"scan {when}, {fmt.seconds(scan.cost)} CPU"


class TopLine(Static):
    """One line; the least important parts are left out first on a narrow terminal."""

    def show(
        self,
        sample: Optional[Answers],
        *,
        host: str,
        glyphs: Glyphs,
        paused: bool,
        where: str = "",
        speed: float = 1.0,
        interval: float = 1.0,
    ) -> None:
        width = max(1, self.size.width or 80)
        text = Text(no_wrap=True, overflow="crop", end="")
        if paused:
            text.append(" PAUSED ", style="bold reverse")
            text.append(" ")
        label = sample.source_label if sample else "starting"
        # The namespace watched, always: its numbers are not the host's.
        away = sample is not None and not sample.watched.initial
        if away:
            label = f"netns {sample.watched.name}"
        elif sample is not None and sample.watched.inode is not None and label[:6] != "netns ":
            label = f"netns host ({label})"  # the source path goes first when short
        replay = ""
        playback = sample.playback if sample is not None else None
        if playback is not None and playback.replay:
            replay = f"frame {playback.position + 1}/{playback.frames} {speed:g}x"
        clock = fmt.clock(sample.snapshot.taken_at) if sample and sample.snapshot else ""
        parts = {
            "name": ("ctwatch", "bold"),
            "host": (host, ""),
            "label": ("", ""),
            "where": (where, "bold"),
            "interval": (f"every {fmt.interval(interval)}", ""),
            "replay": (replay, "bold"),
            "scan": (scan_age(sample) if sample else "", ""),
            "clock": (clock, "dim"),
        }
        parts = {k: v for k, v in parts.items() if v[0] or k == "label"}
        sep = len(glyphs.sep)

        def used() -> int:
            return len(text) + sum(len(p) + sep for p, _ in parts.values()) - sep

        # On a short line the clock goes first, then the program name, the host, the
        # interval, the scan age and the replay frame: parts go whole, never cut. The
        # source label keeps up to 30 cells, at least 8 (shortened: it is a name).
        if " (" in label and len(label) > 40:
            label = label[: label.index(" (")]  # a replay's file path goes first
        reserve = min(30, len(label))
        for name in ("clock", "name", "host", "interval", "scan", "replay"):
            if used() + (reserve if name in ("clock", "name", "host") else 8) <= width:
                break
            parts.pop(name, None)
        room = width - used()
        if " (" in label and len(label) > room:
            label = label[: label.index(" (")]  # the path before the namespace's name
        parts["label"] = (fmt.shorten(label, max(8, room), glyphs.ellipsis), "bold" if away else "")
        for i, (part, style) in enumerate(parts.values()):
            if i:
                text.append(glyphs.sep, style="dim")
            text.append(part, style=style)
        self.update(text, layout=False)
