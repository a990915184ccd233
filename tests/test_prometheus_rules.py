"""contrib/prometheus/ctwatch-rules.yml: valid, unit-tested by promtool, and the tests have teeth."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import prom_lab
import pytest

RULES_DIR = Path(__file__).resolve().parent.parent / "contrib" / "prometheus"
RULES = RULES_DIR / "ctwatch-rules.yml"
TESTS = RULES_DIR / "ctwatch-rules.test.yml"


def promtool(*args: str, cwd: Path = RULES_DIR) -> subprocess.CompletedProcess:
    path = prom_lab.require("promtool")["promtool"]
    return subprocess.run(
        [path, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_rules_pass_promtool_check():
    proc = promtool("check", "rules", str(RULES))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 8 rules found" in proc.stdout


def test_rules_unit_tests_pass():
    proc = promtool("test", "rules", str(TESTS))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def alert_names() -> list:
    return re.findall(r"^\s*- alert: (\w+)\s*$", RULES.read_text(), re.M)


def test_every_alert_is_seen_firing_and_seen_quiet():
    """An eval line followed by exp_alerts expects firing; one without expects silence."""
    lines = [ln.strip() for ln in TESTS.read_text().splitlines()]
    firing, quiet = set(), set()
    for i, line in enumerate(lines):
        m = re.match(r"alertname: (\w+)$", line)
        if m:
            following = lines[i + 1] if i + 1 < len(lines) else ""
            (firing if following == "exp_alerts:" else quiet).add(m.group(1))
    names = alert_names()
    assert len(names) == 8
    assert set(names) - firing == set(), "never seen firing"
    assert set(names) - quiet == set(), "never seen quiet"


# Each change below breaks one rule in a way an operator would notice; the unit tests
# must then fail. This proves they test thresholds, selectors and `for`, not just syntax.
MUTATIONS = {
    "warning threshold lowered": ("ctwatch_entries_limit > 0.75", "ctwatch_entries_limit > 0.70"),
    "warning at exactly 75 %": ("ctwatch_entries_limit > 0.75", "ctwatch_entries_limit >= 0.75"),
    "critical threshold raised": ("ctwatch_entries_limit > 0.90", "ctwatch_entries_limit > 0.95"),
    "early_drop counted": ('stat=~"drop|insert_failed"', 'stat=~"drop|insert_failed|early_drop"'),
    "insert_failed forgotten": ('stat=~"drop|insert_failed"', 'stat=~"drop"'),
    "old drops remembered": ("[5m]) > 0", "[30m]) > 0"),
    "forecast an hour ahead": ("[10m], 1800)", "[10m], 3600)"),
    "full table forecast": (
        "          and\n          ctwatch_entries < ctwatch_entries_limit\n",
        "",
    ),
    "forecast without for": (
        "        for: 5m\n        labels:\n          severity: warning\n        annotations:\n          summary: Conntrack table will",
        "        labels:\n          severity: warning\n        annotations:\n          summary: Conntrack table will",
    ),
    "quiet table paged": (
        "          and ignoring(source)\n          (ctwatch_entries / ctwatch_entries_limit > 0.5)\n",
        "",
    ),
    "other is a source": ('ctwatch_source_entries{source!="other"}', "ctwatch_source_entries"),
    "unreadable pages at once": (
        "ctwatch_table_readable == 0\n        for: 5m",
        "ctwatch_table_readable == 0\n        for: 1m",
    ),
    "stale after 20 minutes": (
        "ctwatch_last_scan_timestamp_seconds > 600",
        "ctwatch_last_scan_timestamp_seconds > 1200",
    ),
    "any job down": ('up{job="ctwatch"} == 0', "up == 0"),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_unit_tests_catch_a_broken_rule(name, tmp_path):
    old, new = MUTATIONS[name]
    text = RULES.read_text()
    assert text.count(old) == 1, f"mutation {name!r} no longer applies: {old!r}"
    (tmp_path / RULES.name).write_text(text.replace(old, new))
    shutil.copy(TESTS, tmp_path / TESTS.name)
    proc = promtool("test", "rules", TESTS.name, cwd=tmp_path)
    assert proc.returncode != 0, f"unit tests still pass with {name!r}"
