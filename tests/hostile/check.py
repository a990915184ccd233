"""Run one hostile case through `ctwatch --once` under limits, and list what went wrong."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import resource
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from hostile.build import Case

MEMORY_KIB = 2_000_000  # `ulimit -v 2000000`, the limit
TIMEOUT = float(os.environ.get("CTWATCH_HOSTILE_TIMEOUT", "30"))  # catches hangs, not slowness
OUTPUT_CAP = 64 << 20  # RLIMIT_FSIZE on the captured output: an endless writer is stopped
FORMATS = {"text": [], "json": ["--json", "--rate-window", "0.2"], "csv": ["--csv"]}

# What must never reach a terminal or a spreadsheet: C0 controls but \n and \t, DEL, C1
# (also as raw 8-bit bytes, which surrogateescape maps to U+DC80-U+DC9F), bidi controls.
BAD_CHARS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\udc80-\udc9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_ERROR_LINES = 5
MAX_LINE = 1000


@dataclass
class Run:
    case: str
    fmt: str
    argv: list
    code: int  # exit status; negative: killed by that signal
    stdout: bytes
    stderr: bytes
    seconds: float
    peak_rss_kib: int  # sampled VmHWM
    timed_out: bool


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_KIB * 1024, MEMORY_KIB * 1024))
    resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_CAP, OUTPUT_CAP))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def ctwatch_argv(case_args: list, fmt: str) -> list:
    return [sys.executable, "-m", "ctwatch", "--once", *FORMATS[fmt], *case_args]


def run_case(case: Case, fmt: str, workdir: str) -> Run:
    """Build the case in `workdir` and run it once; the process group is killed on timeout."""
    os.makedirs(workdir, exist_ok=True)
    argv = ctwatch_argv(case.build(workdir), fmt)
    if case.head_only:
        return _run_head(case, fmt, argv, workdir)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                cwd=workdir, preexec_fn=_limits, start_new_session=True)  # fmt: skip
        status, peak, timed_out = _wait(proc, start + TIMEOUT)
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        return Run(case.id, fmt, argv, os.waitstatus_to_exitcode(status), out.read(),
                   err.read(1 << 20), seconds, peak, timed_out)  # fmt: skip


def _wait(proc: subprocess.Popen, deadline: float) -> tuple:
    """(wait status, peak RSS in KiB, timed out). The peak is VmHWM sampled while the
    process runs: rusage's maxrss would include the forked test process's own pages."""
    timed_out = False
    peak = 0
    while True:
        pid, status = os.waitpid(proc.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, _vm_hwm(proc.pid))
        if time.monotonic() > deadline:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            pid, status = os.waitpid(proc.pid, 0)
            break
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # a `cat` child left behind in the group
    except ProcessLookupError:
        pass
    return status, peak, timed_out


def _vm_hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _run_head(case: Case, fmt: str, argv: list, workdir: str) -> Run:
    """Like `ctwatch ... | head -1`: read one line, then close the pipe."""
    with tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=err, cwd=workdir, preexec_fn=_limits,
                                start_new_session=True)  # fmt: skip
        first = _first_line(proc.stdout.fileno(), start + TIMEOUT)
        proc.stdout.close()
        status, peak, timed_out = _wait(proc, start + TIMEOUT)
        err.seek(0)
        return Run(case.id, fmt, argv, os.waitstatus_to_exitcode(status), first,
                   err.read(1 << 20), time.monotonic() - start, peak, timed_out)  # fmt: skip


def _first_line(fd: int, deadline: float) -> bytes:
    data = b""
    while b"\n" not in data and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 4096) if ready else b""
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0] + b"\n" if b"\n" in data else data


def problems(case: Case, run: Run) -> list:
    """Everything that breaks the promise, one short phrase each; [] when the run was fine."""
    found = []
    err = run.stderr.decode("utf-8", "surrogateescape")
    out = run.stdout.decode("utf-8", "surrogateescape")
    if run.timed_out:
        found.append(f"hang: still running after {TIMEOUT:g} s")
    elif "MemoryError" in err:
        found.append("memory: MemoryError under ulimit -v")
    elif run.code == -signal.SIGXFSZ:
        found.append(f"output flood: more than {OUTPUT_CAP >> 20} MB written")
    elif run.code not in case.expect_exit:
        found.append(f"exit {run.code}, expected {'/'.join(map(str, sorted(case.expect_exit)))}")
    if "Traceback" in err or "Traceback" in out:
        found.append(f"traceback: {_last_line(err)}")
    elif not run.timed_out:
        found += _stderr_shape(err)
    for name, text in (("stdout", out), ("stderr", err)):
        bad = sorted(set(BAD_CHARS.findall(text)))
        if bad:
            found.append(f"control bytes in {name}: {', '.join(_name(c) for c in bad[:6])}")
    if run.code == 0 and not run.timed_out and not case.head_only:
        found += _format_problems(run.fmt, out)
        if case.check is not None:
            found += case.check(run.fmt, run.stdout)
    return found


def _stderr_shape(err: str) -> list:
    """At most a few clear lines, each `ctwatch: ...`; argparse's usage block may precede."""
    lines = [x for x in err.splitlines() if x.strip()]
    while lines and (lines[0].startswith("usage: ") or lines[0].startswith(" ")):
        lines.pop(0)
    found = []
    if len(lines) > MAX_ERROR_LINES:
        found.append(f"stderr: {len(lines)} lines, at most {MAX_ERROR_LINES} expected")
    unclear = [x for x in lines if not x.startswith("ctwatch:")]
    if unclear:
        found.append(f"stderr line not starting 'ctwatch:': {unclear[0][:80]!r}")
    if any(len(x) > MAX_LINE for x in lines):
        found.append(f"stderr line longer than {MAX_LINE} characters")
    return found


def _format_problems(fmt: str, out: str) -> list:
    if fmt == "json":
        try:
            json.loads(out)
        except ValueError as exc:
            return [f"stdout is not JSON: {exc}"]
    if fmt == "csv":
        try:
            rows = list(csv.reader(io.StringIO(out, newline="")))
        except csv.Error as exc:
            return [f"stdout is not CSV: {exc}"]
        for row in rows:
            for cell in row:
                if cell.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(cell):
                    return [f"CSV cell a spreadsheet would run: {cell[:40]!r}"]
    return []


def _last_line(text: str) -> str:
    lines = [x for x in text.splitlines() if x.strip()]
    return (lines[-1] if lines else "")[:100].encode("unicode_escape").decode()


def _name(ch: str) -> str:
    code = ord(ch)
    return f"0x{code - 0xDC00:02x} (raw byte)" if 0xDC80 <= code <= 0xDC9F else f"U+{code:04X}"


def kind(found: list) -> str:
    """The failure kinds of a run, for the checklist (hang, memory, traceback, ...)."""
    return "; ".join(sorted({p.split(":")[0] for p in found}))
