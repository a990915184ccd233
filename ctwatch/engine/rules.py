"""The firewall rules of the watched namespace: read within the CPU budget, rates between
readings, a baseline `z` resets in ctwatch only, and the advice that names the rule to add."""

from __future__ import annotations

import dataclasses
import logging
import shlex
import threading
from dataclasses import dataclass, replace
from typing import Optional

from ctwatch.engine.reading import SystemClock
from ctwatch.model.rule_advice import backend_in_use, rule_advice
from ctwatch.model.rule_rates import SORTS, counts, rule_rows, sort_rows, uncounted_chains
from ctwatch.model.rules import BACKENDS, Ruleset, merge
from ctwatch.sources.base import SourceError

log = logging.getLogger("ctwatch")

ACTIVE_EVERY = 2.0  # seconds between readings at least, while the rules view is shown
IDLE_EVERY = 60.0  # otherwise: only the advice needs them, and rules change rarely


@dataclass(frozen=True)
class RulesView:
    """One reading of the ruleset as the view, JSON and CSV show it."""

    rows: tuple = ()  # RuleRow, sorted by `sort`
    chains: tuple = ()  # model.rules.Chain
    uncounted: tuple = ()  # chains whose rules have no counter: named, never shown as 0
    backends: tuple = ()  # backends holding rules
    backend: str = "nft"  # the one the advice's commands use
    errors: tuple = ()
    denied: bool = False  # not privileged: NEEDS_ROOT is in errors, said once
    taken_at: Optional[float] = None  # wall time of the reading
    span: Optional[float] = None  # seconds since the reading the rates compare with
    baseline_at: Optional[float] = None  # wall time counts since the baseline start at
    sort: str = "pps"
    cost: float = 0.0  # CPU seconds of the last reading: the tools and our parse
    next_at: Optional[float] = None  # monotonic time of the next reading
    ruleset: Optional[Ruleset] = dataclasses.field(default=None, repr=False, compare=False)


