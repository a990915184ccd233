"""`--all-netns`: each network namespace with a name, count, fill, drop rates, last table full."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Optional

from ctwatch.engine.incident import KernelLogView
from ctwatch.model.netns_names import (
    NAME_CHARS,
    Workload,
    choose_name,
    docker_name,
    pod_log_dir,
    workload_from_cgroup,
)
from ctwatch.model.trend import DROP_COUNTERS
from ctwatch.sources.base import SourceError
from ctwatch.sources.containers import docker_config, pod_log_dirs
from ctwatch.sources.namespaces import Discovery, NetnsFacts, discover_namespaces
from ctwatch.sources.safe_text import safe_line

PIDS_SHOWN = 5
# Start times are in clock ticks and both clocks are converted to wall time at a slightly
# different moment: a line this close to the start is not called older.
REUSED_SLACK = 2.0
HOST_NAME = "host"
POD_DIRS_EVERY = 60.0


@dataclass(frozen=True)
class NamespaceRow:
    """One network namespace as --all-netns reports it."""

    inode: int
    name: str  # printable, at most NAME_CHARS
    kind: str  # host, named, container, pod, process or unreachable
    pids: tuple  # at most PIDS_SHOWN, oldest first
    entries: Optional[int]  # its own count (the `entries` column of its stats file)
    max: Optional[int]  # the global max, which applies to each namespace separately
    fill: Optional[float]
    stats: dict  # its own per-CPU counters, summed, by kernel column name
    rates: dict  # drop, early_drop, insert_failed per second; empty after one reading
    last_full: Optional[float]  # wall time of its last "table full" kernel-log line
    since: Optional[float]  # its oldest process's start or its bind mount's, the earlier
    table_error: Optional[str]  # why its counters or table cannot be read
    path: Optional[str] = None  # a file that enters it (setns): see enter_path()

    @property
    def drops_per_second(self) -> float:
        return sum(self.rates.get(k) or 0.0 for k in DROP_COUNTERS)

    @property
    def drops(self) -> int:
        return sum(self.stats.get(k, 0) for k in DROP_COUNTERS)


@dataclass(frozen=True)
class NamespacesView:
    rows: tuple = ()  # NamespaceRow, the most dropping first
    errors: tuple = ()
    cpu_seconds: float = 0.0  # what the last listing cost this process


def sort_key(row: NamespaceRow) -> tuple:
    """Dropping now first, then dropped before, then fullest; the inode keeps it stable."""
    return (-row.drops_per_second, -row.drops, -(row.fill or 0.0), row.inode)


def _rates(now: dict, before: Optional[tuple], at: float) -> dict:
    if before is None:
        return {}
    then, old = before
    span = at - then
    if span <= 0 or not old or not now:
        return {}
    out = {}
    for name in DROP_COUNTERS:
        if name in now and name in old and now[name] >= old[name]:
            out[name] = (now[name] - old[name]) / span
    return out


class NamespaceWatch:
    """Lists the namespaces at each poll; rates come from the previous poll's counters."""

    def __init__(
        self,
        root: str = "/",
        *,
        discover: Callable[[str], Discovery] = discover_namespaces,
        clock: Callable[[], float] = time.monotonic,
        cpu: Callable[[], float] = time.process_time,
    ) -> None:
        self.root = root
        self._discover = discover
        self._clock = clock
        self._cpu = cpu
        self._before: dict = {}  # inode -> (monotonic, stats)
        # Kept for the live monitor's hours of polls: only the containers of the last
        # listing (container churn must not grow it); the pods re-read at most every
        # POD_DIRS_EVERY seconds when one is not known yet (a pod started since).
        self._pods: Optional[dict] = None  # pod uid -> (namespace, name)
        self._pods_at = -1e18
        self._docker: dict = {}  # container id -> name
        self._docker_used: dict = {}

    def poll(self, kernel: Optional[KernelLogView] = None) -> NamespacesView:
        started = self._cpu()
        try:
            found = self._discover(self.root)
        except SourceError as exc:
            return NamespacesView(errors=(str(exc),))
        at = self._clock()
        last_full = dict(kernel.last_full_by_netns) if kernel else {}
        rows = [self._row(f, found.max, at, last_full) for f in found.namespaces]
        seen = {f.inode for f in found.namespaces}
        for inode, wall in sorted(last_full.items(), key=lambda item: item[0] or 0):
            if inode is not None and inode not in seen:
                rows.append(_unreachable(inode, found.max, wall))
        self._before = {f.inode: (at, f.stats) for f in found.namespaces if f.stats}
        self._docker, self._docker_used = self._docker_used, {}
        rows.sort(key=sort_key)
        return NamespacesView(tuple(rows), found.errors, self._cpu() - started)

    def _row(
        self, facts: NetnsFacts, maximum: Optional[int], at: float, last: dict
    ) -> NamespaceRow:
        name, kind = self.name_of(facts)
        entries = facts.stats.get("entries") if facts.stats else None
        fill = entries / maximum if entries is not None and maximum else None
        full = last.get(None if facts.host else facts.inode)
        if full is not None and facts.since is not None and full < facts.since - REUSED_SLACK:
            full = None  # logged before this namespace existed: its inode was reused
        return NamespaceRow(
            inode=facts.inode,
            name=name,
            kind=kind,
            pids=facts.pids[:PIDS_SHOWN],
            entries=entries,
            max=maximum,
            fill=fill,
            stats=dict(facts.stats),
            rates=_rates(facts.stats, self._before.get(facts.inode), at),
            last_full=full,
            since=facts.since,
            table_error=facts.table_error,
            path=enter_path(facts),
        )

    def name_of(self, facts: NetnsFacts) -> tuple:
        """(printable name, kind)."""
        if facts.host:
            return HOST_NAME, "host"
        workload = workload_from_cgroup(facts.cgroup) if facts.cgroup else None
        if workload is not None:
            workload = self._known(workload)
        pid = facts.pids[0] if facts.pids else None
        if pid is None and facts.threads and not facts.named:
            # Only a thread that called setns(2) is inside: name it by its process.
            owner, _, tid = facts.threads[0].partition("/task/")
            command = f"{facts.command} " if facts.command else ""
            return safe_line(f"{command}(pid {owner}, thread {tid})", NAME_CHARS), "process"
        name, kind = choose_name(facts.named, workload, facts.hostname, facts.command, pid)
        if workload is not None and kind == workload.kind and workload.runtime == "docker":
            known = self._docker_name(workload.container)
            if known:
                name = f"docker {known}"
        return safe_line(name, NAME_CHARS), kind

    def _known(self, workload: Workload) -> Workload:
        """The pod's namespace and name, from kubelet's log directories, when readable."""
        if not workload.pod_uid or workload.runtime == "podman":
            return workload
        now = time.monotonic()
        if self._pods is None or (
            workload.pod_uid not in self._pods and now - self._pods_at >= POD_DIRS_EVERY
        ):
            self._pods, self._pods_at = {}, now
            for entry in pod_log_dirs(self.root):
                parsed = pod_log_dir(entry)
                if parsed:
                    self._pods[parsed[2]] = parsed[:2]
        found = self._pods.get(workload.pod_uid)
        if found is None:
            return workload
        return replace(workload, pod_namespace=found[0], pod_name=found[1])

    def _docker_name(self, container_id: str) -> str:
        name = self._docker.get(container_id)
        if name is None:
            name = docker_name(docker_config(self.root, container_id))
        self._docker_used[container_id] = name
        return name


