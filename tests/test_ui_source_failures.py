"""On screen (Pilot): a refused table and a failed --record are said at once; counters go on."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

from test_ui_support import FakeClock, poll, screen_text, wait_for

from ctwatch.faces.ui.app import create_app
from ctwatch.sources.recording import Recorder, ReplaySource
from ctwatch.sources.select import open_source

CALM = Path(__file__).resolve().parent.parent / "sample_proc" / "calm"
NF = "proc/sys/net/netfilter"


async def test_table_and_record_failures_show_while_counters_update(tmp_path):
    root = tmp_path / "root"
    shutil.copytree(CALM, root)
    table = root / "proc/net/nf_conntrack"
    table.unlink()
    table.symlink_to("/dev/zero")
    clock = FakeClock()
    app = create_app(
        open_source("auto", str(root)),
        clock=clock,
        host="lab",
        autopoll=False,
        recorder=Recorder("/dev/full", "lab", "proc"),
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.samples_received >= 1)
        text = screen_text(app)
        assert "recording to /dev/full stopped: No space left on device" in text
        # The panels wrap the message at a width that depends on the temporary path.
        assert "character device (1:5)" in app.latest.table_error
        assert "character" in text and "(1:5)" in text
        assert "count 425 / 262,144" in text
        (root / NF / "nf_conntrack_count").write_text("7777\n")
        for name in ("netfilter/nf_conntrack_max", "nf_conntrack_max"):
            (root / "proc/sys/net" / name).write_text("300000\n")
        await poll(pilot, app, clock, 2)
        text = screen_text(app)
        assert "count 7,777 / 300,000" in text
        assert "No space left on device" in text and "(1:5)" in text
        await pilot.press("q")
    assert app.return_code in (0, None)


async def test_a_nan_count_replays_as_unknown_through_a_resize(tmp_path):
    path = tmp_path / "nan.jsonl.gz"
    header = {"format": "ctwatch-recording", "version": 1, "label": "lab", "source": "proc"}
    frames = [{"t": 100.0 + i, "count": 50 + i, "max": 100, "stats": {}} for i in range(3)]
    frames[1]["count"] = float("nan")
    with gzip.open(str(path), "wt") as f:
        for obj in [header] + frames:
            f.write(json.dumps(obj) + "\n")
    clock = FakeClock()
    app = create_app(ReplaySource(str(path)), clock=clock, host="lab", autopoll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.samples_received >= 1)
        for _ in range(6):  # to the frame with the NaN count, wherever the first polls left us
            if (app.latest.playback.position, app.latest.playback.frames) == (1, 3):
                break
            await poll(pilot, app, clock)
        assert app.latest.snapshot.count is None
        text = screen_text(app)
        assert "nan" in text.lower() and "count ?" in text  # the reason, and the unknown
        for size in ((60, 16), (120, 40), (80, 24)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
        await poll(pilot, app, clock)
        assert app.latest.snapshot.count == 52 and "count 52" in screen_text(app)