class RulesWatch:
    """Owns the reader, the previous reading and the baseline; `poll()` is called from
    the polling thread, the setters from the UI thread. `background`: a due reading runs
    in a thread of its own and `poll()` returns the latest view at once, so a slow nft
    (1.4 s for 20,000 rules) never holds up the counters' tick."""

    def __init__(
        self, reader, *, cpu_budget: float = 0.10, clock=None, background: bool = False
    ) -> None:
        self.reader = reader
        self.cpu_budget = max(1e-3, cpu_budget)
        self.clock = clock or SystemClock()
        self.background = background
        self.active = False  # the rules view is on screen: read more often
        self._lock = threading.Lock()
        self._sort = "pps"
        self._reset = False
        self._next_at: Optional[float] = None
        self._before: Optional[tuple] = None  # (monotonic, counts) of the last reading
        self._baseline: Optional[tuple] = None  # (wall, counts)
        self._reading: Optional[threading.Thread] = None
        self.view = RulesView()
        self.target = None  # the watched namespace the reader is in (inode, or name)
        self.prefix: tuple = ()  # how the advice's commands enter it
        self.home: Optional[tuple] = None  # (netns, pid, prefix) as started

    def retarget(self, reader, target, prefix: tuple) -> None:
        """Read another namespace's rules from now on (the monitor switched): its counts
        start afresh, rates and baseline included; a reading of the old one is dropped."""
        old, self.reader = self.reader, reader
        self.target, self.prefix = target, prefix
        self._before = self._baseline = None
        self.view = RulesView(sort=self._sort)
        with self._lock:
            self._next_at = None
        old.close()

    # ---- UI thread ----
    def reset_baseline(self) -> None:
        """`z`: counts start from the next reading again (the kernel's stay as they are)."""
        with self._lock:
            self._reset = True
            self._next_at = None

    def cycle_sort(self) -> str:
        with self._lock:
            self._sort = SORTS[(SORTS.index(self._sort) + 1) % len(SORTS)]
            return self._sort

    def set_active(self, active: bool) -> None:
        with self._lock:
            if active and not self.active:
                self._next_at = None  # shown: a fresh reading at once
            self.active = active

    # ---- polling thread ----
    def due(self, now: float) -> bool:
        return self._next_at is None or now >= self._next_at

    def poll(self, force: bool = False) -> RulesView:
        """Read when due (or `force`: now, in this thread); the latest view either way."""
        now = self.clock.monotonic()
        busy = self._reading is not None and self._reading.is_alive()
        with self._lock:
            sort = self._sort
            want = (force or self._reset or self.due(now)) and (force or not busy)
            reset = want and self._reset
            if want:
                self._reset = False
        if want and self.background and not force:
            self._reading = threading.Thread(
                target=self._read_logged, args=(now, reset, sort), name="rules", daemon=True
            )
            self._reading.start()
        elif want:
            self._read(now, reset, sort)
        if sort != self.view.sort and self.view.taken_at is not None:
            self.view = replace(self.view, sort=sort, rows=_resort(self.view.rows, sort))
        return self.view

    def _read_logged(self, now: float, reset: bool, sort: str) -> None:
        try:
            self._read(now, reset, sort)
        except Exception as exc:  # the thread must say why, not die silently
            log.exception("rules")
            self.view = replace(self.view, errors=(f"internal error: {exc}",))
            self._schedule(now, 0.0)

    def _read(self, now: float, reset: bool, sort: str) -> None:
        cpu = self.clock.cpu()
        reader = self.reader
        try:
            output = reader.read()
        except SourceError as exc:
            if reader is not self.reader:
                return  # the monitor switched namespace meanwhile
            self.view = replace(RulesView(), errors=(str(exc),), sort=sort)
            self._schedule(now, 0.0)
            return
        if reader is not self.reader:
            return  # read in the namespace the monitor just left
        ruleset = merge(output.outputs, output.errors)
        wall = self.clock.wall()
        fresh = counts(ruleset)
        if self._baseline is None or reset:
            self._baseline = (wall, fresh)
        before = self._before
        span = now - before[0] if before else None
        rows = rule_rows(ruleset, before[1] if before else {}, span, self._baseline[1], sort)
        self._before = (now, fresh)
        # This thread and the reaped tools (a `cat` of the table reaped meanwhile would be
        # counted too: the cadence then errs on the slow side).
        cost = max(0.0, self.clock.cpu() - cpu)
        self._schedule(now, cost)
        self.view = RulesView(
            rows=rows,
            chains=ruleset.chains,
            uncounted=uncounted_chains(ruleset),
            backends=ruleset.backends,
            backend=backend_in_use(ruleset, output.available),
            errors=ruleset.errors,
            denied=output.denied,
            taken_at=wall,
            span=span,
            baseline_at=self._baseline[0],
            sort=sort,
            cost=cost,
            next_at=self._next_at,
            ruleset=None if output.denied else ruleset,
        )

    def _schedule(self, started: float, cost: float) -> None:
        """No sooner than cost / (its share of the budget) after this reading: the
        table scans have the rest. With the view open the rules get half of it (a
        20,000-rule nft ruleset read in 1.1 CPU-seconds at a 10 % budget: every 22 s);
        closed, a tenth (for the advice: every 60 s at least)."""
        floor, share = (ACTIVE_EVERY, 0.5) if self.active else (IDLE_EVERY, 0.1)
        self._next_at = started + max(floor, cost / (self.cpu_budget * share))

    def close(self) -> None:
        if self._reading is not None:
            self._reading.join(timeout=1.0)  # a reading under way ends with its tools
        self.reader.close()


def _resort(rows: tuple, sort: str) -> tuple:
    if sort == "position":
        return tuple(sorted(rows, key=lambda r: _position(r.rule)))
    return sort_rows(rows, sort)


