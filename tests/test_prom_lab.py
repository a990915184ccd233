"""The Prometheus/node_exporter harness itself: real processes, real scrapes, real queries."""

from __future__ import annotations

import os
import time

import prom_lab
import pytest


def _textfile(directory: str, text: str) -> None:
    tmp = os.path.join(directory, ".probe.prom.tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, os.path.join(directory, "probe.prom"))


def test_prometheus_scrapes_node_exporter_on_loopback(tmp_path):
    prom_lab.require("prometheus", "node_exporter")
    _textfile(
        str(tmp_path),
        "# HELP ctwatch_probe A probe.\n# TYPE ctwatch_probe gauge\nctwatch_probe 42\n",
    )
    with (
        prom_lab.node_exporter(textfile_dir=str(tmp_path)) as ne,
        prom_lab.prometheus({"node": [ne.address]}) as prom,
    ):
        got = prom_lab.wait_for_series(prom, 'ctwatch_probe{job="node"}')
        assert [prom_lab.value(s) for s in got] == [42.0]
        assert got[0]["metric"]["instance"] == ne.address
        errors = prom_lab.wait_for_series(prom, "node_textfile_scrape_error")
        assert prom_lab.value(errors[0]) == 0
        # the built-in conntrack collector is off, as --node-names needs
        assert prom.query("node_nf_conntrack_entries") == []
    assert ne.proc.poll() is not None and prom.proc.poll() is not None


def test_bad_promql_is_an_error_not_an_empty_answer():
    prom_lab.require("prometheus")
    with prom_lab.prometheus() as prom:
        with pytest.raises(prom_lab.QueryError, match="parse error"):
            prom.query("rate(up[")
        assert prom.query("up") == []


def test_backfilled_history_is_queryable(tmp_path):
    prom_lab.require("prometheus", "promtool")
    now = int(time.time())
    lines = ["# TYPE ctwatch_entries gauge"]
    lines += [
        f'ctwatch_entries{{instance="h:1",job="ctwatch"}} {i * 10} {now - 600 + i * 60}'
        for i in range(11)
    ]
    prom_lab.backfill("\n".join(lines) + "\n# EOF\n", str(tmp_path / "data"))
    with prom_lab.prometheus(tsdb=str(tmp_path / "data")) as prom:
        assert [prom_lab.value(s) for s in prom.query("ctwatch_entries", at=now)] == [100.0]
        series = prom_lab.query_range(prom, "ctwatch_entries", now - 600, now, 60)
        assert [float(v) for _, v in series[0]["values"]] == [i * 10.0 for i in range(11)]


def test_prometheus_inside_a_lab_namespace_reaches_its_loopback(lab, tmp_path):
    """Prometheus and node_exporter both live in the lab namespace; the host could not
    reach them there, the harness queries through a thread inside the namespace."""
    prom_lab.require("prometheus", "node_exporter")
    lab.fill_udp(300)
    with (
        prom_lab.node_exporter(netns=lab.name, collectors=("conntrack",)) as ne,
        prom_lab.prometheus({"node": [ne.address]}, netns=lab.name) as prom,
    ):
        got = prom_lab.wait_for_series(prom, "node_nf_conntrack_entries")
        # the namespace's own table, not the host's
        assert abs(prom_lab.value(got[0]) - lab.count()) <= 2
