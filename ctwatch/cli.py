"""Command line: `ctwatch` (the live monitor) and `ctwatch --once` (one scan, text or JSON)."""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from typing import Callable, Optional

from ctwatch import __version__
from ctwatch.model.filters import Filter
from ctwatch.sources.safe_text import safe_line
from ctwatch.sources.select import CHOICES
from ctwatch.sources.values import shown

EXIT_OK, EXIT_NO_SOURCE, EXIT_USAGE = 0, 1, 2


def _list(values: Optional[list]) -> list:
    """Repeated options and comma lists both work: -p tcp -p udp, or -p tcp,udp."""
    out: list = []
    for v in values or ():
        out.extend(x for x in v.split(",") if x)
    return out


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


DEFAULT_PORT = 9611  # README "Fleet: Prometheus" and contrib/systemd/ctwatch.service assume it
DEFAULT_HOST = "0.0.0.0"  # scraped from another host, like node_exporter's :9100
_HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})")


def listen_address(text: str) -> tuple:
    """`[HOST:]PORT` -> (host, port); HOST may be an IPv6 address in brackets."""
    import ipaddress

    host, sep, port = text.strip().rpartition(":")
    if not sep:
        host, port = "", text.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an IPv6 address: {shown(host)}") from None
    elif ":" in host or (host and not (host.isascii() and _HOSTNAME.fullmatch(host))):
        raise argparse.ArgumentTypeError(f"not HOST:PORT ([::1]:PORT for IPv6): {shown(text)}")
    if not (port.isascii() and port.isdigit() and len(port) <= 5 and 0 < int(port) <= 65535):
        raise argparse.ArgumentTypeError(f"not a port (1-65535): {shown(port)}")
    return host or DEFAULT_HOST, int(port)


listen_address.__name__ = "listen address"


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
        "--rules",
        action="store_true",
        help="with --once: add the firewall rules and their counters (nft, iptables)",
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
    exp = p.add_argument_group("Prometheus exporter")
    exp.add_argument(
        "--serve",
        nargs="?",
        const=f":{DEFAULT_PORT}",
        type=listen_address,
        metavar="[HOST:]PORT",
        help=f"serve /metrics over HTTP (default port {DEFAULT_PORT}, every interface)",
    )
    exp.add_argument(
        "--top-netns",
        type=_value(int, 1, 100_000),
        default=50,
        metavar="N",
        help="with --all-netns: namespaces exported one by one (the rest as netns=other; "
        "default 50)",
    )
    exp.add_argument(
        "--textfile",
        metavar="PATH.prom",
        help="write the metrics to PATH every interval (with --once: once), for "
        "node_exporter's textfile collector",
    )
    exp.add_argument(
        "--node-names",
        action="store_true",
        help="also node_exporter's node_nf_conntrack_* names (run node_exporter with "
        "--no-collector.conntrack beside it)",
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
    src.add_argument(
        "--all-netns",
        action="store_true",
        help="with --once: list every network namespace with its count, fill and drops; "
        "with --serve or --textfile: export them (ctwatch_netns_*); live: open the "
        "namespaces view (N)",
    )
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
    from ctwatch.faces.fleet import add_fleet_arguments

    add_fleet_arguments(p)
    return p


def build_filter(args: argparse.Namespace) -> Optional[Filter]:
    return Filter.build(
        src=_list(args.src),
        dst=_list(args.dst),
        proto=_list(args.proto),
        state=_list(args.state),
        dport=_list(args.dport),
    )


# Options that only mean something in one mode, and what each needs.
NEEDS = (
    ("json", "once", "--json needs --once"),
    ("csv", "once", "--csv needs --once"),
    ("snat", "json", "--snat needs --once --json"),
    ("growers", "json", "--growers needs --once --json"),
    ("rules", "once", "--rules needs --once (the live monitor's rules view is the f key)"),
)
LIVE_ONLY = ("record", "allow_delete")


def check_combination(args: argparse.Namespace) -> Optional[str]:
    """Why these options do not go together, or None. A silently ignored option would
    make ctwatch read something other than what the user asked for."""
    for flag, needed, message in NEEDS:
        if getattr(args, flag) and not getattr(args, needed):
            return message
    if args.all_netns:
        return _all_netns_problem(args)
    if args.json and args.csv:
        return "--json and --csv are alternatives"
    problem = _exporter_problem(args)
    if problem:
        return problem
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
    if args.rules and (args.replay or os.path.realpath(args.root) != "/"):
        return "--rules asks the running kernel's firewall, not a recording or --root tree"
    if args.source == "conntrack" and os.path.realpath(args.root) != "/":
        return "--source conntrack asks the running kernel, not the tree under --root"
    return None


def _exporter_problem(args: argparse.Namespace) -> Optional[str]:
    exporting = args.serve is not None or args.textfile is not None
    if args.node_names and not exporting:
        return "--node-names needs --serve or --textfile"
    if not exporting:
        return None
    what = "--serve" if args.serve is not None else "--textfile"
    if args.serve is not None and args.textfile is not None:
        return "--serve and --textfile are alternatives (run two ctwatch processes)"
    if args.serve is not None and args.once:
        return "--serve keeps running; --once goes with --textfile"
    if args.textfile is not None and not args.textfile.endswith(".prom"):
        return "--textfile needs a file name ending in .prom (node_exporter reads only those)"
    for flag in ("json", "csv", "rules", "demo", "replay", "record", "allow_delete"):
        if getattr(args, flag):
            return f"{what} does not go with --{flag.replace('_', '-')}"
    if args.top == 0:
        return f"{what} needs --top 1 or more: every key as a series would be unbounded"
    return None


def _all_netns_problem(args: argparse.Namespace) -> Optional[str]:
    """--all-netns lists the host's namespaces: in --once, the exporter, or the live
    monitor's namespaces view (which it opens with)."""
    for flag in ("pid", "netns", "replay"):
        if getattr(args, flag) is not None:
            return f"--all-netns lists every namespace: --{flag} does not go with it"
    if args.demo:
        return "--all-netns lists this host's namespaces; --demo plays a recording"
    return check_combination(argparse.Namespace(**{**vars(args), "all_netns": False}))


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
        from ctwatch.faces.report.once import say

        say(f"internal error: {exc.__class__.__name__}: {exc}")
        return EXIT_NO_SOURCE


def _main(argv: Optional[list]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from ctwatch.faces.fleet import fleet_problem, run_fleet

    fleet = args.prometheus is not None
    problem = fleet_problem(args) or (None if fleet else check_combination(args))
    if problem:
        parser.error(problem)
    if fleet:
        return run_fleet(args)
    try:
        filt = build_filter(args)
    except ValueError as exc:
        parser.error(str(exc))
    if args.serve is not None or args.textfile is not None:
        from ctwatch.faces.exporter.run import run_exporter

        return run_exporter(args, filt)
    if args.once:
        from ctwatch.faces.report.once import run_once

        return run_once(args, filt)
    from ctwatch.faces.ui.launch import run_tui

    return run_tui(args, filt)


if __name__ == "__main__":
    sys.exit(main())
