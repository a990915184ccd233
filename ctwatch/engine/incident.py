"""The live monitor's incident answers, updated each poll: drops, kernel log, growers, expiry."""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Optional

from ctwatch.engine.owners import flow_owners
from ctwatch.model.expiry import expiry_table
from ctwatch.model.growers import WINDOWS, GrowthTracker
from ctwatch.model.rollup import snat_view, subnet_rollup
from ctwatch.model.scan import TableScan
from ctwatch.model.trend import DROP_COUNTERS
from ctwatch.sources.base import SourceError, Tunables

log = logging.getLogger("ctwatch")

TUNABLES_EVERY = 60.0  # seconds between reads of the timeout sysctls and slabinfo
SLOW_KERNEL_LOG_EVERY = 10.0  # `dmesg` fallback: a child process, so not every tick
EVENTS_KEPT = 20000
MINUTES_SHOWN = 60


@dataclass(frozen=True)
class KernelLogView:
    per_minute: tuple = ()  # (minute wall, table_full, suppressed, namespaces), newest last
    table_full: int = 0
    suppressed: int = 0
    last_table_full: Optional[float] = None  # wall
    namespaces: tuple = ()  # names (or inode numbers) the kernel named, newest last
    netns_ids: tuple = ()  # the inode numbers themselves, sorted
    last_full_by_netns: tuple = ()  # (inode, or None for the initial namespace; wall)
    via: str = ""
    problem: Optional[str] = None
    enabled: bool = True


@dataclass(frozen=True)
class IncidentView:
    """What the incident screens show; immutable, rides along in each Answers."""

    last_drop: Optional[float] = None  # wall time of the poll where drop counters last rose
    kernel: KernelLogView = field(default_factory=KernelLogView)
    growers: dict = field(default_factory=dict)  # dim -> ((label, covered s, rows), ...)
    expiry: tuple = ()  # ExpiryRow
    tunables: Tunables = field(default_factory=Tunables)
    subnets: Optional[tuple] = None  # ((network, count, share, delta)) when asked for
    snat: Optional[tuple] = None  # NatAddress rows while the SNAT view is open
    snat_error: Optional[str] = None
    owners: Optional[tuple] = None  # (owners, problem) for the drilled focus
    growers_since: Optional[float] = None  # wall time the "since start" baseline was set


def _netns_label(inode: Optional[int], names: dict) -> str:
    if inode is None:
        return "initial"
    return names.get(inode, str(inode))


