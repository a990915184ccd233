"""What every conntrack source provides, and the shared file and pipe readers."""

from __future__ import annotations

import errno
import fcntl
import os
import select
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Optional

from ctwatch.sources.gather import gathering_reader

CHUNK = 1 << 20
COMMAND_TIMEOUT = 120.0  # seconds without output before a child reader is stopped
_F_SETPIPE_SZ = 1031  # from linux/fcntl.h; Python's fcntl names it only from 3.10


class SourceError(Exception):
    """A source cannot be read; str() is one line meant for the user."""


@dataclass(frozen=True)
class Counters:
    """The cheap per-tick readings. None where the kernel did not say."""

    count: Optional[int] = None
    max: Optional[int] = None
    buckets: Optional[int] = None
    stats: dict = field(default_factory=dict)
    errors: tuple = ()


@dataclass(frozen=True)
class Tunables:
    """Slowly changing settings: the timeout sysctls and the entry size from slabinfo."""

    timeouts: dict = field(default_factory=dict)
    slab_objsize: Optional[int] = None
    errors: tuple = ()


class Source:
    """A conntrack table and its counters; subclasses fill in the reading."""

    name = "?"  # short id reported in --json "source"
    label = "?"  # where it reads, for humans

    def read_counters(self) -> Counters:
        raise NotImplementedError

    def table_chunks(self) -> Iterator[bytes]:
        """Raw reads of the table text; raises SourceError when it cannot be read."""
        raise NotImplementedError

    def read_tunables(self) -> Tunables:
        return Tunables()

    def has_table(self) -> bool:
        """False when this tick has no table to scan (a counters-only recorded frame)."""
        return True

    def recorded_scan(self) -> Optional[dict]:
        """Already aggregated table (a recording of a big table), else None: scan the text."""
        return None

    def table_problem(self) -> Optional[str]:
        """Why the table cannot be read right now, or None when it can."""
        try:
            for _ in self.table_chunks():
                break
        except SourceError as exc:
            return str(exc)
        return None

    def close(self) -> None:
        pass


def under(root: str, path: str) -> str:
    """`path` (absolute, as on a live system) inside the tree at `root`."""
    return os.path.join(root, path.lstrip("/"))


def explain_oserror(path: str, exc: OSError, what: str = "") -> str:
    if exc.errno == errno.ENOENT:
        return f"{what} not found ({path})" if what else f"{path} not found"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied reading {path}: needs root"
    return f"cannot read {path}: {exc.strerror or exc}"


def read_text(path: str) -> str:
    with open(path, encoding="ascii", errors="replace") as f:
        return f.read()


def read_int(path: str) -> int:
    text = read_text(path).strip()
    try:
        return int(text)
    except ValueError:
        raise SourceError(f"{path} does not hold a number: {text[:40]!r}") from None


def file_chunks(path: str, what: str) -> Iterator[bytes]:
    """Chunks of a file. A virtual /proc file is read by a child process (gather.py).

    The kernel prints /proc/net/nf_conntrack one page per read() call; reading it in
    a thread of ours would hand the GIL back and forth ten thousand times per 250k
    entries. A child process reads it on the other core while we parse the pipe, so
    the whole scan costs about what `cat` alone costs.
    """
    try:
        f = open(path, "rb", buffering=0)
    except OSError as exc:
        raise SourceError(explain_oserror(path, exc, what)) from None
    with f:
        try:
            virtual = os.fstat(f.fileno()).st_size == 0
        except OSError:
            virtual = False
        cat = shutil.which("cat") if virtual else None
        if cat is None:
            yield from _read_all(f, path, what)
            return
    dd = gathering_reader()
    yield from command_chunks([*dd, f"if={path}"] if dd else [cat, "--", path], what)


def _read_all(f, path: str, what: str) -> Iterator[bytes]:
    while True:
        try:
            data = f.read(CHUNK)
        except OSError as exc:
            raise SourceError(explain_oserror(path, exc, what)) from None
        if not data:
            return
        yield data


def command_chunks(argv: list, what: str, timeout: float = COMMAND_TIMEOUT) -> Iterator[bytes]:
    """Standard output of a command (an argument list, never a shell string), in chunks.

    stderr goes to a temporary file, not a pipe: a chatty child could otherwise fill the
    pipe and block while we wait for its stdout. A child silent for `timeout` seconds (a
    hung `conntrack -L`) is killed so the poll loop never stalls forever.
    """
    err_file = tempfile.TemporaryFile()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err_file,
            bufsize=0,
            close_fds=True,
        )
    except OSError as exc:
        err_file.close()
        raise SourceError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    fd = proc.stdout.fileno()
    try:
        fcntl.fcntl(fd, _F_SETPIPE_SZ, CHUNK)
    except OSError:
        pass  # a smaller pipe only means more, smaller reads
    finished = timed_out = False
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                timed_out = True
                break
            data = os.read(fd, CHUNK)
            if not data:
                break
            yield data
        finished = not timed_out
    finally:
        if not finished:
            proc.kill()
        proc.stdout.close()
        code = proc.wait()
        err_file.seek(0)
        err = err_file.read().decode("utf-8", "replace")
        err_file.close()
    name = os.path.basename(argv[0])
    if timed_out:
        raise SourceError(f"{what}: {name} printed nothing for {timeout:g} s and was stopped")
    if code != 0:
        message = err.strip().splitlines()[-1] if err.strip() else f"exit status {code}"
        raise SourceError(f"{what}: {name} failed: {message}")
