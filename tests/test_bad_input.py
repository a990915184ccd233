"""Bad input (issue 2, section 9): a clear one-line message or a counted bad line, no
traceback, and everything else still reported. Run through `python -m ctwatch`."""

from __future__ import annotations

import json
import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile

import kernel_lines as K
import pytest

from ctwatch.engine.snapshot import take_snapshot
from ctwatch.sources.select import open_source


def run(args, env=None, as_user=None, cwd=None):
    """`python -m ctwatch ARGS`; as_user runs it as that uid through setpriv."""
    argv = [sys.executable, "-m", "ctwatch", *args]
    if as_user is not None:
        argv = [
            "setpriv",
            f"--reuid={as_user}",
            f"--regid={as_user}",
            "--clear-groups",
            *argv,
        ]
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or tempfile.gettempdir(),
        timeout=60,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout
    return proc


def stderr_lines(proc) -> list:
    return [line for line in proc.stderr.splitlines() if line.strip()]


def once_json(root, *extra, rate_window="0", **kw):
    # --rate-window 0: no second counter reading, so no one-second wait per run.
    args = ["--once", "--json", "--rate-window", rate_window, "--root", str(root), *extra]
    proc = run(args, **kw)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc


def test_truncated_last_line(tmp_path):
    root = K.modern_tree(tmp_path, lines=K.PROC_REAL)
    with open(tmp_path / "proc/net/nf_conntrack", "ab") as f:
        f.write(K.PROC_TCP_ESTABLISHED.encode()[:70])
    out, proc = once_json(root)
    assert (out["entries"], out["bad_lines"]) == (len(K.PROC_REAL), 1)
    assert out["count"] == len(K.PROC_REAL) and out["by_proto"]["tcp"] == 6
    assert stderr_lines(proc) == []
    text = run(["--once", "--root", root])
    assert "1 bad lines skipped" in text.stdout


def test_binary_garbage_in_the_table(tmp_path):
    garbage = random.Random(5).getrandbits(8 * 20000).to_bytes(20000, "little")
    good = "".join(x + "\n" for x in K.PROC_REAL[:4]).encode()
    root = K.modern_tree(tmp_path, lines=None, count=4)
    K.write(root, "/proc/net/nf_conntrack", good + garbage + b"\n" + good)
    out, proc = once_json(root)
    assert out["entries"] == 8
    assert out["bad_lines"] >= 1
    assert (out["count"], out["max"]) == (4, 262144)
    assert stderr_lines(proc) == []
    assert run(["--once", "--root", root]).returncode == 0


def test_binary_garbage_in_counters_and_stats(tmp_path):
    root = K.modern_tree(tmp_path)
    K.write(root, f"{K.NF}/nf_conntrack_count", b"\x00\xff\xfe\n")
    K.write(root, "/proc/net/stat/nf_conntrack", b"\x89PNG\r\n\x1a\n\x00\x00")
    # The default rate window takes a second reading of the same bad counters.
    out, proc = once_json(root, rate_window="0.2")
    assert out["count"] is None and out["max"] == 262144 and out["stats"] == {}
    assert out["entries"] == len(K.PROC_REAL)
    assert len(out["errors"]) == 2
    assert all("\n" not in e for e in out["errors"])
    text = run(["--once", "--root", root])
    assert text.returncode == 0
    assert sum(line.startswith("warning") for line in text.stdout.splitlines()) == 2


def test_empty_table_file(tmp_path):
    root = K.modern_tree(tmp_path, lines=[], count=0)
    out, proc = once_json(root)
    assert (out["entries"], out["bad_lines"], out["count"]) == (0, 0, 0)
    assert out["by_src"] == {} and out["table_error"] is None
    assert stderr_lines(proc) == []


def test_table_vanishes_after_the_source_was_opened(tmp_path):
    root = K.modern_tree(tmp_path, count=7, max_=100)
    source = open_source("auto", root)
    os.remove(tmp_path / "proc/net/nf_conntrack")
    snap = take_snapshot(source)
    assert snap.table is None
    assert "conntrack table not found" in snap.table_error and "\n" not in snap.table_error
    assert (snap.count, snap.max, snap.stats["icmp_error"]) == (7, 100, 2)


def test_table_missing_via_cli(tmp_path):
    root = K.modern_tree(tmp_path, lines=None, count=7, max_=100)
    proc = run(["--once", "--root", root])
    assert proc.returncode == 0
    assert "count    7 / max 100" in proc.stdout
    lines = stderr_lines(proc)
    assert len(lines) == 1 and "conntrack table not found" in lines[0]
    out, _ = once_json(root)
    assert out["entries"] is None and "not found" in out["table_error"]


def test_table_is_a_directory(tmp_path):
    root = K.modern_tree(tmp_path, lines=None, count=1)
    os.makedirs(tmp_path / "proc/net/nf_conntrack")
    proc = run(["--once", "--root", root])
    assert proc.returncode == 0
    lines = stderr_lines(proc)
    assert len(lines) == 1 and "is a directory" in lines[0].lower()


def _world_readable_tree() -> str:
    # pytest's tmp_path sits in a 0700 directory another user cannot enter.
    base = tempfile.mkdtemp(prefix="ctwunit-perm-")
    os.chmod(base, 0o755)
    return base


def _other_user():
    """(uid to run as, reason to skip)."""
    if os.geteuid() != 0:
        return None, ""  # already not root: chmod 000 is enough
    if shutil.which("setpriv") is None:
        return None, "root without setpriv: cannot drop to another user"
    # The interpreter itself may live where uid 65534 cannot go (a pyenv under /root).
    probe = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        + [sys.executable, "-c", "import ctwatch.cli"],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
        timeout=60,
    )
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        return None, f"this Python cannot run as uid 65534: {last}"
    return 65534, ""