def enter_path(facts: NetnsFacts) -> Optional[str]:
    """The file to open to watch this namespace: its /run/netns name, another bind mount,
    else the namespace link of its oldest process or of a thread inside it."""
    if facts.named:
        return f"/run/netns/{facts.named[0]}"
    if facts.mounts:
        return facts.mounts[0]
    if facts.pids:
        return f"/proc/{facts.pids[0]}/ns/net"
    if facts.threads:
        return f"/proc/{facts.threads[0]}/ns/net"
    return None


class Listing:
    """When the live monitor lists the namespaces: every tick while their view is open,
    rarely otherwise (to name a namespace the kernel log blames, and to sum the memory
    of every table for the advice); never more than the CPU budget allows."""

    def __init__(self, watch: NamespaceWatch, background_every: float = 30.0) -> None:
        self.watch = watch
        self.background_every = background_every
        self.wanted = False  # the namespaces view is open (the UI thread sets it)
        self.view: Optional[NamespacesView] = None
        self._next_at: Optional[float] = None
        self._named: frozenset = frozenset()

    def due(self, now: float, kernel: Optional[KernelLogView]) -> bool:
        if self._next_at is None:
            return True
        blamed = frozenset(kernel.netns_ids) if kernel else frozenset()
        if not blamed <= self._named:
            return True  # a namespace the last listing did not have: name it now
        return now >= self._next_at

    def poll(
        self, now: float, kernel: Optional[KernelLogView], cpu_budget: float, interval: float
    ) -> Optional[NamespacesView]:
        """The latest listing (listed now when due), or None before the first."""
        if not self.due(now, kernel):
            return self.view
        self.view = view = self.watch.poll(kernel)
        self._named = frozenset(r.inode for r in view.rows)
        # The view open: at most every tick, within the budget; half of it is the
        # scans'. Closed: every `background_every` seconds, within a tenth of it.
        share, every = (0.5, interval) if self.wanted else (0.1, self.background_every)
        self._next_at = now + max(every, view.cpu_seconds / (cpu_budget * share)) - 0.05
        return view

    def want(self, wanted: bool) -> None:
        self.wanted = wanted
        if wanted:
            self._next_at = None  # list at the next poll


def _unreachable(inode: int, maximum: Optional[int], wall: float) -> NamespaceRow:
    return NamespaceRow(
        inode=inode,
        name=f"netns {inode}",
        kind="unreachable",
        pids=(),
        entries=None,
        max=maximum,
        fill=None,
        stats={},
        rates={},
        last_full=wall,
        since=None,
        table_error="named only by the kernel log: no process holds it and no bind mount keeps it",
    )


def with_namespaces(answers, watch: NamespaceWatch):
    """`answers` (an Answers) with every namespace listed, their kernel-log links taken
    from the same poll's kernel log, and advice that knows them (memory is shared)."""
    from ctwatch.engine.advising import poll_advice

    view = watch.poll(answers.incident.kernel)
    advice = answers.advice
    if answers.snapshot is not None:
        advice = poll_advice(
            answers.snapshot,
            answers.scan,
            answers.rates,
            answers.incident.tunables,
            answers.watched,
            view,
        )
    return replace(answers, namespaces=view, advice=advice)
