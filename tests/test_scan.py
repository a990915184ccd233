"""scan_table against an independent per-line computation: breakdowns, chunking, bad lines."""

from __future__ import annotations

from collections import Counter

import kernel_lines as K
import pytest

from ctwatch.model.entry import parse_line
from ctwatch.model.filters import PROTOCOLS, Filter
from ctwatch.model.scan import DIMENSIONS, complete_lines, scan_table


def expected_breakdowns(lines, keep=lambda e: True) -> dict:
    """What the breakdowns must hold, computed the slow obvious way with parse_line."""
    entries = [e for e in map(parse_line, lines) if keep(e)]
    return {
        "entries": len(entries),
        "state": Counter(e.state for e in entries if e.state is not None),
        "proto": Counter(e.l4 for e in entries),
        "src": Counter(e.orig.src for e in entries),
        "dst": Counter(e.orig.dst for e in entries),
        "dport": Counter(str(e.orig.dport) for e in entries if e.orig.dport is not None),
    }


def observed(breakdown) -> dict:
    out = {"entries": breakdown.entries}
    for dim in DIMENSIONS:
        out[dim] = Counter(dict(breakdown.top(dim, 0)))
    return out


def raw_state(scan) -> tuple:
    t = scan.totals
    return (t.entries, scan.bad_lines, {d: dict(t.counts[d]) for d in DIMENSIONS})


def text_of(lines) -> bytes:
    return "".join(line + "\n" for line in lines).encode()


SYNTH = K.synthetic_table(400)
SYNTH_TEXT = text_of(SYNTH)


# One table comes from one printer: /proc writes IPv6 exploded, conntrack(8) compressed.
@pytest.mark.parametrize(
    "lines",
    [K.PROC_REAL + K.WRITTEN, K.CT_L_REAL, K.CT_X_REAL],
    ids=["proc+written", "conntrack-L", "conntrack-extended"],
)
def test_every_known_layout_breakdowns_equal_the_per_line_computation(lines):
    scan = scan_table([text_of(lines)])
    assert scan.bad_lines == 0
    assert observed(scan.totals) == expected_breakdowns(lines)


def test_synthetic_table_breakdowns_equal_the_per_line_computation():
    scan = scan_table([SYNTH_TEXT])
    want = expected_breakdowns(SYNTH)
    assert observed(scan.totals) == want
    # The synthetic table must really exercise several keys per dimension.
    assert len(want["src"]) > 5 and len(want["dport"]) > 3 and len(want["state"]) > 3


def test_ipv6_keys_are_shown_compressed_and_counted_once_per_address():
    scan = scan_table([text_of([K.PROC_TCP6_ESTABLISHED, K.PROC_UDP6_UNREPLIED, K.CT_L_TCP])])
    src = dict(scan.totals.top("src", 0))
    assert src == {"::1": 2, "127.0.0.1": 1}


def test_proc_and_conntrack_l_give_the_same_breakdowns():
    proc = scan_table([text_of([K.PROC_TCP6_ESTABLISHED, K.PROC_ICMPV6, K.PROC_UNKNOWN])])
    ctl = scan_table([text_of([K.CT_L_TCP6, K.CT_L_ICMPV6, K.CT_L_UNKNOWN])])
    ext = scan_table([text_of([K.CT_X_TCP6, K.CT_X_ICMPV6, K.CT_X_UNKNOWN])])
    assert observed(proc.totals) == observed(ctl.totals) == observed(ext.totals)


def test_state_and_dport_leave_out_entries_without_them():
    scan = scan_table([text_of([K.PROC_ICMP, K.PROC_UDP_REPLIED, K.PROC_GRE, K.PROC_UNKNOWN])])
    t = scan.totals
    assert t.entries == 4
    assert t.top("state", 0) == []
    assert dict(t.top("dport", 0)) == {"5353": 1}
    assert dict(t.top("proto", 0)) == {"icmp": 1, "udp": 1, "gre": 1, "unknown": 1}