@pytest.mark.parametrize("everything", [False, True], ids=["table-only", "everything"])
def test_permission_denied(everything):
    uid, reason = _other_user()
    if reason:
        pytest.skip(reason)
    base = _world_readable_tree()
    try:
        K.modern_tree(base, count=9, max_=90)
        os.chmod(os.path.join(base, "proc/net/nf_conntrack"), 0)
        if everything:
            for name in ("count", "max", "buckets"):
                os.chmod(os.path.join(base, K.NF.lstrip("/"), f"nf_conntrack_{name}"), 0)
            os.chmod(os.path.join(base, "proc/net/stat/nf_conntrack"), 0)
        proc = run(["--once", "--root", base], as_user=uid)
        lines = stderr_lines(proc)
        assert len(lines) == 1, proc.stderr
        assert "permission denied" in lines[0] and "needs root" in lines[0]
        if everything:
            assert proc.returncode == 1
            assert proc.stdout == ""
        else:
            assert proc.returncode == 0
            assert "count    9 / max 90" in proc.stdout
    finally:
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                os.chmod(os.path.join(dirpath, name), stat.S_IRUSR | stat.S_IWUSR)
        shutil.rmtree(base)


def test_count_above_max(tmp_path):
    root = K.modern_tree(tmp_path, count=300, max_=200)
    out, proc = once_json(root)
    assert (out["count"], out["max"], out["fill"]) == (300, 200, 1.5)
    assert stderr_lines(proc) == []
    assert "(150% full)" in run(["--once", "--root", root]).stdout


def test_max_zero(tmp_path):
    root = K.modern_tree(tmp_path, count=300, max_=0, buckets=0)
    out, proc = once_json(root)
    assert (out["count"], out["max"], out["fill"], out["buckets"]) == (300, 0, None, 0)
    text = run(["--once", "--root", root])
    # 0 is no limit to the kernel (issue #10): said in words, not as a max of 0.
    assert text.returncode == 0 and "count    300 / max unlimited\n" in text.stdout


@pytest.mark.parametrize(
    "stats_text,message",
    [
        ("00000016  00000000 00000001\n00000016  00000000 00000002\n", "no header"),
        ("Name:\tfoo\nState:\tR (running)\n", "no header"),
        ("", "empty"),
        ("entries drop\n", "no per-CPU rows"),
    ],
    ids=["header-less", "unknown-file", "empty", "header-only"],
)
def test_unknown_or_headerless_stats_file(tmp_path, stats_text, message):
    root = K.modern_tree(tmp_path, stats=stats_text, count=5, max_=50)
    out, proc = once_json(root)
    assert out["stats"] == {}
    assert len(out["errors"]) == 1 and message in out["errors"][0]
    assert (out["count"], out["max"], out["entries"]) == (5, 50, len(K.PROC_REAL))
    text = run(["--once", "--root", root])
    assert text.returncode == 0 and "warning  " in text.stdout and message in text.stdout


def _path_without_conntrack(tmp_path, script_body=None) -> str:
    """A PATH holding only `cat` (and a conntrack stand-in when given)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(shutil.which("cat"), bindir / "cat")
    if script_body is not None:
        path = bindir / "conntrack"
        path.write_text(script_body)
        path.chmod(0o755)
    return str(bindir)


def test_conntrack_binary_missing(tmp_path):
    env = {"PATH": _path_without_conntrack(tmp_path)}
    # conntrack(8) asks the running kernel: its counters are this host's, never a tree's.
    proc = run(["--once", "--source", "conntrack"], env=env)
    assert proc.returncode == 0 and "count " in proc.stdout
    lines = stderr_lines(proc)
    assert len(lines) == 1 and "cannot run conntrack" in lines[0]
    # With a tree it would read the host while claiming the tree: refused, one line.
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run(["--once", "--source", "conntrack", "--root", str(empty)], env=env)
    assert proc.returncode == 2
    assert stderr_lines(proc)[-1] == (
        "ctwatch: error: --source conntrack asks the running kernel, not the tree under --root"
    )


def test_conntrack_binary_failing(tmp_path):
    body = (
        "#!/bin/sh\n"
        'echo "conntrack v1.4.7 (conntrack-tools): Operation failed: Permission denied" >&2\n'
        "exit 1\n"
    )
    env = {"PATH": _path_without_conntrack(tmp_path, body)}
    out, proc = once_json("/", "--source", "conntrack", env=env)
    assert out["source"] == "conntrack" and out["max"] is not None
    assert "Operation failed: Permission denied" in out["table_error"]
    lines = stderr_lines(proc)
    assert len(lines) == 1 and "Operation failed" in lines[0]


def test_conntrack_printing_garbage_then_failing(tmp_path):
    body = (
        "#!/bin/sh\n"
        f"echo '{K.CT_L_TCP}'\n"
        "printf 'half a line'\n"
        "echo 'conntrack: something broke' >&2\n"
        "exit 1\n"
    )
    env = {"PATH": _path_without_conntrack(tmp_path, body)}
    out, proc = once_json("/", "--source", "conntrack", env=env)
    assert out["entries"] is None and "something broke" in out["table_error"]
    assert len(stderr_lines(proc)) == 1


def test_root_that_is_a_file(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    proc = run(["--once", "--root", str(path)])
    assert proc.returncode == 1
    assert stderr_lines(proc) == [f"ctwatch: --root {path}: no such directory"]
