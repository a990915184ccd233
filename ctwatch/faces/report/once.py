"""`ctwatch --once`: one Answers from the engine, printed as text, JSON or CSV."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional

from ctwatch.engine.answers import Answers
from ctwatch.engine.once import NamespaceWatch, answer_once, answer_recording, once_monitor
from ctwatch.engine.rules import open_rules, with_rules
from ctwatch.faces.report.csv_text import answers_csv
from ctwatch.faces.report.json import answers_json
from ctwatch.faces.report.rules import rules_csv, rules_json, rules_text
from ctwatch.faces.report.text import answers_text
from ctwatch.model.filters import Filter
from ctwatch.sources.base import SourceError
from ctwatch.sources.safe_text import safe_block, safe_line

EXIT_OK, EXIT_NO_SOURCE = 0, 1


def say(message: str) -> None:
    """One line on stderr; the message may carry a path or a value from outside."""
    print(f"ctwatch: {safe_line(message)}", file=sys.stderr)


def run_once(args: argparse.Namespace, filt: Optional[Filter]) -> int:
    if args.replay:
        return _run_replay(args, filt)
    from ctwatch.sources.kmsg import KernelLog
    from ctwatch.sources.select import open_source

    try:
        source = open_source(args.source, args.root, pid=args.pid, netns=args.netns)
    except SourceError as exc:
        say(str(exc))
        return EXIT_NO_SOURCE
    # The incident answers (kernel log, rates) are the JSON's, and --all-netns needs the
    # kernel log and two readings in every format; plain text and CSV need no wait.
    every_netns = getattr(args, "all_netns", False)
    kernel_log = KernelLog(args.root) if args.json or every_netns else None
    namespaces = NamespaceWatch(args.root) if every_netns else None
    rules = None
    if getattr(args, "rules", False):
        try:
            rules = open_rules(args.root, netns=args.netns, pid=args.pid)
        except SourceError as exc:
            source.close()
            say(str(exc))
            return EXIT_NO_SOURCE
    try:
        monitor = once_monitor(
            source, filt, top=args.top, kernel_log=kernel_log, root=args.root, snat=args.snat
        )
        window = args.rate_window if args.json or every_netns else 0.0
        if rules is not None and window > 0:
            rules[0].poll(force=True)  # the first reading: rates over the window
        answers = answer_once(
            monitor, rate_window=window, rescan=args.growers, namespaces=namespaces
        )
        if rules is not None:
            answers = with_rules(answers, rules[0], rules[1], force=True)
    finally:
        source.close()
        if kernel_log is not None:
            kernel_log.close()
        if rules is not None:
            rules[0].close()
    snap = answers.snapshot
    if answers.scan is None and (snap is None or (snap.count is None and snap.max is None)):
        say("; ".join(answers.problems) or "no conntrack data")
        return EXIT_NO_SOURCE
    print_answers(args, answers, filt, rate_window=window if window > 0 else None)
    for problem in snap.errors if snap else ():  # each refused or unreadable counter
        say(problem)
    if answers.scan is None:
        say(f"table not read: {answers.table_error}")
    for problem in answers.rules.errors if answers.rules else ():  # "needs root": once
        say(problem)
    return EXIT_OK


def _run_replay(args: argparse.Namespace, filt: Optional[Filter]) -> int:
    """`--once --replay FILE`: the recording's last frame that holds a table scan, printed
    as a live --once would print it (for scripts that read recordings)."""
    from ctwatch.sources.recording import ReplaySource

    try:
        source = ReplaySource(args.replay, loop=False)
    except SourceError as exc:
        say(str(exc))
        return EXIT_NO_SOURCE
    answers = answer_recording(once_monitor(source, filt, top=args.top, snat=False))
    if answers is None:
        say(f"{args.replay}: no recorded frame holds a table scan")
        return EXIT_NO_SOURCE
    extra = {"replay": {"frame": source.position, "frames": len(source.frames)}}
    print_answers(args, answers, filt, extra=extra, incident=False)
    return EXIT_OK


def print_answers(
    args: argparse.Namespace,
    answers: Answers,
    filt: Optional[Filter],
    *,
    rate_window: Optional[float] = None,
    extra: Optional[dict] = None,
    incident: bool = True,
) -> None:
    """Text and CSV are made printable here; JSON escapes every control character itself
    (json.dumps writes ASCII only)."""
    text = filt.describe() if filt else ""
    rules = getattr(args, "rules", False)
    if args.csv:
        # One table per CSV: --rules asks for the rules table instead of the breakdowns.
        out = rules_csv(answers.rules) if rules else answers_csv(answers)
    elif args.json:
        doc = answers_json(
            answers,
            text,
            rate_window=rate_window,
            incident=incident,
            growers=args.growers,
            snat=args.snat,
        )
        if rules:
            doc.update(rules_json(answers.rules))
        out = json.dumps({**doc, **(extra or {})}, indent=2) + "\n"
    else:
        out = answers_text(answers, text)
        if rules:
            out += "\n".join(rules_text(answers.rules)) + "\n"
    sys.stdout.write(safe_block(out))
    sys.stdout.flush()
