"""Incident answers in the model: rates, forecast, growers, expiry, subnet and SNAT roll-ups."""

from __future__ import annotations

from collections import Counter

import pytest

from ctwatch.model.expiry import expiry_json, expiry_table, governing_sysctl
from ctwatch.model.format import seconds
from ctwatch.model.growers import GrowthTracker
from ctwatch.model.rollup import snat_view, subnet_rollup
from ctwatch.model.scan import scan_table
from ctwatch.model.trend import counter_rates, forecast

# Captured on kernel 6.18 from a lab namespace with
# `ip daddr 127.0.0.5 udp dport 5000-5999 snat to 127.0.0.9:20000-20100` in postrouting.
SNAT_TABLE = b"""\
ipv4     2 udp      17 29 src=127.0.0.1 dst=127.0.0.5 sport=40013 dport=5003 [UNREPLIED] src=127.0.0.5 dst=127.0.0.9 sport=5003 dport=20092 mark=0 zone=0 use=2
ipv4     2 udp      17 29 src=127.0.0.1 dst=127.0.0.5 sport=59278 dport=5002 [UNREPLIED] src=127.0.0.5 dst=127.0.0.9 sport=5002 dport=20038 mark=0 zone=0 use=2
ipv4     2 udp      17 29 src=127.0.0.1 dst=127.0.0.5 sport=33630 dport=5000 [UNREPLIED] src=127.0.0.5 dst=127.0.0.9 sport=5000 dport=20009 mark=0 zone=0 use=2
ipv4     2 udp      17 29 src=127.0.0.1 dst=127.0.0.5 sport=40505 dport=5001 [UNREPLIED] src=127.0.0.5 dst=127.0.0.9 sport=5001 dport=20023 mark=0 zone=0 use=2
ipv4     2 udp      17 29 src=127.0.0.1 dst=127.0.0.6 sport=49939 dport=53 [UNREPLIED] src=127.0.0.6 dst=127.0.0.1 sport=53 dport=49939 mark=0 zone=0 use=2
ipv4     2 udp      17 29 src=127.0.0.1 dst=127.0.0.5 sport=36171 dport=5004 [UNREPLIED] src=127.0.0.5 dst=127.0.0.9 sport=5004 dport=20010 mark=0 zone=0 use=2
"""


def tcp_line(src: str, state: str = "ESTABLISHED", timeout: int = 431999) -> bytes:
    return (
        f"ipv4     2 tcp      6 {timeout} {state} src={src} dst=10.9.9.9 sport=40000 "
        f"dport=443 src=10.9.9.9 dst={src} sport=443 dport=40000 [ASSURED] mark=0 use=1\n"
    ).encode()


def test_counter_rates_per_second_and_no_negative_rates():
    rates = counter_rates(
        {"drop": 10, "early_drop": 5, "new": 0},
        100.0,
        {"drop": 30, "early_drop": 4, "new": 0},
        102.0,
    )
    assert rates["drop"] == 10.0
    assert "early_drop" not in rates  # went down: no rate rather than a negative one
    assert rates["new"] == 0.0
    assert counter_rates({}, 5.0, {}, 5.0) == {}


def test_forecast_filling_draining_full_steady():
    filling = forecast([(t, 1000 + 100 * t) for t in range(10)], 10_000)
    assert filling.kind == "filling"
    assert filling.seconds == pytest.approx((10_000 - 1900) / 100)
    assert filling.describe() == "full in 81 s"
    draining = forecast([(t, 5000 - 50 * t) for t in range(10)], 10_000)
    assert draining.kind == "draining"
    assert draining.seconds == pytest.approx(4550 / 50)
    assert forecast([(0, 9000), (1, 10_000)], 10_000).describe() == "FULL, dropping"
    assert forecast([(0, 10), (1, 10)], 10_000, drop_rate=3.0).kind == "full"
    assert forecast([(t, 5000 + (t % 2)) for t in range(20)], 10_000).kind == "steady"
    assert forecast([], 10).kind == "unknown"
    assert forecast([(0, 5)], 10).kind == "unknown"


def test_forecast_uses_only_the_recent_window():
    old_growth = [(t, 100 * t) for t in range(0, 50)]
    flat_recent = [(t, 4900) for t in range(50, 100)]
    assert forecast(old_growth + flat_recent, 100_000, window=30).kind == "steady"


def test_human_duration():
    assert seconds(42) == "42 s"
    assert seconds(240) == "4 min"
    assert seconds(3 * 3600) == "3.0 h"
    assert seconds(5 * 86400) == "5.0 d"


def test_growers_rank_by_growth_over_window():
    tracker = GrowthTracker("src", keep=100)
    base = [tcp_line("10.0.0.1")] * 50 + [tcp_line("10.0.0.2")] * 10
    tracker.add(0.0, scan_table([b"".join(base)]).totals)
    later = base + [tcp_line("10.0.0.2")] * 40 + [tcp_line("10.0.0.3")] * 5
    tracker.add(12.0, scan_table([b"".join(later)]).totals)
    covered, rows = tracker.growers(10.0)
    assert covered == 12.0
    assert rows == [("10.0.0.2", 50, 40), ("10.0.0.3", 5, 5)]
    assert tracker.growers(None)[1] == rows
    tracker.reset()
    assert tracker.growers(None)[1] == []


def test_expiry_buckets_by_state_with_governing_sysctl():
    text = (
        tcp_line("10.0.0.1", timeout=5)
        + tcp_line("10.0.0.1", timeout=50)
        + tcp_line("10.0.0.1", timeout=431000)
        + tcp_line("10.0.0.2", "TIME_WAIT", 100)
        + b"ipv4     2 udp      17 25 src=10.0.0.3 dst=10.0.0.4 sport=1 dport=53 "
        b"[UNREPLIED] src=10.0.0.4 dst=10.0.0.3 sport=53 dport=1 mark=0 use=1\n"
    )
    totals = scan_table([text]).totals
    rows = {r.key: r for r in expiry_table(totals.expiry, {"tcp_timeout_established": 432000})}
    assert rows["ESTABLISHED"].buckets == (1, 1, 0, 1)
    assert rows["ESTABLISHED"].sysctl_value == 432000
    assert rows["TIME_WAIT"].buckets == (0, 0, 1, 0)
    assert rows["udp"].buckets == (0, 1, 0, 0)
    out = expiry_json(expiry_table(totals.expiry))
    assert out["tcp/ESTABLISHED"]["sysctl"] == "net.netfilter.nf_conntrack_tcp_timeout_established"
    assert governing_sysctl("udp", "", assured=True) == "udp_timeout_stream"


def test_subnet_rollup_v4_and_v6():
    counts = Counter(
        {
            b"10.1.2.3": 5,
            b"10.1.2.200": 7,
            b"10.1.3.1": 1,
            b"2001:0db8:0000:0001:0000:0000:0000:0001": 2,
            b"2001:db8:0:1::9": 3,
        }
    )
    rolled = subnet_rollup(counts)
    assert rolled == {"10.1.2.0/24": 12, "10.1.3.0/24": 1, "2001:db8:0:1::/64": 5}
    assert subnet_rollup(counts, v4_prefix=16)["10.1.0.0/16"] == 13


def test_snat_view_from_real_reply_tuples():
    (nat,) = snat_view([SNAT_TABLE])
    assert (nat.address, nat.proto, nat.entries, nat.ports) == ("127.0.0.9", "udp", 5, 5)
    assert (nat.port_min, nat.port_max) == (20009, 20092)
