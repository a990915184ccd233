"""The installed `ctwatch` at 80x24 in tmux on a real table: a flood's heaviest source on top.

The issue's bug: light traffic on screen first, then heavier sources appear over several
scans; the Sources panel kept its cursor on its first row, which the new rows pushed below
the panel's edge, and scrolled after it, hiding the four heaviest sources.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest
from lab import Lab, lab_unavailable_reason

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed"),
]
PORT = 8003
LIGHT = {"127.0.0.2": 5, "127.0.0.3": 4, "127.0.0.4": 3, "127.0.0.5": 2}
HEAVY = (40, 60, 80, 100, 120, 140, 160)  # one new source per scan, each heavier


def ctwatch_command() -> list:
    """The installed entry point; CTWATCH_TEST_PYTHONPATH runs it on another checkout
    (how this test was seen to fail on the code before the fix)."""
    beside = os.path.join(os.path.dirname(sys.executable), "ctwatch")
    if not os.path.exists(beside):
        pytest.skip("ctwatch is not installed (pip install -e .)")
    other = os.environ.get("CTWATCH_TEST_PYTHONPATH")
    return ["env", f"PYTHONPATH={other}", beside] if other else [beside]


def screen(session: str) -> str:
    out = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                         capture_output=True, text=True)  # fmt: skip
    return out.stdout


def wait_screen(session: str, predicate, timeout: float = 30.0) -> str:
    end = time.monotonic() + timeout
    text = ""
    while time.monotonic() < end:
        text = screen(session)
        if predicate(text):
            return text
        time.sleep(0.2)
    raise AssertionError(f"screen never matched; last screen:\n{text}")


def panel_rows(text: str, title: str) -> list:
    """The visible rows of the panel titled `title`, first words only."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        at = line.find(f" {title} ")
        if at < 0:
            continue
        left = max(line.rfind("╭", 0, at), line.rfind("+", 0, at))
        rows = []
        for below in lines[i + 1 :]:
            cell = below[left + 1 :].split("│")[0].split("|")[0]
            if below[left : left + 1] in ("╰", "+"):
                return rows
            rows.append(cell.split()[0] if cell.split() else "")
        return rows
    raise AssertionError(f"no panel {title!r} on screen:\n{text}")


@pytest.fixture
def flood_lab():
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(f"lab unavailable: {reason}")
    with Lab(prefix="ctwfl") as lab:
        lab.long_timeouts()
        lab.drop_syn(PORT)  # SYNs tracked then dropped: entries stay SYN_SENT
        yield lab


def syn_sent(lab: Lab, n: int, src: str) -> None:
    lab.traffic("syn-sent", "--n", str(n), "--port", str(PORT), "--src", src)


def test_heaviest_source_is_the_first_visible_row(flood_lab, tmp_path):
    lab = flood_lab
    for src, n in LIGHT.items():
        syn_sent(lab, n, src)
    session = f"ctwfl-{os.getpid()}"
    command = ctwatch_command() + [
        "--netns", lab.name, "--interval", "0.5", "--cpu-budget", "50",
        "--log-file", str(tmp_path / "log"),
    ]  # fmt: skip
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24",
                    "exec " + " ".join(command)], check=True)  # fmt: skip
    try:
        light = sum(LIGHT.values())
        wait_screen(session, lambda s: f"{light} entries scanned" in s)
        wait_screen(session, lambda s: panel_rows(s, "Sources")[0] == "127.0.0.2")
        heaviest = ""
        for n in HEAVY:  # each new source in its own scan
            heaviest = f"127.0.1.{n // 10}"
            syn_sent(lab, n, heaviest)
            want = f"{lab.count():,} entries scanned"
            wait_screen(session, lambda s, want=want: want in s)
        # Give the panel a few more refreshes to show it, if it ever would.
        try:
            text = wait_screen(session, lambda s: panel_rows(s, "Sources")[0] == heaviest, 3)
        except AssertionError:
            text = screen(session)
        rows = panel_rows(text, "Sources")
        assert len(rows) < len(LIGHT) + len(HEAVY)  # more sources than the panel shows
        assert rows[0] == heaviest, text
        assert rows[: len(HEAVY) - 1] == [f"127.0.1.{n // 10}" for n in HEAVY[::-1]][: len(rows)]
        assert "following" not in text
        log = tmp_path / "log"
        assert not log.exists() or "Traceback" not in log.read_text()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
