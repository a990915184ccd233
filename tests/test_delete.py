"""--allow-delete: address validation, the exact argv, the log, and a real delete in a lab."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter

import pytest

from ctwatch.model.scan import scan_table
from ctwatch.sources.delete import (
    DeleteError,
    delete_argv,
    delete_source,
    namespace_prefix,
    preview,
    validate_ip,
)


@pytest.mark.parametrize(
    "bad",
    [
        "1.2.3.4; rm -rf /",
        "-F",
        "--flush",
        "10.0.0.0/8",
        "::1/128",
        "",
        None,
        " 1.2.3.4",
        "1.2.3.4\n",
        "1.2.3",
        "256.1.1.1",
        "010.0.0.1",
        "localhost",
        "fe80::1%eth0",
        "$(reboot)",
        "1.2.3.4 -D",
        42,
    ],
)
def test_validate_rejects(bad):
    with pytest.raises(DeleteError) as info:
        validate_ip(bad)
    assert "\n" not in str(info.value)


def test_validate_accepts_and_canonicalizes():
    assert validate_ip("10.0.0.5") == "10.0.0.5"
    assert validate_ip("2001:DB8::1") == "2001:db8::1"
    assert validate_ip("2001:0db8:0000:0000:0000:0000:0000:0001") == "2001:db8::1"
    assert validate_ip("::ffff:10.0.0.1") == "::ffff:a00:1"


def test_argv_is_a_list_with_namespace_prefixes():
    assert delete_argv("10.0.0.5") == ["conntrack", "-D", "-s", "10.0.0.5"]
    assert delete_argv("10.0.0.5", netns="ctwfoo") == [
        "ip",
        "netns",
        "exec",
        "ctwfoo",
        "conntrack",
        "-D",
        "-s",
        "10.0.0.5",
    ]
    assert delete_argv("::1", pid=1234) == [
        "nsenter",
        "--net=/proc/1234/ns/net",
        "--",
        "conntrack",
        "-D",
        "-s",
        "::1",
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"netns": "../etc"},
        {"netns": "a/b"},
        {"netns": "-x"},
        {"netns": ""},
        {"pid": 0},
        {"pid": "12"},
        {"pid": True},
        {"netns": "a", "pid": 1},
    ],
)
def test_namespace_prefix_rejects(kwargs):
    with pytest.raises(DeleteError):
        namespace_prefix(**kwargs)


class FakeConntrack:
    """Stands in for running conntrack: records argv, answers like conntrack 1.4.7."""

    def __init__(self, returncode=0, stderr="", stdout=""):
        self.calls = []
        self.result = (returncode, stdout, stderr)

    def __call__(self, argv):
        self.calls.append(argv)
        code, out, err = self.result
        return subprocess.CompletedProcess(argv, code, out, err)


def test_delete_parses_count_and_logs(tmp_path):
    log = tmp_path / "logs" / "delete.log"
    fake = FakeConntrack(
        0, "conntrack v1.4.7 (conntrack-tools): 3 flow entries have been deleted.\n"
    )
    result = delete_source("10.0.0.5", log_path=str(log), netns="ctwfoo", runner=fake)
    assert fake.calls == [["ip", "netns", "exec", "ctwfoo", "conntrack", "-D", "-s", "10.0.0.5"]]
    assert (result.ip, result.namespace, result.deleted, result.log_error) == (
        "10.0.0.5",
        "ctwfoo",
        3,
        None,
    )
    line = log.read_text().splitlines()
    assert len(line) == 1
    assert line[0].endswith(" delete src=10.0.0.5 netns=ctwfoo deleted=3")
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    # Zero matches: conntrack exits 1 but still says how many; that is not an error.
    zero = FakeConntrack(
        1, "conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n"
    )
    assert delete_source("10.0.0.9", log_path=str(log), runner=zero).deleted == 0
    assert log.read_text().splitlines()[1].endswith("src=10.0.0.9 netns=- deleted=0")


def test_delete_failure_and_refusal_are_logged_one_line_errors(tmp_path):
    log = tmp_path / "delete.log"
    denied = FakeConntrack(
        1, "conntrack v1.4.7 (conntrack-tools): Operation failed: Operation not permitted\n"
    )
    with pytest.raises(DeleteError) as info:
        delete_source("10.0.0.5", log_path=str(log), pid=77, runner=denied)
    assert "Operation not permitted" in str(info.value) and "\n" not in str(info.value)
    never = FakeConntrack()
    with pytest.raises(DeleteError):
        delete_source("1.2.3.4; rm -rf /", log_path=str(log), runner=never)
    assert never.calls == []
    lines = log.read_text().splitlines()
    assert "src=10.0.0.5 netns=pid:77 failed:" in lines[0]
    assert "src='1.2.3.4; rm -rf /' netns=- refused:" in lines[1]


def test_missing_conntrack_is_a_one_line_error(tmp_path):
    def missing(argv):
        raise FileNotFoundError(2, "No such file or directory")

    with pytest.raises(DeleteError, match="conntrack not found"):
        delete_source("10.0.0.5", log_path=str(tmp_path / "log"), runner=missing)


def test_unwritable_log_does_not_hide_the_delete(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    fake = FakeConntrack(0, "1 flow entries have been deleted.")
    result = delete_source("10.0.0.5", log_path=str(blocker / "log"), runner=fake)
    assert result.deleted == 1 and result.log_error.startswith("cannot write")


def test_preview_counts_from_mapping_and_breakdown():
    counter = Counter({"10.0.0.5": 7, "2001:db8::1": 2, "10.0.0.6": 1})
    assert preview("10.0.0.5", counter) == 7
    assert preview("2001:0db8::0001", counter) == 2
    exploded = {"2001:0db8:0000:0000:0000:0000:0000:0001": 4}
    assert preview("2001:db8::1", exploded) == 4
    assert preview("10.9.9.9", counter) == 0
    table = (
        "ipv6     10 udp      17 29 src=2001:0db8:0000:0000:0000:0000:0000:0001 "
        "dst=2001:0db8:0000:0000:0000:0000:0000:0002 sport=5353 dport=53 [UNREPLIED] "
        "src=2001:0db8:0000:0000:0000:0000:0000:0002 "
        "dst=2001:0db8:0000:0000:0000:0000:0000:0001 sport=53 dport=5353 mark=0 use=2\n"
    )
    assert preview("2001:db8::1", scan_table([table.encode()]).totals) == 1
    with pytest.raises(DeleteError):
        preview("-F", counter)


# -- lab: a real table in a namespace of our own ----------------------------------------

RULESET = """
table inet ctwdel {
  chain output {
    type filter hook output priority 0; policy accept;
    ct state new accept
  }
}
"""
FLOWS = """
import socket, sys
for src, n in (("127.0.0.2", 3), ("127.0.0.3", 2), ("::1", 1)):
    family = socket.AF_INET6 if ":" in src else socket.AF_INET
    for _ in range(n):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.bind((src, 0))
        s.sendto(b"x", ("::1" if family == socket.AF_INET6 else "127.0.0.1", 9))
        s.close()