def test_offloaded_entries_are_counted():
    lines = [K.WRITTEN_OFFLOAD_TCP, K.WRITTEN_OFFLOAD_UDP, K.WRITTEN_HW_OFFLOAD_TCP6]
    scan = scan_table([text_of(lines)])
    assert scan.totals.entries == 3 and scan.bad_lines == 0
    assert scan.totals.top("state", 0) == []
    assert dict(scan.totals.top("dport", 0)) == {"443": 2, "53": 1}


WHOLE = raw_state(scan_table([SYNTH_TEXT]))


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 250, 4096])
def test_any_chunk_size_gives_the_same_result(size):
    chunks = [SYNTH_TEXT[i : i + size] for i in range(0, len(SYNTH_TEXT), size)]
    assert raw_state(scan_table(chunks)) == WHOLE


def test_a_cut_at_every_offset_gives_the_same_result():
    text = text_of(K.PROC_REAL[:8] + K.CT_L_REAL[:3] + K.WRITTEN[:3])
    whole = raw_state(scan_table([text]))
    for k in range(len(text) + 1):
        assert raw_state(scan_table([text[:k], text[k:]])) == whole, k


def test_empty_chunks_in_between_are_harmless():
    half = len(SYNTH_TEXT) // 2
    chunks = [b"", SYNTH_TEXT[:half], b"", b"", SYNTH_TEXT[half:], b""]
    assert raw_state(scan_table(chunks)) == WHOLE


def test_complete_lines_recuts_at_newlines():
    pieces = list(complete_lines([b"ab", b"c\nde", b"f\ng", b"h"]))
    assert pieces == [(b"abc\n", False), (b"def\n", False), (b"gh", True)]


BAD = [
    "garbage",
    "\x00\x01\x02\xff binary",
    "ipv4 2 tcp",
    "src=1.2.3.4 dst=5.6.7.8",
    "TCP 6 300 ESTABLISHED src=1.2.3.4 dst=5.6.7.8 ",
]


