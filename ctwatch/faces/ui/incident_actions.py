"""The app's incident keys: the incident views, subnets, export, delete and replay controls."""

from __future__ import annotations

import logging
import os
import time
from typing import Optional

from textual import work

from ctwatch.faces.ui.screens.info_screen import InfoScreen

log = logging.getLogger("ctwatch")

REPLAY_ACTIONS = ("replay_seek", "replay_seek_to", "replay_speed")


def _views() -> dict:
    from ctwatch.faces.ui.screens.advice_screen import AdviceScreen
    from ctwatch.faces.ui.screens.expiry_screen import ExpiryScreen
    from ctwatch.faces.ui.screens.growers_screen import GrowersScreen
    from ctwatch.faces.ui.screens.kernel_screen import KernelLogScreen
    from ctwatch.faces.ui.screens.namespaces_screen import NamespacesScreen
    from ctwatch.faces.ui.screens.rules_screen import RulesScreen
    from ctwatch.faces.ui.screens.snat_screen import SnatScreen

    return {
        "kernel": KernelLogScreen,
        "growers": GrowersScreen,
        "expiry": ExpiryScreen,
        "snat": SnatScreen,
        "advice": AdviceScreen,
        "namespaces": NamespacesScreen,
        "rules": RulesScreen,
    }


