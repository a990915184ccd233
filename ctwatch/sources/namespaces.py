"""Every network namespace on the host: processes, bind mounts, count and stats, read cheaply."""

from __future__ import annotations

import errno
import os
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from ctwatch.sources.base import SourceError, explain_oserror, under
from ctwatch.sources.netns import CLONE_NEWNET, setns
from ctwatch.sources.reads import LARGE_CAP, read_bytes, read_int, read_text
from ctwatch.sources.safe_text import safe_bytes, safe_line
from ctwatch.sources.stats import StatsError, parse_stats

GLOBAL_MAX = "/proc/sys/net/netfilter/nf_conntrack_max"
STATS = "net/stat/nf_conntrack"
TABLE = "net/nf_conntrack"
NAMED_DIRS = ("/run/netns", "/var/run/netns")  # where `ip netns add` bind-mounts
CLONE_NEWUTS = 0x04000000
# The oldest process names a namespace; pids can wrap, so the start times of the lowest
# few pids are compared. A namespace with thousands of processes costs no more than this.
OLDEST_CANDIDATES = 32
STATS_TRIES = 3  # a process may exit between the listing and the read: try the next one
# Threads' namespaces are read only in processes with more than one thread; this caps
# the readlinks on a host of a few big thread pools (50,000 cost about 0.1 s).
THREADS_MAX = 50000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
COMMAND_CHARS = 80
HOSTNAME_CHARS = 64
MOUNT_NAME_CHARS = 64

_MOUNT_ESCAPE = re.compile(r"\\([0-7]{3})")
_NSFS_ROOT = re.compile(r"net:\[([0-9]{1,20})\]")


@dataclass(frozen=True)
class NetnsFacts:
    """What could be read about one namespace, every string already made printable."""

    inode: int
    pids: tuple = ()  # oldest first when known, else by pid
    # The earliest of: when its oldest process started, when its bind mount was made. A
    # namespace is (nearly always) no older than either, so a kernel-log line from before
    # then is about an earlier namespace that had the same inode number.
    since: Optional[float] = None
    mounts: tuple = ()  # bind-mount paths
    named: tuple = ()  # names under /run/netns
    host: bool = False  # the initial namespace (kernel threads')
    threads: tuple = ()  # "PID/task/TID" of threads inside, when no process is
    cgroup: str = ""  # /proc/PID/cgroup of the oldest process (raw: only parsed, not shown)
    hostname: str = ""  # its UTS hostname, when it has a UTS namespace of its own
    command: str = ""  # its command line
    stats: dict = field(default_factory=dict)  # summed per-CPU counters; `entries` is the count
    table_error: Optional[str] = None  # why the counters or the table cannot be read


@dataclass(frozen=True)
class Discovery:
    namespaces: tuple  # NetnsFacts, host first, then by inode
    max: Optional[int]  # global: applies to each namespace separately
    errors: tuple = ()


def ns_inode(link: str, kind: str = "net") -> Optional[int]:
    """The inode in a /proc/PID/ns/* link text (`net:[4026531833]`), else None."""
    prefix = f"{kind}:["
    body = link[len(prefix) : -1]
    if link.startswith(prefix) and link.endswith("]") and body.isdigit() and body.isascii():
        return int(body)
    return None


def nsfs_mounts(mountinfo: str) -> list:
    """[(namespace inode, mount point)] for every network namespace bind mount in a
    mountinfo text (`46 45 0:4 net:[4026532246] /run/netns/a rw shared:2 - nsfs nsfs rw`)."""
    found = []
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        if len(fields) < 10 or " - nsfs " not in line:
            continue
        inode = _NSFS_ROOT.fullmatch(fields[3])
        if inode:
            mount_point = _MOUNT_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), fields[4])
            found.append((int(inode.group(1)), mount_point))
    return found


def net_inode_at(path: str) -> Optional[int]:
    """The network namespace inode a `.../ns/net` link points to, or None."""
    return ns_inode(_readlink(path) or "")