class IncidentTracker:
    """Fed by Monitor.poll on its worker thread; `view()` is the latest state."""

    def __init__(
        self,
        kernel_log=None,
        root: str = "/",
        own_namespace: bool = True,
        rows: int = 10,
        subnet_rows: int = 100,
    ) -> None:
        self.kernel_log = kernel_log
        self.root = root
        self.own_namespace = own_namespace  # False: sockets are not ours to look up
        self.rows = rows  # growers per window (0: every key that grew)
        self.subnet_rows = subnet_rows  # 0: every network
        self.growth = {dim: GrowthTracker(dim) for dim in ("src", "dst")}
        self.want_subnets = False
        self.want_snat = False
        self.want_owners = True  # costs one socket listing per scan, only while drilled in
        self._reset_requested = False
        self._events: deque = deque(maxlen=EVENTS_KEPT)
        self._netns_names: dict = {}
        self._kernel_next = 0.0
        self._kernel_cached: Optional[tuple] = None
        self._tunables: Optional[Tunables] = None
        self._tunables_at = -1e18
        self._drops_seen: Optional[float] = None
        self._last_drop: Optional[float] = None
        self._growers: dict = {}
        self._growers_since: Optional[float] = None
        self._expiry: tuple = ()
        self._subnets: Optional[tuple] = None
        self._previous_subnets: Optional[dict] = None
        self._snat: Optional[tuple] = None
        self._snat_error: Optional[str] = None
        self._owners: Optional[tuple] = None

    def restart(self) -> None:
        """A replay jumped: growth compares scans from here on (UI thread; the poll that
        follows starts the new baseline)."""
        self.growth = {dim: GrowthTracker(dim) for dim in self.growth}
        self._growers_since = None
        self._growers = {}

    def restart_for(self, source) -> None:
        """The monitor now watches another namespace (polling thread): what was learnt
        from the last one's table goes; the kernel log, the whole machine's, stays."""
        self.restart()
        self.own_namespace = own_namespace(source)
        self._drops_seen = self._last_drop = None
        self._expiry, self._subnets, self._previous_subnets = (), None, None
        self._snat = self._snat_error = self._owners = None
        self._tunables, self._tunables_at = None, -1e18

    def request_reset(self) -> None:
        """`r`: growth counts from the next scan on (the UI thread calls this)."""
        self._reset_requested = True

    # ---- on the worker thread ----
    def on_scan(self, source, table: TableScan, wall: float, monotonic: float) -> None:
        totals = table.totals
        self._refresh_tunables(source, monotonic)  # the expiry table names their values
        for tracker in self.growth.values():
            tracker.add(wall, totals)
        if self._reset_requested or self._growers_since is None:
            self._reset_requested = False
            for tracker in self.growth.values():
                tracker.reset()
            self._growers_since = wall
        self._growers = {
            dim: tuple((label, *tracker.growers(window, self.rows)) for window, label in WINDOWS)
            for dim, tracker in self.growth.items()
        }
        timeouts = self._tunables.timeouts if self._tunables else {}
        self._expiry = tuple(expiry_table(totals.expiry, timeouts))
        self._roll_up(totals)
        if self.want_snat:
            try:
                self._snat = tuple(snat_view(source.table_chunks()))
                self._snat_error = None
            except SourceError as exc:
                self._snat, self._snat_error = None, str(exc)
        if self.want_owners and table.focus is not None:
            self._owners = self._find_owners(table.focus_entries)
        elif table.focus is None:
            self._owners = None

    def _find_owners(self, entries) -> tuple:
        if not self.own_namespace:
            return (
                (),
                "these flows live in another network namespace: its sockets are not ours to see",
            )
        try:
            owners, problem = flow_owners(entries)
        except Exception as exc:  # psutil quirks must not stop the poll
            log.exception("flow owners")
            return (), f"cannot list sockets: {exc}"
        if not owners and problem is None and entries:
            problem = "no local socket owns them: forwarded (routed or NATed) or closed flows"
        return tuple(owners), problem

    def _roll_up(self, totals) -> None:
        """Sources by /24 and /64; in the scan's CPU cost (1M distinct sources: ~1 s)."""
        if not self.want_subnets:
            self._subnets = self._previous_subnets = None
            return
        rollup = subnet_rollup(totals.counts["src"])
        before = self._previous_subnets
        total = totals.entries
        self._subnets = tuple(
            (
                net,
                n,
                n / total if total else 0.0,
                None if before is None else n - before.get(net, 0),
            )
            for net, n in rollup.most_common(self.subnet_rows or None)
        )
        self._previous_subnets = dict(rollup)

    def on_tick(self, source, snap, monotonic: float) -> IncidentView:
        if snap is not None and snap.stats:
            dropped = sum(snap.stats.get(n) or 0 for n in DROP_COUNTERS)
            if self._drops_seen is not None and dropped > self._drops_seen:
                self._last_drop = snap.taken_at
            self._drops_seen = dropped
        self._refresh_tunables(source, monotonic)
        return IncidentView(
            last_drop=self._last_drop,
            kernel=self._kernel(monotonic),
            growers=self._growers,
            expiry=self._expiry,
            tunables=self._tunables or Tunables(),
            subnets=self._subnets if self.want_subnets else None,
            snat=self._snat if self.want_snat else None,
            snat_error=self._snat_error if self.want_snat else None,
            owners=self._owners if self.want_owners else None,
            growers_since=self._growers_since,
        )

    def _refresh_tunables(self, source, monotonic: float) -> None:
        if monotonic - self._tunables_at < TUNABLES_EVERY:
            return
        self._tunables_at = monotonic
        try:
            self._tunables = source.read_tunables()
        except Exception as exc:
            log.info("tunables: %s", exc)
            self._tunables = Tunables(errors=(str(exc),))

    def _kernel(self, monotonic: float) -> KernelLogView:
        klog = self.kernel_log
        if klog is None:
            return KernelLogView(enabled=False)
        if monotonic >= self._kernel_next:
            new = klog.poll()
            slow = klog.via and not klog.via.startswith("/")
            self._kernel_next = monotonic + (SLOW_KERNEL_LOG_EVERY if slow else 0.0)
            self._events.extend(new)
            unknown = {e.netns for e in new if e.netns is not None} - set(self._netns_names)
            if unknown:
                from ctwatch.sources.kmsg import netns_names

                self._netns_names.update(netns_names(self.root))
            if new:
                self._kernel_cached = None
        key = (klog.via, klog.problem)
        if self._kernel_cached is None or self._kernel_cached[0] != key:
            # Recounted only when something new came in (an hour of events is thousands).
            self._kernel_cached = (key, self.kernel_view(klog.via, klog.problem))
        return self._kernel_cached[1]

    def kernel_view(self, via: str = "", problem: Optional[str] = None) -> KernelLogView:
        from ctwatch.sources.kmsg import per_minute

        events = list(self._events)
        spaces: dict = {}
        for e in events:
            if e.kind == "table_full":
                label = _netns_label(e.netns, self._netns_names)
                spaces.setdefault(int(e.wall // 60) * 60, set()).add(label)
        rows = tuple(
            (m, f, s, ", ".join(sorted(spaces.get(int(m), ())))) for m, f, s in per_minute(events)
        )
        full = [e for e in events if e.kind == "table_full"]
        names: list = []
        last_by_netns: dict = {}
        for e in full:
            last_by_netns[e.netns] = max(e.wall, last_by_netns.get(e.netns, e.wall))
            label = _netns_label(e.netns, self._netns_names)
            if label in names:
                names.remove(label)
            names.append(label)
        return KernelLogView(
            per_minute=rows[-MINUTES_SHOWN:],
            table_full=sum(e.count for e in full),
            suppressed=sum(e.count for e in events if e.kind == "suppressed"),
            last_table_full=full[-1].wall if full else None,
            namespaces=tuple(names),
            netns_ids=tuple(sorted({e.netns for e in full if e.netns is not None})),
            last_full_by_netns=tuple(last_by_netns.items()),
            via=via,
            problem=problem,
        )


def incident_tracker(source, kernel_log=None, root: str = "/", **options) -> IncidentTracker:
    """The tracker for `source`. Sockets of another namespace are not ours to see: no
    owners for those flows. Lives here, not in the UI, so that the CLI builds it before
    Textual is imported (the first scan starts before the toolkit loads)."""
    return IncidentTracker(
        kernel_log=kernel_log, root=root, own_namespace=own_namespace(source), **options
    )


def own_namespace(source) -> bool:
    """Whether `source` reads ctwatch's own namespace (its sockets are ours to look up)."""
    return getattr(source, "netns", None) is None and getattr(source, "pid", None) is None


def clock_text(wall: Optional[float]) -> str:
    return "" if wall is None else time.strftime("%H:%M:%S", time.localtime(wall))
