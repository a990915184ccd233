"""The data layer (ctwatch.sources, ctwatch.model) never imports textual."""

from __future__ import annotations

import json
import subprocess
import sys

import kernel_lines as K

# Runs in a fresh interpreter: every submodule found by pkgutil (so new modules are
# covered without editing this test), then the check.
IMPORT_ALL = r"""
import importlib, json, pkgutil, sys
import ctwatch.sources, ctwatch.model
names = []
for pkg in (ctwatch.sources, ctwatch.model):
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(info.name)
        names.append(info.name)
leaked = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
print(json.dumps({"modules": names, "leaked": leaked}))
"""


def test_sources_and_model_do_not_import_textual():
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["leaked"] == [], f"textual imported by the data layer: {result['leaked']}"
    # The walk really found the modules (an empty walk would pass vacuously).
    found = set(result["modules"])
    for name in (
        "ctwatch.sources.base",
        "ctwatch.sources.procfs",
        "ctwatch.sources.conntrack_cli",
        "ctwatch.sources.netns",
        "ctwatch.sources.select",
        "ctwatch.sources.stats",
        "ctwatch.model.entry",
        "ctwatch.model.scan",
        "ctwatch.model.filters",
        "ctwatch.model.snapshot",
        "ctwatch.model.report",
    ):
        assert name in found


ONCE = r"""
import sys
from ctwatch import cli
code = cli.main(["--once", "--json", "--rate-window", "0", "--root", sys.argv[1]])
assert code == 0, code
leaked = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
assert not leaked, leaked
"""


def test_once_does_not_import_textual(tmp_path):
    # --once is what scripts and cron jobs run: it must not pay for the UI toolkit.
    root = K.modern_tree(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", ONCE, root], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
