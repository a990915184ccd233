"""Conntrack table-full and "callbacks suppressed" lines from the kernel log, read incrementally."""

from __future__ import annotations

import errno
import math
import os
import re
import stat
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Optional

from ctwatch.sources.base import SourceError, explain_oserror, under
from ctwatch.sources.reads import open_checked, read_bytes, read_text
from ctwatch.sources.safe_text import safe_line

# All kernel generations: `ip_conntrack: table full, dropping packet.` (2.4),
# `nf_conntrack: table full, dropping packet` (2.6-6.x, printed twice-prefixed by kernels
# whose pr_fmt adds the module name) and `... table full in netns N, dropping packet`
# (2025+, outside the initial namespace; N is the namespace inode, as in /proc/PID/ns/net).
TABLE_FULL_RE = re.compile(
    r"\b(ip_conntrack|nf_conntrack): (?:(?:ip|nf)_conntrack: )*table full"
    r"(?: in netns (\d+))?, dropping packet"
)
# `net_ratelimit: N callbacks suppressed` and `<function>: N callbacks suppressed`;
# kernels before 2.6.2x said "messages" instead of "callbacks".
SUPPRESSED_RE = re.compile(
    r"(?:^|\] |: )([A-Za-z_][\w.-]*): (\d+) (?:callbacks|messages) suppressed"
)
# `[ 1234.567890] msg` (plain dmesg, optionally after a `<4>` level from `dmesg -r`).
DMESG_BOOT_RE = re.compile(r"^(?:<\d+>)?\[\s*(\d+)\.(\d+)\]\s?(.*)$")
# `2026-11-25T21:26:03,306539+00:00 msg` (`dmesg --time-format iso`).
DMESG_ISO_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)[,.](\d+)([+-]\d\d:?\d\d)\s(.*)$")

RECORD_BUFFER = 16384  # a /dev/kmsg read() needs room for one whole record (8 KiB max)
MAX_RECORDS_PER_POLL = 20000  # a log flood must not stall the caller's loop
KMSG_DEVICE = (1, 11)  # /dev/kmsg's major:minor; anything else (a link to /dev/zero) is refused
FILE_CAP = 32 << 20  # a regular file standing in for /dev/kmsg: the kernel's largest buffer
DMESG_TIMEOUT = 10.0
KERN_FACILITY = 0


@dataclass(frozen=True)
class KernelEvent:
    """One conntrack-related kernel log line."""

    wall: float  # seconds since the epoch (converted from boot time, see KernelLog)
    kind: str  # "table_full" or "suppressed"
    netns: Optional[int]  # namespace inode the kernel named; None = not named (initial netns)
    count: int  # 1 for table_full; N for "N callbacks suppressed"
    message: str  # the message as logged
    subsystem: str = ""  # ip_conntrack / nf_conntrack, or who suppressed (net_ratelimit, ...)


@dataclass(frozen=True)
class LogRecord:
    """One kernel log record: wall time, syslog facility (0 = kernel) and text."""

    wall: float
    facility: int
    message: str
    seq: Optional[int] = None


def _related_suppressor(name: str) -> bool:
    # net_ratelimit is shared by all networking warnings, the conntrack one included; other
    # subsystems' suppressions (EXT4, usb, ...) say nothing about the table.
    lowered = name.lower()
    return lowered == "net_ratelimit" or "conntrack" in lowered or lowered.startswith("nf_ct")


def parse_message(message: str, wall: float) -> Optional[KernelEvent]:
    """The event a log message reports, or None when it is not about conntrack."""
    full = TABLE_FULL_RE.search(message)
    if full:
        netns = int(full.group(2)) if full.group(2) else None
        return KernelEvent(wall, "table_full", netns, 1, message.strip(), full.group(1))
    suppressed = SUPPRESSED_RE.search(message)
    if suppressed and _related_suppressor(suppressed.group(1)):
        count = int(suppressed.group(2))
        return KernelEvent(wall, "suppressed", None, count, message.strip(), suppressed.group(1))
    return None


def parse_kmsg_record(text: str) -> Optional[tuple]:
    """`pri,seq,ts_usec,flags[,...];message` -> (facility, seq, ts_usec, message), or None."""
    header, sep, message = text.partition(";")
    if not sep:
        return None
    fields = header.split(",")
    if len(fields) < 3:
        return None
    try:
        pri, seq, usec = int(fields[0]), int(fields[1]), int(fields[2])
    except ValueError:
        return None
    return pri >> 3, seq, usec, message.rstrip("\n")


def parse_dmesg_line(line: str, boot_wall: float) -> Optional[tuple]:
    """(wall or None, message) from a dmesg line in plain or iso format; None for blanks."""
    line = line.rstrip("\n")
    if not line.strip():
        return None
    boot = DMESG_BOOT_RE.match(line)
    if boot:
        seconds = int(boot.group(1)) + int(boot.group(2)) / 10 ** len(boot.group(2))
        return boot_wall + seconds, boot.group(3)
    iso = DMESG_ISO_RE.match(line)
    if iso:
        offset = iso.group(3)
        if ":" not in offset:
            offset = offset[:3] + ":" + offset[3:]
        fraction = (iso.group(2) + "000000")[:6]
        try:
            stamp = datetime.fromisoformat(f"{iso.group(1)}.{fraction}{offset}")
        except ValueError:
            return None, line
        return stamp.timestamp(), iso.group(4)
    return None, line


