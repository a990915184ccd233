"""Bounded readers: files and child processes read with byte caps, line caps and deadlines."""

from __future__ import annotations

import fcntl
import os
import select
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

from ctwatch.sources.base import SourceError, explain_oserror
from ctwatch.sources.gather import gathering_reader
from ctwatch.sources.values import U32_MAX, RefusedValue, parse_uint

CHUNK = 1 << 20
COMMAND_TIMEOUT = 120.0  # seconds without output before a child reader is stopped
_F_SETPIPE_SZ = 1031  # from linux/fcntl.h; Python's fcntl names it only from 3.10
# Every file is opened O_NONBLOCK and checked with fstat before the first read: a FIFO,
# socket or device where a file belongs (a hostile or broken --root tree, a link to
# /dev/zero) is refused at once instead of blocking forever or streaming without end.
# procfs and sysfs files are regular files (procfs reports size 0).
SMALL_CAP = 64 * 1024  # count, max, buckets, a timeout: a dozen bytes in truth
LARGE_CAP = 4 * 1024 * 1024  # stats (one ~170-byte row per CPU: 8192 CPUs fit), slabinfo
SMALL_DEADLINE = 5.0  # seconds for one small file; a regular file never waits this long
TABLE_BYTES_PER_ENTRY = 1024  # the longest real line is a few hundred bytes (IPv6, acct)
TABLE_MARGIN = 2  # the max may be raised (or the count grow) while the table is read
TABLE_MIN_CAP = 64 * 1024 * 1024
TABLE_UNKNOWN_CAP = 1024 * 1024 * 1024  # neither max nor count known: ~5M real entries
TABLE_LINE_CAP = 64 * 1024  # a longer run without a newline is not a conntrack table
TABLE_DEADLINE = 60.0  # seconds for the whole read, plus TABLE_SECONDS_PER_ENTRY each
TABLE_SECONDS_PER_ENTRY = 40e-6  # 1M entries read in ~3 s; this allows 40 s more for them
TABLE_DEADLINE_MAX = 900.0


@dataclass(frozen=True)
class TableLimits:
    """How much of a table is read, and for how long, before the read is stopped."""

    byte_cap: int
    deadline: float  # seconds for the whole read
    why: str  # what the cap was derived from, for the error line


def table_limits(maximum: Optional[int], count: Optional[int]) -> TableLimits:
    """Caps derived from the max, or the count when it is higher (a max lowered under a
    full table does not evict entries; 0 means no limit), with a wide margin.

    A real entry line is 150-400 bytes, so TABLE_BYTES_PER_ENTRY x TABLE_MARGIN leaves a
    5-10x margin over a full table: a legit table is never cut, and a file that keeps
    going (a sparse 50 GB file, a runaway child) stops at a size derived from its max.
    """
    if maximum and maximum >= (count or 0):
        entries, why = maximum, f"larger than max {maximum:,} entries could be"
    elif count is not None:
        entries, why = count, f"larger than {count:,} entries (the count) could be"
    else:
        return TableLimits(TABLE_UNKNOWN_CAP, TABLE_DEADLINE, "and neither count nor max is known")
    cap = max(TABLE_MIN_CAP, entries * TABLE_BYTES_PER_ENTRY * TABLE_MARGIN)
    deadline = min(TABLE_DEADLINE_MAX, TABLE_DEADLINE + entries * TABLE_SECONDS_PER_ENTRY)
    return TableLimits(cap, deadline, why)


def human_size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB"):
        if n < 1024 or n % 1024:
            return f"{n:,} {unit}"
        n //= 1024
    return f"{n:,} GiB"


def _kind(st: os.stat_result) -> str:
    mode = st.st_mode
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "character" if stat.S_ISCHR(mode) else "block"
        return f"a {kind} device ({os.major(st.st_rdev)}:{os.minor(st.st_rdev)})"
    return "not a regular file"


