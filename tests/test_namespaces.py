"""--all-netns on sample trees: discovery, naming, rates, kernel-log links, JSON, CSV, text, refusals."""

from __future__ import annotations

import csv
import io
import json
import os

import kernel_lines as K
import pytest

from ctwatch import cli
from ctwatch.engine.incident import KernelLogView
from ctwatch.engine.namespaces import NamespaceWatch
from ctwatch.sources.namespaces import discover_namespaces, ns_inode, nsfs_mounts

HOST, NAMED, DOCKER, SLEEPER, POD, NSPAWN = (
    4026531833,
    4026532246,
    4026532300,
    4026532301,
    4026532302,
    4026532303,
)
ID = "ae836c95b4c3c9e9179e0e91015512da89fdec91612f63cebae57df9a5444c79"
UID = "e9fd6274-59d1-11e9-af90-9e3c8464d679"
HEADER = "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart"  # noqa: E501


def stats_text(entries: int, drop: int = 0, cpus: int = 2) -> str:
    """A 5.15+ stats file: `entries` repeated per CPU, `drop` split over the CPUs."""
    rows = [HEADER]
    for cpu in range(cpus):
        cells = [0] * 17
        cells[0] = entries
        cells[10] = drop // cpus + (drop % cpus if cpu == 0 else 0)
        rows.append(" ".join(f"{c:08x}" for c in cells))
    return "\n".join(rows) + "\n"


def add_process(root, pid, inode, *, entries=0, drop=0, cgroup="0::/\n", cmd=b"", start=100):
    base = os.path.join(str(root), "proc", str(pid))
    os.makedirs(os.path.join(base, "ns"), exist_ok=True)
    os.symlink(f"net:[{inode}]", os.path.join(base, "ns", "net"))
    os.symlink("uts:[4026531838]", os.path.join(base, "ns", "uts"))
    K.write(root, f"/proc/{pid}/net/stat/nf_conntrack", stats_text(entries, drop))
    K.write(root, f"/proc/{pid}/net/nf_conntrack", "")
    K.write(root, f"/proc/{pid}/cgroup", cgroup)
    K.write(root, f"/proc/{pid}/cmdline", cmd)
    fields = ["S"] + ["0"] * 18 + [str(start)] + ["0"] * 10
    K.write(root, f"/proc/{pid}/stat", f"{pid} (x) " + " ".join(fields) + "\n")


def mountinfo(*mounts) -> str:
    lines = ["22 27 0:21 / /proc rw,relatime - proc proc rw"]
    for n, (inode, point) in enumerate(mounts):
        lines.append(f"{46 + n} 45 0:4 net:[{inode}] {point} rw shared:2 - nsfs nsfs rw")
    return "\n".join(lines) + "\n"


@pytest.fixture
def tree(tmp_path):
    root = K.modern_tree(tmp_path, max_=1000)
    add_process(root, 2, HOST, entries=22, cmd=b"")
    add_process(root, 40, HOST, entries=22, cmd=b"/sbin/init\0")
    add_process(root, 300, NAMED, entries=900, drop=6, cmd=b"sleep\0infinity\0")
    add_process(root, 400, DOCKER, entries=5, cgroup=f"0::/system.slice/docker-{ID}.scope\n")
    # The oldest of two processes names the namespace, though its pid is higher.
    add_process(root, 500, SLEEPER, entries=7, cmd=b"sleep\x001000\x00", start=900)
    add_process(root, 999, SLEEPER, entries=7, cmd=b"python3\0-m\0server\0", start=50)
    pod_cgroup = (
        "0::/kubepods.slice/kubepods-besteffort.slice/"
        f"kubepods-besteffort-pod{UID.replace('-', '_')}.slice/cri-containerd-{ID}.scope\n"
    )
    add_process(root, 600, POD, entries=1, cgroup=pod_cgroup)
    os.makedirs(os.path.join(root, "var/log/pods", f"shop_web-7d9f_{UID}"))
    mounts = ((NAMED, "/run/netns/blue"), (NAMED, "/var/run/netns/blue"))
    K.write(root, "/proc/self/mountinfo", mountinfo(*mounts))
    K.write(root, f"/var/lib/docker/containers/{ID}/config.v2.json", '{"Name": "/cache"}')
    return root


def by_inode(rows):
    return {r.inode: r for r in rows}


def test_ns_links_and_mountinfo():
    assert ns_inode("net:[4026531833]") == 4026531833
    assert ns_inode("uts:[4026531838]", "uts") == 4026531838
    for bad in ("net:[]", "net:[12a]", "mnt:[5]", "net:[\u0664]", ""):
        assert ns_inode(bad) is None
    info = mountinfo((NAMED, "/run/netns/a\\040b"), (5, "/run/docker/netns/x"))
    assert nsfs_mounts(info) == [(NAMED, "/run/netns/a b"), (5, "/run/docker/netns/x")]


