"""The status line: what is wrong right now (red), else what the last scan saw (dim)."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.widgets import Static

from ctwatch.model.monitor_views import Sample
from ctwatch.ui import formatting as fmt


class StatusLine(Static):
    def show(
        self, sample: Optional[Sample], *, paused_samples: Optional[int] = None, extra: str = ""
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
        else:
            info = f"{fmt.count(scan.entries)} entries scanned"
            if scan.bad_lines:
                info += f", {fmt.count(scan.bad_lines)} unreadable lines skipped"
            if sample.next_scan_at is not None:
                due = sample.next_scan_at - sample.at
                info += f"; next scan {'now' if due <= 0.5 else 'in ' + fmt.seconds(due)}"
            if sample.baseline_at is not None:
                info += f"; changes since {fmt.clock(sample.baseline_at)}"
            text.append(info, style="bold yellow" if scan.bad_lines else "dim")
        if extra:
            text.append("  " + extra, style="dim")
        self.update(text, layout=False)