def per_minute(
    events: Iterable[KernelEvent], since: Optional[float] = None, until: Optional[float] = None
) -> list:
    """[(minute_start_wall, table_full_count, suppressed_count)], oldest first.

    Without `since`/`until` only minutes that had events are listed; with both, every
    minute from since to until is listed (zeros included), ready for a sparkline.
    """
    full: dict = {}
    suppressed: dict = {}
    for event in events:
        minute = int(event.wall // 60) * 60
        if event.kind == "table_full":
            full[minute] = full.get(minute, 0) + event.count
        else:
            suppressed[minute] = suppressed.get(minute, 0) + event.count
    if since is not None and until is not None:
        minutes = range(int(since // 60) * 60, int(until // 60) * 60 + 1, 60)
    else:
        minutes = sorted(set(full) | set(suppressed))
        if since is not None:
            minutes = [m for m in minutes if m >= int(since // 60) * 60]
        if until is not None:
            minutes = [m for m in minutes if m <= until]
    return [(float(m), full.get(m, 0), suppressed.get(m, 0)) for m in minutes]


def netns_names(root: str = "/") -> dict:
    """{namespace inode: name} for the namespaces named under /run/netns, to label events."""
    directory = under(root, "/run/netns")
    names = {}
    try:
        listing = os.listdir(directory)
    except OSError:
        return names
    for name in listing:
        try:
            names[os.stat(os.path.join(directory, name)).st_ino] = safe_line(name, 64)
        except OSError:
            continue
    return names


class KernelLog:
    """New conntrack events from the kernel log at each `poll()`.

    Reads /dev/kmsg (under `root`) non-blocking; the first poll returns what the ring
    buffer still holds, so an incident logged before ctwatch started is seen. A regular
    file standing in for /dev/kmsg (tests, sample trees) is re-read and filtered by record
    sequence number. When /dev/kmsg cannot be opened, `dmesg` is run at each poll instead
    (only on the live system, root "/", unless `dmesg` names a program explicitly; "" turns
    the fallback off) and lines already seen are skipped by timestamp.

    Never raises from `poll()`: when nothing can be read, `problem` holds one line saying
    why (None when reading works). `via` says what is being read.

    Record times are microseconds since boot; they are converted to wall time with the
    current boot time (CLOCK_BOOTTIME on the live system, `proc/uptime` under another
    root), as `dmesg -T` does, so a suspended machine shows the same skew dmesg does.
    Only kernel-facility records (not lines written by user space to /dev/kmsg) count.
    """

    def __init__(
        self,
        root: str = "/",
        *,
        dmesg: Optional[str] = None,
        clock: Callable[[], float] = time.time,
        boottime: Optional[Callable[[], float]] = None,
    ) -> None:
        self.root = root or "/"
        self.path = under(self.root, "/dev/kmsg")
        live = os.path.abspath(self.root) == "/"
        self._dmesg = ("dmesg" if live else "") if dmesg is None else dmesg
        self._clock = clock
        self._boottime = boottime or (_live_boottime if live else self._tree_uptime)
        self.problem: Optional[str] = None
        self.via = ""
        self.missed = 0  # records overwritten before we read them (EPIPE, sequence gaps)
        self._fd: Optional[int] = None
        self._regular = False
        self._last_seq: Optional[int] = None
        self._use_dmesg = False
        self._dmesg_argv: Optional[list] = None
        self._dmesg_last: Optional[tuple] = None  # (wall, message) of the last line seen
        self._kmsg_problem: Optional[str] = None

    # -- public ------------------------------------------------------------------------
    def poll(self) -> list:
        """Conntrack events logged since the previous poll, oldest first."""
        events = []
        for record in self.read_records():
            if record.facility != KERN_FACILITY:
                continue
            event = parse_message(record.message, record.wall)
            if event is not None:
                events.append(event)
        return events

    def read_records(self) -> list:
        """Every new log record (any facility) since the previous call, as LogRecords."""
        try:
            if not self._use_dmesg and self._fd is None and not self._open():
                self._use_dmesg = bool(self._dmesg)
                if not self._use_dmesg:
                    self.problem = self._kmsg_problem
                    return []
            if self._use_dmesg:
                return self._dmesg_records()
            return self._kmsg_records()
        except Exception as exc:  # the caller's loop must keep running
            self.problem = f"kernel log: {exc}".splitlines()[0]
            return []

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None

    # -- /dev/kmsg -----------------------------------------------------------------------
    def _open(self) -> bool:
        try:
            fd = open_checked(self.path, device=KMSG_DEVICE)
            self._regular = stat.S_ISREG(os.fstat(fd).st_mode)
        except OSError as exc:
            self._kmsg_problem = "kernel log: " + explain_oserror(self.path, exc, "/dev/kmsg")
            return False
        except SourceError as exc:
            self._kmsg_problem = f"kernel log: {exc}"
            return False
        self._fd = fd
        self.via = self.path
        self.problem = None
        return True

    def _boot_wall(self) -> float:
        return self._clock() - self._boottime()

    def _kmsg_records(self) -> list:
        boot_wall = self._boot_wall()
        if self._regular:
            return self._file_records(boot_wall)
        records = []
        for _ in range(MAX_RECORDS_PER_POLL):  # reads, not records: unparsable ones count too
            try:
                data = os.read(self._fd, RECORD_BUFFER)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.EPIPE:  # overwritten before we read them; go on
                    self.missed += 1
                    continue
                self.problem = "kernel log: " + explain_oserror(self.path, exc, "/dev/kmsg")
                self.close()
                break
            if not data:
                break
            record = self._record(data.decode("utf-8", "replace"), boot_wall)
            if record is not None:
                records.append(record)
        return records

    def _record(self, text: str, boot_wall: float) -> Optional[LogRecord]:
        parsed = parse_kmsg_record(text.split("\n", 1)[0])  # continuation lines: metadata
        if parsed is None:
            return None
        facility, seq, usec, message = parsed
        if self._last_seq is not None:
            if seq <= self._last_seq:
                return None
            self.missed += max(0, seq - self._last_seq - 1)
        self._last_seq = seq
        return LogRecord(boot_wall + usec / 1e6, facility, message, seq)

    def _file_records(self, boot_wall: float) -> list:
        try:
            data = read_bytes(self.path, FILE_CAP)  # re-read whole: the stand-in may grow
        except OSError as exc:
            self.problem = "kernel log: " + explain_oserror(self.path, exc, "/dev/kmsg")
            return []
        except SourceError as exc:
            self.problem = f"kernel log: {exc}"
            return []
        records = []
        for line in data.decode("utf-8", "replace").splitlines():
            if not line or line[0] == " ":
                continue
            record = self._record(line, boot_wall)
            if record is not None:
                records.append(record)
        return records

    # -- dmesg fallback ------------------------------------------------------------------
    def _dmesg_records(self) -> list:
        output = self._run_dmesg()
        if output is None:
            return []
        boot_wall = self._boot_wall()
        lines = []
        for raw in output.splitlines():
            parsed = parse_dmesg_line(raw, boot_wall)
            if parsed is not None:
                lines.append(parsed)
        new = lines[self._after_last_seen(lines) if self._dmesg_last else 0 :]
        if lines:
            self._dmesg_last = lines[-1]
        now = self._clock()
        # `--kernel` already dropped user-space lines; plain dmesg cannot tell, so all count.
        return [LogRecord(now if wall is None else wall, KERN_FACILITY, msg) for wall, msg in new]

    def _after_last_seen(self, lines: list) -> int:
        last_wall = self._dmesg_last[0]
        for index in range(len(lines) - 1, -1, -1):
            if lines[index] == self._dmesg_last:
                return index + 1
        if last_wall is None:
            return 0
        # The line we saw last has left the ring buffer: everything newer is new. Walls
        # are recomputed each run, so allow for a small drift of the boot time.
        for index, (wall, _message) in enumerate(lines):
            if wall is not None and wall > last_wall + 0.001:
                return index
        return len(lines)

    def _run_dmesg(self) -> Optional[str]:
        candidates = (
            [self._dmesg_argv]
            if self._dmesg_argv
            else [[self._dmesg, "--kernel", "--time-format", "iso"], [self._dmesg]]
        )
        failure = ""
        for argv in candidates:
            try:
                done = subprocess.run(
                    argv,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=DMESG_TIMEOUT,
                    close_fds=True,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                failure = f"cannot run {argv[0]}: {getattr(exc, 'strerror', None) or exc}"
                continue
            if done.returncode == 0:
                self._dmesg_argv = argv
                self.via = " ".join(argv)
                self.problem = None
                return done.stdout.decode("utf-8", "replace")
            err = done.stderr.decode("utf-8", "replace").strip().splitlines()
            failure = f"{os.path.basename(argv[0])}: {err[-1] if err else done.returncode}"
        self.problem = f"{self._kmsg_problem or 'kernel log'}; {failure}"
        return None

    def _tree_uptime(self) -> float:
        return _uptime(under(self.root, "/proc/uptime"))


def _uptime(path: str) -> float:
    try:
        seconds = float(read_text(path).split()[0])
    except (OSError, SourceError, ValueError, IndexError):
        return 0.0  # no clue: times stay boot-relative offsets from the epoch
    return seconds if math.isfinite(seconds) and seconds >= 0 else 0.0


def _live_boottime() -> float:
    try:
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    except (AttributeError, OSError):
        return _uptime("/proc/uptime")
