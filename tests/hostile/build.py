"""Building blocks for hostile cases: a copy of a real sample tree with one thing replaced."""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import zlib
from dataclasses import dataclass
from typing import Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
CALM = os.path.join(HERE, "..", "..", "sample_proc", "calm")

NF = "proc/sys/net/netfilter"
TABLE = "proc/net/nf_conntrack"
COUNT = f"{NF}/nf_conntrack_count"
MAX = f"{NF}/nf_conntrack_max"
BUCKETS = f"{NF}/nf_conntrack_buckets"
SYSCTL = f"{NF}/nf_conntrack_tcp_timeout_established"
STATS = "proc/net/stat/nf_conntrack"
SLAB = "proc/slabinfo"
HASHSIZE = "sys/module/nf_conntrack/parameters/hashsize"
KMSG = "dev/kmsg"

# What an attacker who controls a field would print to take over a terminal: clear the
# screen, set the window title (OSC 0), ring the bell.
ESC = "\x1b[2J\x1b]0;pwn\x07"
BIDI = "\u202e"  # RIGHT-TO-LEFT OVERRIDE


@dataclass(frozen=True)
class Case:
    """One hostile input. `build(dir)` makes the files in `dir` and returns the arguments
    that follow `--once [--json|--csv]` (the TUI sample uses them without `--once`)."""

    id: str
    why: str
    build: Callable[[str], list]
    expect_exit: frozenset = frozenset({0, 1, 2})
    head_only: bool = False  # the reader closes stdout after one line (`| head -1`)
    check: Optional[Callable[[str, bytes], list]] = None  # (fmt, stdout) -> problems


# --- special files standing in for a regular one ---------------------------------------


@dataclass(frozen=True)
class Fifo:
    """A named pipe nobody writes to: a plain open() blocks forever."""


@dataclass(frozen=True)
class Link:
    target: str


@dataclass(frozen=True)
class Sparse:
    """A file of `size` bytes that takes no disk (a hole), after `head`."""

    size: int
    head: bytes = b""


@dataclass(frozen=True)
class Dir:
    """A directory where a file is expected."""


def put(root: str, rel: str, content) -> str:
    """Replace the file at `rel` under `root` with `content` (bytes, str, a special, or a
    function returning one: big contents are made only when the case is built)."""
    if callable(content):
        content = content()
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.lexists(path):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    if isinstance(content, Fifo):
        os.mkfifo(path)
    elif isinstance(content, Link):
        os.symlink(content.target, path)
    elif isinstance(content, Dir):
        os.makedirs(path)
    elif isinstance(content, Sparse):
        with open(path, "wb") as f:
            f.write(content.head)
            f.truncate(content.size)
    else:
        with open(path, "wb") as f:
            f.write(
                content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
            )
    return path


def tree(workdir: str, **files) -> str:
    """A copy of sample_proc/calm under workdir/root, with `files` ({rel: content}) put in.
    Keyword names use the constants above via `tree(d, **{TABLE: ...})`."""
    root = os.path.join(workdir, "root")
    shutil.copytree(CALM, root, symlinks=True)
    for rel, content in files.items():
        put(root, rel, content)
    return root


def tree_case(files: dict, *extra: str) -> Callable[[str], list]:
    """A build function: the calm tree with `files` replaced, run with `extra` arguments."""

    def build(workdir: str) -> list:
        return ["--root", tree(workdir, **files), *extra]

    return build


def calm_lines() -> list:
    with open(os.path.join(CALM, TABLE), "rb") as f:
        return f.read().splitlines(keepends=True)


def table_with(*lines: bytes, at: int = 0) -> bytes:
    """The calm table with `lines` in place of the line at `at` (count stays right)."""
    rows = calm_lines()
    rows[at : at + len(lines)] = [x if x.endswith(b"\n") else x + b"\n" for x in lines]
    return b"".join(rows)


def entry(
    src="10.0.0.1", dst="10.0.0.2", sport="40000", dport="443", rsrc=None, rdst=None,
    rsport=None, rdport=None, timeout="431999", state="ESTABLISHED", tail="[ASSURED] mark=0 zone=0 use=2",
) -> bytes:  # fmt: skip
    """A modern TCP line (the kernel's field order) with any field replaced, as bytes.
    The reply tuple mirrors the original unless given."""
    rsrc = dst if rsrc is None else rsrc
    rdst = src if rdst is None else rdst
    rsport = dport if rsport is None else rsport
    rdport = sport if rdport is None else rdport
    text = (
        f"ipv4     2 tcp      6 {timeout} {state} src={src} dst={dst} sport={sport} "
        f"dport={dport} src={rsrc} dst={rdst} sport={rsport} dport={rdport} {tail}"
    )
    return text.encode("utf-8", "surrogateescape")


def random_bytes(n: int, seed: int = 7) -> bytes:
    return random.Random(seed).getrandbits(8 * n).to_bytes(n, "little")


# --- recordings ------------------------------------------------------------------------

HEADER = {"format": "ctwatch-recording", "version": 1, "label": "hostile", "source": "proc"}


def frame(**fields) -> dict:
    base = {"t": 1796000000.0, "count": 425, "max": 262144, "buckets": 262144, "stats": {}}
    base.update(fields)
    return base


def recording(path: str, *lines, header=HEADER) -> str:
    """A gzip recording: the header, then each line (a dict/list/None is dumped as JSON,
    str/bytes written as they are)."""
    out = []
    for obj in (header, *lines):
        if isinstance(obj, bytes):
            out.append(obj)
        elif isinstance(obj, str):
            out.append(obj.encode("utf-8", "surrogateescape"))
        else:
            out.append(json.dumps(obj).encode())
    with gzip.open(path, "wb") as f:
        f.write(b"\n".join(out) + b"\n")
    return path


def gzip_bomb(path: str, total: int, prefix: bytes = b"") -> str:
    """`total` bytes of zeros once decompressed, about total/1000 on disk: one member made
    from 16 MiB of zeros, repeated (gzip readers read concatenated members as one file)."""
    block = 16 * 1024 * 1024
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    member = comp.compress(b"\0" * block) + comp.flush()
    with open(path, "wb") as f:
        f.write(gzip.compress(HEADER_LINE + prefix))
        for _ in range(max(1, total // block)):
            f.write(member)
    return path


HEADER_LINE = json.dumps(HEADER).encode() + b"\n"


def replay_case(make: Callable[[str], str], *extra: str) -> Callable[[str], list]:
    """A build function: `make(path)` writes a recording at path; run it with --replay."""

    def build(workdir: str) -> list:
        path = os.path.join(workdir, "rec.jsonl.gz")
        made = make(path) or path
        return ["--replay", made, *extra]

    return build
