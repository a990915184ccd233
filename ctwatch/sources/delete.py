"""The --allow-delete action: delete one source address's entries with `conntrack -D -s IP`.

Dangerous by design, so narrow: one validated address (no CIDR, nothing that looks like
an option), an argument list (never a shell), and a log line for every attempt.

Namespaces: the conntrack child is started through an argv prefix, `ip netns exec NAME`
for a named namespace or `nsenter --net=/proc/PID/ns/net` for a process's. A prefix
rather than setns(2) in a preexec_fn: preexec_fn is unsafe in a threaded program (the TUI
polls from worker threads), and the prefix shows in the log exactly what ran.
"""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable, Optional

CONNTRACK = "conntrack"
TIMEOUT = 120.0  # deleting from a huge table walks all of it; never hang the UI forever
_DELETED_RE = re.compile(r"(\d+) flow entries have been deleted")
_SHOWN_RE = re.compile(r"(\d+) flow entries have been shown")
_ADDRESS_CHARS = re.compile(r"^[0-9A-Fa-f:.]+$")


class DeleteError(Exception):
    """The delete was refused or failed; str() is one line meant for the user."""


@dataclass(frozen=True)
class DeleteResult:
    ip: str  # canonical form of the address
    namespace: str  # "-" (ours), a netns name, or "pid:N"
    deleted: int  # what conntrack reported
    argv: tuple  # exactly what ran
    log_error: Optional[str] = None  # the delete happened, but its log line was not written


Runner = Callable[[list], subprocess.CompletedProcess]


def validate_ip(text) -> str:
    """The canonical form of one IPv4/IPv6 address; DeleteError for anything else."""
    if not isinstance(text, str) or not text:
        raise DeleteError("no address given")
    shown = text if len(text) <= 60 else text[:57] + "..."
    if text.startswith("-"):
        raise DeleteError(f"refusing {shown!r}: looks like an option, not an address")
    if "/" in text:
        raise DeleteError(f"refusing {shown!r}: one address only, not a network")
    if not _ADDRESS_CHARS.match(text):
        raise DeleteError(f"refusing {shown!r}: not an IP address")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise DeleteError(f"refusing {shown!r}: not an IP address") from None
    if address.version == 4 and str(address) != text:
        # Python < 3.9.5 reads 010.0.0.1 as 10.0.0.1; other tools read it as octal.
        raise DeleteError(f"refusing {shown!r}: write the address without leading zeros")
    return address.compressed


def namespace_prefix(netns: Optional[str] = None, pid: Optional[int] = None) -> list:
    """argv prefix that runs a command in the namespace; [] for our own."""
    if netns is not None and pid is not None:
        raise DeleteError("give a namespace name or a process id, not both")
    if netns is not None:
        if not netns or "/" in netns or netns in (".", "..") or netns.startswith("-"):
            raise DeleteError(f"invalid network namespace name {netns!r}")
        return ["ip", "netns", "exec", netns]
    if pid is not None:
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
            raise DeleteError(f"invalid process id {pid!r}")
        return ["nsenter", f"--net=/proc/{pid}/ns/net", "--"]
    return []


def _namespace_label(netns: Optional[str], pid: Optional[int]) -> str:
    if netns is not None:
        return netns
    return f"pid:{pid}" if pid is not None else "-"


def delete_argv(ip: str, netns: Optional[str] = None, pid: Optional[int] = None) -> list:
    """The exact command delete_source runs."""
    return [*namespace_prefix(netns, pid), CONNTRACK, "-D", "-s", validate_ip(ip)]


def preview(ip: str, entries_counter) -> int:
    """Entries with this original source in the last scan, to show before confirming.

    entries_counter: the scan's Breakdown (its "src" dimension is used) or a mapping
    {source address: entries}; keys may be compressed or, as /proc prints IPv6,
    exploded. Use the unfiltered totals: conntrack deletes across the whole table.
    """
    address = ipaddress.ip_address(validate_ip(ip))
    if hasattr(entries_counter, "counts"):  # a model.scan.Breakdown
        return int(entries_counter.get("src", address.compressed))
    if not isinstance(entries_counter, Mapping):
        raise TypeError("entries_counter must be a Breakdown or a mapping")
    forms = {address.compressed, address.exploded}
    return sum(int(entries_counter.get(form, 0)) for form in forms)


def _run(argv: list) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=TIMEOUT,
        close_fds=True,
    )


def _call(argv: list, runner: Optional[Runner]) -> subprocess.CompletedProcess:
    try:
        return (runner or _run)(argv)
    except FileNotFoundError:
        raise DeleteError(f"{argv[0]} not found (install conntrack / iproute2)") from None
    except subprocess.TimeoutExpired:
        raise DeleteError(f"{' '.join(argv)} did not finish in {TIMEOUT:.0f} s") from None
    except OSError as exc:
        raise DeleteError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None


def _reported(done: subprocess.CompletedProcess, pattern: re.Pattern, argv: list) -> int:
    # conntrack prints the count on stderr and exits 1 when it matched nothing.
    found = pattern.search(done.stderr or "")
    if found and done.returncode in (0, 1):
        return int(found.group(1))
    lines = [line for line in (done.stderr or "").strip().splitlines() if line.strip()]
    reason = lines[-1] if lines else f"exit status {done.returncode}"
    raise DeleteError(f"{' '.join(argv)} failed: {reason}")


def delete_source(
    ip: str,
    *,
    log_path: str,
    netns: Optional[str] = None,
    pid: Optional[int] = None,
    runner: Optional[Runner] = None,
    clock: Callable[[], float] = time.time,
) -> DeleteResult:
    """Delete every entry whose original source is `ip`; appends one line to `log_path`.

    Raises DeleteError (one line, also logged) when refused or when conntrack failed.
    Run only after preview() and the user's yes: nothing here asks again.
    """
    label = _namespace_label(netns, pid)
    try:
        argv = delete_argv(ip, netns, pid)
    except DeleteError as exc:
        _log(log_path, clock, ip, label, f"refused: {exc}")
        raise
    address = argv[-1]
    try:
        deleted = _reported(_call(argv, runner), _DELETED_RE, argv)
    except DeleteError as exc:
        _log(log_path, clock, address, label, f"failed: {exc}")
        raise
    log_error = _log(log_path, clock, address, label, f"deleted={deleted}")
    return DeleteResult(address, label, deleted, tuple(argv), log_error)


def _log(path: str, clock: Callable[[], float], ip, namespace: str, outcome: str) -> Optional[str]:
    """Append `TIME delete src=IP netns=NS OUTCOME`; returns why it could not, or None."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(clock()))
    shown = ip if isinstance(ip, str) and _ADDRESS_CHARS.match(ip) else repr(ip)
    line = f"{stamp} delete src={shown} netns={namespace} {outcome}".replace("\n", " ") + "\n"
    try:
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, line.encode("utf-8", "replace"))
        finally:
            os.close(fd)
    except OSError as exc:
        return f"cannot write {path}: {exc.strerror or exc}"
    return None
