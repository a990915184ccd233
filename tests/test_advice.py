"""Sizing advice on concrete numbers: memory, suggested max and buckets, and the commands."""

from __future__ import annotations

from ctwatch.model.advice import ASSUMED_BYTES_PER_ENTRY, advise, human_bytes

GIB = 1 << 30
DEFAULT_TIMEOUTS = {"tcp_timeout_established": 432000, "tcp_timeout_time_wait": 120}


def _incident(**overrides):
    """A full 65,536-entry table on an 8 GiB box, one source hogging it."""
    kwargs = dict(
        count=65536,
        maximum=65536,
        buckets=16384,
        slab_objsize=None,
        ram_bytes=8 * GIB,
        timeouts=DEFAULT_TIMEOUTS,
        top_sources=[("10.0.0.5", 40000), ("10.0.0.6", 20000), ("10.0.0.7", 1000)],
        states={"ESTABLISHED": 50000, "TIME_WAIT": 10000, "SYN_SENT": 500},
        drop_rate=12.5,
    )
    kwargs.update(overrides)
    return advise(**kwargs)


def _by_key(advice):
    return {item.key: item for item in advice.items}


def test_full_table_numbers():
    a = _incident()
    assert a.bytes_per_entry == ASSUMED_BYTES_PER_ENTRY == 320
    assert a.bytes_per_entry_assumed
    assert a.memory_at_current_max == 65536 * 320 == 20_971_520
    assert a.suggested_max == 8 * GIB // 16384 // 2 == 262_144
    assert a.memory_at_suggested_max == 262_144 * 320 == 83_886_080
    assert a.hash_memory == 16384 * 8 == 131_072
    assert a.load_factor == 4.0
    assert a.load_factor_at_max == 4.0
    assert a.suggested_buckets == 262_144


def test_full_table_items_in_order_with_commands():
    a = _incident()
    assert [i.key for i in a.items] == [
        "drops",
        "source",
        "source",
        "established_timeout",
        "max",
        "buckets",
    ]
    assert [i.command for i in a.items] == [
        None,
        "conntrack -D -s 10.0.0.5",
        "conntrack -D -s 10.0.0.6",
        "sysctl -w net.netfilter.nf_conntrack_tcp_timeout_established=86400",
        "sysctl -w net.netfilter.nf_conntrack_max=262144",
        "echo 262144 > /sys/module/nf_conntrack/parameters/hashsize",
    ]
    items = _by_key(a)
    assert "12.5 packets/s" in items["drops"].title
    assert "61.0%" in a.items[1].title and "40,000" in a.items[1].title
    assert "stop it there" in a.items[1].reasoning
    assert "76.3%" in items["established_timeout"].title  # 50,000 of 65,536
    assert "5-day default" in items["established_timeout"].reasoning


def test_raising_max_alone_is_called_out():
    reasoning = _by_key(_incident())["max"].reasoning
    assert "Raising the max alone" in reasoning
    assert "80.0 MiB" in reasoning  # memory at the suggested max
    assert "1.0% of RAM" in reasoning
    assert "longer hash chains (16.0 entries per bucket" in reasoning  # 262,144 / 16,384
    assert "Find and stop the source of the entries first" in reasoning
    assert "(assumed: slabinfo unreadable)" in reasoning


def test_buckets_item_numbers():
    reasoning = _by_key(_incident())["buckets"].reasoning
    assert "4.00 now" in reasoning and "16.0 when 262,144" in reasoning
    assert "2.0 MiB" in reasoning and "128.0 KiB now" in reasoning


def test_max_already_above_ram_sizing_is_kept():
    a = advise(
        count=200_000,
        maximum=262_144,
        buckets=262_144,
        slab_objsize=256,
        ram_bytes=4 * GIB,
        drop_rate=0.0,
    )
    assert a.suggested_max == 131_072
    assert not a.bytes_per_entry_assumed and a.bytes_per_entry == 256
    assert a.memory_at_current_max == 67_108_864
    assert a.memory_at_suggested_max == 33_554_432
    assert a.suggested_buckets == 262_144
    assert [i.key for i in a.items] == ["max"]
    item = a.items[0]
    assert item.command is None and item.title.startswith("Keep")
    assert "64.0 MiB (1.6% of RAM)" in item.reasoning
    assert "Raising the max alone" in item.reasoning


def test_quiet_table_needs_no_raise():
    a = advise(
        count=1000,
        maximum=65536,
        buckets=65536,
        slab_objsize=320,
        ram_bytes=8 * GIB,
        top_sources=[("10.0.0.9", 100)],
        states={"ESTABLISHED": 900},
        timeouts={"tcp_timeout_established": 432000},
    )
    keys = [i.key for i in a.items]
    assert keys == ["established_timeout", "max"]  # 90% established under the 5-day default
    assert a.items[1].title == "No need to raise nf_conntrack_max now"
    assert a.items[1].command is None
    assert "1.5% full" in a.items[1].reasoning
    assert a.suggested_buckets == 65536  # hash already one bucket per entry of the max


