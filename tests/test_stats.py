"""parse_stats on every kernel's column set of /proc/net/stat/nf_conntrack."""

from __future__ import annotations

import os

import kernel_lines as K
import pytest

from ctwatch.sources.stats import StatsError, parse_stats


def by_hand(text: str) -> dict:
    """Column sums done the plain way: split, int(x, 16), entries taken from one row."""
    rows = [line.split() for line in text.splitlines() if line.strip()]
    header, values = rows[0], rows[1:]
    out = {}
    for i, name in enumerate(header):
        column = [int(r[i], 16) for r in values]
        out[name] = column[0] if name == "entries" else sum(column)
    return out


def test_pre_2_6_35_sixteen_columns():
    stats = parse_stats(K.STATS_PRE_2635)
    assert len(stats) == 16
    assert "search_restart" not in stats
    assert stats["searched"] == 0x10 + 1
    assert stats["delete_list"] == 6 + 1
    assert stats["found"] == 0x100 + 1
    assert stats == by_hand(K.STATS_PRE_2635)


def test_2_6_35_adds_search_restart():
    stats = parse_stats(K.STATS_2635)
    assert len(stats) == 17
    assert stats["search_restart"] == 3 + 4 + 5
    assert stats["searched"] == 0
    assert stats["drop"] == 0xFF + 1
    assert stats["invalid"] == 3 * 0x0B
    assert stats == by_hand(K.STATS_2635)


def test_5_10_clashres():
    stats = parse_stats(K.STATS_510)
    assert "searched" not in stats
    assert stats["clashres"] == 5
    assert stats["delete_list"] == 10
    assert stats == by_hand(K.STATS_510)


def test_5_15_chainlength():
    stats = parse_stats(K.STATS_515)
    assert "delete_list" not in stats
    assert stats["chainlength"] == 4
    assert (stats["drop"], stats["early_drop"]) == (16, 32)
    assert stats == by_hand(K.STATS_515)


def test_current_kernel_sample():
    stats = parse_stats(K.STATS_CURRENT)
    assert stats["entries"] == 0x16
    assert stats["icmp_error"] == 2
    assert stats == by_hand(K.STATS_CURRENT)


def test_this_machines_file():
    path = "/proc/net/stat/nf_conntrack"
    if not os.path.exists(path):
        pytest.skip("nf_conntrack not loaded on this machine: no /proc/net/stat/nf_conntrack")
    with open(path) as f:
        text = f.read()
    stats = parse_stats(text)
    header = text.splitlines()[0].split()
    assert list(stats) == header
    assert "entries" in stats and "drop" in stats and "insert_failed" in stats


@pytest.mark.parametrize(
    "text",
    [K.STATS_PRE_2635, K.STATS_2635, K.STATS_510, K.STATS_515, K.STATS_CURRENT],
)
def test_entries_is_not_summed(text):
    rows = [line.split() for line in text.splitlines()[1:] if line.strip()]
    assert parse_stats(text)["entries"] == int(rows[0][0], 16)


def test_sums_over_many_cpus():
    header = "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart"
    ncols = len(header.split())
    rows = []
    for cpu in range(64):
        values = [0x500] + [cpu + col for col in range(1, ncols)]
        rows.append(" ".join(f"{v:08x}" for v in values))
    stats = parse_stats(header + "\n" + "\n".join(rows) + "\n")
    assert stats["entries"] == 0x500
    names = header.split()
    for col in range(1, ncols):
        assert stats[names[col]] == sum(cpu + col for cpu in range(64))


def test_columns_found_by_name_not_position():
    # Same values, columns in another order: same meaning.
    text = "drop entries insert_failed\n00000003 00000010 00000001\n00000004 00000010 00000000\n"
    assert parse_stats(text) == {"drop": 7, "entries": 16, "insert_failed": 1}


def test_a_single_cpu_row():
    assert parse_stats("entries drop\n0000000a 00000002\n") == {"entries": 10, "drop": 2}


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "empty"),
        ("\n\n", "empty"),
        ("00000016  00000000 00000001\n00000016  00000000 00000001\n", "no header"),
        ("entries drop\n", "no per-CPU rows"),
        ("entries drop\n00000001\n", "columns"),
        ("entries drop\nzzzzzzzz 00000001\n", "not hexadecimal"),
        ("\x00\xff\x13 garbage\x01\n\x02\x03\n", "no header"),
        ("Name:\tfoo\nState:\tR\n", "no header"),
    ],
)
def test_bad_stats_files_raise_stats_error(text, message):
    with pytest.raises(StatsError, match=message):
        parse_stats(text)


def test_stats_error_is_one_line():
    try:
        parse_stats("x" * 500 + "\n1 2 3\n")
    except StatsError as exc:
        assert "\n" not in str(exc)
        assert len(str(exc)) < 200
    else:
        pytest.fail("no StatsError")
