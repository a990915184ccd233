"""Many throwaway network namespaces with static conntrack tables: named ones, process-held ones."""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Optional

# Tracking is switched on per namespace by a rule that uses conntrack.
RULES = """
table inet ctwnslab {
  chain out {
    type filter hook output priority 0; policy accept;
    ct state new counter accept
  }
}
"""
# Runs inside a namespace: long UDP timeouts (the count must hold still between reads),
# then N unreplied UDP flows to distinct loopback ports; with SECONDS, new flows keep
# coming at about 200 a second for that long (to be dropped by a full table).
FLOWS = r"""
import socket, sys, time
n, seconds = int(sys.argv[1]), float(sys.argv[2])
with open("/proc/sys/net/netfilter/nf_conntrack_udp_timeout", "w") as f:
    f.write("3600\n")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
def send(port):
    try:
        s.sendto(b"x", ("127.0.0.1", port))
    except OSError:
        pass  # the table is full: the kernel dropped it, which is the point
for i in range(n):
    send(20000 + i)
end, port = time.monotonic() + seconds, 40000
while time.monotonic() < end and port < 65000:
    send(port)
    port += 1
    time.sleep(0.005)
"""
SETUP = 'ip link set lo up && nft -f - && exec "$0" -c "$1" "$2" "$3"'
_serial = itertools.count()


@dataclass
class Space:
    """One lab namespace: `name` for `ip netns` ones, `proc` for process-held ones."""

    inode: int
    flows: int
    name: Optional[str] = None
    proc: Optional[subprocess.Popen] = None
    hostname: Optional[str] = None

    @property
    def prefix(self) -> list:
        if self.name is not None:
            return ["ip", "netns", "exec", self.name]
        return ["nsenter", "-t", str(self.proc.pid), "-n"]

    def count(self) -> int:
        path = "/proc/sys/net/netfilter/nf_conntrack_count"
        out = subprocess.run(self.prefix + ["cat", path], capture_output=True, text=True)
        return int(out.stdout.strip())

    def flows_now(self, n: int, seconds: float = 0.0, wait: bool = True):
        """Set up tracking (first time) and make `n` flows; `seconds` > 0 keeps sending."""
        argv = self.prefix + ["sh", "-c", SETUP, sys.executable, FLOWS, str(n), str(seconds)]
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        proc.stdin.write(RULES)
        proc.stdin.close()
        if not wait:
            return proc
        err = proc.stderr.read()
        if proc.wait(timeout=120) != 0:
            raise RuntimeError(f"flows in {self.name or self.proc.pid} failed: {err.strip()}")
        proc.stderr.close()
        return None


def _net_inode(pid: int) -> int:
    # An unshare child may not have entered its namespace yet: wait for the link to change.
    own = os.readlink("/proc/self/ns/net")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        link = os.readlink(f"/proc/{pid}/ns/net")
        if link != own:
            return int(link[len("net:[") : -1])
        time.sleep(0.01)
    raise RuntimeError(f"process {pid} never left the initial network namespace")


class Farm:
    """Namespaces made on demand and all removed on exit (processes killed, names deleted)."""

    def __init__(self, prefix: str = "ctwns") -> None:
        self.prefix = f"{prefix}-{os.getpid()}"
        self.spaces: list = []

    def named(self, flows: int) -> Space:
        name = f"{self.prefix}-{next(_serial)}"
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
        space = Space(os.stat(f"/run/netns/{name}").st_ino, flows, name=name)
        self.spaces.append(space)
        if flows:
            space.flows_now(flows)
        return space

    def held(self, flows: int, hostname: Optional[str] = None) -> Space:
        """A namespace only a process holds (`unshare -n sleep`); with `hostname`, the
        process has its own UTS namespace with that name too."""
        if hostname:
            argv = ["unshare", "-n", "-u", "sh", "-c", 'hostname "$0" && exec sleep 900', hostname]
        else:
            argv = ["unshare", "-n", "sleep", "900"]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
        space = Space(0, flows, proc=proc, hostname=hostname)
        self.spaces.append(space)
        space.inode = _net_inode(proc.pid)
        if hostname:  # `hostname` runs before the exec: wait until sleep is the process
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and b"sleep" not in _cmdline(proc.pid):
                time.sleep(0.01)
        if flows:
            space.flows_now(flows)
        return space

    def __enter__(self) -> Farm:
        return self

    def __exit__(self, *exc) -> None:
        for space in self.spaces:
            if space.proc is not None:
                with contextlib.suppress(OSError):
                    space.proc.kill()
                with contextlib.suppress(Exception):
                    space.proc.wait(timeout=10)
            if space.name is not None:
                subprocess.run(["ip", "netns", "del", space.name], capture_output=True)
        self.spaces.clear()


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""