def _position(rule) -> tuple:
    return (BACKENDS.index(rule.backend), rule.family, rule.table, rule.chain, rule.position)


def netns_prefix(netns: Optional[str], pid: Optional[int]) -> tuple:
    """How a command enters the watched namespace: `ip netns exec NAME`, `nsenter`."""
    if netns:
        return ("ip", "netns", "exec", netns)
    if pid:
        return ("nsenter", f"--net=/proc/{pid}/ns/net")
    return ()


def advise_rules(answers, view: RulesView, prefix: tuple = ()) -> tuple:
    """The advice items that name a rule, from this poll's scan and the latest rules."""
    scan = answers.scan
    if scan is None:
        return ()
    udp, tcp = [], []
    dport = scan.pairs.get("dport") if scan.pairs else None
    for (proto, port), n in dport.rows if dport else ():
        if not str(port).isdigit():
            continue
        if proto == "udp":
            udp.append((int(port), n))
        elif proto == "tcp":
            tcp.append((int(port), n))
    states = {r.key: r.count for r in scan.panels["state"].rows}
    return rule_advice(
        ruleset=view.ruleset,
        backend=view.backend,
        entries=scan.entries,
        udp_ports=tuple(udp),
        tcp_ports=tuple(tcp),
        states=states,
        distinct_src=scan.panels["src"].distinct,
        prefix=prefix,
        ruleset_error="; ".join(view.errors) or "not read yet",
    )


def with_rules(answers, watch: RulesWatch, prefix: tuple = (), force: bool = False):
    """`answers` with the rules view (read when due) and the advice naming rules."""
    try:
        view = watch.poll(force=force)
        items = advise_rules(answers, view, prefix)
    except Exception as exc:  # a bug here must not stop the monitor: say it, go on
        log.exception("rules")
        view = replace(watch.view, errors=(f"internal error: {exc.__class__.__name__}: {exc}",))
        items = ()
    advice = answers.advice
    if advice is not None and items:
        advice = replace(advice, items=tuple(items) + tuple(advice.items))
    return replace(answers, rules=view, advice=advice)


def follow(watch: RulesWatch, watched, source) -> tuple:
    """Keep the rules in the namespace the monitor watches now (its namespaces view can
    switch it); the advice's command prefix for it. Called from the polling thread."""
    target = watched.inode if watched.inode is not None else watched.name
    if watch.target is None or target == watch.target:
        watch.target = target  # the reader was opened on the namespace watched at start
        return watch.prefix
    from ctwatch.sources.rules import RulesReader

    try:
        if watched.home and watch.home is not None:
            netns, pid, prefix = watch.home
            reader = RulesReader(netns=netns, pid=pid)
        else:
            # The monitor's NetnsSource holds the namespace file it entered.
            path = getattr(source, "_path", None)
            reader = RulesReader(path=path) if path else RulesReader()
            prefix = (
                ("ip", "netns", "exec", watched.netns)
                if watched.netns
                else tuple(shlex.split(watched.enter or ""))
            )
    except SourceError as exc:
        watch.view = replace(RulesView(), errors=(f"rules of {watched.name}: {exc}",))
        watch.target = target
        return watch.prefix
    watch.retarget(reader, target, prefix)
    return prefix


def open_rules(
    root: str = "/",
    *,
    netns: Optional[str] = None,
    pid: Optional[int] = None,
    cpu_budget=0.10,
    background: bool = False,
) -> tuple:
    """(RulesWatch, command prefix) for the namespace the monitor watches; SourceError
    when that namespace cannot be entered."""
    from ctwatch.sources.rules import RulesReader

    reader = RulesReader(root, netns=netns, pid=pid)
    watch = RulesWatch(reader, cpu_budget=cpu_budget, background=background)
    watch.prefix = netns_prefix(netns, pid)
    watch.home = (netns, pid, watch.prefix)
    return watch, watch.prefix
