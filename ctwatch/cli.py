"""Command line: `ctwatch` (the live monitor) and `ctwatch --once` (one scan, text or JSON)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Optional

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
from ctwatch.sources.select import CHOICES, open_source

EXIT_OK, EXIT_NO_SOURCE, EXIT_USAGE = 0, 1, 2


def _list(values: Optional[list]) -> list:
    """Repeated options and comma lists both work: -p tcp -p udp, or -p tcp,udp."""
    out: list = []
    for v in values or ():
        out.extend(x for x in v.split(",") if x)
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
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
        type=float,
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
        "--top", type=int, default=10, metavar="N", help="rows per breakdown (0 = all; default 10)"
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
        type=int,
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
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="counter poll interval (default 1)",
    )
    tui.add_argument(
        "--cpu-budget",
        type=float,
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
    try:
        source = open_source(args.source, args.root, pid=args.pid, netns=args.netns)
    except SourceError as exc:
        print(f"ctwatch: {exc}", file=sys.stderr)
        return EXIT_NO_SOURCE
    try:
        snap = take_snapshot(source, scan=True, filt=filt)
        extras = incident_extras(source, snap, args, filt) if args.json else {}
    finally:
        source.close()
    if snap.table is None and snap.count is None and snap.max is None:
        print(f"ctwatch: {'; '.join(snap.problems) or 'no conntrack data'}", file=sys.stderr)
        return EXIT_NO_SOURCE
    text = filt.describe() if filt else ""
    if args.csv:
        sys.stdout.write(breakdowns_csv(snapshot_json(snap, args.top, text)))
    elif args.json:
        print(json.dumps({**snapshot_json(snap, args.top, text), **extras}, indent=2))
    else:
        sys.stdout.write(human_summary(snap, args.top, text))
    for problem in snap.errors:  # each refused or unreadable counter: one line
        print(f"ctwatch: {problem}", file=sys.stderr)
    if snap.table is None:
        print(f"ctwatch: table not read: {snap.table_error}", file=sys.stderr)
    return EXIT_OK


def main(argv: Optional[list] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.top < 0:
        parser.error("--top must be 0 (all) or more")
    for flag in ("json", "csv"):
        if getattr(args, flag) and not args.once:
            parser.error(f"--{flag} needs --once")
    if args.json and args.csv:
        parser.error("--json and --csv are alternatives")
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
