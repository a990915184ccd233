"""contrib/grafana/ctwatch.json: every query in it answers, with series, from a real Prometheus."""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import ctwatch_series as story
import prom_lab
import pytest

DASHBOARD = Path(__file__).resolve().parent.parent / "contrib" / "grafana" / "ctwatch.json"
# Panels that also work for a host running only node_exporter (its conntrack collector).
NODE_FALLBACK_PANELS = {
    "Fill",
    "Fill over time",
    "Time to full",
    "Time to full over time",
    "Entries",
    "Limit",
    "Entries against the limit",
    "Drops /s",
    "Drops and insert failures /s",
}
# What Grafana puts in for its built-in interval variables at a one-hour view.
BUILTINS = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}


@dataclass
class CtwatchData:
    """A running Prometheus holding ctwatch history, and which targets to look at."""

    server: prom_lab.Server
    start: float
    end: float
    ctwatch_host: dict  # labels of a ctwatch target whose table grows and drops
    namespace_host: dict  # a ctwatch target watching a chosen namespace (has netns)
    node_host: Optional[dict]  # a node_exporter-only target, or None


@contextlib.contextmanager
def backfilled_ctwatch_history(workdir: Path) -> Iterator[CtwatchData]:
    """Prometheus on an hour of exporter-shaped history (tests/ctwatch_series.py).

    The data source is pluggable: once `ctwatch --serve` exists, a context manager with
    the same yield (a Prometheus scraping real ctwatch exporters in lab namespaces, with
    a growing table so ctwatch_seconds_until_full exists) can replace this one in the
    `ctwatch_prometheus` fixture; the dashboard tests below keep working unchanged.
    """
    end = float(int(time.time()) - 30)
    prom_lab.backfill(story.ctwatch_openmetrics(end), str(workdir / "data"))
    with prom_lab.prometheus(tsdb=str(workdir / "data")) as server:
        yield CtwatchData(server, end - story.DURATION, end, story.GW1, story.GW2, story.DB1)


@pytest.fixture(scope="module")
def ctwatch_prometheus(tmp_path_factory) -> Iterator[CtwatchData]:
    prom_lab.require("prometheus", "promtool")
    with backfilled_ctwatch_history(tmp_path_factory.mktemp("dash")) as data:
        yield data


# -- reading the dashboard ------------------------------------------------------------------
def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def panels() -> list:
    return [p for p in dashboard()["panels"] if p.get("type") != "row"]


def targets() -> list:
    """(panel title, refId, expr, instant, legendFormat) for every query in the dashboard."""
    return [
        (p["title"], t["refId"], t["expr"], bool(t.get("instant")), t.get("legendFormat", ""))
        for p in panels()
        for t in p["targets"]
    ]


def variables() -> dict:
    return {v["name"]: v for v in dashboard()["templating"]["list"]}


def no_value_text(title: str) -> str:
    (panel,) = [p for p in panels() if p["title"] == title]
    return panel.get("fieldConfig", {}).get("defaults", {}).get("noValue", "")


def regex_value(value: str) -> str:
    """A label value as Grafana writes it into a =~ matcher: regex-escaped, then escaped
    again for the PromQL string."""
    return re.escape(value).replace("\\", "\\\\")


def substitute(expr: str, values: dict) -> str:
    """Replace $var, ${var}, ${var:fmt} and [[var]] as Grafana does; unknown ones fail."""
    known = {**BUILTINS, **values}

    def one(m: re.Match) -> str:
        name = m.group(1) or m.group(2) or m.group(3)
        assert name in known, f"dashboard variable ${name} has no value in the test"
        return known[name]

    pattern = r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)"
    return re.sub(pattern, one, expr)


def scenario(host: dict, netns: Optional[str] = None) -> dict:
    """Variable values for looking at one target, as a user picking it would set them."""
    return {
        "job": regex_value(host["job"]),
        "instance": regex_value(host["instance"]),
        "netns": regex_value(netns) if netns else ".*",
        "datasource": "prometheus",
    }


def run(data: CtwatchData, expr: str, instant: bool) -> list:
    if instant:
        return prom_lab.query(data.server, expr, at=data.end)
    return prom_lab.query_range(data.server, expr, data.start, data.end, 60)


def legend(fmt: str, metric: dict) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: metric.get(m.group(1), ""), fmt).strip()


# -- the tests ------------------------------------------------------------------------------
def test_dashboard_has_the_panels_the_issue_asks_for():
    titles = {p["title"] for p in panels()}
    for wanted in ("Fill", "Entries against the limit", "Drops and insert failures /s"):
        assert wanted in titles
    for wanted in ("States", "Top sources", "Time to full"):
        assert wanted in titles
    ids = [p["id"] for p in dashboard()["panels"]]
    assert len(ids) == len(set(ids))
    assert len(titles) == len(panels()), "two panels share a title"


