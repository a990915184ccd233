"""The installed `ctwatch` in a real terminal (tmux at 80x24): demo, keys, TERM=linux, exit."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from test_ui_support import write_incident

from ctwatch.faces.ui.launch import DEMO

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")


def installed_ctwatch() -> str:
    beside = os.path.join(os.path.dirname(sys.executable), "ctwatch")
    found = beside if os.path.exists(beside) else shutil.which("ctwatch")
    if found is None:
        pytest.skip("ctwatch is not installed (pip install -e .)")
    return found


class Terminal:
    """One tmux session running a command; read its screen, type into it."""

    def __init__(self, command: list, env: str = "", size=(80, 24), status=False) -> None:
        self.name = f"ctwui-{os.getpid()}-{time.monotonic_ns()}"
        line = " ".join(command)
        # status: a shell waits after the command and prints its exit status.
        line = f"{env} {line}; echo EXIT=$?; sleep 60" if status else f"{env} exec {line}"
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", self.name, "-x", str(size[0]), "-y",
             str(size[1]), line.strip()],
            check=True,
        )  # fmt: skip

    def screen(self) -> str:
        out = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True
        )
        return out.stdout

    def alive(self) -> bool:
        return subprocess.run(["tmux", "has-session", "-t", self.name],
                              capture_output=True).returncode == 0  # fmt: skip

    def wait(self, predicate, timeout: float = 20.0) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            text = self.screen()
            if predicate(text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"screen never matched; last screen:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def terminals():
    opened = []

    def open_terminal(*args, **kw):
        term = Terminal(*args, **kw)
        opened.append(term)
        return term

    yield open_terminal
    for term in opened:
        term.close()


def demo_installed() -> bool:
    import ctwatch

    return os.path.exists(os.path.join(os.path.dirname(ctwatch.__file__), *DEMO))


@pytest.mark.skipif(not demo_installed(), reason="the demo recording is not in the package")
def test_demo_runs_and_answers_keys(terminals, tmp_path):
    log = tmp_path / "ctwatch.log"
    term = terminals([installed_ctwatch(), "--demo", "--log-file", str(log)])
    text = term.wait(lambda s: "by count" in s and "enter Drill" in s)
    assert "replay of" in text and "Sources" in text and "count" in text
    term.keys("?")
    term.wait(lambda s: "ctwatch keys" in s)
    term.keys("Escape")
    term.wait(lambda s: "ctwatch keys" not in s and "Sources" in s)
    term.keys("Space")
    term.wait(lambda s: "PAUSED" in s)
    term.keys("Space")
    term.wait(lambda s: "PAUSED" not in s)
    term.keys("Enter")  # drill into the top source
    text = term.wait(lambda s: "Entries" in s and "esc Back" in s)
    assert "src " in text
    term.keys("Escape")
    term.wait(lambda s: "Destination ports" in s and "Entries" not in s)
    term.keys("q")
    deadline = time.monotonic() + 10
    while term.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not term.alive(), term.screen()  # exited cleanly when q was pressed
    assert "Traceback" not in log.read_text()


def test_linux_console_gets_ascii_and_a_recording_replays(terminals, tmp_path):
    path = write_incident(str(tmp_path / "incident.jsonl.gz"), frames=20)
    term = terminals(
        [installed_ctwatch(), "--replay", path, "--log-file", str(tmp_path / "log")],
        env="TERM=linux",
    )
    text = term.wait(lambda s: "by count" in s and "SYN_SENT" in s)
    assert "+- Sources" in text and "|" in text
    assert all(ord(ch) < 128 for ch in text), sorted({ch for ch in text if ord(ch) >= 128})
    term.keys("q")


def test_too_small_terminal_says_so(terminals, tmp_path):
    path = write_incident(str(tmp_path / "incident.jsonl.gz"), frames=5)
    term = terminals(
        [installed_ctwatch(), "--replay", path, "--log-file", str(tmp_path / "log")],
        size=(40, 12),
    )
    text = term.wait(lambda s: "terminal too small" in s)
    assert "needs at least 60x16" in text and "conntrack" in text


def test_without_a_terminal_it_says_use_once(tmp_path):
    path = write_incident(str(tmp_path / "incident.jsonl.gz"), frames=3)
    proc = subprocess.run([installed_ctwatch(), "--replay", path], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=30)  # fmt: skip
    assert proc.returncode == 2
    assert "needs a terminal" in proc.stderr and "Traceback" not in proc.stderr


def test_sigterm_exits_cleanly(terminals, tmp_path):
    """`kill PID` from another shell: the app leaves like q would, no traceback."""
    path = write_incident(str(tmp_path / "incident.jsonl.gz"), frames=5)
    log = tmp_path / "log"
    term = terminals([installed_ctwatch(), "--replay", path, "--log-file", str(log)], status=True)
    term.wait(lambda s: "by count" in s)
    shell = subprocess.run(["tmux", "display-message", "-p", "-t", term.name, "#{pane_pid}"],
                           capture_output=True, text=True).stdout  # fmt: skip
    children = subprocess.run(["pgrep", "-P", shell.strip()], capture_output=True, text=True)
    os.kill(int(children.stdout.split()[0]), signal.SIGTERM)
    text = term.wait(lambda s: "EXIT=" in s)
    assert "EXIT=0" in text and "Traceback" not in text
