"""`ctwatch --prometheus URL`: the fleet's options, their checks, and the choice of face."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional

from ctwatch.sources.prometheus import (
    DEFAULT_TIMEOUT,
    PASSWORD_ENV,
    TOKEN_ENV,
    USER_ENV,
    Client,
    Config,
    UsageError,
    build_auth,
    check_url,
)
from ctwatch.sources.safe_text import safe_block, safe_line

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_WINDOW = "10m"
SORT_CHOICES = ("drops", "fill", "full")
# Options of the host monitor that mean nothing to the fleet: refused, never ignored.
HOST_ONLY = (
    ("serve", None),
    ("textfile", None),
    ("replay", None),
    ("demo", False),
    ("record", None),
    ("pid", None),
    ("netns", None),
    ("all_netns", False),
    ("snat", False),
    ("growers", False),
    ("allow_delete", False),
    ("node_names", False),
    ("src", None),
    ("dst", None),
    ("proto", None),
    ("state", None),
    ("dport", None),
    ("root", "/"),
    ("source", "auto"),
    ("cpu_budget", 10.0),
    ("top", 10),
    ("top_netns", 50),
    ("rate_window", 1.0),
    ("export_dir", "."),
)
HOST_INTERVAL = 1.0  # the host monitor's --interval default: unset, for the fleet
FLEET_INTERVAL = 10.0  # seconds between refreshes unless -i says otherwise
FLEET_ONLY = (
    "selector",
    "prometheus_user",
    "prometheus_password_file",
    "prometheus_token_file",
    "prometheus_ca_file",
    "prometheus_timeout",
    "fleet_window",
    "fleet_sort",
)


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.1 <= value <= 600:
        raise argparse.ArgumentTypeError(f"not a timeout of 0.1 to 600 seconds: {text[:40]!r}")
    return value


_timeout.__name__ = "timeout"


def add_fleet_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group(
        "fleet (Prometheus)",
        f"secrets come from files or ${USER_ENV}, ${PASSWORD_ENV}, ${TOKEN_ENV}; "
        "never from the command line",
    )
    g.add_argument("--prometheus", metavar="URL", help="watch every host Prometheus scrapes")
    g.add_argument("--selector", metavar="MATCHERS", help="label matchers, e.g. 'job=\"node\"'")
    g.add_argument(
        "--fleet-window",
        default=DEFAULT_WINDOW,
        metavar="DURATION",
        help=f"drops per second and growth over this window (default {DEFAULT_WINDOW})",
    )
    g.add_argument(
        "--fleet-sort",
        choices=SORT_CHOICES,
        default="drops",
        help="order of hosts: drops (default), fill, or full (soonest full first)",
    )
    g.add_argument("--prometheus-user", metavar="NAME", help="basic auth user")
    g.add_argument("--prometheus-password-file", metavar="FILE", help="basic auth password")
    g.add_argument("--prometheus-token-file", metavar="FILE", help="bearer token")
    g.add_argument("--prometheus-ca-file", metavar="FILE", help="CA bundle for https")
    g.add_argument(
        "--prometheus-timeout",
        type=_timeout,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"per query, the whole answer (default {DEFAULT_TIMEOUT:g})",
    )


def fleet_problem(args: argparse.Namespace) -> Optional[str]:
    """Why these options do not go with the fleet (or need it), else None."""
    if getattr(args, "prometheus", None) is None:
        for name in FLEET_ONLY:
            default = {"fleet_window": DEFAULT_WINDOW, "fleet_sort": "drops"}.get(name)
            if name == "prometheus_timeout":
                default = DEFAULT_TIMEOUT
            if getattr(args, name, default) != default:
                return f"--{name.replace('_', '-')} needs --prometheus URL"
        return None
    for name, default in HOST_ONLY:
        if getattr(args, name, default) != default:
            return f"--{name.replace('_', '-')} is for one host, not --prometheus"
    for flag, needed, message in (
        ("json", "once", "--json needs --once"),
        ("csv", "once", "--csv needs --once"),
    ):
        if getattr(args, flag) and not getattr(args, needed):
            return message
    if args.json and args.csv:
        return "--json and --csv are alternatives"
    return None


def open_fleet(args: argparse.Namespace):
    """(FleetWatch, checked URL) from the options; UsageError for a bad one."""
    from ctwatch.engine.fleet import FleetWatch
    from ctwatch.model.promql import SelectorError, parse_duration, parse_selector

    url = check_url(args.prometheus)
    try:
        matchers = parse_selector(args.selector or "")
    except SelectorError as exc:
        raise UsageError(f"--selector: {exc}") from None
    try:
        window = parse_duration(args.fleet_window)
    except ValueError as exc:
        raise UsageError(f"--fleet-window: {exc}") from None
    auth = build_auth(
        args.prometheus_user, args.prometheus_password_file, args.prometheus_token_file
    )
    client = Client(
        Config(url=url, auth=auth, ca_file=args.prometheus_ca_file, timeout=args.prometheus_timeout)
    )
    return FleetWatch(client, matchers, window), url


def say(message: str) -> None:
    print(f"ctwatch: {safe_line(message, 500)}", file=sys.stderr)


def run_fleet(args: argparse.Namespace) -> int:
    try:
        watch, url = open_fleet(args)
    except UsageError as exc:
        say(str(exc))
        return EXIT_USAGE
    if not args.once:
        from ctwatch.faces.ui.fleet_launch import run_fleet_tui

        return run_fleet_tui(args, watch, url)
    return run_fleet_once(args, watch, url)


def run_fleet_once(args: argparse.Namespace, watch, url: str) -> int:
    from ctwatch.faces.report.fleet import fleet_csv, fleet_json, fleet_text

    answers = watch.poll()
    if answers.error:
        say(f"Prometheus: {answers.error}")
        return EXIT_FAILED
    if args.json:
        doc = fleet_json(answers, url, args.selector or "", args.fleet_sort)
        out = json.dumps(doc, indent=2) + "\n"
    elif args.csv:
        out = fleet_csv(answers, args.fleet_sort)
    else:
        out = fleet_text(answers, args.fleet_sort)
    sys.stdout.write(safe_block(out))
    sys.stdout.flush()
    if not answers.rows:
        say("no host exports ctwatch_entries or node_nf_conntrack_entries to this selector")
    return EXIT_OK
