"""A real kernel conntrack table for tests: a network namespace with tracking on and real flows."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import itertools
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Optional

TRAFFIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lab_traffic.py")
GLOBAL_MAX = "/proc/sys/net/netfilter/nf_conntrack_max"
# One lowering of the global max at a time, across processes; the saved value survives a
# killed run so the next one restores the real original instead of the lowered value.
MAX_LOCK = "/run/ctwatch-lab-max.lock"
MAX_SAVED = "/run/ctwatch-lab-max.orig"

RULESET = """
table inet ctwatch_lab {
  set syn_drop { type inet_service; }
  set synack_drop { type inet_service; }
  set udp_drop { type inet_service; }
  chain input {
    type filter hook input priority 0; policy accept;
    ct state invalid counter accept
    tcp dport @syn_drop tcp flags & (syn | ack) == syn drop
    tcp sport @synack_drop tcp flags & (syn | ack) == syn | ack drop
    udp dport @udp_drop drop
  }
  chain output {
    type filter hook output priority 0; policy accept;
    ct state new counter accept
  }
}
"""

_counter = itertools.count()
SOURCES = "127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5"  # client addresses for by_src variety


@functools.lru_cache(maxsize=1)
def lab_unavailable_reason() -> Optional[str]:
    """None when labs can be built here; else one line saying what is missing."""
    if not sys.platform.startswith("linux"):
        return f"needs Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return f"needs root (uid {os.geteuid()})"
    for tool, package in (("ip", "iproute2"), ("nft", "nftables")):
        if shutil.which(tool) is None:
            return f"{tool} not installed (apt install {package})"
    if not os.path.isdir("/proc/sys/net/netfilter"):
        return "nf_conntrack not loaded (no /proc/sys/net/netfilter)"
    probe = f"ctwprobe-{os.getpid()}"
    try:
        add = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
        if add.returncode != 0:
            return f"ip netns not permitted: {add.stderr.strip() or add.returncode}"
        nft = subprocess.run(
            ["ip", "netns", "exec", probe, "nft", "-f", "-"],
            input=RULESET,
            capture_output=True,
            text=True,
        )
        if nft.returncode != 0:
            return f"nft ruleset refused: {nft.stderr.strip().splitlines()[-1:]}"
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


class Background:
    """A traffic process living in the namespace until stop()."""

    def __init__(self, proc: subprocess.Popen, what: str) -> None:
        self.proc = proc
        self.what = what

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float = 60) -> str:
        """Block until the process printed its `ready` line; returns that line."""
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith("ready"):
                return line.strip()
        err = ""
        if self.proc.poll() is not None:
            err = self.proc.stderr.read()
        self.stop()
        raise RuntimeError(f"{self.what} did not get ready: {line!r} {err.strip()[-500:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


class Lab:
    """A throwaway network namespace whose loopback traffic the kernel tracks."""

    def __init__(self, prefix: str = "ctwlab") -> None:
        self.name = f"{prefix}-{os.getpid()}-{next(_counter)}"
        self._background: list = []
        self._entered = False

    # -- lifecycle --------------------------------------------------------------------
    def __enter__(self) -> Lab:
        subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True)
        self._entered = True
        try:
            subprocess.run(
                ["ip", "-n", self.name, "link", "set", "lo", "up"], check=True, capture_output=True
            )
            self.nft(RULESET)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        for bg in reversed(self._background):
            with contextlib.suppress(Exception):
                bg.stop()
        self._background.clear()
        self._kill_leftovers()
        if self._entered:
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
            self._entered = False

    def _kill_leftovers(self) -> None:
        """Processes still inside the namespace (a crashed helper) would keep it alive."""
        out = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True)
        for pid in out.stdout.split():
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pid), 9)

    # -- running things inside --------------------------------------------------------
    def run(self, argv: list, check: bool = True, **kw) -> subprocess.CompletedProcess:
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run(["ip", "netns", "exec", self.name, *argv], check=check, **kw)

    def python(
        self, code: str, *args: str, timeout: float = 60, check: bool = True
    ) -> subprocess.CompletedProcess:
        return self.run([sys.executable, "-c", code, *args], check=check, timeout=timeout)

    def popen(self, argv: list, what: str = "") -> Background:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.name, *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        bg = Background(proc, what or " ".join(argv[:3]))
        self._background.append(bg)
        return bg

    def nft(self, text: str) -> None:
        self.run(["nft", "-f", "-"], input=text)

    def cat(self, path: str) -> str:
        return self.run(["cat", path]).stdout

    def sysctl(self, key: str, value) -> None:
        path = "/proc/sys/" + key.replace(".", "/")
        self.run(["sh", "-c", 'printf "%s\\n" "$1" > "$2"', "sysctl", str(value), path])

    def read_sysctl(self, key: str) -> str:
        return self.cat("/proc/sys/" + key.replace(".", "/")).strip()

    def count(self) -> int:
        return int(self.read_sysctl("net.netfilter.nf_conntrack_count"))

    def long_timeouts(self, seconds: int = 3600) -> None:
        """Every short timeout raised so flows made now outlive a test."""
        for key in (
            "tcp_timeout_syn_sent",
            "tcp_timeout_syn_recv",
            "tcp_timeout_time_wait",
            "tcp_timeout_close",
            "tcp_timeout_close_wait",
            "tcp_timeout_fin_wait",
            "tcp_timeout_last_ack",
            "tcp_timeout_unacknowledged",
            "tcp_timeout_max_retrans",
            "udp_timeout",
            "udp_timeout_stream",
            "icmp_timeout",
            "icmpv6_timeout",
            "generic_timeout",
            "gre_timeout",
            "gre_timeout_stream",
            "sctp_timeout_cookie_wait",
            "sctp_timeout_cookie_echoed",
            "sctp_timeout_established",
            "sctp_timeout_closed",
        ):
            with contextlib.suppress(subprocess.CalledProcessError):
                self.sysctl(f"net.netfilter.nf_conntrack_{key}", seconds)

    # -- traffic ------------------------------------------------------------------------
    def traffic(self, *args: str, timeout: float = 120) -> str:
        """Run one lab_traffic.py command to completion inside the namespace; its stdout."""
        proc = self.run([sys.executable, TRAFFIC, *args], timeout=timeout, check=False)
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
            raise RuntimeError(f"lab_traffic {' '.join(args[:3])} failed: {tail[0]}")
        return proc.stdout

    def traffic_bg(self, *args: str) -> Background:
        """Start a lab_traffic.py command that holds its flows until stopped."""
        bg = self.popen([sys.executable, TRAFFIC, *args], what=f"lab_traffic {args[0]}")
        bg.wait_ready()
        return bg

    def fill_udp(self, n: int, timeout: int = 600) -> None:
        """n distinct unreplied UDP entries, fast: one socket, many 127.x.y.z:port targets."""
        self.sysctl("net.netfilter.nf_conntrack_udp_timeout", timeout)
        self.traffic("fill-udp", "--n", str(n), timeout=max(120, n / 10000))

    def drop_syn(self, port: int) -> None:
        """SYNs to `port` vanish after being tracked: the client's entries stay SYN_SENT."""
        self.nft(f"add element inet ctwatch_lab syn_drop {{ {port} }}")

    def drop_synack(self, port: int) -> None:
        """SYN-ACKs from `port` vanish after being tracked: entries stay SYN_RECV."""
        self.nft(f"add element inet ctwatch_lab synack_drop {{ {port} }}")

    def drop_udp(self, port: int) -> None:
        """UDP to `port` is tracked, then dropped (no ICMP unreachable, stays UNREPLIED)."""
        self.nft(f"add element inet ctwatch_lab udp_drop {{ {port} }}")

    def mark_port(self, port: int, mark: int) -> None:
        """New tcp/udp flows to `port` get `ct mark set`."""
        self.nft(
            "insert rule inet ctwatch_lab output ct state new "
            f"meta l4proto {{ tcp, udp }} th dport {port} ct mark set {mark}"
        )

    def mixed(self, scale: int = 1, long_lived: bool = True) -> None:
        """Flows of every kind the lab makes: IPv4 and IPv6, TCP in seven states, UDP
        unreplied and assured, ICMP, ICMPv6, GRE, an unknown protocol, SCTP, UDP-Lite,
        marks; the first flows with accounting, the later ones with timestamps.
        Established and CLOSE_WAIT flows are held by background processes (stopped on exit).
        long_lived raises every short timeout first, so the table holds still for a test;
        without it the kernel's defaults apply and the short-lived kinds (CLOSE: 10 s,
        ICMP: 30 s) are made last.
        """
        if long_lived:
            self.long_timeouts()
        n = max(1, scale)
        self.sysctl("net.netfilter.nf_conntrack_acct", 1)
        self.mark_port(5300, 7)
        self.traffic_bg("hold-tcp", "--n", str(20 * n), "--port", "8000", "--src", SOURCES)
        self.traffic_bg("hold-tcp", "--n", str(5 * n), "--port", "8001", "--v6")
        self.traffic("udp", "--n", str(6 * n), "--port", "5300", "--echo", "--assured")
        self.sysctl("net.netfilter.nf_conntrack_acct", 0)
        self.sysctl("net.netfilter.nf_conntrack_timestamp", 1)
        self.traffic("time-wait", "--n", str(8 * n), "--port", "8002", "--src", SOURCES)
        self.drop_syn(8003)
        self.traffic("syn-sent", "--n", str(4 * n), "--port", "8003")
        self.drop_synack(8004)
        self.traffic("syn-recv", "--n", str(4 * n), "--port", "8004", "--src", SOURCES)
        self.traffic_bg("half-close", "--n", str(3 * n), "--port", "8006", "--v6")
        self.drop_udp(5301)
        self.traffic("udp", "--n", str(5 * n), "--port", "5301", "--src", SOURCES)
        self.traffic("udp", "--n", str(4 * n), "--port", "5302", "--v6", "--echo")
        self.sysctl("net.netfilter.nf_conntrack_timestamp", 0)
        self.traffic("gre", "--n", str(4 * n))
        self.traffic("rawproto", "--n", str(2 * n))
        self.traffic("rawproto", "--n", "1", "--v6")
        self.traffic("sctp", "--n", str(2 * n), "--port", "9900")
        self.traffic("sctp", "--n", str(2 * n), "--port", "9901", "--established")
        with contextlib.suppress(RuntimeError):  # UDP-Lite is going away
            self.traffic("udplite", "--n", str(2 * n), "--port", "7000")
        self.traffic("icmp", "--n", str(3 * n))
        self.traffic("icmp", "--n", str(3 * n), "--v6")
        self.traffic("reset", "--n", str(3 * n), "--port", "8005")

    def pids(self) -> list:
        out = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]


@contextlib.contextmanager
def global_conntrack_max(value: int) -> Iterator[int]:
    """Lower (or raise) the global nf_conntrack_max; the old value is back after the block.

    Yields the original value. Holds an exclusive lock so two labs never interleave their
    save/restore and leave the machine with a lowered limit.
    """
    lock = open(MAX_LOCK, "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        original = _read_max()
        if os.path.exists(MAX_SAVED):
            # A previous run died inside the block: its saved value is the real original.
            with contextlib.suppress(ValueError, OSError):
                original = int(open(MAX_SAVED).read().strip())
        with open(MAX_SAVED, "w") as f:
            f.write(f"{original}\n")
        try:
            _write_max(value)
            yield original
        finally:
            _write_max(original)
            with contextlib.suppress(OSError):
                os.unlink(MAX_SAVED)
    finally:
        lock.close()


def _read_max() -> int:
    with open(GLOBAL_MAX) as f:
        return int(f.read().strip())


def _write_max(value: int) -> None:
    with open(GLOBAL_MAX, "w") as f:
        f.write(f"{int(value)}\n")
