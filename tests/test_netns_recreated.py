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


def test_a_named_namespace_is_no_older_than_its_bind_mount():
    """A kernel-log line logged before `ip netns add` made this namespace is about an
    earlier namespace with the same inode number, so `since` must say when it was made."""
    import time

    from ctwatch.sources.namespaces import discover_namespaces

    name = f"ctwsince-{os.getpid()}"
    before = time.time()
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        found = [f for f in discover_namespaces("/").namespaces if name in f.named]
        assert len(found) == 1
        assert found[0].since is not None and before - 1 <= found[0].since <= time.time() + 1
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
