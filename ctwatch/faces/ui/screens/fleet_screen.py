"""The fleet screen: a top line (Prometheus, hosts, freshness or staleness) and the hosts table."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from ctwatch.engine.fleet import FleetAnswers
from ctwatch.faces.ui.widgets.fleet_table import FleetTable
from ctwatch.faces.ui.widgets.footer import Footer
from ctwatch.model import format as fmt
from ctwatch.sources.safe_text import safe_line

SORT_WORDS = {"drops": "drops/s", "fill": "fill", "full": "time to full"}


class FleetScreen(Screen):
    def compose(self) -> ComposeResult:
        yield Static("", id="top")
        yield Static("", id="fleet-status")
        yield FleetTable(id="fleet-table")
        yield Footer(show_command_palette=False, compact=True)

    ready = False  # composed: the app draws into it from now on

    def on_mount(self) -> None:
        self.ready = True
        self.query_one(FleetTable).focus()
        self.app.show()

    def on_screen_resume(self) -> None:
        if self.ready:
            self.app.show()  # back from a host, the help or the prompt: the latest answers

    def show_fleet(self, answers: Optional[FleetAnswers], view) -> None:
        """`view`: the app's FleetView (url, sort, selector, paused, glyphs, interval)."""
        top = Text(no_wrap=True, overflow="ellipsis", end="")
        top.append("ctwatch fleet ", "bold")
        top.append(safe_line(view.url, 80))
        if view.selector:
            top.append(" {" + safe_line(view.selector, 60) + "}")
        self.query_one("#top", Static).update(top)
        status = Text(no_wrap=True, overflow="ellipsis", end="")
        table = self.query_one(FleetTable)
        if answers is None:
            status.append("asking Prometheus...", "dim")
            table.show((), view.glyphs, "asking Prometheus")
        else:
            if view.paused:
                status.append(" PAUSED ", "reverse bold")
                status.append(" ")
            if answers.error:
                # Prometheus is unreachable or slow: one line, the last rows stay, marked.
                when = fmt.clock(answers.taken_at) if answers.taken_at else "never"
                status.append(" STALE ", "reverse bold red")
                status.append(f" data from {when}: {safe_line(answers.error, 200)}", "red")
            else:
                status.append(f"{len(answers.rows):,} hosts", "bold")
                status.append(
                    f" at {fmt.clock(answers.taken_at)} ({answers.queries} queries, "
                    f"{fmt.seconds(answers.seconds)}); every {fmt.interval(view.interval)}",
                    "dim",
                )
            rows = answers.sorted(view.sort)
            window = fmt.seconds(answers.window)
            sep = " - " if view.glyphs.ascii else " · "
            note = "no host exports ctwatch_entries or node_nf_conntrack_entries here"
            table.show(
                rows,
                view.glyphs,
                answers.error or note,
                (
                    f"{len(rows):,} by {SORT_WORDS[view.sort]}{sep}drops and growth over {window}",
                    f"{len(rows):,} by {SORT_WORDS[view.sort]}{sep}over {window}",
                    f"by {view.sort}",
                ),
            )
        self.query_one("#fleet-status", Static).update(status)