def test_netns_prefixes_per_namespace_commands_only():
    advice = _incident(netns="ctwfoo")
    items = _by_key(advice)
    assert advice.items[1].command == "ip netns exec ctwfoo conntrack -D -s 10.0.0.5"
    assert items["established_timeout"].command.startswith("ip netns exec ctwfoo sysctl -w ")
    assert items["max"].command == "sysctl -w net.netfilter.nf_conntrack_max=262144"
    assert "global" in items["max"].reasoning


def test_thirty_two_bit_and_ipv6_source():
    a = advise(
        count=60000,
        maximum=60000,
        buckets=15000,
        slab_objsize=200,
        ram_bytes=1 * GIB,
        pointer_bits=32,
        top_sources=[("2001:db8::1", 59000)],
        entries=60000,
    )
    assert a.suggested_max == GIB // 16384 // 1 == 65_536
    assert a.hash_memory == 15000 * 4
    assert _by_key(a)["source"].command == "conntrack -D -s 2001:db8::1"
    assert "drops" in _by_key(a)  # count == max means dropping even without a rate


def test_time_wait_dominance():
    a = advise(
        count=50000,
        maximum=262144,
        buckets=262144,
        slab_objsize=320,
        ram_bytes=8 * GIB,
        states={"TIME_WAIT": 40000, "ESTABLISHED": 9000},
        timeouts=DEFAULT_TIMEOUTS,
    )
    item = _by_key(a)["time_wait_timeout"]
    assert item.command == "sysctl -w net.netfilter.nf_conntrack_tcp_timeout_time_wait=60"
    assert "80.0%" in item.title and "120 s" in item.reasoning


def test_small_sources_and_short_timeouts_give_no_items():
    a = _incident(
        top_sources=[("10.0.0.1", 100), ("10.0.0.2", 90)],
        timeouts={"tcp_timeout_established": 86400},
    )
    keys = [i.key for i in a.items]
    assert "source" not in keys and "established_timeout" not in keys


def test_unknown_inputs_do_not_crash():
    a = advise(count=None, maximum=None, buckets=None, slab_objsize=None, ram_bytes=None)
    assert a.suggested_max is None and a.memory_at_current_max is None
    assert a.hash_memory is None and a.load_factor is None and a.suggested_buckets is None
    assert [i.key for i in a.items] == ["max"]
    assert "could not be read" in a.items[0].reasoning


def test_human_bytes():
    assert human_bytes(None) == "?"
    assert human_bytes(512) == "512 B"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(83_886_080) == "80.0 MiB"
    assert human_bytes(3 * GIB) == "3.0 GiB"
    assert human_bytes(5000 * GIB) == "5000.0 GiB"


def test_flood_from_few_sources_under_pressure():
    """The shape of sample_proc/synflood: four spoofed sources, each just under a quarter."""
    a = advise(
        count=2048,
        maximum=2048,
        buckets=262144,
        slab_objsize=256,
        ram_bytes=8 * GIB,
        timeouts={"tcp_timeout_syn_recv": 60, "tcp_timeout_established": 432000},
        top_sources=[
            ("127.0.10.2", 499),
            ("127.0.10.1", 493),
            ("127.0.10.4", 488),
            ("127.0.10.3", 486),
            ("127.0.0.1", 22),
        ],
        states={"SYN_RECV": 1965, "ESTABLISHED": 60, "CLOSE": 1},
        entries=2048,
    )
    keys = [i.key for i in a.items]
    assert keys == ["drops"] + ["source"] * 4 + ["syn_recv_timeout", "max"]
    assert [i.command for i in a.items[1:5]] == [
        f"conntrack -D -s 127.0.10.{n}" for n in (2, 1, 4, 3)
    ]
    assert a.items[2].reasoning.startswith("As above")
    syn = a.items[5]
    assert "95.9%" in syn.title
    assert syn.command == "sysctl -w net.netfilter.nf_conntrack_tcp_timeout_syn_recv=30"
    # Quiet table: a 24% source is not worth an item.
    calm = advise(
        count=2048,
        maximum=65536,
        buckets=65536,
        slab_objsize=256,
        ram_bytes=GIB,
        top_sources=[("127.0.10.2", 499)],
    )
    assert "source" not in [i.key for i in calm.items]


def test_legacy_kernel_commands_use_ip_conntrack_names():
    items = {i.key: i for i in _incident(legacy=True).items}
    assert items["max"].command == "sysctl -w net.ipv4.netfilter.ip_conntrack_max=262144"
    assert items["max"].title.startswith("Raise ip_conntrack_max")
    assert items["buckets"].command == (
        "echo 262144 > /sys/module/ip_conntrack/parameters/hashsize"
    )
    assert items["established_timeout"].command == (
        "sysctl -w net.ipv4.netfilter.ip_conntrack_tcp_timeout_established=86400"
    )
