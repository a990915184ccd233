"""`ctwatch --prometheus URL` without --once: set up the log file and run the fleet app."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from ctwatch.faces.ui.launch import default_log_path, setup_logging
from ctwatch.sources.safe_text import safe_line

EXIT_OK, EXIT_USAGE = 0, 2


def run_fleet_tui(args: argparse.Namespace, watch, url: str) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print(
            "ctwatch: the fleet view needs a terminal; --once --json prints the hosts instead",
            file=sys.stderr,
        )
        return EXIT_USAGE
    for name in ("COLUMNS", "LINES"):  # as the host monitor: follow the terminal's resizes
        os.environ.pop(name, None)
    setup_logging(args.log_file or default_log_path())
    logging.getLogger("ctwatch").info("fleet: %s", safe_line(url, 200))
    from ctwatch.faces.fleet import FLEET_INTERVAL, HOST_INTERVAL
    from ctwatch.faces.ui.fleet_app import create_fleet_app
    from ctwatch.faces.ui.glyphs import wants_ansi_theme, wants_ascii

    # -i sets the refresh interval (at least 1 s); its host-monitor default of 1 s would
    # ask Prometheus five queries a second for nothing, so unset it means 10 s.
    interval = FLEET_INTERVAL if args.interval == HOST_INTERVAL else max(1.0, args.interval)
    app = create_fleet_app(
        watch,
        url,
        selector=args.selector or "",
        sort=args.fleet_sort,
        ascii=args.ascii or wants_ascii(),
        ansi=wants_ansi_theme(),
        interval=interval,
    )
    app.handle_signals = True
    app.run(mouse=not args.no_mouse)
    return app.return_code or EXIT_OK