class IncidentActions:
    """Mixed into CtwatchApp (monitor, screen, notify, show... are the app's)."""

    subnets = False
    allow_delete = False
    export_dir = "."

    # ---- availability (CtwatchApp.command_state asks) ----
    def incident_state(self, action: str, screen) -> Optional[bool]:
        action_text = action
        action = action.split("(", 1)[0]  # the palette asks with the parameters
        if action in REPLAY_ACTIONS:
            return self.is_replay
        if action == "delete_source":
            return self.delete_target(screen) is not None
        if action == "rules_zero":  # only where it means something: the rules view
            return type(screen).__name__ == "RulesScreen"
        if action == "toggle_subnets":
            return True if type(screen).__name__ == "MonitorScreen" else None
        if action == "open_view":
            name = action_text.partition("(")[2].strip("()'\" ")
            if isinstance(screen, _views().get(name, ())):
                return False  # the view on screen: its key need not take footer room
            if name == "namespaces":
                return self.monitor.listing is not None  # a replay has one table
        if action == "go_home":
            return self.monitor.away
        if action == "jump_netns":
            return self.jump_target() is not None
        return True

    @property
    def is_replay(self) -> bool:
        return self.monitor.playback.replay

    # ---- views ----
    def action_open_view(self, name: str) -> None:
        screen_class = _views().get(name)
        if screen_class is None:
            return
        if isinstance(self.screen, screen_class):
            return
        if isinstance(self.screen, InfoScreen):
            self.leave_info()
        self.push_screen(screen_class())
        self._collect(screen_class.collects, True)

    def leave_info(self) -> None:
        self._collect(self.screen.collects, False)
        self.pop_screen()

    def _collect(self, what: tuple, wanted: bool) -> None:
        """Ask the monitor for what an open view needs (one more table read for SNAT)."""
        if "rules" in what and self.rules_watch is not None:
            self.rules_watch.set_active(wanted)  # read often only while shown
            if wanted:
                self.request_poll()
        if "namespaces" in what and self.monitor.listing is not None:
            self.monitor.listing.want(wanted)
            if wanted:
                self.request_poll()
        if "snat" in what:
            self.monitor.incident.want_snat = wanted
            if wanted:
                self.monitor.request_scan()
                self.request_poll()

    # ---- the rules view ----
    rules_watch = None  # engine.rules.RulesWatch; None: no live firewall (a recording)
    rules_prefix: tuple = ()
    rules_missing = "no firewall rules here: a recording, or a tree under --root, has none"

    def with_rules(self, sample):
        """The sample with the rules and the advice naming rules (polling thread)."""
        if self.rules_watch is None:
            return sample
        from ctwatch.engine.rules import follow, with_rules

        self.rules_prefix = follow(self.rules_watch, sample.watched, self.monitor.source)
        return with_rules(sample, self.rules_watch, self.rules_prefix)

    def action_rules_zero(self) -> None:
        if self.rules_watch is None:
            return
        self.rules_watch.reset_baseline()
        self.request_poll()
        self.notify("Rule counts start from now (the kernel's counters are untouched).")

    def rules_sort(self) -> None:
        if self.rules_watch is None:
            return
        sort = self.rules_watch.cycle_sort()
        self.request_poll()
        self.notify(f"Rules sorted by {sort}.", timeout=2)

    def action_toggle_subnets(self) -> None:
        self.subnets = not self.subnets
        self.monitor.incident.want_subnets = self.subnets
        self.monitor.request_scan()  # the roll-up is made from a scan, within its budget
        self.request_poll()
        self.notify(
            "Sources by subnet: /24 for IPv4, /64 for IPv6 (b: back to addresses)."
            if self.subnets
            else "Sources by address."
        )

    # ---- export ----
    def action_export(self) -> None:
        from ctwatch.faces.report.export import ExportError
        from ctwatch.faces.ui.exporting import export_view

        sample = self.shown
        if sample is None or sample.snapshot is None:
            self.notify("Nothing to export yet.", severity="warning")
            return
        try:
            paths = export_view(self.screen, sample, self.export_dir, time.time())
        except ExportError as exc:
            self.notify(str(exc), severity="error")
            return
        except Exception as exc:
            log.exception("export")
            self.notify(f"Export failed: {exc} (details in the log)", severity="error")
            return
        self.last_export = paths
        self.notify(
            f"Exported: {paths.csv_path}, {paths.entries_csv_path}, {paths.json_path}", timeout=10
        )

    # ---- delete (only with --allow-delete on the live system) ----
    def delete_target(self, screen) -> Optional[str]:
        from ctwatch.faces.ui.screens.drill import DrillScreen

        if not isinstance(screen, DrillScreen):
            return None
        return screen.delete_target(self.display())

    def action_delete_source(self) -> None:
        from ctwatch.faces.ui.screens.delete_modal import DeleteConfirm
        from ctwatch.sources.delete import DeleteError, delete_argv, preview

        ip = self.delete_target(self.screen)
        if ip is None:
            return
        netns, pid = self.delete_namespace()
        sample = self.latest
        view = sample.scan.focus if sample and sample.scan else None
        try:
            argv = delete_argv(ip, netns, pid)
            count = preview(ip, {ip: view.entries}) if view is not None else None
        except DeleteError as exc:
            self.notify(str(exc), severity="error")
            return
        self.push_screen(
            DeleteConfirm(ip, count, " ".join(argv)), callback=lambda yes: self._delete(yes, ip)
        )

    def delete_namespace(self) -> tuple:
        source = self.monitor.source
        return getattr(source, "netns", None), getattr(source, "pid", None)

    def delete_log_path(self) -> str:
        base = os.path.dirname(self.log_path) if self.log_path else "."
        return os.path.join(base, "ctwatch-delete.log")

    def _delete(self, yes: Optional[bool], ip: str) -> None:
        if not yes:
            self.notify("Nothing deleted.")
            return
        self.notify(f"Deleting the entries of {ip}...")
        self._delete_worker(ip)

    @work(thread=True, exit_on_error=False, group="delete")
    def _delete_worker(self, ip: str) -> None:
        from ctwatch.sources.delete import DeleteError, delete_source

        netns, pid = self.delete_namespace()
        path = self.delete_log_path()
        try:
            result = delete_source(ip, log_path=path, netns=netns, pid=pid)
        except DeleteError as exc:
            self.call_from_thread(self.delete_finished, str(exc), "error")
            return
        except Exception as exc:
            log.exception("delete")
            self.call_from_thread(self.delete_finished, f"delete failed: {exc}", "error")
            return
        message = f"Deleted {result.deleted} entries of {ip}; logged to {path}"
        if result.log_error:
            message = f"Deleted {result.deleted} entries of {ip}; {result.log_error}"
        self.last_delete = result
        self.call_from_thread(self.delete_finished, message, "information")

    def delete_finished(self, message: str, severity: str) -> None:
        self.notify(message, severity=severity, timeout=10)
        self.monitor.request_scan()
        self.request_poll()

    # ---- replay: the monitor's playback does it; the next poll shows it ----
    def action_replay_seek(self, frames: int) -> None:
        self.monitor.playback.step(frames)
        self.request_poll()

    def action_replay_seek_to(self, index: int) -> None:
        focused = self.screen.focused
        if index == 0 and getattr(focused, "followed", None) is not None:
            # The panel's border offers "Home: top": that comes before the first frame.
            focused.action_follow_top()
            return
        self.monitor.playback.seek(index)
        self.request_poll()

    def action_replay_speed(self, direction: int) -> None:
        playback = self.monitor.playback
        playback.change_speed(direction)
        self.monitor.set_interval(playback.interval)
        if not self._polling and self.autopoll:
            self._arm_next()
        self.show(self.shown)
