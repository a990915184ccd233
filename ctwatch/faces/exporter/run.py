"""`ctwatch --serve` and `ctwatch --textfile`: the headless exporter's process, start to exit."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from typing import Optional

from prometheus_client.exposition import generate_latest, start_http_server

from ctwatch.engine.monitor import Monitor
from ctwatch.engine.once import answer_once, once_monitor
from ctwatch.engine.serving import PollLoop
from ctwatch.faces.exporter.collector import AnswersCollector, registry_for
from ctwatch.model.filters import Filter
from ctwatch.sources.base import SourceError
from ctwatch.sources.safe_text import safe_line

EXIT_OK, EXIT_FAILED = 0, 1
log = logging.getLogger("ctwatch")


def say(message: str) -> None:
    print(f"ctwatch: {safe_line(message)}", file=sys.stderr, flush=True)


class _OneLine(logging.Formatter):
    """stderr gets one printable line per event (a journal reads it); details such as
    tracebacks go only to --log-file."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text += f": {exc.__class__.__name__}: {exc}"
        return f"ctwatch: {record.levelname.lower()}: {safe_line(text, 500)}"


def setup_logging(log_file: Optional[str]) -> None:
    """Each new problem (an unreadable table, a vanished namespace) and its recovery is
    logged once by the Monitor; here they reach stderr, and --log-file in full."""
    logger = logging.getLogger("ctwatch")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for old in list(logger.handlers):
        logger.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    logger.addHandler(handler)
    if log_file:
        try:
            detail = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as exc:
            say(f"--log-file {log_file}: {exc.strerror or exc}; logging to stderr only")
        else:
            detail.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
            logger.addHandler(detail)


def write_textfile(path: str, registry) -> None:
    """Atomically: a temporary file in the same directory (node_exporter reads only
    *.prom, so it never sees it), flushed to disk, then renamed over `path`."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(generate_latest(registry))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _open(args: argparse.Namespace):
    from ctwatch.sources.select import open_source

    def reopen():
        return open_source(args.source, args.root, pid=args.pid, netns=args.netns)

    return reopen(), reopen


def netns_label(args: argparse.Namespace) -> Optional[str]:
    """The `netns` label of every series: the namespace's name, or how --pid's is known."""
    if args.netns:
        return args.netns
    if args.pid:
        from ctwatch.sources.netns import pid_netns_label

        return pid_netns_label(args.root, args.pid)
    return None


def run_exporter(args: argparse.Namespace, filt: Optional[Filter]) -> int:
    try:
        source, reopen = _open(args)
    except SourceError as exc:
        say(str(exc))
        return EXIT_FAILED
    netns = netns_label(args)
    if args.once:
        return _textfile_once(args, filt, source, netns)
    setup_logging(args.log_file)
    monitor = Monitor(
        source,
        filt,
        interval=args.interval,
        cpu_budget=args.cpu_budget / 100.0,
        panel_rows=args.top,
        entry_limit=0,
        reopen=reopen,
        netns=getattr(source, "netns", None),
        keep_scan=False,
    )
    loop = PollLoop(monitor, namespaces=_namespace_watch(args))
    stop = threading.Event()

    def stopping(*_) -> None:
        stop.set()
        loop.request_stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stopping)
    try:
        if args.serve:
            return _serve(args, loop, stop, netns)
        return _textfile_loop(args, loop, stop, netns)
    finally:
        loop.stop()
        try:
            monitor.source.close()
        except Exception:
            log.exception("closing the source")


def _serve(args: argparse.Namespace, loop: PollLoop, stop: threading.Event, netns) -> int:
    host, port = args.serve
    collector = AnswersCollector(
        loop.latest,
        loop.counters,
        netns=netns,
        node_names=args.node_names,
        top_netns=args.top_netns,
    )
    try:
        server, _ = start_http_server(port, addr=host, registry=registry_for(collector))
    except OSError as exc:  # in use, not an address of this host, not allowed
        reason = exc.strerror or str(exc)
        say(f"cannot listen on {_shown(host, port)}: {reason}")
        return EXIT_FAILED
    log.info("serving %s on http://%s/metrics", loop.monitor.source.label, _shown(host, port))
    loop.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        server.shutdown()
        server.server_close()
    return EXIT_OK


def _textfile_loop(args: argparse.Namespace, loop: PollLoop, stop: threading.Event, netns):
    """Every interval: one poll (a scan when the budget allows), then the file."""
    registry = registry_for(
        AnswersCollector(
            loop.latest, None, netns=netns, node_names=args.node_names, top_netns=args.top_netns
        )
    )
    failed: Optional[str] = None
    first = True
    while not stop.is_set():
        started = loop.monitor.clock.monotonic()
        try:
            loop.poll_once()
        except Exception:
            if stop.is_set():
                break
            log.exception("poll failed")
        try:
            write_textfile(args.textfile, registry)
        except OSError as exc:
            problem = f"cannot write {args.textfile}: {exc.strerror or exc}"
            if first:  # a wrong path is a mistake to show at once, not to retry forever
                say(problem)
                return EXIT_FAILED
            if problem != failed:
                log.warning("%s", problem)
            failed = problem
        else:
            if failed:
                log.info("writing %s again", args.textfile)
            failed = None
        first = False
        elapsed = loop.monitor.clock.monotonic() - started
        stop.wait(max(0.0, loop.monitor.interval - elapsed))
    return EXIT_OK


def _textfile_once(args: argparse.Namespace, filt, source, netns) -> int:
    """`--once --textfile PATH` (cron): one scan, one file."""
    try:
        monitor = once_monitor(source, filt, top=args.top, root=args.root)
        answers = answer_once(monitor, rate_window=0, namespaces=_namespace_watch(args))
    finally:
        source.close()
    snap = answers.snapshot
    if answers.scan is None and (snap is None or snap.count is None):
        say("; ".join(answers.problems) or "no conntrack data")
        return EXIT_FAILED
    registry = registry_for(
        AnswersCollector(
            lambda: answers,
            None,
            netns=netns,
            node_names=args.node_names,
            top_netns=args.top_netns,
        )
    )
    try:
        write_textfile(args.textfile, registry)
    except OSError as exc:
        say(f"cannot write {args.textfile}: {exc.strerror or exc}")
        return EXIT_FAILED
    for problem in answers.problems:
        say(problem)
    return EXIT_OK


def _shown(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _namespace_watch(args: argparse.Namespace):
    """--all-netns: every namespace's count and stats, listed at each poll (no table read)."""
    if not getattr(args, "all_netns", False):
        return None
    from ctwatch.engine.namespaces import NamespaceWatch

    return NamespaceWatch(args.root)
