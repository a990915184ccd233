"""Child readers: a chatty stderr cannot deadlock, a silent child cannot hang the poll."""

from __future__ import annotations

import sys
import time

import pytest

from ctwatch.sources.base import SourceError
from ctwatch.sources.reads import command_chunks


def test_large_stderr_does_not_block_stdout():
    code = (
        "import sys; sys.stderr.write('x' * 300000); sys.stderr.flush(); "
        "sys.stdout.write('line\\n' * 1000)"
    )
    out = b"".join(command_chunks([sys.executable, "-c", code], "test"))
    assert out == b"line\n" * 1000


def test_silent_child_is_stopped_after_the_timeout():
    started = time.monotonic()
    with pytest.raises(SourceError, match="printed nothing for 0.5 s"):
        b"".join(
            command_chunks(
                [sys.executable, "-c", "import time; time.sleep(30)"], "test", timeout=0.5
            )
        )
    assert time.monotonic() - started < 10


def test_failure_reports_the_last_stderr_line():
    code = "import sys; sys.stderr.write('warming up\\nreal reason\\n'); sys.exit(3)"
    with pytest.raises(SourceError, match="test: python.* failed: real reason"):
        b"".join(command_chunks([sys.executable, "-c", code], "test"))
