"""Command line: `ctwatch` (the live monitor) and `ctwatch --once` (one scan, text or JSON)."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from typing import Callable, Optional

import psutil

from ctwatch import __version__
from ctwatch.model.export import breakdowns_csv
from ctwatch.model.filters import Filter
from ctwatch.model.incident import (
    advice_json,
    growers_json,
    kernel_log_json,
    rates_json,
    snat_json,
    table_answers_json,
)
from ctwatch.model.report import human_summary, snapshot_json
from ctwatch.model.rollup import snat_view
from ctwatch.model.snapshot import take_snapshot
from ctwatch.model.trend import drop_rate
from ctwatch.sources.base import SourceError
from ctwatch.sources.kmsg import KernelLog
from ctwatch.sources.safe_text import safe_block, safe_line
from ctwatch.sources.select import CHOICES, open_source
from ctwatch.sources.values import shown

EXIT_OK, EXIT_NO_SOURCE, EXIT_USAGE = 0, 1, 2


def _list(values: Optional[list]) -> list:
    """Repeated options and comma lists both work: -p tcp -p udp, or -p tcp,udp."""
    out: list = []
    for v in values or ():
        out.extend(x for x in v.split(",") if x)
    return out


def say(message: str) -> None:
    """One line on stderr; the message may carry a path or a value from outside."""
    print(f"ctwatch: {safe_line(message)}", file=sys.stderr)


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse echoes the user's values back
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {safe_line(message, 400)}\n")


_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


def _value(kind: type, low: float, high: float) -> Callable:
    """An argparse type: plain ASCII decimal (no sign, `_`, exponent, inf or nan) within
    [low, high]. float() and int() would take "1_0", "inf", "nan" and other scripts' digits."""

    def parse(text: str):
        text = text.strip()
        whole = kind is int
        if not (text.isascii() and (text.isdigit() if whole else _DECIMAL.fullmatch(text))):
            raise argparse.ArgumentTypeError(
                f"not a plain {'whole ' if whole else ''}number: {shown(text)}"
            )
        value = kind(text) if len(text) < 40 else math.inf
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{shown(text)} is out of range ({low:g} to {high:g})")
        return value

    parse.__name__ = "whole number" if kind is int else "number"
    return parse


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="ctwatch",
        description="Live monitor for the Linux conntrack table (read-only).",
    )
    p.add_argument("--version", action="version", version=f"ctwatch {__version__}")
    mode = p.add_argument_group("mode")
    mode.add_argument("--once", action="store_true", help="scan once, print a summary, exit")
    mode.add_argument("--json", action="store_true", help="with --once: print one JSON object")
    mode.add_argument(
        "--csv",
        action="store_true",
        help="with --once: print the breakdowns as CSV (dimension,key,count,share)",
    )
    mode.add_argument(
        "--rate-window",
        type=_value(float, 0, 600),
        default=1.0,
        metavar="SECONDS",
        help="with --json: measure rates over at least this long (0 = off)",
    )
    mode.add_argument(
        "--snat", action="store_true", help="with --json: add the SNAT view (one more table read)"
    )
    mode.add_argument(
        "--growers",
        action="store_true",
        help="with --json: scan again after the rate window and rank what grew in between",
    )
    mode.add_argument(
        "--top",
        type=_value(int, 0, 1_000_000),
        default=10,
        metavar="N",
        help="rows per breakdown (0 = all; default 10)",
    )
    src = p.add_argument_group("source")
    src.add_argument(
        "--root",
        default="/",
        metavar="DIR",
        help="read every path under DIR instead of / (sample trees, tests)",
    )
    src.add_argument(
        "--source",
        choices=CHOICES,
        default="auto",
        help="auto (default), proc, or conntrack (runs conntrack -L)",
    )
    where = src.add_mutually_exclusive_group()
    where.add_argument(
        "--pid",
        type=_value(int, 1, 4_194_304),
        metavar="PID",
        help="the network namespace of process PID (/proc/PID/net)",
    )
    where.add_argument("--netns", metavar="NAME", help="a named namespace under /run/netns")
    flt = p.add_argument_group("filters (like conntrack -L)")
    flt.add_argument(
        "-s", "--src", action="append", metavar="IP[/LEN]", help="original source address or CIDR"
    )
    flt.add_argument(
        "-d",
        "--dst",
        action="append",
        metavar="IP[/LEN]",
        help="original destination address or CIDR",
    )
    flt.add_argument("-p", "--proto", action="append", metavar="NAME", help="tcp, udp, icmp...")
    flt.add_argument("--state", action="append", metavar="STATE", help="ESTABLISHED, SYN_SENT...")
    flt.add_argument("--dport", action="append", metavar="PORT", help="original destination port")
    tui = p.add_argument_group("live monitor")
    tui.add_argument(
        "-i",
        "--interval",
        type=_value(float, 0.1, 3600),
        default=1.0,
        metavar="SECONDS",
        help="counter poll interval (default 1)",
    )
    tui.add_argument(
        "--cpu-budget",
        type=_value(float, 0.1, 100),
        default=10.0,
        metavar="PERCENT",
        help="share of one core the table scans may use (default 10)",
    )
    tui.add_argument(
        "--ascii", action="store_true", help="ASCII glyphs only (automatic on TERM=linux and vt*)"
    )
    tui.add_argument("--no-mouse", action="store_true", help="do not capture the mouse")
    tui.add_argument("--demo", action="store_true", help="play the bundled recorded incident")
    tui.add_argument("--replay", metavar="FILE", help="play a recording made with ctwatch")
    tui.add_argument("--log-file", metavar="FILE", help="where error details go")
    tui.add_argument(
        "--export-dir",
        default=".",
        metavar="DIR",
        help="where the export key (e) writes its files (default: the current directory)",
    )
    tui.add_argument(
        "--record", metavar="FILE", help="write every poll to FILE (replay it with --replay)"
    )
    tui.add_argument(
        "--allow-delete",
        action="store_true",
        help="offer D in a source's drill-down: conntrack -D -s IP after a y/n (live system only)",
    )
    return p


