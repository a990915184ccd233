"""The host drill-down's time cursor on 6 backfilled hours of 1,000 hosts in a real Prometheus."""

from __future__ import annotations

import fleet_backfill as fb
import pytest

from ctwatch.engine.fleet import FleetWatch
from ctwatch.engine.fleet_host import CURSOR_STEP, HostWatch
from ctwatch.model.fleet import CTWATCH, NODE
from ctwatch.model.fleet_host import ADD_CTWATCH
from ctwatch.sources.prometheus import Client, Config

HOSTS = 1000  # the scale: the backfill takes ~7 s


@pytest.fixture(scope="module")
def fleet():
    with fb.backfilled_fleet(HOSTS, detail=3) as data:
        yield data


def rows(fleet):
    client = Client(Config(fleet.server.url))
    answers = FleetWatch(client, wall=lambda: fleet.end).poll()
    assert answers.error is None, answers.error
    return client, {r.instance: r for r in answers.rows}


def test_every_host_its_shape_and_five_queries(fleet):
    client, by_name = rows(fleet)
    assert len(by_name) == HOSTS and client.calls == 5
    down = by_name[fb.instance(fb.DOWN_HOST)]  # stopped answering: its last count, marked
    assert not down.up and down.limit is None and down.drop_rate is None
    last = fb.entries(fb.DOWN_HOST, fb.DOWN_FOR, fb.HOURS * 3600)
    assert down.entries == pytest.approx(last, abs=1)
    for i in range(HOSTS):
        row = by_name[fb.instance(i)]
        assert row.source == (NODE if fb.is_node(i) else CTWATCH)
        if i == fb.DOWN_HOST:
            continue
        assert row.up
        assert row.entries == pytest.approx(fb.entries(i, 0, fb.HOURS * 3600), abs=1)
        if fb.shape(i) == "dropping":
            assert row.drop_rate == pytest.approx(50, rel=0.05) and row.seconds_until_full == 0
        else:
            assert row.drop_rate == 0
        if fb.shape(i) == "growing":  # 70 % of the limit over 6 h
            slope = 0.7 * fb.LIMIT / (fb.HOURS * 3600)
            expected = (fb.LIMIT - row.entries) / slope
            assert row.seconds_until_full == pytest.approx(expected, rel=0.02)
        elif fb.shape(i) == "steady":
            assert row.seconds_until_full is None  # the wobble is not growth


def test_the_time_cursor_finds_what_filled_the_table(fleet):
    client, by_name = rows(fleet)
    host = HostWatch(client, by_name[fb.instance(fb.FLOOD_HOST)], wall=lambda: fleet.end)
    now = host.moment(host.cursor_time(0))
    assert now.top("Sources")[0][0] == fb.STEADY_SOURCE
    assert fb.FLOOD_SOURCE not in dict(now.top("Sources"))
    # back to 20 minutes into the flood's last hour: it holds most of the table
    steps = (fb.FLOOD_TO + 600) // CURSOR_STEP
    then = host.moment(host.cursor_time(steps))
    assert then.at == fleet.end - steps * CURSOR_STEP
    top_source, flood = then.top("Sources")[0]
    assert top_source == fb.FLOOD_SOURCE and flood == pytest.approx(fb.flood(fb.FLOOD_TO + 600))
    assert then.top("Destination ports")[0][0] == f"tcp/{fb.FLOOD_PORT}"
    assert then.top("States")[0][0] == "SYN_RECV (tcp)"
    assert then.entries > now.entries
    stats = {name: (total, rate) for name, total, rate in then.stats}
    assert stats["found"][1] == pytest.approx(900) and "search_restart" in stats
    timeline = host.timeline()
    assert len(timeline.points) == 144 and max(p for p in timeline.points if p) > then.entries - 1


def test_a_node_exporter_host_says_how_to_add_ctwatch(fleet):
    client, by_name = rows(fleet)
    host = HostWatch(client, by_name[fb.instance(0)], wall=lambda: fleet.end)
    assert host.moment(host.cursor_time(0)) is None
    assert "--textfile" in ADD_CTWATCH
    assert any(p is not None for p in host.timeline().points)