def test_discovery_reads_each_namespace_own_count(tree):
    found = discover_namespaces(tree)
    assert found.max == 1000
    spaces = {f.inode: f for f in found.namespaces}
    assert set(spaces) == {HOST, NAMED, DOCKER, SLEEPER, POD}
    assert found.namespaces[0].inode == HOST and spaces[HOST].host
    assert spaces[HOST].pids == (2, 40)
    assert spaces[NAMED].stats["entries"] == 900 and spaces[NAMED].stats["drop"] == 6
    assert spaces[NAMED].named == ("blue",)
    assert spaces[SLEEPER].pids == (999, 500)  # oldest first
    assert spaces[SLEEPER].command == "python3 -m server"
    assert all(f.table_error is None for f in found.namespaces)


def test_names_kinds_and_order(tree):
    view = NamespaceWatch(tree).poll()
    rows = by_inode(view.rows)
    assert (rows[HOST].name, rows[HOST].kind) == ("host", "host")
    assert (rows[NAMED].name, rows[NAMED].kind) == ("blue", "named")
    assert (rows[DOCKER].name, rows[DOCKER].kind) == ("docker cache", "container")
    assert (rows[POD].name, rows[POD].kind) == ("shop/web-7d9f", "pod")
    assert (rows[SLEEPER].name, rows[SLEEPER].kind) == ("python3 -m server (pid 999)", "process")
    assert rows[NAMED].fill == 0.9 and rows[NAMED].max == 1000
    assert view.rows[0].inode == NAMED  # it has dropped; nothing else has


def test_rates_need_two_readings_and_follow_the_counters(tree):
    ticks = iter([10.0, 12.0])
    watch = NamespaceWatch(tree, clock=lambda: next(ticks))
    first = watch.poll()
    assert all(r.rates == {} for r in first.rows)
    K.write(tree, "/proc/500/net/stat/nf_conntrack", stats_text(7, drop=40))
    K.write(tree, "/proc/999/net/stat/nf_conntrack", stats_text(7, drop=40))
    second = watch.poll()
    assert second.rows[0].inode == SLEEPER  # dropping now beats having dropped before
    assert second.rows[0].rates["drop"] == 20.0
    assert by_inode(second.rows)[NAMED].rates["drop"] == 0.0


def test_kernel_log_links_last_full_and_reports_unreachable(tree):
    kernel = KernelLogView(last_full_by_netns=((NAMED, 1000.0), (None, 900.0), (777, 800.0)))
    rows = by_inode(NamespaceWatch(tree).poll(kernel).rows)
    assert rows[NAMED].last_full == 1000.0
    assert rows[HOST].last_full == 900.0  # "table full" without "in netns N"
    assert rows[777].kind == "unreachable" and rows[777].entries is None
    assert "kernel log" in rows[777].table_error
    assert rows[DOCKER].last_full is None


def test_hostile_names_are_made_printable(tree):
    add_process(tree, 700, 4026532400, cmd=b"evil\x1b]0;owned\x07\xe2\x80\xae\0")
    nspawn = "0::/machine.slice/machine-x\\x1b[2J.scope\n"
    add_process(tree, 701, 4026532401, cgroup=nspawn)
    K.write(
        tree,
        "/proc/self/mountinfo",
        mountinfo((NAMED, "/run/netns/blue"), (4026532402, "/run/netns/red\\012\x1b[31m")),
    )
    rows = by_inode(NamespaceWatch(tree).poll().rows)
    names = [rows[i].name for i in (4026532400, 4026532401, 4026532402)]
    for name in names:
        assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in name), name
        assert "\u202e" not in name
    assert names[0].startswith("evil\\x1b]0;owned\\x07\\u202e")
    assert names[1] == "systemd-nspawn x\\x1b[2J"
    assert names[2] == "red\\x0a\\x1b[31m"
    assert "entering it needs the live system" in rows[4026532402].table_error


def test_unreadable_processes_are_counted_not_fatal(tree):
    os.makedirs(os.path.join(tree, "proc", "800"))  # no ns/net link: not ours to read
    found = discover_namespaces(tree)
    assert any("of 1 process could not" in e for e in found.errors)


