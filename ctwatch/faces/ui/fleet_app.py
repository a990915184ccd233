"""The fleet app: refreshes the fleet on a worker thread, routes answers, acts on every key."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from dataclasses import dataclass
from typing import Optional

from textual import work
from textual.app import App
from textual.message import Message
from textual.timer import Timer
from textual.worker import Worker, WorkerState, get_current_worker

from ctwatch.engine.fleet import FleetAnswers, FleetWatch
from ctwatch.engine.fleet_host import CURSOR_STEP, HOURS, HostWatch
from ctwatch.faces.ui.commands import Command
from ctwatch.faces.ui.fleet_commands import FLEET_BINDINGS, FLEET_COMMANDS, FleetCommandsProvider
from ctwatch.faces.ui.glyphs import ASCII, UNICODE, Glyphs, use_scrollbar_glyphs
from ctwatch.faces.ui.screens.fleet_dialogs import FleetHelpScreen, SelectorPrompt
from ctwatch.faces.ui.screens.fleet_host_screen import FleetHostScreen
from ctwatch.faces.ui.screens.fleet_screen import FleetScreen
from ctwatch.faces.ui.widgets.fleet_table import FleetTable
from ctwatch.model.fleet import SORTS
from ctwatch.model.promql import parse_selector
from ctwatch.sources.prometheus import PrometheusError
from ctwatch.sources.safe_text import safe_line

log = logging.getLogger("ctwatch")
INTERVALS = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0)
MAX_STEPS = HOURS * 3600 // CURSOR_STEP

CSS = """
#fleet-status, #host-status { height: 1; padding: 0 1; }
#fleet-table { height: 1fr; }
#host-body { height: 1fr; scrollbar-size-vertical: 1; }
#host-panels { grid-size: 2; grid-gutter: 0 1; height: auto; }
Screen.-wide #host-panels { grid-size: 3; }
#host-panels { grid-rows: auto; }
.host-panel { height: auto; max-height: 9; padding: 0 1; }
#host-note { padding: 1 2; }
"""


class FleetReady(Message):
    def __init__(self, answers: FleetAnswers, generation: int) -> None:
        super().__init__()
        self.answers, self.generation = answers, generation

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FleetReady)


class HostReady(Message):
    def __init__(self, screen, at: float, moment, timeline, error: Optional[str]) -> None:
        super().__init__()
        self.screen, self.at, self.moment, self.timeline, self.error = (
            screen, at, moment, timeline, error
        )  # fmt: skip


@dataclass(frozen=True)
class FleetView:
    """What screens are handed beside the answers: the operator's choices and the look."""

    url: str
    selector: str
    sort: str
    paused: bool
    glyphs: Glyphs
    interval: float
    now: float


