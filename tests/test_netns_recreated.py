"""A namespace deleted and re-created under the same name is reported, not read stale."""

from __future__ import annotations

import os
import subprocess

import pytest

from ctwatch.sources.base import SourceError
from ctwatch.sources.netns import NetnsSource

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="ip netns and setns need root")


def test_recreated_namespace_is_reported():
    name = f"ctwrecr-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        source = NetnsSource(name)
        assert source.read_counters().count == 0
        subprocess.run(["ip", "netns", "del", name], check=True)
        with pytest.raises(SourceError, match="is gone"):
            source.read_counters()
        subprocess.run(["ip", "netns", "add", name], check=True)
        with pytest.raises(SourceError, match="re-created"):
            source.read_counters()
        source.close()
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
