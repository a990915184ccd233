"""Real Prometheus and node_exporter reading ctwatch's exporter on real lab conntrack tables."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile

import pytest
from lab import Lab, lab_unavailable_reason
from prom_lab import node_exporter, prometheus, require, value, wait_for_series
from prometheus_client.parser import text_string_to_metric_families
from test_lab_live import conntrack_rows

pytestmark = pytest.mark.lab
CTWATCH = [sys.executable, "-m", "ctwatch"]
# Per namespace: (top source, its flows, another source, its flows). Unreplied UDP to a
# port the lab drops: no ICMP answer, the entries hold still for the long timeouts.
TABLES = (("127.0.0.7", 30, "127.0.0.8", 10), ("127.0.0.9", 60, "127.0.0.10", 15))


@pytest.fixture
def two_labs():
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(f"lab unavailable: {reason}")
    with Lab("ctwexpa") as a, Lab("ctwexpb") as b:
        for lab, (top, n, other, m) in zip((a, b), TABLES):
            lab.long_timeouts()
            lab.drop_udp(5300)
            lab.traffic("udp", "--n", str(n), "--port", "5300", "--src", top)
            lab.traffic("udp", "--n", str(m), "--port", "5300", "--src", other)
        yield a, b


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(*where: str):
    """`ctwatch --serve` on a host loopback port; `where`: --netns NAME, --all-netns..."""
    port = free_port()
    proc = subprocess.Popen(
        [*CTWATCH, "--serve", f"127.0.0.1:{port}", *where, "--interval", "0.5"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    assert proc.returncode == 0, err


def test_prometheus_scrapes_two_namespaces(two_labs):
    require("prometheus")
    a, b = two_labs
    with contextlib.ExitStack() as stack:
        targets = [stack.enter_context(serving("--netns", lab.name)) for lab in (a, b)]
        prom = stack.enter_context(prometheus({"ctwatch": targets}))
        tops = wait_for_series(
            prom,
            'topk by (netns) (1, ctwatch_source_entries{source!="other"})',
            accept=lambda r: len(r) == 2,
        )
        entries = wait_for_series(prom, "ctwatch_entries", accept=lambda r: len(r) == 2)
        counts = {a.name: a.count(), b.name: b.count()}  # static tables: no churn
        readable = prom.query("ctwatch_table_readable")
    assert {r["metric"]["netns"]: value(r) for r in entries} == counts
    assert counts[a.name] == 40 and counts[b.name] == 75  # the tables really differ
    got = {r["metric"]["netns"]: (r["metric"]["source"], value(r)) for r in tops}
    assert got == {a.name: ("127.0.0.7", 30.0), b.name: ("127.0.0.9", 60.0)}
    assert sorted(value(r) for r in readable) == [1.0, 1.0]


def test_prometheus_gets_every_namespaces_count_from_one_exporter(two_labs):
    require("prometheus")
    a, b = two_labs
    names = {a.name, b.name}
    with contextlib.ExitStack() as stack:
        target = stack.enter_context(serving("--all-netns"))
        prom = stack.enter_context(prometheus({"ctwatch": [target]}))
        promql = 'ctwatch_netns_entries{netns=~"ctwexp[ab]-.*"}'
        rows = wait_for_series(prom, promql, accept=lambda r: len(r) == 2)
        counts = {a.name: a.count(), b.name: b.count()}  # static tables: no churn
        drops = prom.query('ctwatch_netns_stat_total{netns=~"ctwexp[ab]-.*",stat="drop"}')
    got = {r["metric"]["netns"]: value(r) for r in rows}
    assert set(got) == names and got == counts and counts[b.name] == 75
    assert all(r["metric"]["kind"] == "named" and r["metric"]["inode"] for r in rows)
    assert {r["metric"]["netns"] for r in drops} == names


def test_node_exporter_reads_the_textfile_with_node_names(two_labs):
    require("node_exporter")
    a, _ = two_labs
    with tempfile.TemporaryDirectory(prefix="ctwtextfile-") as folder:
        path = os.path.join(folder, "ctwatch.prom")
        proc = subprocess.run(
            [*CTWATCH, "--once", "--textfile", path, "--node-names", "--netns", a.name],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        os.chmod(folder, 0o755)
        with node_exporter(textfile_dir=folder) as ne:
            status, body = ne.get("/metrics")
    assert status == 200
    found = {}
    for fam in text_string_to_metric_families(body.decode()):
        for s in fam.samples:
            found.setdefault(s.name, []).append((s.labels, s.value))
    assert found["node_textfile_scrape_error"] == [({}, 0.0)]
    assert found["node_nf_conntrack_entries"] == [({"netns": a.name}, float(a.count()))]
    assert found["ctwatch_entries"] == [({"netns": a.name}, float(a.count()))]
    assert "node_nf_conntrack_stat_drop" in found


def test_ports_and_states_per_protocol_match_conntrack(tmp_path):
    """Every kind of flow the lab makes (TCP states, UDP, SCTP, UDP-Lite, ICMP, GRE...):
    the per-protocol series equal what conntrack(8) lists, pair by pair."""
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(f"lab unavailable: {reason}")
    path = str(tmp_path / "ctwatch.prom")
    with Lab("ctwexpm") as lab:
        lab.mixed()
        before = lab.count()
        argv = [*CTWATCH, "--once", "--textfile", path, "--top", "1000", "--netns", lab.name]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        rows = conntrack_rows(lab)
        assert lab.count() == before, "the table churned: a flow in mixed() expired"
    assert proc.returncode == 0, proc.stderr
    got: dict = {"ctwatch_dport_entries": {}, "ctwatch_entries_by_state": {}}
    with open(path) as f:
        for fam in text_string_to_metric_families(f.read()):
            for s in fam.samples:
                if s.name in got and s.labels.get("dport") != "other":
                    key = (s.labels["proto"], s.labels.get("dport") or s.labels.get("state"))
                    got[s.name][key] = s.value
    ports: dict = {}
    states: dict = {}
    for r in rows:
        if r["dport"] is not None:
            ports[r["proto"], r["dport"]] = ports.get((r["proto"], r["dport"]), 0) + 1
        if r["state"] is not None:
            states[r["proto"], r["state"]] = states.get((r["proto"], r["state"]), 0) + 1
    assert got["ctwatch_dport_entries"] == ports
    assert got["ctwatch_entries_by_state"] == states
    assert {p for p, _ in ports} >= {"tcp", "udp", "sctp"}  # more than one protocol
