"""Shared pytest fixtures: the real-kernel lab."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lab import Lab, lab_unavailable_reason  # noqa: E402


@pytest.fixture
def lab():
    """An entered Lab (a fresh namespace with tracking on); skips where labs cannot run."""
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(f"lab unavailable: {reason}")
    with Lab() as entered:
        yield entered
