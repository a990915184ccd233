"""The live monitor on a real kernel table: a namespace `ctwui-*` with SYN_SENT flows."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest
from lab import Lab, lab_unavailable_reason
from test_ui_support import screen_text, wait_for

from ctwatch.faces.ui.app import create_app
from ctwatch.faces.ui.screens.drill import DrillScreen
from ctwatch.sources.netns import NetnsSource

pytestmark = pytest.mark.lab
FLOWS = 30


@pytest.fixture(scope="module")
def ui_lab():
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(f"lab unavailable: {reason}")
    with Lab(prefix="ctwui") as lab:
        lab.long_timeouts()
        lab.drop_syn(8003)  # SYNs tracked then dropped: entries stay SYN_SENT
        lab.traffic("syn-sent", "--n", str(FLOWS), "--port", "8003")
        yield lab


async def test_app_shows_the_kernel_count_and_drills_into_it(ui_lab):
    source = NetnsSource(ui_lab.name)
    app = create_app(source, host="lab", autopoll=False)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.latest is not None and app.latest.scan is not None)
            kernel = ui_lab.count()
            sample = app.latest
            assert sample.snapshot.count == kernel >= FLOWS
            assert sample.scan.entries == kernel
            text = screen_text(app)
            assert f"count {kernel:,} /" in text
            assert "SYN_SENT" in text and "8003" in text
            dport = app.screen.query_one("#panel-dport")
            dport.focus()
            keys = [dport.coordinate_to_cell_key((i, 0)).row_key.value
                    for i in range(dport.row_count)]  # fmt: skip
            dport.move_cursor(row=keys.index("8003"))
            await pilot.press("enter")
            assert isinstance(app.screen, DrillScreen)
            await wait_for(pilot, lambda: app.latest.scan.focus is not None, timeout=10)
            assert app.latest.scan.focus.entries == FLOWS
            await pilot.pause()
            assert f"dport 8003  {FLOWS} entries" in screen_text(app)
    finally:
        source.close()


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
def test_installed_ctwatch_reads_the_namespace(ui_lab, tmp_path):
    ctwatch = os.path.join(os.path.dirname(sys.executable), "ctwatch")
    if not os.path.exists(ctwatch):
        pytest.skip("ctwatch is not installed (pip install -e .)")
    session = f"ctwui-{os.getpid()}-lab"
    command = f"exec {ctwatch} --netns {ui_lab.name} --log-file {tmp_path / 'log'}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24",
                    command], check=True)  # fmt: skip
    try:
        want = f"count {ui_lab.count():,} /"
        deadline = time.monotonic() + 20
        text = ""
        while time.monotonic() < deadline:
            text = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                  capture_output=True, text=True).stdout  # fmt: skip
            if want in text and "SYN_SENT" in text:
                break
            time.sleep(0.2)
        assert want in text and "SYN_SENT" in text, text
        assert "netns" in text
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
