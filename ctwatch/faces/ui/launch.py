"""`ctwatch` without --once: open the source, set up the log file, run the full-screen app."""

from __future__ import annotations

import argparse
import contextlib
import importlib.resources
import logging
import os
import sys
import threading
from typing import Optional

from ctwatch.model.filters import Filter
from ctwatch.sources.base import SourceError
from ctwatch.sources.safe_text import safe_line

EXIT_OK, EXIT_NO_SOURCE, EXIT_USAGE = 0, 1, 2
DEMO = ("demo", "incident.jsonl.gz")


def default_log_path() -> str:
    """$XDG_STATE_HOME/ctwatch/ctwatch.log, i.e. ~/.local/state/ctwatch/ctwatch.log."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(state, "ctwatch", "ctwatch.log")


def setup_logging(path: str) -> str:
    """Error details go to `path`; returns it, or "" when it cannot be written (the
    monitor then runs without a log rather than not at all)."""
    logger = logging.getLogger("ctwatch")
    logger.setLevel(logging.INFO)
    logger.propagate = False  # never onto the terminal the app draws on
    for old in list(logger.handlers):
        logger.removeHandler(old)
        old.close()
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        logger.addHandler(logging.NullHandler())
        return ""
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    return path


def demo_recording():
    """A context giving the bundled demo recording's path (works from a wheel too)."""
    return importlib.resources.as_file(importlib.resources.files("ctwatch").joinpath(*DEMO))


class FirstPoll:
    """The first poll, table scan included, started before Textual is imported: the
    imports mostly wait for the disk, so the scan is done by the time the screen is."""

    def __init__(self, monitor) -> None:
        self.monitor = monitor
        self.stop = threading.Event()
        self.sample = None
        self._thread = threading.Thread(target=self._run, name="ctwatch-first-poll", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.sample = self.monitor.poll(
                should_stop=self.stop.is_set, scan=True, share_gil=False
            )
        except Exception:  # PollCancelled when quitting early; anything else is logged
            logging.getLogger("ctwatch").exception("first poll")

    def wait(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()


def _fail(message: str, code: int) -> int:
    print(f"ctwatch: {safe_line(message)}", file=sys.stderr)
    return code


def _open_rules(app, args: argparse.Namespace, stack: contextlib.ExitStack) -> None:
    """The rules view's reader, in the namespace the monitor watches (read only while
    the view is open, or once a minute for the advice)."""
    from ctwatch.engine.rules import open_rules

    try:
        watch, prefix = open_rules(
            netns=args.netns, pid=args.pid, cpu_budget=args.cpu_budget / 100.0, background=True
        )
    except SourceError as exc:
        app.rules_missing = str(exc)
        return
    stack.callback(watch.close)
    app.rules_watch, app.rules_prefix = watch, prefix


def run_tui(args: argparse.Namespace, filt: Optional[Filter]) -> int:
    from ctwatch.sources.recording import ReplaySource
    from ctwatch.sources.select import open_source

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return _fail(
            "the live monitor needs a terminal; --once prints a summary instead", EXIT_USAGE
        )
    # Textual sizes the screen with shutil.get_terminal_size(), which prefers COLUMNS and
    # LINES when exported: the app would stay at that size through every resize.
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)
    replay = getattr(args, "replay", None)
    with contextlib.ExitStack() as stack:
        if args.demo:
            replay = str(stack.enter_context(demo_recording()))
            if not os.path.exists(replay):
                return _fail(f"the demo recording is not installed ({replay})", EXIT_NO_SOURCE)
        reopen = None
        try:
            if replay:
                source = ReplaySource(replay)
            else:

                def reopen():
                    return open_source(args.source, args.root, pid=args.pid, netns=args.netns)

                source = reopen()
        except SourceError as exc:
            return _fail(str(exc), EXIT_NO_SOURCE)
        log_path = setup_logging(args.log_file or default_log_path())
        logging.getLogger("ctwatch").info("start: %s", source.label)
        from ctwatch.engine.incident import incident_tracker
        from ctwatch.engine.monitor import Monitor
        from ctwatch.sources.recording import Recorder

        recorder = None
        if getattr(args, "record", None):
            try:
                recorder = Recorder(args.record, label=source.label, source=source.name)
            except SourceError as exc:
                source.close()
                return _fail(str(exc), EXIT_NO_SOURCE)
            stack.callback(recorder.close)
        kernel_log = None
        if not replay:
            from ctwatch.sources.kmsg import KernelLog

            kernel_log = KernelLog(args.root)
            stack.callback(kernel_log.close)

        from ctwatch.engine.namespaces import Listing, NamespaceWatch
        from ctwatch.engine.switching import watched_at_start

        monitor = Monitor(
            source,
            filt,
            interval=args.interval,
            cpu_budget=args.cpu_budget / 100.0,
            reopen=reopen,
            incident=incident_tracker(source, kernel_log, args.root),
            recorder=recorder,
            netns=getattr(source, "netns", None),
            watched=watched_at_start(source, args.root),
            # Every namespace, for the namespaces view (N) and to name the one the kernel
            # log blames: live only (a recording has one table).
            namespaces=None if replay else Listing(NamespaceWatch(args.root)),
            root=args.root,
        )
        first = FirstPoll(monitor)
        # Textual is imported only now (the glyphs module pulls it in), behind the scan.
        from ctwatch.faces.ui.app import create_app
        from ctwatch.faces.ui.glyphs import wants_ansi_theme, wants_ascii

        app = create_app(
            source,
            monitor=monitor,
            first_poll=first,
            ascii=args.ascii or wants_ascii(),
            ansi=wants_ansi_theme(),
            log_path=log_path,
            allow_delete=bool(getattr(args, "allow_delete", False))
            and not replay
            and os.path.realpath(args.root) == "/",
            export_dir=getattr(args, "export_dir", ".") or ".",
            start_view="namespaces" if getattr(args, "all_netns", False) else None,
        )
        if not replay and os.path.realpath(args.root) == "/":
            _open_rules(app, args, stack)
        app.handle_signals = True
        try:
            app.run(mouse=not args.no_mouse)
        finally:
            first.stop.set()
            with contextlib.suppress(Exception):
                app.monitor.source.close()
    return app.return_code or EXIT_OK
