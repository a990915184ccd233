"""The README's quick start and .ci/run must run the same test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start_commands() -> list:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quick_start_has_exactly_two_commands():
    commands = quick_start_commands()
    assert len(commands) == 2, commands
    assert commands[0].endswith("ctwatch --demo")


def test_ci_runs_the_readme_test_command():
    readme_test = quick_start_commands()[1].split("&&")[-1].strip()
    assert readme_test.startswith("sudo ")
    ci_lines = [ln.strip() for ln in (ROOT / ".ci/run").read_text().splitlines()]
    assert readme_test[len("sudo ") :] in ci_lines


def test_ci_installs_the_readme_packages():
    apt = quick_start_commands()[1].split("&&")[0].split("install -y", 1)[1].split()
    ci = (ROOT / ".ci/run").read_text()
    for pkg in apt:
        assert pkg in ci, pkg
