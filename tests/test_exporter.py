"""The Prometheus face on real captured tables: names, labels, cardinality, unknowns, promtool."""

from __future__ import annotations

import os
import subprocess
import threading
import urllib.request
from dataclasses import replace

import ctwatch_series as S
import kernel_lines as K
import pytest
from prometheus_client.exposition import generate_latest, start_http_server
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families
from prometheus_client.parser import text_string_to_metric_families

from ctwatch.engine.monitor import Monitor
from ctwatch.engine.once import answer_once, once_monitor
from ctwatch.engine.serving import PollLoop
from ctwatch.faces.exporter.collector import AnswersCollector, registry_for
from ctwatch.faces.exporter.metrics import metric_families
from ctwatch.model.trend import Forecast
from ctwatch.sources.procfs import ProcSource

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(os.path.dirname(HERE), "sample_proc")
TREES = ("calm", "mixed", "synflood")


def answers_of(tree: str, top: int = 10):
    source = ProcSource(os.path.join(SAMPLES, tree))
    try:
        return answer_once(once_monitor(source, None, top=top), rate_window=0)
    finally:
        source.close()


def exposition(answers, **kw) -> str:
    registry = registry_for(AnswersCollector(lambda: answers, None, **kw))
    return generate_latest(registry).decode()


def samples(text: str) -> list:
    """[(sample name, labels)] of an exposition, empty labels dropped as Prometheus does."""
    out = []
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.append((s.name, {k: v for k, v in s.labels.items() if v != ""}, s.value))
    return out


def expected_series() -> dict:
    """sample name -> label-name sets, from the history the contrib/ rules are tested on."""
    text = S.ctwatch_openmetrics(1_800_000_000.0, duration=S.STEP * 200, step=S.STEP)
    want: dict = {}
    for fam in om_families(text):
        for s in fam.samples:
            names = frozenset(s.labels) - {"instance", "job"}
            want.setdefault(s.name, set()).add(names)
    return want


@pytest.mark.parametrize("node_names", [False, True])
def test_every_name_and_label_set_of_the_contrib_series_is_emitted(node_names):
    want = expected_series()
    got: dict = {}
    for tree in TREES:
        answers = answers_of(tree)
        growing = replace(answers, forecast=Forecast("filling", 600.0, 5.0))
        for netns in (None, "blue"):
            for name, labels, _ in samples(exposition(growing, netns=netns, node_names=node_names)):
                got.setdefault(name, set()).add(frozenset(labels))
    for name, label_sets in want.items():
        if name.startswith("node_") and not node_names:
            assert name not in got
            continue
        assert name in got, name
        # Every label combination the rules and dashboard use (dport's `other` has no
        # proto; GW2's series carry netns) appears in our output.
        for labels in label_sets:
            assert labels in got[name], (name, sorted(labels), got[name])
    assert set(got) <= set(want), set(got) - set(want)


def test_the_numbers_are_the_scans():
    answers = answers_of("synflood", top=3)
    got = samples(exposition(answers))
    by = {}
    for name, labels, v in got:
        by.setdefault(name, []).append((labels, v))
    snap, scan = answers.snapshot, answers.scan
    assert by["ctwatch_entries"] == [({}, snap.count)]
    assert by["ctwatch_entries_limit"] == [({}, snap.max)]
    stats = {labels["stat"]: v for labels, v in by["ctwatch_stat_total"]}
    assert "entries" not in stats and stats["drop"] == snap.stats["drop"]
    for name in ("ctwatch_source_entries", "ctwatch_destination_entries"):
        assert len(by[name]) <= 4  # --top 3 and other: bounded however many keys
        assert sum(v for _, v in by[name]) == scan.entries
    ports = by["ctwatch_dport_entries"]
    assert len(ports) <= 4
    assert sum(v for _, v in ports) == scan.pairs["dport"].total
    assert ({"dport": "other"}, scan.pairs["dport"].total - sum(v for _, v in ports[:-1])) in ports
    assert all("proto" in labels for labels, _ in ports if labels["dport"] != "other")
    states = by["ctwatch_entries_by_state"]
    assert {"proto": "tcp", "state": "SYN_RECV"} in [labels for labels, _ in states]
    assert sum(v for _, v in by["ctwatch_entries_by_proto"]) == scan.entries
    assert by["ctwatch_table_readable"] == [({}, 1)]
    assert "ctwatch_seconds_until_full" not in by  # steady: absent, not 0 or -1


