"""The live monitor's first scan starts before Textual is imported (the CLI's real path)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CALM = os.path.join(os.path.dirname(HERE), "sample_proc", "calm")

# Runs `ctwatch --root CALM` through cli.main in a fresh interpreter, with a terminal
# faked for the tty check. FirstPoll's constructor is wrapped: it notes whether Textual
# was loaded at that moment, lets the real poll finish, reports, and ends the process
# before any app runs.
PROBE = r"""
import json, os, sys
import ctwatch.faces.ui.launch as launch

class Tty:
    def __init__(self, inner):
        self.inner = inner
    def isatty(self):
        return True
    def __getattr__(self, name):
        return getattr(self.inner, name)

real_init = launch.FirstPoll.__init__

def probe(self, monitor):
    loaded = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
    real_init(self, monitor)
    finished = self.wait(60)
    sample = self.sample
    table = sample.scan if sample is not None else None
    report = {
        "textual_loaded": loaded[:5],
        "finished": finished,
        "scanned": bool(sample is not None and sample.scanned),
        "entries": table.entries if table is not None else None,
    }
    sys.__stdout__.write(json.dumps(report) + "\n")
    sys.__stdout__.flush()
    os._exit(0)

launch.FirstPoll.__init__ = probe
sys.stdin = Tty(sys.stdin)
sys.stdout = Tty(sys.stdout)
from ctwatch import cli
cli.main(["--root", sys.argv[1], "--log-file", sys.argv[2]])
sys.__stdout__.write(json.dumps({"error": "FirstPoll never started"}) + "\n")
"""


def test_first_scan_runs_before_textual_is_imported(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, CALM, str(tmp_path / "ctwatch.log")],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "error" not in report, report
    assert report["textual_loaded"] == [], f"Textual was imported first: {report}"
    # The poll really scanned the table (it is not an empty pre-start).
    assert report["finished"] and report["scanned"], report
    with open(os.path.join(CALM, "proc/net/nf_conntrack"), "rb") as f:
        expected = sum(1 for line in f if line.strip())
    assert report["entries"] == expected