def _readlink(path: str) -> Optional[str]:
    try:
        return os.readlink(path)
    except OSError:
        return None


def _start_time(root: str, pid: int) -> Optional[int]:
    """Clock ticks after boot the process started (field 22 of /proc/PID/stat)."""
    try:
        text = read_text(under(root, f"/proc/{pid}/stat"))
        return int(text[text.rindex(")") + 2 :].split()[19])
    except (OSError, SourceError, ValueError, IndexError):
        return None


def _processes(root: str) -> tuple:
    """({net inode: [pid, ...]}, {pid: net inode}, pids whose namespace could not be read)."""
    held: dict = {}
    owner: dict = {}
    hidden = 0
    try:
        listing = os.scandir(under(root, "/proc"))
    except OSError as exc:
        raise SourceError(explain_oserror(under(root, "/proc"), exc)) from None
    with listing:
        for entry in listing:
            if not entry.name.isdigit():
                continue
            link = _readlink(os.path.join(entry.path, "ns", "net"))
            inode = ns_inode(link) if link else None
            if inode is None:
                hidden += link is None and os.path.isdir(entry.path)
                continue
            held.setdefault(inode, []).append(int(entry.name))
            owner[int(entry.name)] = inode
    return held, owner, hidden


def _threads(root: str, owner: dict) -> tuple:
    """({net inode: ["PID/task/TID", ...]} for threads in another namespace than their
    process (a thread that called setns), whether the THREADS_MAX cap stopped the search)."""
    found: dict = {}
    looked = 0
    for pid, inode in owner.items():
        tasks = under(root, f"/proc/{pid}/task")
        try:
            with os.scandir(tasks) as listing:
                tids = [t.name for t in listing if t.name.isdigit() and t.name != str(pid)]
        except OSError:
            continue
        for tid in tids:
            if looked >= THREADS_MAX:
                return found, True
            looked += 1
            other = ns_inode(_readlink(f"{tasks}/{tid}/ns/net") or "")
            if other is not None and other != inode:
                found.setdefault(other, []).append(f"{pid}/task/{tid}")
    return found, False


def _oldest_first(root: str, pids: list) -> tuple:
    """(pids oldest first, the oldest one's start in clock ticks after boot, or None)."""
    pids = sorted(pids)
    head = pids[:OLDEST_CANDIDATES]
    starts = {pid: _start_time(root, pid) for pid in head}
    head.sort(key=lambda pid: (starts[pid] is None, starts[pid] or 0, pid))
    return tuple(head + pids[OLDEST_CANDIDATES:]), starts[head[0]]


def _boot_wall(root: str) -> Optional[float]:
    """Wall time of boot on the clock /proc/PID/stat start times count from (boot time,
    suspend included), as the kernel-log reader converts its times."""
    if os.path.realpath(root) == "/" and hasattr(time, "CLOCK_BOOTTIME"):
        return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
    try:
        return time.time() - float(read_text(under(root, "/proc/uptime")).split()[0])
    except (OSError, SourceError, ValueError, IndexError):
        return None


def _read_stats(path: str) -> tuple:
    """(stats, None) or ({}, why not)."""
    try:
        return parse_stats(read_text(path, LARGE_CAP)), None
    except OSError as exc:
        return {}, explain_oserror(path, exc, "conntrack stats")
    except SourceError as exc:
        return {}, str(exc)
    except StatsError as exc:
        return {}, f"{path}: {exc}"


def _table_problem(path: str) -> Optional[str]:
    # access(2), not a read: only the watched namespace's table is ever scanned.
    if os.access(path, os.R_OK):
        return None
    if not os.path.exists(path):
        return f"table not found ({path})"
    return f"permission denied reading {path}: needs root"


def _by_process(root: str, pids: tuple) -> tuple:
    """(stats, problem) read through /proc/PID/net (or /proc/PID/task/TID/net) of the
    first process or thread still alive."""
    problem: Optional[str] = None
    for pid in pids[:STATS_TRIES]:
        stats, problem = _read_stats(under(root, f"/proc/{pid}/{STATS}"))
        if problem is None:
            return stats, _table_problem(under(root, f"/proc/{pid}/{TABLE}"))
    return {}, problem