def open_checked(path: str, device: Optional[tuple] = None) -> int:
    """A read-only fd on `path` if it is a regular file (or the char device `device`,
    (major, minor)). OSError when it cannot be opened; SourceError, at once, for a FIFO,
    socket, directory or other device: those would block or never end."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode):
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
            return fd
        if (
            device is not None
            and stat.S_ISCHR(st.st_mode)
            and (os.major(st.st_rdev), os.minor(st.st_rdev)) == device
        ):
            return fd
        what = "a regular file" if device is None else f"the device {device[0]}:{device[1]}"
        raise SourceError(f"{path} is {_kind(st)}, not {what}")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str, cap: int = SMALL_CAP, deadline: float = SMALL_DEADLINE) -> bytes:
    """A whole small file, at most `cap` bytes: more is an error, never silently cut."""
    fd = open_checked(path)
    try:
        give_up = time.monotonic() + deadline
        chunks, size = [], 0
        while size <= cap:
            if time.monotonic() > give_up:
                raise SourceError(f"{path}: reading took over {deadline:g} s and was stopped")
            data = os.read(fd, cap + 1 - size)
            if not data:
                break
            chunks.append(data)
            size += len(data)
    finally:
        os.close(fd)
    if size > cap:
        raise SourceError(f"{path} is larger than {human_size(cap)}: not a kernel file")
    return b"".join(chunks)


def read_text(path: str, cap: int = SMALL_CAP) -> str:
    """A small file as text; OSError when unreadable, SourceError when refused."""
    return read_bytes(path, cap).decode("ascii", errors="replace")


def read_int(path: str, limit: int = U32_MAX) -> int:
    """A sysctl-style number: strict decimal, 0..limit; SourceError names the refused value."""
    text = read_text(path)
    try:
        return parse_uint(text, limit)
    except RefusedValue as exc:
        raise SourceError(f"{path}: {exc}; treated as unknown") from None


def bounded(chunks: Iterator[bytes], what: str, limits: TableLimits) -> Iterator[bytes]:
    """Pass table chunks through until the byte cap or the deadline; cut overlong lines.

    Only runs spanning chunks are cut (what a parser would have to keep pending); a long
    line inside one chunk is the parser's bad line to count. A line past the line cap
    keeps its first TABLE_LINE_CAP bytes and its newline, so the parser counts one bad
    line and goes on, its pending piece bounded (a hostile first line looks like a
    stream without newlines until its end: both are read on, up to the byte cap).
    """
    give_up = time.monotonic() + limits.deadline
    total = run = 0  # bytes read; bytes since the last newline
    lines = False  # a newline was seen: this is line-structured text
    try:
        for chunk in chunks:
            total += len(chunk)
            if total > limits.byte_cap:
                why = limits.why if lines else "not one line end in it: not a conntrack table"
                raise SourceError(f"{what} read stopped at {human_size(limits.byte_cap)}: {why}")
            if time.monotonic() > give_up:
                raise SourceError(_too_slow(what, limits.deadline))
            first = chunk.find(b"\n")
            if first < 0:
                keep = TABLE_LINE_CAP - run
                if len(chunk) > keep:
                    chunk = chunk[: max(0, keep)]
                run += len(chunk)
                if chunk:
                    yield chunk
                continue
            lines = True
            last = chunk.rfind(b"\n")
            tail = len(chunk) - last - 1
            if run + first > TABLE_LINE_CAP or tail > TABLE_LINE_CAP:
                head = chunk[: max(0, min(first, TABLE_LINE_CAP - run))]
                chunk = head + chunk[first : last + 1] + chunk[last + 1 :][:TABLE_LINE_CAP]
                tail = min(tail, TABLE_LINE_CAP)
            run = tail
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # stops a reading child at once


def _too_slow(what: str, seconds: float) -> str:
    return f"{what}: reading took over {seconds:g} s and was stopped"


def file_chunks(path: str, what: str, limits: Optional[TableLimits] = None) -> Iterator[bytes]:
    """Chunks of a file, bounded by `limits`. A virtual /proc file is read by a child
    process (`dd`, gathering pages into big writes, else `cat`: see gather.py).

    The kernel prints /proc/net/nf_conntrack one page per read() call; reading it in
    a thread of ours would hand the GIL back and forth ten thousand times per 250k
    entries. A child process reads it on the other core while we parse the pipe, so
    the whole scan costs about what `cat` alone costs. The child reads the very fd we
    opened and checked (as its stdin), so the file cannot be swapped for a FIFO between.
    """
    limits = limits or table_limits(None, None)
    try:
        fd = open_checked(path)
    except OSError as exc:
        raise SourceError(explain_oserror(path, exc, what)) from None
    try:
        virtual = os.fstat(fd).st_size == 0
    except OSError:
        virtual = False
    cat = shutil.which("cat") if virtual else None
    if cat is None:
        f = os.fdopen(fd, "rb", buffering=0)
        with f:
            yield from bounded(_read_all(f, path, what), what, limits)
        return
    # command_chunks owns fd from here: it closes it once the child has its copy.
    reader = list(gathering_reader() or (cat,))
    chunks = command_chunks(reader, what, stdin=fd, deadline=limits.deadline)
    yield from bounded(chunks, what, limits)


def _read_all(f, path: str, what: str) -> Iterator[bytes]:
    while True:
        try:
            data = f.read(CHUNK)
        except OSError as exc:
            raise SourceError(explain_oserror(path, exc, what)) from None
        if not data:
            return
        yield data


def command_text(argv: list, what: str, cap: int = LARGE_CAP) -> str:
    """The whole, small output of a command (`conntrack -S`, `-C`), at most `cap` bytes."""
    limits = TableLimits(cap, COMMAND_TIMEOUT, "more than a command like this prints")
    return b"".join(bounded(command_chunks(argv, what), what, limits)).decode("ascii", "replace")


def command_chunks(
    argv: list,
    what: str,
    timeout: float = COMMAND_TIMEOUT,
    *,
    deadline: Optional[float] = None,
    stdin: Optional[int] = None,
) -> Iterator[bytes]:
    """Standard output of a command (an argument list, never a shell string), in chunks.

    stderr goes to a temporary file, not a pipe: a chatty child could otherwise fill the
    pipe and block while we wait for its stdout. A child silent for `timeout` seconds (a
    hung `conntrack -L`), or still running after `deadline` seconds in all, is killed so
    the poll loop never stalls forever. `stdin` (an fd) is handed to the child and closed.
    """
    err_file = tempfile.TemporaryFile()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL if stdin is None else stdin,
            stdout=subprocess.PIPE,
            stderr=err_file,
            bufsize=0,
            close_fds=True,
        )
    except OSError as exc:
        err_file.close()
        raise SourceError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    finally:
        if stdin is not None:
            os.close(stdin)
    fd = proc.stdout.fileno()
    try:
        fcntl.fcntl(fd, _F_SETPIPE_SZ, CHUNK)
    except OSError:
        pass  # a smaller pipe only means more, smaller reads
    give_up = None if deadline is None else time.monotonic() + deadline
    finished = False
    stopped = ""
    try:
        while True:
            wait = timeout
            if give_up is not None:
                wait = min(wait, give_up - time.monotonic())
            ready, _, _ = select.select([fd], [], [], max(0.0, wait))
            if not ready:
                stopped = "silent" if wait == timeout else "slow"
                break
            data = os.read(fd, CHUNK)
            if not data:
                break
            yield data
        finished = not stopped
    finally:
        if not finished:
            proc.kill()
        proc.stdout.close()
        code = proc.wait()
        size = err_file.seek(0, os.SEEK_END)
        err_file.seek(max(0, size - SMALL_CAP))  # the last lines say why it failed
        err = err_file.read().decode("utf-8", "replace")
        err_file.close()
    name = os.path.basename(argv[0])
    if stopped == "silent":
        raise SourceError(f"{what}: {name} printed nothing for {timeout:g} s and was stopped")
    if stopped:
        raise SourceError(_too_slow(what, deadline))
    if code != 0:
        message = err.strip().splitlines()[-1] if err.strip() else f"exit status {code}"
        raise SourceError(f"{what}: {name} failed: {message}")