def build_filter(args: argparse.Namespace) -> Optional[Filter]:
    return Filter.build(
        src=_list(args.src),
        dst=_list(args.dst),
        proto=_list(args.proto),
        state=_list(args.state),
        dport=_list(args.dport),
    )


def incident_extras(source, snap, args: argparse.Namespace, filt: Optional[Filter]) -> dict:
    """Rates need a second counter reading: taken once the scan is done and at least
    --rate-window seconds after the first, so the scan's own time is not waited twice."""
    out: dict = {}
    if args.rate_window > 0:
        wait = snap.taken_at + args.rate_window - time.time()
        if wait > 0:
            time.sleep(wait)
        try:
            later = source.read_counters()
            out.update(rates_json(snap, time.time(), later.count, later.stats))
        except SourceError as exc:
            out["rates_error"] = str(exc)
    tunables = source.read_tunables()
    out.update(table_answers_json(snap, tunables.timeouts, args.top))
    log = KernelLog(args.root)
    try:
        out["kernel_log"] = kernel_log_json(log.poll(), log.via, log.problem)
    finally:
        log.close()
    dropping = (drop_rate(out["rates"]) or 0.0) if "rates" in out else None
    out["advice"] = advice_json(snap, tunables, psutil.virtual_memory().total, dropping, args.netns)
    if args.snat:
        try:
            out["snat"] = snat_json(snat_view(source.table_chunks()), args.top)
        except SourceError as exc:
            out["snat_error"] = str(exc)
    if args.growers and snap.table is not None:
        try:
            again = take_snapshot(source, scan=True, filt=filt)
            out["growers"] = growers_json(snap, again, args.top)
        except SourceError as exc:
            out["growers_error"] = str(exc)
    return out


def run_once(args: argparse.Namespace, filt: Optional[Filter]) -> int:
    if args.replay:
        return run_once_replay(args, filt)
    try:
        source = open_source(args.source, args.root, pid=args.pid, netns=args.netns)
    except SourceError as exc:
        say(str(exc))
        return EXIT_NO_SOURCE
    try:
        snap = take_snapshot(source, scan=True, filt=filt)
        extras = incident_extras(source, snap, args, filt) if args.json else {}
    finally:
        source.close()
    if snap.table is None and snap.count is None and snap.max is None:
        say("; ".join(snap.problems) or "no conntrack data")
        return EXIT_NO_SOURCE
    print_once(args, snap, filt, extras)
    for problem in snap.errors:  # each refused or unreadable counter: one line
        say(problem)
    if snap.table is None:
        say(f"table not read: {snap.table_error}")
    return EXIT_OK