def _in_thread(jobs: list) -> list:
    """Run `jobs` on a fresh thread that exits afterwards: setns(2) changes only the
    calling thread, and whatever namespace it entered goes with it."""
    results: list = [None] * len(jobs)

    def run() -> None:
        for index, job in enumerate(jobs):
            try:
                results[index] = job()
            except Exception as exc:  # each job's failure is its own
                results[index] = exc

    worker = threading.Thread(target=run, name="ctwatch-netns-list", daemon=True)
    worker.start()
    worker.join()
    return results


def _enter_and(path: str, kind: int, then: Callable):
    def job():
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            setns(fd, kind)
        finally:
            os.close(fd)
        return then()

    return job


def _entered_stats() -> tuple:
    stats, problem = _read_stats(f"/proc/thread-self/{STATS}")
    if problem is None:
        problem = _table_problem(f"/proc/thread-self/{TABLE}")
    return stats, problem


def initial_net(root: str) -> Optional[int]:
    """The inode of the initial network namespace, or None when no link is readable."""
    # Kernel threads (kthreadd is pid 2) live in the initial namespaces, and the kernel
    # log's "table full" without "in netns N" means that one; pid 1 may be unreadable
    # even to root (a sandbox's init), or a container's init.
    for who in ("2", "1", "self"):
        inode = net_inode_at(under(root, f"/proc/{who}/ns/net"))
        if inode is not None:
            return inode
    return None


def _own_uts(root: str) -> Optional[int]:
    for who in ("self", "2"):
        link = _readlink(under(root, f"/proc/{who}/ns/uts"))
        if link and ns_inode(link, "uts") is not None:
            return ns_inode(link, "uts")
    return None


def _command(root: str, pid: int) -> str:
    try:
        raw = read_bytes(under(root, f"/proc/{pid}/cmdline"))
    except (OSError, SourceError):
        raw = b""
    if raw.strip(b"\0"):
        return safe_bytes(raw.rstrip(b"\0").replace(b"\0", b" "), COMMAND_CHARS)
    try:  # a kernel thread or a zombie: its name, as ps shows it
        return "[" + safe_bytes(read_bytes(under(root, f"/proc/{pid}/comm")).strip(), 32) + "]"
    except (OSError, SourceError):
        return ""


def _cgroup(root: str, pid: int) -> str:
    try:
        return read_text(under(root, f"/proc/{pid}/cgroup"), LARGE_CAP)
    except (OSError, SourceError):
        return ""


def _mounted_at(point: str) -> Optional[float]:
    try:
        return os.stat(point).st_ctime
    except OSError:
        return None


