"""A real table of a million entries, counters near 2**32, in tmux at 80x24: no number cut.

The tree is the synflood sample with its table replaced by 1,000,000 generated lines
(about 150 MB in tmp_path: the panels' counts come from a real scan, not from the count
file) and max, buckets and hashsize set to 2**32 - 1.
"""

from __future__ import annotations

import os
import shutil

import pytest
from test_ui_numbers import MILLION, U32, assert_no_cut_number
from test_ui_tmux import Terminal, installed_ctwatch

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
SAMPLE = os.path.join(os.path.dirname(__file__), "..", "sample_proc", "synflood")
NF = "proc/sys/net/netfilter"


def million_tree(root) -> str:
    shutil.copytree(SAMPLE, root)
    line = (
        "ipv4     2 tcp      6 59 SYN_RECV src=203.0.113.7 dst=127.0.0.1 sport={0} dport=80 "
        "src=127.0.0.1 dst=203.0.113.7 sport=80 dport={0} mark=0 zone=0 use=2\n"
    )
    with open(os.path.join(root, "proc/net/nf_conntrack"), "w") as table:
        for start in range(0, MILLION, 10_000):
            table.write(
                "".join(line.format(1024 + i % 60000) for i in range(start, start + 10_000))
            )
    for path, value in (
        (f"{NF}/nf_conntrack_count", MILLION),
        (f"{NF}/nf_conntrack_max", U32),
        ("proc/sys/net/nf_conntrack_max", U32),
        (f"{NF}/nf_conntrack_buckets", U32),
        ("sys/module/nf_conntrack/parameters/hashsize", U32),
    ):
        with open(os.path.join(root, path), "w") as f:
            f.write(f"{value}\n")
    return str(root)


@pytest.mark.parametrize("term", ["", "TERM=linux"])
def test_a_million_entries_at_80x24(tmp_path, term):
    root = million_tree(tmp_path / "root")
    log = tmp_path / "log"
    terminal = Terminal(
        [installed_ctwatch(), "--root", root, "--log-file", str(log)], env=term, size=(80, 24)
    )
    try:
        # One scan of 150 MB: seconds on a quiet machine; a generous deadline for a busy one.
        # The status line and the panels are two refreshes: wait for both.
        text = terminal.wait(
            lambda s: "1,000,000 entries scanned" in s and "203.0.113.7" in s, timeout=180
        )
        assert "count 1,000,000 / 4,294,967,295" in text
        assert "buckets 4,294,967,295" in text
        src = next(line for line in text.splitlines() if "203.0.113.7" in line)
        assert "1,000,000" in src or "1.0M" in src
        assert_no_cut_number(text)
    finally:
        terminal.close()
    assert not log.exists() or "Traceback" not in log.read_text()
