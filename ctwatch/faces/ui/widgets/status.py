"""The status line: what is wrong right now (red), else what the last scan saw (dim)."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.widgets import Static

from ctwatch.engine.answers import Answers
from ctwatch.faces.ui.widgets.lines import Line
from ctwatch.model import format as fmt


class StatusLine(Static):
    def show(
        self, sample: Optional[Answers], *, paused_samples: Optional[int] = None, extra: str = ""
    ) -> None:
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        if paused_samples is not None:
            text.append(
                f"paused: display frozen, {paused_samples} polls collected since; space resumes",
                style="bold",
            )
            self.update(text, layout=False)
            return
        if sample is None:
            text.append("reading the conntrack table...", style="dim")
            self.update(text, layout=False)
            return
        problems = list(sample.problems)
        if problems:
            text.append("! " + "; ".join(problems), style="bold red")
            self.update(text, layout=False)
            return
        scan = sample.scan
        if scan is None:
            text.append("waiting for the first table scan", style="dim")
            if extra:
                text.append("  " + extra, style="dim")
            self.update(text, layout=False)
            return
        # Whole clauses only: a clause that does not fit is left out, never cut; numbers
        # are abbreviated (1.0M) before a clause is left out.
        line = self._scanned(sample, extra, fmt.count)
        if line.full:
            line = self._scanned(sample, extra, fmt.compact)
        self.update(line.text, layout=False)

    def _scanned(self, sample: Answers, extra: str, number) -> Line:
        scan = sample.scan
        line = Line(self.size.width or 80)
        style = "bold yellow" if scan.bad_lines else "dim"
        line.add((f"{number(scan.entries)} entries scanned", style))
        if scan.bad_lines:
            line.add((f", {number(scan.bad_lines)} unreadable lines skipped", style))
        if sample.next_scan_at is not None:
            due = sample.next_scan_at - sample.at
            line.add((f"; next scan {'now' if due <= 0.5 else 'in ' + fmt.seconds(due)}", style))
        if sample.baseline_at is not None:
            line.add((f"; changes since {fmt.clock(sample.baseline_at)}", style))
        if extra:
            line.add(("  " + extra, "dim"))
        return line