def discover_namespaces(root: str = "/") -> Discovery:
    """Every network namespace a process holds (/proc/*/ns/net, one per inode) or a bind
    mount keeps (nsfs mounts in mountinfo, /run/netns among them), with its count and
    stats from its own stats file. No table is read.

    Namespaces with a process are read through /proc/PID/net (root or CAP_SYS_PTRACE);
    those only a bind mount keeps are entered with setns(2) on a short-lived thread
    (CAP_SYS_ADMIN), on the live system only. Raises SourceError when /proc is unreadable.
    """
    live = os.path.realpath(root) == "/"
    errors = []
    held, owner, hidden = _processes(root)
    threads, capped = _threads(root, owner)
    if capped:
        errors.append(f"threads searched for namespaces: the first {THREADS_MAX:,} only")
    if hidden:
        plural = "es" if hidden != 1 else ""
        errors.append(
            f"the network namespace of {hidden:,} process{plural} could not be read "
            "(permission denied: other users' processes need root or CAP_SYS_PTRACE)"
        )
    mounts: dict = {}
    try:
        mountinfo = read_text(under(root, "/proc/self/mountinfo"), LARGE_CAP)
    except (OSError, SourceError) as exc:
        mountinfo = ""
        errors.append(f"bind mounts not listed: {exc}")
    for inode, point in nsfs_mounts(mountinfo):
        mounts.setdefault(inode, []).append(point)
    host = initial_net(root)
    own_uts = _own_uts(root)
    boot_wall = _boot_wall(root)
    facts: dict = {}
    jobs: list = []  # (inode, what, job) run on one setns thread
    for inode in sorted(set(held) | set(mounts) | set(threads), key=lambda i: (i != host, i)):
        points = tuple(safe_line(p) for p in mounts.get(inode, ()))
        # One name bind-mounted twice (/run/netns and a /var/run/netns mount) is one name.
        named = tuple(
            dict.fromkeys(
                safe_line(os.path.basename(p), MOUNT_NAME_CHARS)
                for p in mounts.get(inode, ())
                if os.path.dirname(p) in NAMED_DIRS
            )
        )
        pids = tuple(sorted(held.get(inode, ())))
        one = dict(inode=inode, mounts=points, named=named, host=inode == host)
        since = None
        if pids and inode != host:
            pids, ticks = _oldest_first(root, list(pids))
            if ticks is not None and boot_wall is not None:
                since = boot_wall + ticks / CLOCK_TICKS
        if points and inode != host:
            # Processes may enter a bind-mounted namespace long after it was made, so their
            # age alone says nothing. But nsfs makes a namespace's inode when it is first
            # opened or mounted, and the mount keeps it: its ctime is when `ip netns add`
            # (or attach) mounted it. A kernel-log line from before both that and the
            # oldest process is about an earlier namespace with the same inode number.
            mounted = _mounted_at(mounts[inode][0]) if live else None  # the real path
            if mounted is None:
                since = None  # a process's age alone says nothing here
            elif since is None or mounted < since:
                since = mounted
        one["since"] = since
        one["pids"] = pids
        if pids:
            one["stats"], one["table_error"] = _by_process(root, pids)
            if inode != host and not named:
                one["cgroup"] = _cgroup(root, pids[0])
                one["command"] = _command(root, pids[0])
                uts_path = under(root, f"/proc/{pids[0]}/ns/uts")
                uts = ns_inode(_readlink(uts_path) or "", "uts")
                if live and uts is not None and uts != own_uts:
                    jobs.append((inode, "hostname", _enter_and(uts_path, CLONE_NEWUTS, _uname)))
        elif inode in threads:
            one["threads"] = tuple(threads[inode])
            one["stats"], one["table_error"] = _by_process(root, one["threads"])
            one["command"] = _command(root, int(one["threads"][0].split("/")[0]))
        elif live:
            path = mounts[inode][0]
            jobs.append((inode, "stats", _enter_and(path, CLONE_NEWNET, _entered_stats)))
        else:
            one["table_error"] = "held only by a bind mount: entering it needs the live system"
        facts[inode] = one
    for (inode, what, _), result in zip(jobs, _in_thread([job for _, _, job in jobs])):
        if what == "hostname":
            if isinstance(result, str):
                facts[inode]["hostname"] = safe_line(result, HOSTNAME_CHARS)
        elif isinstance(result, tuple):
            facts[inode]["stats"], facts[inode]["table_error"] = result
        else:
            facts[inode]["table_error"] = _setns_problem(mounts[inode][0], result)
    maximum = None
    try:
        maximum = read_int(under(root, GLOBAL_MAX))
    except OSError as exc:
        errors.append(explain_oserror(under(root, GLOBAL_MAX), exc))
    except SourceError as exc:
        errors.append(str(exc))
    return Discovery(tuple(NetnsFacts(**f) for f in facts.values()), maximum, tuple(errors))


def _uname() -> str:
    return os.uname().nodename


def _setns_problem(path: str, exc: object) -> str:
    if isinstance(exc, OSError):
        if exc.errno in (errno.EPERM, errno.EACCES):
            return f"cannot enter {safe_line(path)}: needs root (CAP_SYS_ADMIN)"
        return f"cannot enter {safe_line(path)}: {exc.strerror or exc}"
    return f"cannot enter {safe_line(path)}: {exc}"
