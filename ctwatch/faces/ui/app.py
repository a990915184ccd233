"""The live monitor app: the polling worker, sample routing, and the action behind every key."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import time
from typing import Callable, Optional

from textual import work
from textual.app import App
from textual.timer import Timer
from textual.worker import Worker, WorkerState, get_current_worker

from ctwatch.engine.answers import Answers, Focus
from ctwatch.engine.incident import incident_tracker
from ctwatch.engine.monitor import Monitor, PollCancelled
from ctwatch.faces.ui.command_states import CommandStates
from ctwatch.faces.ui.commands import BINDINGS, Command, CommandsProvider
from ctwatch.faces.ui.display import Display
from ctwatch.faces.ui.glyphs import ASCII, UNICODE, Glyphs, use_scrollbar_glyphs
from ctwatch.faces.ui.incident_actions import IncidentActions
from ctwatch.faces.ui.messages import AnswersReady
from ctwatch.faces.ui.namespace_actions import NamespaceActions
from ctwatch.faces.ui.screens.drill import DrillScreen
from ctwatch.faces.ui.screens.help import HelpScreen
from ctwatch.faces.ui.screens.info_screen import InfoScreen
from ctwatch.faces.ui.screens.monitor_screen import AnswersScreen, MonitorScreen
from ctwatch.faces.ui.screens.namespaces_screen import NamespacesScreen, NamespacesTable
from ctwatch.faces.ui.screens.prompt import FilterPrompt
from ctwatch.faces.ui.widgets.entries import EntriesTable
from ctwatch.faces.ui.widgets.panel import BreakdownPanel
from ctwatch.model.filters import Filter
from ctwatch.sources.base import Source
from ctwatch.sources.safe_text import safe_line

log = logging.getLogger("ctwatch")


class CtwatchApp(CommandStates, NamespaceActions, IncidentActions, App):
    CSS_PATH = "ctwatch.tcss"
    TITLE = "ctwatch"
    BINDINGS = BINDINGS
    COMMANDS = App.COMMANDS | {CommandsProvider}
    # Screen classes for ctwatch.tcss: -wide shows a fifth panel, -tall a taller graph.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (40, "-tall")]
    handle_signals = False  # the CLI sets it: `kill` then leaves the terminal as it was
    start_view: Optional[str] = None

    def __init__(
        self,
        monitor: Monitor,
        *,
        host: str,
        glyphs: Glyphs = UNICODE,
        ansi: bool = False,
        autopoll: bool = True,
        log_path: str = "",
        first_poll=None,
    ) -> None:
        super().__init__()
        self.monitor = monitor
        self.first_poll = first_poll  # launch.FirstPoll: a poll already under way
        self.host = host
        self.glyphs = glyphs
        self.autopoll = autopoll
        self.log_path = log_path
        self.held_polls = 0  # polls collected while the live display is paused
        self.graph_scale = "limit"
        self.latest: Optional[Answers] = None  # the newest sample collected
        self.shown: Optional[Answers] = None  # the sample on screen (older while paused)
        self.samples_received = 0
        self._polling = False
        self._poll_again = False
        self._poll_started = 0.0
        self._poll_timer: Optional[Timer] = None
        self._display_failed = False
        self._bindings_shown: tuple = ()
        if ansi:
            self.theme = "ansi-dark"
        if glyphs.ascii:
            self.add_class("-ascii")

    def notify(self, message: str, **kwargs) -> None:
        """Notices often quote an error or a path from outside: printable, never markup."""
        kwargs["markup"] = False
        super().notify(safe_line(message), **kwargs)

    def get_default_screen(self) -> MonitorScreen:
        return MonitorScreen()

    def on_mount(self) -> None:
        if self.handle_signals:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self.exit)
        use_scrollbar_glyphs(self.glyphs.ascii)
        if self.start_view:
            self.call_after_refresh(self.action_open_view, self.start_view)
        # post_message is thread-safe: counters read between the pieces of a long scan.
        self.monitor.on_sample = lambda sample: self.post_message(AnswersReady(sample))
        if self.first_poll is None:
            # Counters first (instant numbers on screen), the table scan right after.
            self._poll_again = True
            self._start_poll(scan=False)
        else:
            self._start_poll()

    # ---- polling: one worker at a time, re-armed when the last one finished ----
    def request_poll(self) -> None:
        """Poll now (or as soon as the running poll ends)."""
        self._start_poll()

    def _start_poll(self, scan: Optional[bool] = None) -> None:
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        if self._polling:
            self._poll_again = True
            return
        if self._closing or self._closed:
            return
        self._polling = True
        self._poll_started = time.monotonic()
        self._poll_worker(scan)

    @work(thread=True, exclusive=True, exit_on_error=False, group="poll")
    def _poll_worker(self, scan: Optional[bool]) -> None:
        worker = get_current_worker()
        first, self.first_poll = self.first_poll, None
        if first is not None:
            while not first.wait(0.05):
                if worker.is_cancelled:
                    first.stop.set()
                    return
            if first.sample is not None:
                self.post_message(AnswersReady(first.sample))
                return
        try:
            sample = self.monitor.poll(should_stop=lambda: worker.is_cancelled, scan=scan)
            sample = self.with_rules(sample)  # the firewall rules, when due
        except PollCancelled:
            return
        except Exception as exc:  # Monitor.poll catches its own; this is the last defence
            log.exception("poll worker")
            with contextlib.suppress(Exception):  # the app may be gone already
                self.call_from_thread(
                    self.notify, f"Poll failed: {exc} (details in the log)", severity="error"
                )
            return
        self.post_message(AnswersReady(sample))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "poll" or event.state not in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            return
        if event.state == WorkerState.ERROR:
            log.error("poll worker failed: %s", event.worker.error)
        self._polling = False
        self._arm_next()

    def _arm_next(self) -> None:
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        if self._poll_again:
            self._poll_again = False
            delay = 0.0
        elif not self.autopoll:
            return
        else:
            delay = self._poll_started + self.monitor.interval - time.monotonic()
        self._poll_timer = self.set_timer(max(0.001, delay), self._start_poll)

    # ---- samples to screens ----
    @property
    def paused(self) -> bool:
        """The one pause (the monitor's playback): live, the display holds while polling
        goes on; in a replay, the frame holds."""
        return self.monitor.playback.paused

    @property
    def frozen(self) -> bool:
        """The live display holds (a paused replay shows its held frame as it comes)."""
        return self.paused and not self.is_replay

    def display(self) -> Display:
        """What screens are handed beside the Answers."""
        return Display(
            host=self.host,
            glyphs=self.glyphs,
            paused=self.paused,
            speed=self.monitor.playback.speed,
            interval=self.monitor.interval,
            frozen=self.frozen,
            held_polls=self.held_polls,
            graph_scale=self.graph_scale,
            subnets=self.subnets,
            allow_delete=self.allow_delete,
            log_path=self.log_path,
            cpu_budget=self.monitor.cpu_budget * 100,
        )

    def on_answers_ready(self, message: AnswersReady) -> None:
        self.latest = message.sample
        self.samples_received += 1
        if self.frozen:
            self.held_polls += 1
        self.show(self.shown if self.frozen else self.latest)

    def show(self, sample: Optional[Answers]) -> None:
        self.shown = sample
        screen = self.screen
        if not isinstance(screen, AnswersScreen):
            return  # a modal is up; the screen below catches up when it resumes
        try:
            screen.show_answers(sample, self.display())
        except Exception:
            log.exception("display")
            if not self._display_failed:
                self._display_failed = True
                self.notify("Display error; details in the log.", severity="error")
        # Drill/sort availability depends on the rows. Refresh the footer only when it
        # changed: each refresh rebuilds the footer's widgets (was: on every scan).
        state = self.bindings_state(screen)
        if state != self._bindings_shown:
            self._bindings_shown = state
            self.refresh_bindings()

    def screen_resumed(self, screen: AnswersScreen) -> None:
        if screen is self.screen:
            self.show(self.shown if self.frozen else self.latest)

    def run_command(self, command: Command) -> None:
        self.call_later(self.run_action, command.action)

    # ---- actions ----
    def action_toggle_pause(self) -> None:
        self.monitor.playback.toggle_pause()
        self.held_polls = 0
        self.show(self.shown if self.frozen else self.latest)
        self.refresh_bindings()

    def action_interval(self, direction: int) -> None:
        self.monitor.step_interval(direction)
        if not self._polling and self.autopoll:
            self._arm_next()  # the pending wait follows the new interval at once
        self.show(self.shown)

    def action_sort(self) -> None:
        focused = self.screen.focused
        if isinstance(focused, BreakdownPanel):
            focused.resort(self.monitor.toggle_sort(focused.dim))
            self.request_poll()
        elif isinstance(focused, EntriesTable):
            focused.cycle_sort()
        elif isinstance(self.screen, NamespacesScreen):
            self.notify(f"Namespaces by {self.screen.cycle_sort()}.")

    def action_drill(self) -> None:
        focused = self.screen.focused
        if isinstance(focused, NamespacesTable):
            row = focused.selected()
            if row is not None:
                self.watch_namespace(row)
            return
        if not isinstance(focused, BreakdownPanel):
            return
        key = focused.selected_key()
        if key is None:
            return
        current = self.screen.focus_target if isinstance(self.screen, DrillScreen) else None
        try:
            focus = current.narrow(focused.dim, key) if current else Focus.of((focused.dim, key))
        except ValueError as exc:
            self.notify(str(exc), severity="warning")
            return
        self.open_focus(focus)

    def open_focus(self, focus: Focus) -> None:
        if self.frozen:
            self.monitor.playback.set_paused(False)
            self.notify("Display resumed for the drill-down.")
        self.monitor.set_focus(focus)
        self.push_screen(DrillScreen(focus))
        self.request_poll()

    def action_filter(self) -> None:
        focused = self.screen.focused
        bare = "dst" if isinstance(focused, BreakdownPanel) and focused.dim == "dst" else "src"
        self.push_screen(FilterPrompt(bare), callback=self._filter_done)

    def _filter_done(self, focus: Optional[Focus]) -> None:
        if focus is not None:
            self.open_focus(focus)

    def action_back(self) -> None:
        if isinstance(self.screen, InfoScreen):
            self.leave_info()
            return
        if not isinstance(self.screen, DrillScreen):
            return
        self.pop_screen()
        below = self.screen
        self.monitor.set_focus(below.focus_target if isinstance(below, DrillScreen) else None)
        if isinstance(below, DrillScreen):
            self.request_poll()

    def action_reset_baseline(self) -> None:
        self.monitor.pin_baseline(True)
        for panel in self.screen.query(BreakdownPanel):
            panel.zero_deltas()
        self.request_poll()
        self.notify("Changes now count from the scan on screen (R: per scan again).")

    def action_rolling_baseline(self) -> None:
        self.monitor.pin_baseline(False)
        self.request_poll()
        self.notify("Changes count from the previous scan.")

    def action_graph_scale(self) -> None:
        self.graph_scale = "zoom" if self.graph_scale == "limit" else "limit"
        self.show(self.shown)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.log_path, self.monitor.cpu_budget * 100))


def create_app(
    source: Source,
    *,
    interval: float = 1.0,
    cpu_budget: float = 10.0,
    ascii: bool = False,
    ansi: bool = False,
    filt: Optional[Filter] = None,
    clock=None,
    host: Optional[str] = None,
    autopoll: bool = True,
    log_path: str = "",
    reopen: Optional[Callable[[], Source]] = None,
    entry_limit: int = 1000,
    monitor: Optional[Monitor] = None,
    first_poll=None,
    kernel_log=None,
    allow_delete: bool = False,
    export_dir: str = ".",
    recorder=None,
    namespaces=None,
    root: str = "/",
    start_view: Optional[str] = None,
) -> CtwatchApp:
    """The app for the CLI and the tests. `cpu_budget` is a percentage of one core;
    `clock` (monotonic/wall/cpu) and `host` are injectable for deterministic screens.
    The CLI passes its own `monitor` (whose first poll started before Textual loaded)."""
    if monitor is None:
        monitor = Monitor(
            source,
            filt,
            interval=interval,
            cpu_budget=cpu_budget / 100.0,
            clock=clock,
            reopen=reopen,
            entry_limit=entry_limit,
            incident=incident_tracker(source, kernel_log),
            recorder=recorder,
            netns=getattr(source, "netns", None),
            namespaces=namespaces,
            root=root,
        )
    app = CtwatchApp(
        monitor,
        host=safe_line(host or socket.gethostname(), 64),
        glyphs=ASCII if ascii else UNICODE,
        ansi=ansi,
        autopoll=autopoll,
        log_path=log_path,
        first_poll=first_poll,
    )
    app.start_view = start_view  # a view to open first (--all-netns: the namespaces)
    app.allow_delete = allow_delete
    app.export_dir = export_dir
    if app.is_replay:
        monitor.set_interval(monitor.playback.interval)
    return app
