"""The rules view of the installed `ctwatch` in tmux at 80x24 with TERM=linux: a real lab
ruleset with traffic (root), and a recording, which holds no rules (no root needed)."""

from __future__ import annotations

import shutil
import sys

import pytest
from lab import Lab, lab_unavailable_reason
from test_ui_support import write_incident
from test_ui_tmux import Terminal, installed_ctwatch

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")

RULESET = """
table inet tm {
  chain pre { type filter hook prerouting priority raw; udp dport 7002 counter notrack; }
  chain input { type filter hook input priority 0; udp dport 7001 counter accept; }
}
"""
TRAFFIC = """
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while True:
    for _ in range(50):
        s.sendto(b"x", ("127.0.0.1", 7002))
    time.sleep(0.01)
"""


@pytest.fixture
def terminal():
    opened = []

    def open_terminal(*args, **kw):
        term = Terminal(*args, **kw)
        opened.append(term)
        return term

    yield open_terminal
    for term in opened:
        term.close()


def test_lab_rules_view_on_the_linux_console_at_80x24(terminal, tmp_path):
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(f"lab unavailable: {reason}")
    ctwatch = installed_ctwatch()
    with Lab("ctwrt") as lab:
        lab.nft(RULESET)
        lab.popen([sys.executable, "-c", TRAFFIC], what="udp traffic")
        log = tmp_path / "ctwatch.log"
        term = terminal([ctwatch, "--netns", lab.name, "--log-file", str(log)], env="TERM=linux")
        term.wait(lambda s: "count" in s and "q Quit" in s)
        term.keys("f")
        screen = term.wait(lambda s: "tm/pre#1" in s and "/s" in s)
        lines = screen.splitlines()
        assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
        assert "+- firewall rules" in screen  # ASCII borders on the Linux console
        assert not any(ch in screen for ch in "╭╮╰╯│…")
        busiest = [line for line in lines if "tm/pre#1" in line][0]
        assert " ct " in busiest and "notrack" in busiest
        assert "z Zero" in screen
        term.keys("z")
        term.wait(lambda s: "Rule counts start from now" in s or "since" in s)
        term.keys("Escape")
        term.wait(lambda s: "f Rules" in s and "firewall rules" not in s)
        term.keys("q")


def test_a_recording_has_no_rules_and_says_so(terminal, tmp_path):
    ctwatch = installed_ctwatch()
    recording = write_incident(str(tmp_path / "rec.jsonl.gz"))
    term = terminal(
        [ctwatch, "--replay", recording, "--log-file", str(tmp_path / "log")], env="TERM=linux"
    )
    term.wait(lambda s: "q Quit" in s)
    term.keys("f")
    screen = term.wait(lambda s: "no firewall rules here" in s)
    assert all(len(line) <= 80 for line in screen.splitlines())
    term.keys("q")
