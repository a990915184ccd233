"""The firewall ruleset as its tools print it: `nft -j list ruleset` and `*tables-save -c`,
each run as an argument list with bounded output and time, inside the watched namespace."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Optional

from ctwatch.sources.base import SourceError, under
from ctwatch.sources.netns import netns_path, setns
from ctwatch.sources.reads import command_chunks, human_size

# (backend, family, argv). nft lists every family at once; iptables needs one tool per
# backend and family. The explicit -legacy/-nft names: Debian's `iptables` alternative
# points at one backend only, and rules can sit in both.
COMMANDS = (
    ("iptables-nft", "ip", ("iptables-nft-save", "-c")),
    ("iptables-nft", "ip6", ("ip6tables-nft-save", "-c")),
    ("iptables-legacy", "ip", ("iptables-legacy-save", "-c")),
    ("iptables-legacy", "ip6", ("ip6tables-legacy-save", "-c")),
    # -t (terse): without the elements of named sets. Rules name a set (@blocklist), its
    # elements are no rule: a 200,000-address blocklist cost nft 1.1 s and 3 MB of JSON.
    ("nft", None, ("nft", "-j", "-t", "list", "ruleset")),  # last: skips iptables-nft's
)
# nft joins its arguments into one command line and parses it: a table name is passed
# only when it is a plain identifier (a name made over netlink could hold `;`).
NFT_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,255}")
NFT_FAMILIES = frozenset(("ip", "ip6", "inet", "arp", "bridge", "netdev"))
_SAVED_TABLE = re.compile(r"^\*(\S+)$", re.M)
_INCOMPATIBLE = re.compile(r"^# Table `([^']*)' (?:contains incompatible|is incompatible)", re.M)
OUTPUT_CAP = 512 * 1024 * 1024  # ~2M rules of nft JSON; a runaway tool stops here
DEADLINE = 60.0  # seconds for one tool; a 20,000-rule ruleset lists in well under 1 s
SILENCE = 30.0
CAP_NET_ADMIN = 12
NEEDS_ROOT = (
    "the firewall rules need root (CAP_NET_ADMIN): nft and iptables-save read them over "
    "netlink and the kernel refuses others"
)


@dataclass(frozen=True)
class RulesOutput:
    """What one reading printed: (backend, family, text) per tool that ran, and why the
    others failed. `denied`: every tool was refused for want of privilege."""

    outputs: tuple = ()
    errors: tuple = ()
    denied: bool = False
    available: tuple = ()  # backends whose tools are installed, in COMMANDS order


def has_net_admin(status_path: str = "/proc/self/status") -> bool:
    """Root, or CAP_NET_ADMIN in the effective set (a service given only that)."""
    if os.geteuid() == 0:
        return True
    try:
        with open(status_path, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> CAP_NET_ADMIN & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False


def _denied(message: str) -> bool:
    low = message.lower()
    return any(w in low for w in ("permission denied", "operation not permitted", "must be root"))


class RulesReader:
    """Runs the ruleset tools in the network namespace the monitor watches: --netns NAME
    (/run/netns/NAME), --pid PID (/proc/PID/ns/net) or the namespace file the monitor
    switched to (`path`), entered by one thread of ours
    with setns(2); its children inherit that namespace. None of the tools changes
    anything: they list."""

    def __init__(
        self,
        root: str = "/",
        *,
        netns: Optional[str] = None,
        pid: Optional[int] = None,
        path: Optional[str] = None,
        which: Callable = shutil.which,
        privileged: Callable = has_net_admin,
    ) -> None:
        self.netns = netns
        self._pool: Optional[ThreadPoolExecutor] = None
        self._fd: Optional[int] = None
        self.tools = tuple(
            (backend, family, (path, *argv[1:]))
            for backend, family, argv in COMMANDS
            for path in (which(argv[0]),)
            if path
        )
        self._privileged = privileged
        if netns is None and pid is None and path is None:
            return
        if path is None:  # else a namespace file as it is (the monitor switched to it)
            path = netns_path(root, netns) if netns else under(root, f"/proc/{pid}/ns/net")
        try:
            self._fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise SourceError(
                f"network namespace {path} not found"
                if exc.errno == errno.ENOENT
                else f"cannot open namespace {path}: {exc.strerror}"
            ) from None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rules-netns")
        try:
            self._pool.submit(setns, self._fd).result()
        except OSError as exc:
            self.close()
            raise SourceError(
                f"cannot enter namespace {path}: {exc.strerror or exc} (needs root)"
            ) from None

    @property
    def available(self) -> tuple:
        held = {backend for backend, _, _ in self.tools}
        return tuple(b for b in ("nft", "iptables-nft", "iptables-legacy") if b in held)

    def read(self) -> RulesOutput:
        """Every installed tool's listing; SourceError only when none is installed."""
        if not self.tools:
            raise SourceError("neither nft nor iptables-save is installed: no rules to show")
        if not self._privileged():
            return RulesOutput((), (NEEDS_ROOT,), True, self.available)
        if self._pool is not None:
            return self._pool.submit(self._read_all).result()
        return self._read_all()

    def _read_all(self) -> RulesOutput:
        outputs, errors = [], []
        refused = 0
        managed = set()  # (family, table) iptables-nft printed: nft need not list them
        for backend, family, argv in self.tools:
            what = " ".join(os.path.basename(a) for a in argv[:2])
            try:
                if backend == "nft":
                    texts = self._nft(list(argv), what, managed)
                else:
                    texts = [run_tool(list(argv), what)]
            except SourceError as exc:
                message = str(exc)
                if _denied(message):
                    refused += 1
                else:
                    errors.append(message)
                continue
            if backend == "iptables-nft":
                managed.update(_saved_tables(texts[0], family))
            outputs.extend((backend, family, text) for text in texts)
        denied = refused == len(self.tools)
        if refused and not denied:
            errors.append(f"{refused} of the ruleset tools were refused: {NEEDS_ROOT}")
        return RulesOutput(
            tuple(outputs), (NEEDS_ROOT,) if denied else tuple(errors), denied, self.available
        )

    @staticmethod
    def _nft(argv: list, what: str, managed: set) -> list:
        """`nft -j list ruleset`; when iptables-nft holds tables, only the other tables,
        one by one: nft would list iptables-nft's rules too (measured with 20,000 of them:
        0.6 s of nft's CPU and 0.2 s of JSON decoding, for rules we take from
        iptables-nft-save), while `list tables` costs a third of that."""
        if not managed:
            return [run_tool(argv, what)]
        listing = run_tool([argv[0], "-j", "list", "tables"], "nft -j list tables")
        try:
            items = json.loads(listing).get("nftables", [])
        except (ValueError, AttributeError):
            return [run_tool(argv, what)]
        tables = []
        for item in items if isinstance(items, list) else ():
            table = item.get("table") if isinstance(item, dict) else None
            if not isinstance(table, dict):
                continue
            family, name = table.get("family"), table.get("name")
            if (family, name) in managed:
                continue
            if (
                family not in NFT_FAMILIES
                or not isinstance(name, str)
                or not NFT_IDENTIFIER.fullmatch(name)
            ):
                return [run_tool(argv, what)]  # not safe to name: list everything
            tables.append((family, name))
        return [
            run_tool([argv[0], "-j", "-t", "list", "table", family, name], what)
            for family, name in tables
        ]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None


def _saved_tables(text: str, family: Optional[str]) -> set:
    """(family, table) of each table an iptables-save printed and can show."""
    bad = set(_INCOMPATIBLE.findall(text))
    return {(family, t) for t in _SAVED_TABLE.findall(text) if t not in bad}


def run_tool(argv: list, what: str) -> str:
    """One tool's whole output, bounded in size and time (UTF-8: nft prints comments and
    names as given; undecodable bytes are kept as escapes for the sanitiser). Not
    reads.bounded(): `nft -j` prints its whole document as one line of megabytes."""
    chunks = command_chunks(argv, what, SILENCE, deadline=DEADLINE)
    parts, size = [], 0
    try:
        for chunk in chunks:
            size += len(chunk)
            if size > OUTPUT_CAP:
                raise SourceError(f"{what}: output stopped at {human_size(OUTPUT_CAP)}")
            parts.append(chunk)
    finally:
        chunks.close()  # stops the child at once when we stopped early
    return b"".join(parts).decode("utf-8", "surrogateescape")
