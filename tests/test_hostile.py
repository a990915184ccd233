"""The hostile corpus (issue 7, section 10): every case through `ctwatch --once` as text, JSON
and CSV, and the nastiest through the TUI in tmux. No input may hang ctwatch, exceed
`ulimit -v 2000000`, print a traceback, exit other than 0/1/2, or write control bytes.

List the cases with `python tests/hostile/generate.py --list`; run a few by hand with
`python tests/hostile/generate.py --run ID...`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest
from hostile.build import Case
from hostile.check import FORMATS, MEMORY_KIB, Run, _limits, kind, problems
from hostile.generate import all_cases, by_id, run_all
from hostile.tui import Pane, screen_problems

CASES = all_cases()


class Results(dict):
    """(case id, format) -> (Run, problems); short repr, since pytest prints fixtures."""

    def __repr__(self) -> str:
        return f"<{len(self)} hostile runs>"


@pytest.fixture(scope="module")
def corpus(request, tmp_path_factory):
    """Runs every (case, format) this session selected, in parallel, once."""
    cases = by_id()
    wanted = [
        (cases[item.callspec.params["case"].id], item.callspec.params["fmt"])
        for item in request.session.items
        if getattr(item, "function", None) is test_once
    ]
    base = str(tmp_path_factory.mktemp("hostile"))
    results = Results(((c.id, fmt), (run, found)) for c, fmt, run, found in run_all(wanted, base))
    yield results
    shutil.rmtree(base, ignore_errors=True)  # sparse 50 GB files and FIFOs: not for later


def _explain(case: Case, run: Run, found: list) -> str:
    tail = run.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
    argv = " ".join(a.encode("unicode_escape").decode()[:80] for a in run.argv[2:])
    return (
        f"{case.id}: {case.why}\n  {argv}\n  exit {run.code} after {run.seconds:.1f} s, "
        f"peak RSS {run.peak_rss_kib // 1024} MB\n  "
        + "\n  ".join(found)
        + "\n  stderr: "
        + " | ".join(x.encode("unicode_escape").decode()[:200] for x in tail)
    )


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_once(case, fmt, corpus):
    run, found = corpus[(case.id, fmt)]
    assert not found, _explain(case, run, found)


# --- the corpus and its checker -------------------------------------------------------------


def test_corpus_covers_the_issue():
    ids = {c.id for c in CASES}
    assert len(CASES) >= 100
    named = {
        "table-fifo", "count-fifo", "sysctl-fifo", "table-dev-zero", "count-dev-zero",
        "kmsg-dev-zero", "table-dev-urandom", "table-sparse-50g", "max-neg", "count-neg",
        "count-huge-2e70", "buckets-neg", "stats-neg", "count-underscore",
        "count-arabic-digits", "count-empty", "count-whitespace", "count-nul",
        "line-src-999", "line-dport-65536", "line-dport-neg", "line-dport-5000-digits",
        "line-src-nul", "line-src-garbage-after", "line-src-escape", "table-long-line-8mb",
        "table-no-newline-8mb", "table-binary-1mb", "line-src-invalid-utf8", "table-crlf",
        "table-bom", "csv-formula-cmd-src", "csv-formula-plus-src", "csv-formula-minus-src",
        "csv-formula-at-src", "line-src-bidi", "kmsg-escape", "snat-reply-999",
        "snat-reply-xff", "snat-reply-5000-digit-port", "dport-filter-5000-digit-line",
        "rec-gzip-random", "rec-gzip-one", "rec-frame-list", "rec-frame-null", "rec-count-nan",
        "rec-count-inf", "rec-count-neg", "rec-gzip-bomb", "rec-deep-nesting-frame",
        "rec-label-escape", "rec-table-escape", "dport-superscript", "interval-inf",
        "rate-window-inf", "state-bogus", "top-neg", "top-1e30", "cpu-budget-nan",
        "source-conntrack-with-root", "rec-valid", "record-dev-full", "head-1-broken-pipe",
        "root-missing-escape", "rec-missing-path-escape",
    }  # fmt: skip
    assert named <= ids, sorted(named - ids)


def _fake(stdout=b"", stderr=b"", code=0, fmt="text", timed_out=False) -> Run:
    return Run("x", fmt, [], code, stdout, stderr, 0.1, 1000, timed_out)


PLAIN = Case("x", "plain", lambda d: [])


@pytest.mark.parametrize(
    "run,expected",
    [
        (_fake(b"source \x1b]0;pwn\x07\n"), "control bytes in stdout"),
        (_fake(b"a\rb\n"), "control bytes in stdout"),
        (_fake("x\u202ey\n".encode()), "control bytes in stdout"),
        (_fake("x\u009by\n".encode()), "control bytes in stdout"),
        (_fake(b"x\x9by\n"), "control bytes in stdout"),
        (_fake(stderr=b"Traceback (most recent call last):\n  ...\nValueError: x\n", code=1),
         "traceback"),
        (_fake(stderr=b"MemoryError\n", code=1), "memory"),
        (_fake(code=-9, timed_out=True), "hang"),
        (_fake(code=120), "exit 120"),
        (_fake(stderr=b"something odd\n"), "stderr line not starting 'ctwatch:'"),
        (_fake(b"dimension,key,count,share\nsrc,=1+1,1,1.0\n", fmt="csv"), "CSV cell"),
        (_fake(b"dimension,key,count,share\nsrc,-2+3,1,1.0\n", fmt="csv"), "CSV cell"),
        (_fake(b"{not json", fmt="json"), "stdout is not JSON"),
    ],
)  # fmt: skip
def test_the_checker_catches(run, expected):
    found = problems(PLAIN, run)
    assert any(p.startswith(expected) for p in found), found
    assert kind(found)


def test_the_checker_passes_clean_output():
    usage = b"usage: ctwatch [-h]\n               [--x]\nctwatch: error: bad --dport\n"
    assert problems(PLAIN, _fake(b"count 5\n\tx\n", code=0)) == []
    assert problems(PLAIN, _fake(stderr=usage, code=2)) == []
    csv = b"dimension,key,count,share\nsrc,'=1+1,1,1.0\nsrc,-5,2,-0.5\n"
    assert problems(PLAIN, _fake(csv, fmt="csv")) == []


def test_python_starts_under_the_memory_limit():
    """Otherwise every case would fail for the interpreter's sake, not ctwatch's."""
    proc = subprocess.run(
        [sys.executable, "-c", "import ctwatch.cli, ctwatch.faces.ui.app, textual.app"],
        preexec_fn=_limits, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert MEMORY_KIB == 2_000_000


# --- a sample through the real TUI in tmux --------------------------------------------------

# (case, keys that open a view to look at, text the screen must show while it runs)
TUI_SAMPLE = [
    ("table-escape-heavy", (), None),
    ("rec-count-nan", (), None),
    ("rec-label-escape", (), None),
    ("table-fifo", (), "425"),  # the monitor keeps polling count and max
    ("count-dev-zero", (), "262"),  # max (262,144 or 262k)
    ("table-long-line-8mb", (), None),
    ("line-dport-5000-digits", (), "443"),  # today it blanks the ports panel
    ("kmsg-escape", ("k",), None),
    ("record-dev-full", (), "No space left"),  # a failed --record shows at once, with why
]


def _ctwatch() -> str:
    beside = os.path.join(os.path.dirname(sys.executable), "ctwatch")
    found = beside if os.path.exists(beside) else shutil.which("ctwatch")
    if found is None:
        pytest.skip("ctwatch is not installed (pip install -e .)")
    return found


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
@pytest.mark.parametrize("case_id,view,shown", TUI_SAMPLE, ids=[c[0] for c in TUI_SAMPLE])
def test_tui(case_id, view, shown, tmp_path):
    """Alive after a few seconds, answers `?` and Esc, survives a resize, leaves on q with 0;
    never a traceback, a changed terminal title or a non-colour escape in the pane."""
    case = by_id()[case_id]
    args = case.build(str(tmp_path))
    pane = Pane([_ctwatch(), *args, "--log-file", str(tmp_path / "log")], str(tmp_path))
    found = []
    try:
        assert pane.wait(lambda s: s.strip(), 20), "nothing on screen after 20 s"
        time.sleep(2)  # a few polls
        found += screen_problems(pane, "running")
        if "EXIT=" in pane.screen():
            found.append(f"exited on its own: {pane.screen().strip()[-200:]!r}")
        elif shown and not pane.wait(lambda s: shown in s, 5):
            found.append(f"{shown!r} is not on screen")
        for key in view:
            pane.keys(key)
            time.sleep(1.5)
            found += screen_problems(pane, f"after {key}")
            pane.keys("Escape")
        pane.resize(100, 30)
        time.sleep(1)
        pane.resize(80, 24)
        pane.keys("?")
        if not pane.wait(lambda s: "ctwatch keys" in s, 15):
            found.append("no help screen 15 s after ?")
        found += screen_problems(pane, "help")
        pane.keys("Escape")
        time.sleep(0.5)
        pane.keys("q")
        if not pane.wait(lambda s: "EXIT=" in s, 15):
            found.append("still running 15 s after q")
        elif "EXIT=0" not in pane.screen():
            found.append(f"exit status: {pane.screen().strip()[-300:]!r}")
        found += screen_problems(pane, "after exit")
    finally:
        pane.close()
    assert not found, f"{case.id}: {case.why}\n  " + "\n  ".join(found)


TUI_REFUSED = ["interval-inf", "interval-nan", "interval-neg", "cpu-budget-nan", "cpu-budget-inf",
               "dport-superscript", "state-bogus", "source-conntrack-with-root"]  # fmt: skip


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
@pytest.mark.parametrize("case_id", TUI_REFUSED)
def test_tui_refuses_bad_values(case_id, tmp_path):
    """The live monitor refuses malformed values too: exit 2 with one `ctwatch:` line."""
    case = by_id()[case_id]
    args = case.build(str(tmp_path))
    pane = Pane([_ctwatch(), *args, "--log-file", str(tmp_path / "log")], str(tmp_path))
    try:
        ended = pane.wait(lambda s: "EXIT=" in s, 10)
        if not ended:
            pane.keys("q")
            pane.wait(lambda s: "EXIT=" in s, 10)
        text = pane.screen()
    finally:
        pane.close()
    state = "" if ended else "still running 10 s later; after q:\n"
    assert ended and "EXIT=2" in text and "ctwatch:" in text, f"{case.why}: {state}{text.strip()}"