class FleetApp(App):
    CSS_PATH = "ctwatch.tcss"
    CSS = CSS
    TITLE = "ctwatch fleet"
    BINDINGS = FLEET_BINDINGS
    COMMANDS = App.COMMANDS | {FleetCommandsProvider}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    handle_signals = False

    def __init__(
        self,
        watch: FleetWatch,
        url: str,
        *,
        selector: str = "",
        sort: str = "drops",
        glyphs: Glyphs = UNICODE,
        ansi: bool = False,
        interval: float = 10.0,
        autorefresh: bool = True,
    ) -> None:
        super().__init__()
        self.watch, self.url, self.selector, self.sort = watch, url, selector, sort
        self.glyphs, self.interval, self.autorefresh = glyphs, interval, autorefresh
        self.paused = False
        self.latest: Optional[FleetAnswers] = None
        self.shown: Optional[FleetAnswers] = None
        self.generation = 0
        self.refreshes = 0
        self._refreshing = False
        self._started = 0.0
        self._timer: Optional[Timer] = None
        self._bindings_shown: tuple = ()
        if ansi:
            self.theme = "ansi-dark"
        if glyphs.ascii:
            self.add_class("-ascii")

    def notify(self, message: str, **kwargs) -> None:
        kwargs["markup"] = False
        super().notify(safe_line(message), **kwargs)

    def get_default_screen(self) -> FleetScreen:
        return FleetScreen()

    def on_mount(self) -> None:
        if self.handle_signals:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self.exit)
        use_scrollbar_glyphs(self.glyphs.ascii)
        self.start_refresh()

    def view(self) -> FleetView:
        return FleetView(
            self.url,
            self.selector,
            self.sort,
            self.paused,
            self.glyphs,
            self.interval,
            self.watch.wall(),
        )

    # ---- refreshing: one worker at a time, re-armed when the last one finished ----
    def start_refresh(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self._refreshing or self._closing or self._closed:
            return
        self._refreshing = True
        self._started = time.monotonic()
        self._refresh_worker(self.generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="fleet")
    def _refresh_worker(self, generation: int) -> None:
        try:
            answers = self.watch.poll()
        except Exception as exc:  # poll catches Prometheus's errors; this is a bug: log it
            log.exception("fleet refresh")
            with contextlib.suppress(Exception):
                self.call_from_thread(self.notify, f"Refresh failed: {exc}", severity="error")
            return
        if not get_current_worker().is_cancelled:
            self.post_message(FleetReady(answers, generation))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "fleet" or event.state not in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            return
        self._refreshing = False
        if self.autorefresh and not (self._closing or self._closed):
            delay = self._started + self.interval - time.monotonic()
            self._timer = self.set_timer(max(0.001, delay), self.start_refresh)

    def on_fleet_ready(self, message: FleetReady) -> None:
        if message.generation != self.generation:
            return  # asked before the selector changed
        self.latest = message.answers
        self.refreshes += 1
        if not self.paused:
            self.shown = self.latest
        screen = self.screen
        if isinstance(screen, FleetHostScreen) and screen.steps_back == 0 and not self.paused:
            # A host watched at "now" stays live: its moment and graph follow the refresh.
            screen.host_watch.refresh_now()
            self._load_host(screen, 0, True)
        self.show()

    def show(self) -> None:
        screen = self.screen
        try:
            if isinstance(screen, FleetScreen) and screen.ready:
                screen.show_fleet(self.shown, self.view())
            elif isinstance(screen, FleetHostScreen) and screen.ready:
                screen.show_host(self.view(), screen.host_watch.cursor_time(screen.steps_back))
        except Exception:  # a display bug must not end the app: logged, the screen stays
            log.exception("fleet display")
        state = tuple(self.command_state(c.action, screen) for c in FLEET_COMMANDS)
        if (id(screen), state) != self._bindings_shown:
            self._bindings_shown = (id(screen), state)
            self.refresh_bindings()

    # ---- which commands work now: footer, keys and palette ask this ----
    def check_action(self, action: str, parameters: tuple) -> Optional[bool]:
        return self.command_state(action, self.screen)

    def command_state(self, action: str, screen) -> Optional[bool]:
        """True: available; None: shown but disabled; False: hidden and passed on."""
        if action in ("quit", "command_palette"):
            return True
        fleet = isinstance(screen, FleetScreen)
        host = isinstance(screen, FleetHostScreen)
        if not (fleet or host):
            return False
        if action in ("interval", "help"):
            return True
        if action == "toggle_pause":  # a host's history does not move by itself
            return fleet
        if action == "back" or action.startswith("cursor"):
            return host
        if action == "drill":
            table = _table(screen)
            return fleet and table is not None and table.selected_row() is not None
        if action in ("sort", "filter"):
            return fleet
        return False

    def run_command(self, command: Command) -> None:
        self.call_later(self.run_action, command.action)

    # ---- actions ----
    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        table = _table(self.screen)
        if table is not None:
            table.action_follow_top()  # a new order starts from its top
        self.show()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self.shown = self.shown if self.paused else self.latest
        self.show()

    def action_interval(self, direction: int) -> None:
        i = min(range(len(INTERVALS)), key=lambda k: abs(INTERVALS[k] - self.interval))
        self.interval = INTERVALS[max(0, min(len(INTERVALS) - 1, i + direction))]
        if self._timer is not None:  # the wait under way follows the new interval at once
            self._timer.stop()
            delay = self._started + self.interval - time.monotonic()
            self._timer = self.set_timer(max(0.001, delay), self.start_refresh)
        self.notify(f"Refresh every {self.interval:g} s")
        self.show()

    def action_filter(self) -> None:
        self.push_screen(SelectorPrompt(self.selector), callback=self._selector_done)

    def _selector_done(self, text: Optional[str]) -> None:
        if text is None or text == self.selector:
            return
        self.selector = text
        self.watch.reselect(parse_selector(text))  # validated by the prompt
        self.generation += 1
        self.latest = self.shown = None
        self.workers.cancel_group(self, "fleet")
        self._refreshing = False
        self.show()
        self.start_refresh()

    def action_drill(self) -> None:
        table = _table(self.screen)
        row = table.selected_row() if table is not None else None
        if row is None:
            return
        screen = FleetHostScreen(row)
        screen.host_watch = HostWatch(self.watch.client, row, self.watch.window, self.watch.wall)
        self.push_screen(screen)
        self._load_host(screen, 0, True)

    def action_back(self) -> None:
        if isinstance(self.screen, FleetHostScreen):
            self.workers.cancel_group(self, "host")
            self.pop_screen()

    def action_cursor(self, steps: int) -> None:
        screen = self.screen
        if not isinstance(screen, FleetHostScreen):
            return
        new = max(0, min(MAX_STEPS, screen.steps_back + steps))
        if new == screen.steps_back:
            return
        screen.steps_back = new
        self.show()
        self._load_host(screen, new, False)

    def action_cursor_now(self) -> None:
        screen = self.screen
        if isinstance(screen, FleetHostScreen):
            screen.steps_back = 0
            screen.host_watch.refresh_now()
            self.show()
            self._load_host(screen, 0, True)

    @work(thread=True, exclusive=True, exit_on_error=False, group="host")
    def _load_host(self, screen: FleetHostScreen, steps: int, timeline: bool) -> None:
        host = screen.host_watch
        at = host.cursor_time(steps)
        moment = line = None
        error = None
        try:
            line = host.timeline() if timeline else None
            moment = host.moment(at)
        except PrometheusError as exc:
            error = str(exc)
        except Exception as exc:  # a bug: logged, said in one line, the screen stays
            log.exception("host history")
            error = f"internal error: {exc.__class__.__name__}"
        if not get_current_worker().is_cancelled:
            self.post_message(HostReady(screen, at, moment, line, error))

    def on_host_ready(self, message: HostReady) -> None:
        screen = message.screen
        if message.error:
            screen.error = message.error  # the last moment stays on screen, marked
        else:
            screen.error = None
            if message.moment is not None:
                screen.moment = message.moment
        if message.timeline is not None:
            screen.timeline = message.timeline
        if screen is self.screen:
            self.show()

    def action_help(self) -> None:
        self.push_screen(FleetHelpScreen())


def _table(screen) -> Optional[FleetTable]:
    """The screen's fleet table, or None before it is composed (or on another screen)."""
    found = screen.query(FleetTable)
    return found.first() if found else None


def create_fleet_app(
    watch: FleetWatch,
    url: str,
    *,
    selector: str = "",
    sort: str = "drops",
    ascii: bool = False,
    ansi: bool = False,
    interval: float = 10.0,
    autorefresh: bool = True,
) -> FleetApp:
    """The fleet app for the CLI and the tests (the watch's client and clock injectable)."""
    return FleetApp(
        watch,
        url,
        selector=selector,
        sort=sort,
        glyphs=ASCII if ascii else UNICODE,
        ansi=ansi,
        interval=interval,
        autorefresh=autorefresh,
    )
