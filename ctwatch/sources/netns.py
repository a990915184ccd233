"""Reading another network namespace: by process id, or by name under /run/netns."""

from __future__ import annotations

import ctypes
import errno
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

from ctwatch.sources.base import Source, SourceError, under
from ctwatch.sources.procfs import ProcSource

CLONE_NEWNET = 0x40000000


def setns(fd: int, nstype: int = CLONE_NEWNET) -> None:
    """setns(2) for the calling thread only; every supported Python (ctypes before 3.12)."""
    if hasattr(os, "setns"):  # Python 3.12+
        os.setns(fd, nstype)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, nstype) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def netns_path(root: str, name: str) -> str:
    if not name or "/" in name or name in (".", ".."):
        raise SourceError(f"invalid network namespace name {name!r}")
    return under(root, f"/run/netns/{name}")


def find_pid_in_netns(root: str, name: str) -> Optional[int]:
    """A process living in the named namespace (same inode), or None."""
    try:
        want = os.stat(netns_path(root, name))
    except OSError:
        return None
    proc = under(root, "/proc")
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        try:
            st = os.stat(os.path.join(proc, entry, "ns", "net"))
        except OSError:
            continue
        if (st.st_ino, st.st_dev) == (want.st_ino, want.st_dev):
            return int(entry)
    return None


class NetnsSource(Source):
    """A named namespace, read from one thread of ours that entered it with setns(2).

    setns changes only the calling thread, so every read runs on that thread; paths go
    through /proc/thread-self/net because /proc/net follows the main thread. The `cat`
    child that reads the table is started from that thread and inherits its namespace.
    """

    name = "netns"

    def __init__(
        self, name: str, root: str = "/", path: Optional[str] = None, inode: Optional[int] = None
    ) -> None:
        """`name` under /run/netns; or any namespace file at `path` (a bind mount, a
        process's /proc/PID/ns/net), called `name`. With `inode`, the namespace found
        there must be that one (a process's pid may have been reused meanwhile)."""
        path = netns_path(root, name) if path is None else under(root, path)
        try:
            # O_NONBLOCK: a FIFO planted at the path must not hang the open; setns then
            # refuses any fd that is not a namespace.
            self._fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise SourceError(
                f"network namespace {name!r} not found ({path})"
                if exc.errno == errno.ENOENT
                else f"cannot open namespace {path}: {exc.strerror}"
            ) from None
        if inode is not None and os.fstat(self._fd).st_ino != inode:
            os.close(self._fd)
            raise SourceError(f"network namespace {name!r} is gone ({path} is another one now)")
        self.inode = os.fstat(self._fd).st_ino
        self.netns = name
        self._path = path
        self.label = f"netns {name}"
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"netns-{name}")
        try:
            self._pool.submit(self._enter).result()
        except OSError as exc:
            self.close()
            raise SourceError(
                f"cannot enter namespace {name!r}: {exc.strerror or exc} (needs root)"
            ) from None
        self._inner = ProcSource(root, net_dir="/proc/thread-self/net")
        self._inner.label = self.label

    def _enter(self) -> None:
        setns(self._fd)

    def _alive(self) -> None:
        # A namespace deleted with `ip netns del` lives on while we hold its fd; say so.
        # One re-created under the same name is another namespace: the bind mount at the
        # path then has another inode than the one we entered.
        try:
            now = os.stat(self._path)
        except OSError:
            raise SourceError(f"network namespace {self.netns!r} is gone") from None
        held = os.fstat(self._fd)
        if (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino):
            raise SourceError(
                f"network namespace {self.netns!r} was re-created; "
                "restart ctwatch to follow the new one"
            )

    def read_counters(self):
        self._alive()
        return self._pool.submit(self._inner.read_counters).result()

    def table_chunks(self):
        self._alive()
        # Start the reader (and open the file) on the namespace thread, consume here.
        return self._pool.submit(self._start_table).result()

    def _start_table(self):
        chunks = self._inner.table_chunks()
        first = next(chunks, None)

        def rest():
            if first is not None:
                yield first
                yield from chunks

        return rest()

    def read_tunables(self):
        return self._pool.submit(self._inner.read_tunables).result()

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        try:
            os.close(self._fd)
        except OSError:
            pass


def pid_netns_label(root: str, pid: int) -> str:
    """How a namespace chosen by --pid is named in metrics: its name under /run/netns
    when it has one, else `net:[INODE]` as `ls -l /proc/PID/ns/net` shows it (the inode
    lasts as long as the namespace; the pid may not)."""
    path = under(root, f"/proc/{pid}/ns/net")
    try:
        held = os.stat(path)
    except OSError:
        return f"pid {pid}"
    folder = under(root, "/run/netns")
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        names = []
    for name in names:
        try:
            st = os.stat(os.path.join(folder, name))
        except OSError:
            continue
        if (st.st_ino, st.st_dev) == (held.st_ino, held.st_dev):
            return name
    return f"net:[{held.st_ino}]"
