"""Pick and open a source from command-line choices (--source, --root, --pid, --netns)."""

from __future__ import annotations

import os
import shutil
from typing import Optional

from ctwatch.sources.base import Source, SourceError, under
from ctwatch.sources.conntrack_cli import ConntrackSource
from ctwatch.sources.netns import NetnsSource, find_pid_in_netns
from ctwatch.sources.procfs import LEGACY, MODERN, ProcSource, detect_layout

CHOICES = ("auto", "proc", "conntrack")


def open_source(
    kind: str = "auto",
    root: str = "/",
    pid: Optional[int] = None,
    netns: Optional[str] = None,
) -> Source:
    """The source to read, or SourceError saying in one line why there is none.

    auto: the procfs table when its file exists (modern, then legacy), else conntrack(8)
    when installed and root is / (it reads the live kernel, not a tree). A table that
    exists but is unreadable (not root) still gives the proc source: count and max are
    world-readable and worth showing.
    """
    if kind not in CHOICES:
        raise SourceError(f"unknown source {kind!r} (one of {', '.join(CHOICES)})")
    if not os.path.isdir(root):
        raise SourceError(f"--root {root}: no such directory")
    if netns is not None:
        if kind == "conntrack":
            raise SourceError("--netns with --source conntrack: use `ip netns exec` instead")
        try:
            return NetnsSource(netns, root)
        except SourceError as exc:
            found = find_pid_in_netns(root, netns)
            if found is None:
                raise
            src = ProcSource(root, MODERN, pid=found)
            src.label = f"netns {netns} via pid {found} ({exc})"
            return src
    if pid is not None:
        if kind == "conntrack":
            raise SourceError("--pid with --source conntrack is not supported")
        if not os.path.isdir(under(root, f"/proc/{pid}")):
            raise SourceError(f"no process {pid} (under {root})")
        return ProcSource(root, MODERN, pid=pid)
    if kind == "conntrack":
        return ConntrackSource(root)
    layout = detect_layout(root)
    if kind == "proc" or layout is not None:
        if layout is None:
            raise SourceError(_no_table_reason(root))
        return ProcSource(root, layout)
    # conntrack(8) asks the running kernel, not the tree under --root: for a sample tree
    # it would report this host's table as if it were the tree's.
    if os.path.realpath(root) == "/" and shutil.which("conntrack"):
        return ConntrackSource(root)
    raise SourceError(_no_table_reason(root))


def _no_table_reason(root: str) -> str:
    if not os.path.isdir(under(root, "/proc/sys/net")):
        return f"no /proc/sys/net under {root}: is --root right?"
    if not os.path.isdir(under(root, "/proc/sys/net/netfilter")):
        return "nf_conntrack module not loaded (no /proc/sys/net/netfilter)"
    missing = f"no conntrack table: {MODERN.table} and {LEGACY.table} are missing"
    if os.path.realpath(root) != "/":
        return f"{missing} under {root}"
    if shutil.which("conntrack"):
        return f"{missing} (kernel without procfs conntrack? try --source conntrack)"
    return f"{missing} (kernel without procfs conntrack?) and conntrack(8) is not installed"
