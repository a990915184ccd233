"""A short soak: the installed TUI on a churning SYN-flood table keeps its memory after warm-up."""

from __future__ import annotations

import shutil

import pytest
from soak import format_row, soak

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed"),
]

WARM_UP = 60.0  # seconds: the table fills (30 s) and the growers' 60 s window fills up


def test_tui_memory_stays_flat_on_a_churning_flood(lab):
    """12,000 SYN_SENT entries renewed at 400 a second, ctwatch at --interval 0.5
    --cpu-budget 50 for 165 s. Before the fixes the peak RSS grew 112 -> 200 MB from
    minute 1 to the end (growers kept every scan for 120 s, the footer leaked 8 widgets
    a scan, the panels' render caches filled); after them 58 -> 62 MB."""
    del lab  # only for the skip: soak() builds its own namespace
    lines: list = []
    screens: list = []
    rows = soak(2.75, 12_000, 0.5, 50.0, every=15.0, rate=400.0, report=lines.append,
                screen_at_end=screens)  # fmt: skip
    log = "\n".join(lines)
    assert rows and rows[-1].seconds >= 160, log
    assert "Traceback" not in screens[0] and "count" in screens[0], screens[0]
    assert max(r.entries or 0 for r in rows) > 8000, log  # the flood did fill the table
    warm = min(rows, key=lambda r: abs(r.seconds - WARM_UP))
    end = rows[-1]
    # The high-water mark, not RSS: a sample taken mid-scan is not growth.
    growth = end.peak_mb - warm.peak_mb
    assert growth < 0.25 * warm.peak_mb, f"{growth:+.1f} MB after warm-up:\n{log}"
    assert end.fds <= warm.fds + 3, log
    print("\n".join(format_row(r) for r in rows))