def test_dport_counted_per_protocol(tmp_path):
    lines = [K.PROC_TCP_ESTABLISHED, K.PROC_UDP_REPLIED, K.PROC_UDPLITE, K.PROC_SCTP] + [
        K.PROC_TCP_ESTABLISHED.replace("dport=8080", "dport=5353", 1)
    ]
    root = K.modern_tree(tmp_path, lines=lines)
    source = ProcSource(root)
    answers = answer_once(once_monitor(source, None, top=10), rate_window=0)
    source.close()
    ports = {
        (labels.get("proto"), labels["dport"]): v
        for name, labels, v in samples(exposition(answers))
        if name == "ctwatch_dport_entries"
    }
    assert ports == {
        ("tcp", "8080"): 1,
        ("tcp", "5353"): 1,
        ("udp", "5353"): 1,
        ("udplite", "4000"): 1,
        ("sctp", "3868"): 1,
        (None, "other"): 0,
    }
    assert answers.scan.panels["dport"].rows[0].key == "5353"  # summed over protocols


def test_unknown_values_are_left_out():
    answers = answers_of("mixed")
    blind = replace(
        answers,
        snapshot=replace(answers.snapshot, count=None, max=None, buckets=None, stats={}),
        scan=None,
        table_error="permission denied",
    )
    names = {name for name, _, _ in samples(exposition(blind, node_names=True))}
    assert names == {"ctwatch_table_readable", "ctwatch_build_info"}
    readable = [v for n, _, v in samples(exposition(blind)) if n == "ctwatch_table_readable"]
    assert readable == [0]
    # Before the first poll: only what is always known.
    assert [f.name for f in metric_families(None, None)] == ["ctwatch_build_info"]


def test_label_values_are_made_printable():
    text = exposition(answers_of("calm"), netns="blue\x1b[2J\u202e")
    netns = {labels["netns"] for _, labels, _ in samples(text)}
    assert netns == {"blue\\x1b[2J\\u202e"}
    assert "\x1b" not in text


