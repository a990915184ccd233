"""The fleet against a real Prometheus: ctwatch --serve in three lab namespaces, node_exporter in a fourth."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import subprocess
import sys
import time

import prom_lab
import pytest
from lab import Lab, global_conntrack_max, lab_unavailable_reason

pytestmark = pytest.mark.lab
CTWATCH = [sys.executable, "-m", "ctwatch"]
FULL_MAX = 200  # the lowered global max: the filled namespace holds this many
COUNTS = (None, 30, 60)  # flows of the three ctwatch namespaces (None: filled to FULL_MAX)
NODE_COUNT = 45
# Everything HTTP runs in the node_exporter's namespace, whose table must hold only the
# lab's flows (its count is compared with node_exporter's): TCP there is not tracked.
NOTRACK_TCP = """
table inet ctwatch_fleet_notrack {
  chain pre { type filter hook prerouting priority raw; meta l4proto tcp notrack; }
  chain out { type filter hook output priority raw; meta l4proto tcp notrack; }
}
"""


@contextlib.contextmanager
def serving_in(home: Lab, watched: str):
    """`ctwatch --serve` on `home`'s loopback, watching namespace `watched`."""
    ns = prom_lab.InNetns(home.name)
    try:
        port = ns.call(prom_lab._free_port)
        proc = home.popen(
            [*CTWATCH, "--serve", f"127.0.0.1:{port}", "--netns", watched, "--interval", "0.5"],
            what=f"ctwatch --serve --netns {watched}",
        )
        deadline = time.monotonic() + 60
        while ns.call(prom_lab._http_get, f"http://127.0.0.1:{port}/metrics", 2)[0] != 200:
            if proc.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ctwatch --serve did not start: {proc.proc.stderr.read()}")
            time.sleep(0.1)
        yield f"127.0.0.1:{port}", proc
    finally:
        ns.close()


def fleet(home: Lab, *args: str) -> subprocess.CompletedProcess:
    return home.run([*CTWATCH, "--once", *args], check=False, timeout=120)


@pytest.fixture
def four_labs():
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(f"lab unavailable: {reason}")
    prom_lab.require("prometheus", "node_exporter")
    with Lab("ctwfla") as a, Lab("ctwflb") as b, Lab("ctwflc") as c, Lab("ctwfld") as d:
        d.nft(NOTRACK_TCP)
        for lab, n in zip((b, c, d), (*COUNTS[1:], NODE_COUNT)):
            lab.fill_udp(n)
        yield a, b, c, d


def test_fleet_lists_every_namespace_and_the_dropping_one_first(four_labs):
    a, b, c, d = four_labs
    with contextlib.ExitStack() as stack:
        serving = [stack.enter_context(serving_in(d, lab.name)) for lab in (a, b, c)]
        targets = [address for address, _ in serving]
        ne = stack.enter_context(prom_lab.node_exporter(netns=d.name, collectors=("conntrack",)))
        prom = stack.enter_context(
            prom_lab.prometheus({"ctwatch": targets, "node": [ne.address]}, netns=d.name)
        )
        # A sample of A's drop counter before it drops, so the rate sees the rise.
        before = f'ctwatch_stat_total{{netns="{a.name}",stat="drop"}}'
        prom_lab.wait_for_series(prom, before)
        with global_conntrack_max(FULL_MAX):
            a.fill_udp(FULL_MAX + 100)  # the last 100 are dropped by the kernel
            assert a.count() == FULL_MAX
            prom_lab.wait_for_series(prom, f"{before} > 0")
        counts = {a.name: a.count(), b.name: b.count(), c.name: c.count(), None: d.count()}
        prom_lab.wait_for_series(
            prom,
            "ctwatch_entries or node_nf_conntrack_entries",
            accept=lambda r: (
                {s["metric"].get("netns"): prom_lab.value(s) for s in r}
                == {k: float(v) for k, v in counts.items()}
            ),
        )
        # Every target's drop counter scraped twice, so each has a rate (0 or more).
        prom_lab.wait_for_series(
            prom,
            'rate(ctwatch_stat_total{stat="drop"}[10m]) or rate(node_nf_conntrack_stat_drop[10m])',
            accept=lambda r: len(r) == 4,
        )
        js = fleet(d, "--json", "--prometheus", prom.url)
        cs = fleet(d, "--csv", "--prometheus", prom.url, "--fleet-sort", "fill")
        node_only = fleet(d, "--json", "--prometheus", prom.url, "--selector", 'job="node"')
        # C's exporter stops: its row stays, marked down, with its last count, first.
        serving[2][1].stop()
        prom_lab.wait_for_series(prom, f'up{{instance="{targets[2]}"}} == 0')
        after = fleet(d, "--json", "--prometheus", prom.url)
    assert counts == {a.name: FULL_MAX, b.name: 30, c.name: 60, None: NODE_COUNT}
    assert js.returncode == 0, js.stderr
    hosts = json.loads(js.stdout)["hosts"]
    got = {h["netns"]: (h["entries"], h["source"]) for h in hosts}
    assert got == {
        a.name: (FULL_MAX, "ctwatch"),
        b.name: (30, "ctwatch"),
        c.name: (60, "ctwatch"),
        None: (NODE_COUNT, "node_exporter"),
    }
    assert hosts[0]["netns"] == a.name and hosts[0]["drop_rate"] > 0
    assert all(h["drop_rate"] == 0 for h in hosts[1:]), hosts
    node = next(h for h in hosts if h["netns"] is None)
    assert node["instance"] == ne.address and node["limit"] > 0
    rows = list(csv.DictReader(io.StringIO(cs.stdout)))
    assert cs.returncode == 0 and len(rows) == 4
    assert {(r["netns"] or None, int(r["entries"])) for r in rows} == {
        (k, v) for k, (v, _) in got.items()
    }
    assert after.returncode == 0, after.stderr
    first = json.loads(after.stdout)["hosts"][0]
    assert (first["netns"], first["up"], first["entries"]) == (c.name, False, 60)
    assert first["drop_rate"] is None and first["seconds_until_full"] is None
    assert all(h["up"] for h in json.loads(after.stdout)["hosts"][1:])
    assert node_only.returncode == 0
    assert [h["source"] for h in json.loads(node_only.stdout)["hosts"]] == ["node_exporter"]
