"""The child that reads virtual /proc files: dd in 256 KiB writes, or cat without a fit dd."""

from __future__ import annotations

import pytest

from ctwatch.sources import base, gather, reads


def read_virtual(path: str) -> bytes:
    return b"".join(reads.file_chunks(path, "test file"))


@pytest.mark.parametrize("path", ["/proc/version", "/proc/cpuinfo"])
def test_a_virtual_file_reads_the_same_through_dd_and_cat(path, monkeypatch):
    with open(path, "rb") as f:
        want = f.read()
    assert gather.gathering_reader() is not None  # coreutils dd on the test machines
    assert read_virtual(path) == want
    monkeypatch.setattr(reads, "gathering_reader", lambda: None)
    assert read_virtual(path) == want


def test_a_dd_without_fullblock_means_cat(monkeypatch, tmp_path):
    fake = tmp_path / "dd"
    fake.write_text("#!/bin/sh\necho 'dd: invalid input flag' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    gather.gathering_reader.cache_clear()
    try:
        assert gather.gathering_reader() is None
    finally:
        gather.gathering_reader.cache_clear()


def test_a_failing_read_is_one_line_from_dd():
    with pytest.raises(base.SourceError) as err:
        read_virtual("/proc/self/mem")  # reading it at offset 0 fails (EIO)
    assert "\n" not in str(err.value)