def run(capsys, *args) -> tuple:
    code = cli.main(["--once", "--all-netns", "--rate-window", "0", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_once_json(tree, capsys):
    code, out, _ = run(capsys, "--json", "--root", tree)
    assert code == 0
    doc = json.loads(out)
    spaces = {n["inode"]: n for n in doc["namespaces"]}
    blue = spaces[NAMED]
    assert set(blue) >= {"inode", "name", "kind", "pids", "entries", "max", "fill", "stats"}
    assert set(blue) >= {"last_full", "table_error", "rates"}
    assert blue["name"] == "blue" and blue["entries"] == 900 and blue["pids"] == [300]
    assert blue["stats"]["drop"] == 6 and blue["fill"] == 0.9
    assert doc["count"] == len(K.PROC_REAL)  # the watched (host) table is still scanned


def test_once_csv_and_text(tree, capsys):
    code, out, _ = run(capsys, "--csv", "--root", tree)
    assert code == 0
    rows = [r for r in csv.reader(io.StringIO(out)) if r[0] == "netns"]
    assert ["netns", f"blue ({NAMED})", "900", f"{900 / 935:.6f}".rstrip("0")] in rows
    code, out, _ = run(capsys, "--root", tree)
    assert code == 0 and "5 network namespaces" in out
    assert "shop/web-7d9f" in out and "docker cache" in out


@pytest.mark.parametrize(
    "extra,needle",
    [
        (["--pid", "1"], "--pid"),
        (["--netns", "blue"], "--netns"),
        (["--replay", "x.gz"], "--replay"),
    ],
)
def test_conflicts_exit_2(capsys, extra, needle):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--once", "--all-netns", *extra])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert needle in err and "--all-netns" in err


def test_all_netns_does_not_go_with_the_demo(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--all-netns", "--demo"])
    assert exc.value.code == 2
    assert "--demo plays a recording" in capsys.readouterr().err
    args = cli.build_parser().parse_args(["--all-netns"])
    assert cli.check_combination(args) is None  # live: opens the namespaces view


def test_once_reads_twice_for_rates(tree, capsys):
    code = cli.main(["--once", "--all-netns", "--json", "--rate-window", "0.05", "--root", tree])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    blue = {n["inode"]: n for n in doc["namespaces"]}[NAMED]
    assert blue["rates"] == {"drop": 0.0, "early_drop": 0.0, "insert_failed": 0.0}


def test_a_namespace_only_a_thread_is_in(tree):
    """A thread that called setns(2) (ctwatch --netns does) holds a namespace of its own."""
    inode = 4026532500
    task = os.path.join(tree, "proc", "300", "task")
    for tid, net in ((300, NAMED), (301, NAMED), (302, inode)):
        os.makedirs(os.path.join(task, str(tid), "ns"))
        os.symlink(f"net:[{net}]", os.path.join(task, str(tid), "ns", "net"))
    K.write(tree, "/proc/300/task/302/net/stat/nf_conntrack", stats_text(33))
    K.write(tree, "/proc/300/task/302/net/nf_conntrack", "")
    rows = by_inode(NamespaceWatch(tree).poll().rows)
    assert rows[inode].entries == 33 and rows[inode].table_error is None
    assert (rows[inode].name, rows[inode].kind) == (
        "sleep infinity (pid 300, thread 302)",
        "process",
    )


def test_a_line_older_than_a_namespace_is_about_an_earlier_one_with_its_inode(tree):
    """nsfs inode numbers are reused: a kernel-log line from before the oldest process of
    a namespace no bind mount keeps cannot be about it."""
    import time

    K.write(tree, "/proc/uptime", "1000.00 1900.00\n")
    now = time.time()
    old = ((SLEEPER, now - 2000), (NAMED, now - 2000), (DOCKER, now - 10))
    rows = by_inode(NamespaceWatch(tree).poll(KernelLogView(last_full_by_netns=old)).rows)
    assert abs(rows[SLEEPER].since - (now - 1000 + 50 / os.sysconf("SC_CLK_TCK"))) < 1
    assert rows[SLEEPER].last_full is None  # before its oldest process (pid 999) started
    assert rows[DOCKER].last_full == now - 10
    assert rows[NAMED].since is None and rows[NAMED].last_full == now - 2000  # bind mount


def test_names_cache_keeps_only_what_the_last_listing_used(tree):
    """Hours of polls on a host whose containers and pods come and go: the docker-name
    cache holds the containers listed last; a pod started later gets its name."""
    import shutil

    watch = NamespaceWatch(tree)
    watch.poll()
    assert list(watch._docker) == [ID]
    shutil.rmtree(os.path.join(tree, "proc", "400"))  # the container is gone
    watch.poll()
    assert watch._docker == {}
    new_uid = "0a1b2c3d-0000-1111-2222-333344445555"
    pod_cgroup = (
        "0::/kubepods.slice/kubepods-besteffort.slice/"
        f"kubepods-besteffort-pod{new_uid.replace('-', '_')}.slice/cri-containerd-{ID}.scope\n"
    )
    add_process(tree, 700, 4026532399, entries=3, cgroup=pod_cgroup)
    os.makedirs(os.path.join(tree, "var/log/pods", f"shop_api-5c6d_{new_uid}"))
    watch._pods_at -= 61  # a minute later
    rows = by_inode(watch.poll().rows)
    assert (rows[4026532399].name, rows[4026532399].kind) == ("shop/api-5c6d", "pod")
