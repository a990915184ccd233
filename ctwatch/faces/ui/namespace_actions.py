"""The app's namespace keys: enter watches a namespace, h comes back, j follows the kernel log."""

from __future__ import annotations

from typing import Optional

from ctwatch.engine.namespaces import NamespaceRow
from ctwatch.engine.switching import last_blamed
from ctwatch.sources.base import SourceError


class NamespaceActions:
    """Mixed into CtwatchApp (monitor, screen, notify, request_poll... are the app's)."""

    def jump_target(self) -> Optional[NamespaceRow]:
        """The namespace of the newest table-full line, when it is not the one watched
        and can be entered."""
        sample = self.latest
        if sample is None:
            return None
        blamed = last_blamed(sample.incident.kernel, sample.namespaces, sample.watched)
        if blamed is None or not blamed.elsewhere or blamed.row is None:
            return None
        return blamed.row if blamed.row.path is not None else None

    def watch_namespace(self, row: NamespaceRow) -> None:
        if row.inode == self.monitor.watched.inode:
            self.to_main_screen()
            self.notify(f"Already watching {row.name}.")
            return
        try:
            watched = self.monitor.watch(row)
        except SourceError as exc:
            self.notify(str(exc), severity="error")
            return
        self.to_main_screen()
        self.request_poll()
        if watched.home:
            self.notify(f"Back to {watched.name}.")
        else:
            self.notify(f"Watching netns {row.name}: its own table (h: back).", timeout=6)

    def to_main_screen(self) -> None:
        """Leave every view and drill-down: the next numbers are of another table."""
        from ctwatch.faces.ui.screens.info_screen import InfoScreen

        while len(self.screen_stack) > 1:
            if isinstance(self.screen, InfoScreen):
                self.leave_info()
            else:
                self.pop_screen()
        self.monitor.set_focus(None)

    def action_go_home(self) -> None:
        if not self.monitor.away:
            return
        home = self.monitor.go_home()
        self.to_main_screen()
        self.request_poll()
        self.notify(f"Back to {'the host' if home.initial else home.name}.")

    def action_jump_netns(self) -> None:
        row = self.jump_target()
        if row is None:
            self.notify("No other namespace named by the kernel log to watch.", severity="warning")
            return
        self.watch_namespace(row)