def test_bad_lines_are_counted_and_skipped():
    good = K.synthetic_table(50, seed=3)
    mixed = []
    for i, line in enumerate(good):
        mixed.append(line)
        if i % 10 == 0:
            mixed.append(BAD[(i // 10) % len(BAD)])
    text = "".join(x + "\n" for x in mixed).encode("latin-1")
    scan = scan_table([text])
    assert scan.bad_lines == 5
    assert observed(scan.totals) == expected_breakdowns(good)
    assert scan.sample_bad_line
    # The filtered path counts bad lines the same way.
    everything = Filter.build(proto=list(PROTOCOLS))
    filtered = scan_table([text], filt=everything)
    assert filtered.bad_lines == 5
    assert observed(filtered.totals) == expected_breakdowns(good)


def test_a_truncated_last_line_is_one_bad_line():
    text = text_of(K.PROC_REAL) + K.PROC_TCP_ESTABLISHED.encode()[:60]
    scan = scan_table([text])
    assert scan.bad_lines == 1
    assert scan.totals.entries == len(K.PROC_REAL)
    assert scan.sample_bad_line.startswith("ipv4")


def test_binary_garbage_only():
    scan = scan_table([bytes(range(256)) * 20])
    assert scan.totals.entries == 0
    assert scan.bad_lines >= 1
    assert scan.totals.top("src") == []


def test_empty_input():
    scan = scan_table([])
    assert (scan.totals.entries, scan.bad_lines, scan.bytes_read) == (0, 0, 0)
    assert all(scan.totals.top(d, 0) == [] for d in DIMENSIONS)
    assert scan_table([b""]).bad_lines == 0


def test_bytes_read_and_scan_seconds_from_the_injected_clock():
    ticks = iter([10.0, 12.5])
    scan = scan_table([SYNTH_TEXT], clock=lambda: next(ticks))
    assert scan.scan_seconds == pytest.approx(2.5)
    assert scan.bytes_read == len(SYNTH_TEXT)


def test_focus_breakdown_and_entries():
    focus = Filter.build(src=["10.0.0.0/8"])
    scan = scan_table([SYNTH_TEXT], focus=focus)
    chosen = [line for line in SYNTH if parse_line(line).orig.src.startswith("10.")]
    assert chosen
    assert observed(scan.focus) == expected_breakdowns(chosen)
    assert list(scan.focus_entries) == [parse_line(line) for line in chosen]
    # Totals are untouched by a focus.
    assert raw_state(scan) == WHOLE


def test_focus_entries_respect_the_limit():
    focus = Filter.build(src=["10.0.0.0/8"])
    scan = scan_table([SYNTH_TEXT], focus=focus, entry_limit=3)
    assert len(scan.focus_entries) == 3
    assert scan.focus.entries > 3


def test_filter_and_focus_together():
    filt = Filter.build(proto=["tcp"])
    focus = Filter.build(state=["ESTABLISHED"])
    scan = scan_table([SYNTH_TEXT], filt=filt, focus=focus)
    assert observed(scan.totals) == expected_breakdowns(SYNTH, lambda e: e.l4 == "tcp")
    assert observed(scan.focus) == expected_breakdowns(
        SYNTH, lambda e: e.l4 == "tcp" and e.state == "ESTABLISHED"
    )


def test_top_by_count_is_ordered_and_limited():
    t = scan_table([SYNTH_TEXT]).totals
    rows = t.top("src", 3)
    assert len(rows) == 3
    counts = [c for _, c in t.top("src", 0)]
    assert counts == sorted(counts, reverse=True)
    assert rows == t.top("src", 0)[:3]
    assert t.as_dict("src", 3) == dict(rows)


def test_top_by_name_sorts_ports_numerically_and_addresses_by_value():
    lines = [
        K.PROC_TCP_ESTABLISHED.replace("dport=8080", "dport=443", 1),
        K.PROC_TCP_ESTABLISHED,
        K.PROC_TCP_ESTABLISHED.replace("dport=8080", "dport=22", 1),
        K.PROC_TCP_ESTABLISHED.replace("dport=8080", "dport=53", 1),
        K.PROC_TCP_ESTABLISHED.replace("src=127.0.0.1", "src=10.0.0.9", 1),
        K.PROC_TCP_ESTABLISHED.replace("src=127.0.0.1", "src=9.0.0.1", 1),
        K.PROC_TCP6_ESTABLISHED,
    ]
    t = scan_table([text_of(lines)]).totals
    assert [k for k, _ in t.top("dport", 0, by="name")] == ["22", "53", "443", "8080"]
    assert [k for k, _ in t.top("src", 0, by="name")] == [
        "9.0.0.1",
        "10.0.0.9",
        "127.0.0.1",
        "::1",
    ]
    assert [k for k, _ in t.top("src", 2, by="name")] == ["9.0.0.1", "10.0.0.9"]
    assert [k for k, _ in t.top("proto", 0, by="name")] == ["tcp"]


def test_get_and_distinct_accept_either_ipv6_form():
    proc = scan_table([text_of([K.PROC_TCP6_ESTABLISHED, K.PROC_UDP6_UNREPLIED])]).totals
    ctl = scan_table([text_of([K.CT_L_TCP6, K.CT_L_UDP6])]).totals
    for t in (proc, ctl):
        assert t.get("src", "::1") == 2
        assert t.get("src", "0000:0000:0000:0000:0000:0000:0000:0001") == 2
        assert t.get("dport", "8080") == 1
        assert t.get("state", "ESTABLISHED") == 1
        assert t.get("src", "10.0.0.1") == 0
        assert t.distinct("src") == 1


def test_a_stream_without_newlines_costs_linear_time():
    # Binary garbage may hold no newline at all; re-joining the unfinished line on every
    # chunk would copy it over and over (quadratic). Compare two chunk counts 16x apart:
    # linear work grows about 16x, quadratic about 256x. A ratio of times, not a time.
    import time

    piece = b"x" * 2048

    def cost(n_chunks: int) -> float:
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            scan = scan_table(piece for _ in range(n_chunks))
            best = min(best, time.perf_counter() - started)
            assert (scan.bad_lines, scan.totals.entries) == (1, 0)
            if best > 0.5:
                break  # already far too slow; do not repeat it
        return best

    assert cost(2048) / cost(128) < 80