def test_promtool_accepts_the_exposition(tmp_path):
    promtool = pytest.importorskip("prom_lab").require("promtool")["promtool"]
    for tree in TREES:
        answers = answers_of(tree)
        growing = replace(answers, forecast=Forecast("filling", 600.0, 5.0))
        text = exposition(growing, netns="blue", node_names=True)
        proc = subprocess.run(
            [promtool, "check", "metrics"], input=text, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


class CountingSource(ProcSource):
    """A real tree whose table reads are counted."""

    table_reads = 0

    def table_chunks(self):
        type(self).table_reads += 1
        return super().table_chunks()


def test_scrapes_never_start_a_scan():
    source = CountingSource(os.path.join(SAMPLES, "synflood"))
    loop = PollLoop(Monitor(source, None, interval=3600.0, panel_rows=10))
    loop.poll_once()  # the first poll scans
    assert (loop.monitor.scans, CountingSource.table_reads) == (1, 1)
    registry = registry_for(AnswersCollector(loop.latest, loop.counters))
    server, _ = start_http_server(0, addr="127.0.0.1", registry=registry)
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    bodies: list = []

    def scrape() -> None:
        for _ in range(10):
            with urllib.request.urlopen(url, timeout=10) as resp:
                bodies.append(resp.read().decode())

    try:
        threads = [threading.Thread(target=scrape) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.shutdown()
        server.server_close()
        source.close()
    assert len(bodies) == 100
    assert all("ctwatch_source_entries{" in b for b in bodies)
    assert (loop.monitor.scans, CountingSource.table_reads) == (1, 1)


def test_the_exporters_monitor_holds_no_raw_scan_between_polls():
    """keep_scan=False: a 250k-key scan (~45 MB) is not held while the next is counted;
    the view (top rows, distinct counts) stays for every scrape until the next scan."""
    source = ProcSource(os.path.join(SAMPLES, "calm"))
    monitor = Monitor(source, None, interval=3600.0, panel_rows=10, keep_scan=False)
    first = monitor.poll(scan=True)
    second = monitor.poll(scan=False)
    source.close()
    assert monitor._current is None and monitor._previous is None
    assert second.scan is first.scan and first.scan.pairs["state"].rows


def test_the_netns_label_of_a_pid_names_its_namespace():
    from ctwatch.sources.netns import pid_netns_label

    inode = os.stat(f"/proc/{os.getpid()}/ns/net").st_ino
    label = pid_netns_label("/", os.getpid())
    # The test's own namespace: a name under /run/netns only if someone bound one.
    assert label == f"net:[{inode}]" or os.path.exists(f"/run/netns/{label}")
    assert pid_netns_label("/", 4_194_304) == "pid 4194304"  # gone: still a label


def _netns_row(inode: int, name: str, entries, drop: int = 0):
    from ctwatch.engine.namespaces import NamespaceRow

    stats = {"entries": entries or 0, "drop": drop, "early_drop": 0, "insert_failed": 0}
    stats.update(invalid=1, found=99)
    return NamespaceRow(
        inode=inode,
        name=name,
        kind="process",
        pids=(),
        entries=entries,
        max=1000,
        fill=None,
        stats=stats,
        rates={},
        last_full=None,
        since=None,
        table_error=None,
    )


def test_namespaces_are_exported_top_by_entries_and_the_rest_as_other():
    from ctwatch.engine.namespaces import NamespacesView

    rows = (
        _netns_row(11, "sleep 900", 5, drop=1),
        _netns_row(12, "sleep 900", 700, drop=30),  # same name: the inode keeps them apart
        _netns_row(13, "web-1", 40, drop=2),
        _netns_row(14, "gone", None),  # unreadable: no number to export
        _netns_row(15, "db\x1b[31m", 3, drop=4),
    )
    answers = replace(answers_of("calm"), namespaces=NamespacesView(rows))
    got = samples(exposition(answers, top_netns=2))
    entries = {
        (s[1]["netns"], s[1].get("inode")): s[2] for s in got if s[0] == "ctwatch_netns_entries"
    }
    assert entries == {("sleep 900", "12"): 700, ("web-1", "13"): 40, ("other", None): 8}
    drops = {
        (s[1]["netns"], s[1].get("inode")): s[2]
        for s in got
        if s[0] == "ctwatch_netns_stat_total" and s[1]["stat"] == "drop"
    }
    assert drops == {("sleep 900", "12"): 30, ("web-1", "13"): 2, ("other", None): 5}
    stats = {s[1]["stat"] for s in got if s[0] == "ctwatch_netns_stat_total"}
    assert stats == {"drop", "early_drop", "insert_failed", "invalid"}  # bounded, not 16
    # Without --all-netns no namespace series at all.
    assert not [s for s in samples(exposition(answers_of("calm"))) if "netns" in s[0]]


def test_promtool_accepts_the_namespace_series(tmp_path):
    from ctwatch.engine.namespaces import NamespacesView

    if not os.path.exists("/usr/bin/promtool"):
        pytest.skip("promtool not installed (apt install prometheus)")
    rows = tuple(_netns_row(20 + i, f"ns-{i}", i) for i in range(5))
    answers = replace(answers_of("mixed"), namespaces=NamespacesView(rows))
    text = exposition(answers, top_netns=3)
    done = subprocess.run(
        ["/usr/bin/promtool", "check", "metrics"], input=text, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
