"""Watching another namespace from the live monitor, and the way back to the one it started on.

The namespaces view hands a NamespaceRow; the monitor then reads that namespace's table
(as `--netns` does) from its next poll on, with its history, scans and focus started
afresh: numbers of two tables never share a graph or a change column.
"""

from __future__ import annotations

import logging
import os
import shlex
import threading
from dataclasses import dataclass
from typing import Callable, Optional

from ctwatch.engine.namespaces import NamespaceRow
from ctwatch.sources.base import Source, SourceError, under
from ctwatch.sources.namespaces import initial_net, net_inode_at
from ctwatch.sources.netns import NetnsSource

log = logging.getLogger("ctwatch")
INITIAL = "initial"


@dataclass(frozen=True)
class Watched:
    """Which namespace the monitor reads: the top line, the kernel-log link and the
    advice's commands all say it from here."""

    name: str = INITIAL  # how the top line names it ("initial": the host's)
    inode: Optional[int] = None  # None when not known (a sample tree, conntrack(8))
    initial: bool = True  # the initial namespace: kernel-log lines without "in netns N"
    netns: Optional[str] = None  # its /run/netns name: `ip netns exec NAME` enters it
    enter: Optional[str] = None  # else the command prefix that enters it, for the advice
    home: bool = True  # the namespace ctwatch was started on


def watched_at_start(source: Source, root: str = "/") -> Watched:
    """What the monitor watches as started (--netns, --pid, or its own namespace)."""
    live = os.path.realpath(root) == "/"
    netns = getattr(source, "netns", None)
    pid = getattr(source, "pid", None)
    if not live or source.name not in ("proc", "proc-legacy", "netns", "conntrack"):
        return Watched(name=netns or INITIAL, inode=None, initial=netns is None, netns=netns)
    if netns is not None:
        inode = getattr(source, "inode", None)
    elif pid is not None:
        inode = net_inode_at(under(root, f"/proc/{pid}/ns/net"))
    else:
        inode = net_inode_at("/proc/self/ns/net")
    initial = inode is not None and inode == initial_net(root)
    if netns is not None:
        name = netns
    elif pid is not None:
        name = INITIAL if initial else f"pid {pid}'s namespace"
    else:
        name = INITIAL if initial or inode is None else f"net:[{inode}]"
    enter = f"nsenter --target {pid} --net " if pid is not None and not initial else None
    initial = initial or inode is None
    return Watched(name=name, inode=inode, initial=initial, netns=netns, enter=enter)


def source_for(row: NamespaceRow, root: str = "/") -> Source:
    """The source that reads `row`'s table; SourceError when it cannot be entered."""
    if row.path is None:
        raise SourceError(
            f"namespace {row.name} cannot be entered: no process or bind mount holds it"
        )
    return NetnsSource(row.name, root, path=row.path, inode=row.inode)


def watched_for(row: NamespaceRow, initial: Optional[int]) -> Watched:
    named = row.kind == "named" and row.path == f"/run/netns/{row.name}"
    enter = None if named or row.path is None else f"nsenter --net={shlex.quote(row.path)} "
    return Watched(
        name=row.name,
        inode=row.inode,
        initial=row.inode == initial,
        netns=row.name if named else None,
        enter=None if row.inode == initial else enter,
        home=False,
    )


@dataclass(frozen=True)
class Blamed:
    """The namespace of the newest "table full" kernel-log line."""

    inode: Optional[int]  # None: the initial namespace (its lines name no netns)
    name: str
    row: Optional[NamespaceRow]  # its row in the namespaces listed, when it is there
    elsewhere: bool  # not the namespace being watched


def last_blamed(kernel, view, watched: Watched) -> Optional[Blamed]:
    """From a KernelLogView, the poll's NamespacesView (or None) and what is watched."""
    if kernel is None or kernel.last_table_full is None:
        return None
    if not kernel.last_full_by_netns:  # only the labels are known (a recorded view)
        label = kernel.namespaces[-1] if kernel.namespaces else INITIAL
        if label == INITIAL:
            return Blamed(None, "the host", None, not watched.initial)
        return Blamed(None, label, None, label != watched.name)
    inode = max(kernel.last_full_by_netns, key=lambda pair: pair[1])[0]
    rows = view.rows if view is not None else ()
    if inode is None:
        row = next((r for r in rows if r.kind == "host"), None)
        return Blamed(None, "the host", row, not watched.initial)
    row = next((r for r in rows if r.inode == inode), None)
    name = row.name if row is not None and row.kind != "unreachable" else f"netns {inode}"
    elsewhere = watched.inode is None or watched.inode != inode
    if watched.inode is None:
        elsewhere = name != watched.name and kernel.namespaces[-1:] != (watched.name,)
    return Blamed(inode, name, row, elsewhere)


class Switching:
    """Mixed into Monitor: `watch()` from the UI thread, applied by the next poll."""

    source: Source
    reopen: Optional[Callable[[], Source]]
    watched: Watched
    _lock: threading.Lock

    def keep_home(self) -> None:
        self._home = (self.source, self.reopen, self.watched)
        self._switch: Optional[tuple] = None

    root: str

    def watch(self, row: NamespaceRow) -> Watched:
        """Read `row`'s namespace from the next poll on (SourceError: it cannot be entered)."""
        root = self.root
        if self._home[2].inode is not None and row.inode == self._home[2].inode:
            return self.go_home()
        source = source_for(row, root)
        watched = watched_for(row, initial_net(root))
        self._ask((source, None, watched))
        return watched

    def go_home(self) -> Watched:
        self._ask(self._home)
        return self._home[2]

    def _ask(self, switch: tuple) -> None:
        """The switch the next poll makes; one asked before and not made is dropped."""
        with self._lock:
            if self._switch is not None and self._switch[0] is not self._home[0]:
                self._switch[0].close()
            self._switch = switch

    @property
    def away(self) -> bool:
        return not self.watched.home

    def take_switch(self) -> bool:
        """In the polling thread, before reading: True when the source changed."""
        with self._lock:
            switch, self._switch = self._switch, None
        if switch is None or switch[0] is self.source:
            return False
        old = self.source
        self.source, self.reopen, self.watched = switch
        self.netns = self.watched.netns
        if old is not self._home[0]:
            try:
                old.close()
            except Exception:
                log.exception("closing the namespace left")
        log.info("watching: %s", self.source.label)
        return True