def test_every_panel_queries_the_chosen_datasource_and_fits_the_grid():
    cells = set()
    for p in panels():
        assert p["targets"], p["title"]
        for t in [p, *p["targets"]]:
            assert t["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24, p["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']} overlaps another panel"
                cells.add((x, y))


def test_every_query_filters_by_the_dashboard_variables():
    """A query without $instance would mix every host into the panel of one."""
    for title, ref, expr, _, _ in targets():
        for name in ("job", "instance", "netns"):
            assert f'=~"${name}"' in expr, f"{title} {ref} ignores ${name}"


def test_variables_list_the_targets(ctwatch_prometheus):
    data = ctwatch_prometheus
    selector = re.compile(r"label_values\((.*),\s*(\w+)\)$", re.S)
    picked = scenario(data.namespace_host)
    found = {}
    for name in ("job", "instance", "netns"):
        m = selector.match(variables()[name]["query"])
        params = {"match[]": substitute(m.group(1), picked), "start": data.start, "end": data.end}
        found[name] = prom_lab.api(data.server, f"label/{m.group(2)}/values", params)
    assert data.namespace_host["job"] in found["job"]
    if data.node_host:
        assert data.node_host["job"] in found["job"]
    assert data.namespace_host["instance"] in found["instance"]
    assert found["netns"] == [data.namespace_host["netns"]]


def _must_answer(
    data: CtwatchData, values: dict, only_node_names: bool = False, now_may_be_empty=False
) -> None:
    """Every query returns series, and no two series share a legend (a fallback leaking
    in beside ctwatch's own series would show each line twice).

    now_may_be_empty: a current-value panel may be empty if it says what empty means
    (noValue, such as "not growing" for time to full on a steady table).
    """
    failures = []
    for title, ref, expr, instant, fmt in targets():
        if only_node_names and title not in NODE_FALLBACK_PANELS:
            assert "node_nf_conntrack_" not in expr, f"{title}: fallback not listed"
            continue
        result = run(data, substitute(expr, values), instant)
        legends = [legend(fmt, s["metric"]) for s in result]
        explained = instant and now_may_be_empty and no_value_text(title)
        if not result and not explained:
            failures.append(f"{title} {ref}: no series")
        elif len(legends) != len(set(legends)):
            failures.append(f"{title} {ref}: duplicate series {sorted(legends)}")
    assert not failures, "\n".join(failures)


def test_every_query_answers_for_all_targets(ctwatch_prometheus):
    _must_answer(ctwatch_prometheus, {"job": ".+", "instance": ".+", "netns": ".*"})


def test_every_query_answers_for_the_ctwatch_host(ctwatch_prometheus):
    _must_answer(ctwatch_prometheus, scenario(ctwatch_prometheus.ctwatch_host))


def test_every_query_answers_for_one_namespace(ctwatch_prometheus):
    host = ctwatch_prometheus.namespace_host
    _must_answer(ctwatch_prometheus, scenario(host, netns=host["netns"]), now_may_be_empty=True)


def test_node_exporter_only_hosts_get_the_fallback_panels(ctwatch_prometheus):
    if ctwatch_prometheus.node_host is None:
        pytest.skip("this data source has no node_exporter-only target")
    _must_answer(ctwatch_prometheus, scenario(ctwatch_prometheus.node_host), only_node_names=True)


def _panel_now(data: CtwatchData, title: str, values: dict) -> list:
    (expr,) = [e for t, _, e, _, _ in targets() if t == title]
    return prom_lab.query(data.server, substitute(expr, values), at=data.end)


def test_panels_tell_the_flood_story(ctwatch_prometheus):
    """Values, not just presence, on the synthetic story (tests/ctwatch_series.py)."""
    data = ctwatch_prometheus
    if data.ctwatch_host is not story.GW1:
        pytest.skip("values are known only for the synthetic story")
    gw1, gw2, db1 = scenario(story.GW1), scenario(story.GW2), scenario(story.DB1)
    entries = round(story.gw1_entries(story.DURATION))
    (fill,) = _panel_now(data, "Fill", gw1)
    assert prom_lab.value(fill) == pytest.approx(entries / story.LIMIT)
    (ttf,) = _panel_now(data, "Time to full", gw1)
    assert prom_lab.value(ttf) == pytest.approx(
        (story.LIMIT - entries) / story.FLOOD_RATE, rel=0.01
    )
    assert _panel_now(data, "Time to full", gw2) == []  # steady now: the panel says so
    (ttf_node,) = _panel_now(data, "Time to full", db1)  # node_exporter's slope: 5/s
    db1_now = story.db1_entries(story.DURATION)
    assert prom_lab.value(ttf_node) == pytest.approx((story.LIMIT - db1_now) / 5, rel=0.01)
    (drops,) = _panel_now(data, "Drops /s", gw1)
    assert prom_lab.value(drops) > 10
    (quiet,) = _panel_now(data, "Drops /s", gw2)
    assert prom_lab.value(quiet) < 0.1
    (before,) = prom_lab.query_range(
        data.server,
        substitute([e for t, _, e, _, _ in targets() if t == "Time to full over time"][0], gw1),
        data.start,
        data.end,
        60,
    )
    # ctwatch said "steady" before the flood: no node_exporter slope may fill that gap
    assert float(before["values"][0][0]) >= data.start + story.FLOOD_START
    for host in (gw1, db1):  # node_exporter's counters get ctwatch's stat names
        stats = {
            s["metric"]["stat"] for s in _panel_now(data, "Drops and insert failures /s", host)
        }
        assert stats == {"drop", "insert_failed", "early_drop"}
    top = _panel_now(data, "Top sources", gw1)
    assert top[0]["metric"]["source"] == story.FLOOD_SOURCE
    states = {s["metric"]["state"]: prom_lab.value(s) for s in _panel_now(data, "States", gw1)}
    assert max(states, key=states.get) == "SYN_RECV"