def run_once_replay(args: argparse.Namespace, filt: Optional[Filter]) -> int:
    """`--once --replay FILE`: the recording's last frame that holds a table scan, printed
    as a live --once would print it (for scripts that read recordings)."""
    from ctwatch.sources.recording import ReplaySource

    try:
        source = ReplaySource(args.replay, loop=False)
    except SourceError as exc:
        say(str(exc))
        return EXIT_NO_SOURCE
    for index in range(len(source.frames) - 1, -1, -1):
        source.seek(index)
        if not source.has_table():
            continue
        snap = take_snapshot(source, scan=True, filt=filt, wall=lambda: source.t)
        if snap.table is not None:
            break
    else:
        say(f"{args.replay}: no recorded frame holds a table scan")
        return EXIT_NO_SOURCE
    extras = {"replay": {"frame": index, "frames": len(source.frames)}} if args.json else {}
    print_once(args, snap, filt, extras)
    return EXIT_OK


def print_once(args: argparse.Namespace, snap, filt: Optional[Filter], extras: dict) -> None:
    """Text and CSV are made printable here; JSON escapes every control character itself
    (json.dumps writes ASCII only)."""
    text = filt.describe() if filt else ""
    if args.csv:
        out = breakdowns_csv(snapshot_json(snap, args.top, text))
    elif args.json:
        out = json.dumps({**snapshot_json(snap, args.top, text), **extras}, indent=2) + "\n"
    else:
        out = human_summary(snap, args.top, text)
    sys.stdout.write(safe_block(out))
    sys.stdout.flush()


# Options that only mean something in one mode, and what each needs.
NEEDS = (
    ("json", "once", "--json needs --once"),
    ("csv", "once", "--csv needs --once"),
    ("snat", "json", "--snat needs --once --json"),
    ("growers", "json", "--growers needs --once --json"),
)
LIVE_ONLY = ("record", "allow_delete")


def check_combination(args: argparse.Namespace) -> Optional[str]:
    """Why these options do not go together, or None. A silently ignored option would
    make ctwatch read something other than what the user asked for."""
    for flag, needed, message in NEEDS:
        if getattr(args, flag) and not getattr(args, needed):
            return message
    if args.json and args.csv:
        return "--json and --csv are alternatives"
    if args.once:
        for flag in LIVE_ONLY:
            if getattr(args, flag):
                return f"--{flag.replace('_', '-')} is for the live monitor, not --once"
        if args.demo:
            return "--demo is the live monitor; use --once --replay FILE for a recording"
    if args.demo and args.replay:
        return "--demo and --replay are alternatives"
    if args.demo or args.replay:
        what = "--demo" if args.demo else "--replay"
        for flag, default in (("root", "/"), ("source", "auto"), ("pid", None), ("netns", None)):
            if getattr(args, flag) != default:
                return f"{what} plays a recording: --{flag} does not apply to it"
        if args.record:
            return f"{what} plays a recording: --record would copy it"
    if args.source == "conntrack" and os.path.realpath(args.root) != "/":
        return "--source conntrack asks the running kernel, not the tree under --root"
    return None


def main(argv: Optional[list] = None) -> int:
    """Never a traceback: usage errors exit 2, runtime failures 1, each with one line."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`| head -1`): stop quietly, like other command-line tools,
        # and keep Python from complaining about the unflushable stdout at exit.
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_NO_SOURCE
    except Exception as exc:
        say(f"internal error: {exc.__class__.__name__}: {exc}")
        return EXIT_NO_SOURCE


def _main(argv: Optional[list]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    problem = check_combination(args)
    if problem:
        parser.error(problem)
    try:
        filt = build_filter(args)
    except ValueError as exc:
        parser.error(str(exc))
    if args.once:
        return run_once(args, filt)
    from ctwatch.ui.launch import run_tui

    return run_tui(args, filt)


if __name__ == "__main__":
    sys.exit(main())