"""


def _lab_reason():
    if os.geteuid() != 0:
        return "needs root (network namespaces, conntrack -D)"
    for tool in ("ip", "nft", "conntrack", "nsenter"):
        if shutil.which(tool) is None:
            return f"{tool} not installed"
    return None


@pytest.fixture
def lab_netns():
    name = f"ctwdel-{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode != 0:
        pytest.skip("ip netns add not permitted here")
    sleeper = None
    try:

        def run(*argv, **kw):
            return subprocess.run(
                ["ip", "netns", "exec", name, *argv], capture_output=True, text=True, **kw
            )

        run("ip", "link", "set", "lo", "up", check=True)
        run("nft", "-f", "-", input=RULESET, check=True)
        run("sysctl", "-qw", "net.netfilter.nf_conntrack_udp_timeout=300", check=True)
        run(sys.executable, "-c", FLOWS, check=True)
        sleeper = subprocess.Popen(["ip", "netns", "exec", name, "sleep", "300"])
        yield name, run, sleeper.pid
    finally:
        if sleeper is not None:
            sleeper.kill()
            sleeper.wait()
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _sources(run):
    out = run("conntrack", "-L", check=True).stdout
    return sorted(
        (line.split("src=")[1].split()[0], line.split("sport=")[1].split()[0])
        for line in out.splitlines()
        if "src=" in line
    )


@pytest.mark.lab
@pytest.mark.skipif(_lab_reason() is not None, reason=str(_lab_reason()))
def test_lab_delete_removes_exactly_that_source(lab_netns, tmp_path):
    name, run, sleeper_pid = lab_netns
    before = _sources(run)
    assert Counter(src for src, _ in before) == {"127.0.0.2": 3, "127.0.0.3": 2, "::1": 1}
    log = tmp_path / "delete.log"

    result = delete_source("127.0.0.2", log_path=str(log), netns=name)
    assert result.deleted == 3
    after = _sources(run)
    assert after == [flow for flow in before if flow[0] != "127.0.0.2"]
    assert not [flow for flow in after if flow[0] == "127.0.0.2"]

    # The same through a process's namespace (nsenter), for the other IPv4 source.
    result = delete_source("127.0.0.3", log_path=str(log), pid=sleeper_pid)
    assert (result.deleted, result.namespace) == (2, f"pid:{sleeper_pid}")
    assert _sources(run) == [flow for flow in before if flow[0] == "::1"]
    # Deleting again finds nothing: 0, not an error.
    assert delete_source("127.0.0.2", log_path=str(log), netns=name).deleted == 0
    lines = log.read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        f"delete src=127.0.0.2 netns={name} deleted=3",
        f"delete src=127.0.0.3 netns=pid:{sleeper_pid} deleted=2",
        f"delete src=127.0.0.2 netns={name} deleted=0",
    ]
