"""parse_line on every layout the kernel and conntrack(8) print (issue 2, section 3)."""

from __future__ import annotations

import kernel_lines as K
import pytest

from ctwatch.model.badline import explain
from ctwatch.model.entry import ParseError, display_addr, parse_line
from ctwatch.model.scan import scan_table

L4_NAMES = {"tcp", "udp", "udplite", "icmp", "icmpv6", "sctp", "dccp", "gre", "unknown"}


def _names(values: tuple) -> list:
    by_id = {id(getattr(K, n)): n for n in dir(K) if n.isupper()}
    return [by_id.get(id(v), "?") for v in values]


@pytest.mark.parametrize("line", K.ALL_LINES, ids=_names(K.ALL_LINES))
def test_every_line_parses_and_agrees_with_the_fast_scanner(line):
    entry = parse_line(line)
    assert entry.l3 in ("ipv4", "ipv6")
    assert entry.l4 in L4_NAMES
    assert entry.reply is not None
    assert entry.use is not None
    # IPv6 is shown compressed, never exploded.
    for addr in (entry.orig.src, entry.orig.dst, entry.reply.src, entry.reply.dst):
        assert "0000:" not in addr
    # The scanner must count it, reading the same fields as the full parser.
    assert explain(line) is None
    t = scan_table([line.encode() + b"\n"]).totals
    assert t.entries == 1
    assert t.top("proto") == [(entry.l4, 1)]
    assert t.top("state") == ([(entry.state, 1)] if entry.state else [])
    assert t.top("src") == [(entry.orig.src, 1)]
    assert t.top("dst") == [(entry.orig.dst, 1)]
    assert t.top("dport") == ([(str(entry.orig.dport), 1)] if entry.orig.dport is not None else [])
    (l4, state, timeout), n = t.expiry.popitem()
    assert (l4.decode(), state.decode() or None, int(timeout) if timeout else None) == (
        entry.l4,
        entry.state,
        entry.timeout,
    )
    assert display_addr(entry.orig.src) == entry.orig.src


def test_bytes_input_is_accepted():
    assert parse_line(K.PROC_TCP_ESTABLISHED.encode()) == parse_line(K.PROC_TCP_ESTABLISHED)


def test_tcp_ipv4_established_with_accounting_and_timestamp():
    e = parse_line(K.PROC_TCP_ESTABLISHED)
    assert (e.l3, e.l4, e.l4num, e.timeout, e.state) == ("ipv4", "tcp", 6, 431997, "ESTABLISHED")
    assert (e.orig.src, e.orig.dst, e.orig.sport, e.orig.dport) == (
        "127.0.0.1",
        "127.0.0.1",
        47654,
        8080,
    )
    assert (e.orig.packets, e.orig.bytes) == (3, 169)
    assert (e.reply.sport, e.reply.dport, e.reply.packets, e.reply.bytes) == (8080, 47654, 2, 112)
    assert e.flags == frozenset({"[ASSURED]"})
    assert e.assured and not e.unreplied and not e.offloaded
    assert (e.mark, e.zone, e.delta_time, e.use) == (0, 0, 2, 2)
    assert e.extra == {}


def test_tcp_ipv6_is_compressed():
    e = parse_line(K.PROC_TCP6_ESTABLISHED)
    assert e.l3 == "ipv6"
    assert (e.orig.src, e.orig.dst, e.reply.src, e.reply.dst) == ("::1", "::1", "::1", "::1")
    assert e.state == "ESTABLISHED"


def test_no_accounting_means_no_counters():
    e = parse_line(K.PROC_TCP_TIME_WAIT_NOACCT)
    assert e.state == "TIME_WAIT"
    assert e.orig.packets is None and e.orig.bytes is None and e.reply.bytes is None
    assert e.delta_time is None


@pytest.mark.parametrize(
    "line,state",
    [
        (K.PROC_TCP_SYN_SENT, "SYN_SENT"),
        (K.PROC_TCP_SYN_RECV, "SYN_RECV"),
        (K.PROC_TCP_CLOSE, "CLOSE"),
        (K.PROC_SCTP, "CLOSED"),
        (K.WRITTEN_SCTP_ESTABLISHED, "ESTABLISHED"),
        (K.WRITTEN_SCTP_COOKIE_WAIT, "COOKIE_WAIT"),
        (K.WRITTEN_SCTP_HEARTBEAT_SENT, "HEARTBEAT_SENT"),
        (K.WRITTEN_DCCP_OPEN, "OPEN"),
        (K.WRITTEN_DCCP_REQUEST, "REQUEST"),
    ],
)
def test_states(line, state):
    assert parse_line(line).state == state


def test_unreplied_flag():
    e = parse_line(K.PROC_TCP_SYN_SENT)
    assert e.unreplied and not e.assured
    assert e.reply.packets == 0


def test_syn_recv_has_no_flag():
    assert parse_line(K.PROC_TCP_SYN_RECV).flags == frozenset()


@pytest.mark.parametrize(
    "line,l4,l4num",
    [
        (K.PROC_UDP_REPLIED, "udp", 17),
        (K.PROC_UDPLITE, "udplite", 136),
        (K.PROC_ICMP, "icmp", 1),
        (K.PROC_ICMPV6, "icmpv6", 58),
        (K.PROC_SCTP6, "sctp", 132),
        (K.PROC_GRE, "gre", 47),
        (K.PROC_UNKNOWN, "unknown", 253),
        (K.PROC_DCCP_AS_UNKNOWN, "unknown", 33),
        (K.WRITTEN_DCCP_OPEN, "dccp", 33),
    ],
)
def test_protocols_without_tcp_state(line, l4, l4num):
    e = parse_line(line)
    assert (e.l4, e.l4num) == (l4, l4num)
    if l4 not in ("sctp", "dccp"):
        assert e.state is None


def test_udp_ports_and_no_state():
    e = parse_line(K.PROC_UDP_UNREPLIED_NOACCT)
    assert (e.timeout, e.state) == (227, None)
    assert (e.orig.dst, e.orig.sport, e.orig.dport) == ("127.1.132.185", 54496, 1000)
    assert e.unreplied


def test_icmp_type_code_id():
    e = parse_line(K.PROC_ICMP)
    assert (e.orig.icmp_type, e.orig.icmp_code, e.orig.icmp_id) == (8, 0, 4242)
    assert (e.reply.icmp_type, e.reply.icmp_code, e.reply.icmp_id) == (0, 0, 4242)
    assert e.orig.sport is None and e.orig.dport is None


def test_icmpv6():
    e = parse_line(K.PROC_ICMPV6)
    assert (e.l3, e.orig.src, e.orig.icmp_type, e.reply.icmp_type) == ("ipv6", "::1", 128, 129)


def test_gre_timeouts_and_keys():
    e = parse_line(K.PROC_GRE)
    assert (e.timeout, e.gre_timeout, e.gre_stream_timeout) == (27, 30, 180)
    assert (e.orig.srckey, e.orig.dstkey) == ("0x0", "0x0")
    assert e.orig.dport is None
    p = parse_line(K.WRITTEN_GRE_PPTP)
    assert (p.gre_timeout, p.gre_stream_timeout) == (180, 18000)
    assert (p.orig.srckey, p.orig.dstkey, p.reply.srckey, p.reply.dstkey) == (
        "0x4001",
        "0x1a2b",
        "0x1a2b",
        "0x4001",
    )
    # conntrack -L leaves out GRE's two timeouts.
    c = parse_line(K.CT_L_GRE)
    assert (c.gre_timeout, c.orig.srckey) == (None, "0x0")


def test_unknown_protocol_has_addresses_only():
    e = parse_line(K.PROC_UNKNOWN)
    assert (e.orig.src, e.orig.dst, e.reply.src) == ("127.0.0.1", "127.0.0.3", "127.0.0.3")
    assert e.orig.sport is None and e.orig.icmp_type is None and e.orig.srckey is None
    assert (e.orig.packets, e.orig.bytes) == (1, 23)


@pytest.mark.parametrize(
    "line,flag",
    [
        (K.WRITTEN_OFFLOAD_TCP, "[OFFLOAD]"),
        (K.WRITTEN_OFFLOAD_UDP, "[OFFLOAD]"),
        (K.WRITTEN_HW_OFFLOAD_TCP6, "[HW_OFFLOAD]"),
    ],
)
def test_offloaded_flows_have_no_timeout_and_no_state(line, flag):
    e = parse_line(line)
    assert e.timeout is None and e.state is None
    assert e.flags == frozenset({flag})
    assert e.offloaded and not e.assured
    assert e.orig.dport in (443, 53)


def test_offloaded_ipv6_compressed():
    e = parse_line(K.WRITTEN_HW_OFFLOAD_TCP6)
    assert (e.orig.src, e.orig.dst) == ("2001:db8::2", "2001:db8::aa")


def test_offloaded_udp_keeps_counters():
    e = parse_line(K.WRITTEN_OFFLOAD_UDP)
    assert (e.orig.packets, e.orig.bytes, e.reply.bytes) == (4, 300, 500)


def test_mark():
    assert parse_line(K.PROC_MARK).mark == 42
    assert parse_line(K.CT_L_MARK).mark == 42


def test_secctx():
    e = parse_line(K.WRITTEN_SECCTX)
    assert e.secctx == "system_u:object_r:unlabeled_t:s0"
    assert (e.mark, e.zone) == (0, 0)


def test_secmark_is_not_the_mark():
    e = parse_line(K.WRITTEN_SECMARK_26)
    assert (e.mark, e.secmark) == (0, 12)
    only = parse_line(K.WRITTEN_SECMARK_26.replace("mark=0 secmark=12", "secmark=12"))
    assert (only.mark, only.secmark) == (None, 12)


def test_zone():
    assert parse_line(K.PROC_ZONE).zone == 5
    assert parse_line(K.CT_L_ZONE).zone == 5


def test_zone_orig_belongs_to_the_original_tuple():
    for line in (K.PROC_ZONE_ORIG, K.CT_L_ZONE_ORIG):
        e = parse_line(line)
        assert (e.orig.zone, e.reply.zone, e.zone) == (7, None, None)
        assert (e.orig.packets, e.orig.dport) == (1, 7001)


def test_zone_reply_belongs_to_the_reply_tuple():
    for line in (K.PROC_ZONE_REPLY_NOACCT, K.CT_L_ZONE_REPLY, K.CT_X_UDP_ZONE_REPLY):
        e = parse_line(line)
        assert (e.orig.zone, e.reply.zone, e.zone) == (None, 9, None)


def test_zone_orig_and_reply_together():
    e = parse_line(K.WRITTEN_ZONE_BOTH)
    assert (e.orig.zone, e.reply.zone, e.mark) == (3, 4, 7)


def test_delta_time_and_use():
    e = parse_line(K.CT_L_TCP)
    assert (e.delta_time, e.use) == (12, 1)


@pytest.mark.parametrize(
    "line",
    [
        K.WRITTEN_LEGACY_TCP,
        K.WRITTEN_LEGACY_UDP,
        K.WRITTEN_LEGACY_ICMP,
        K.WRITTEN_LEGACY_SYN_SENT_24,
    ],
)
def test_legacy_layout_has_no_l3_columns(line):
    e = parse_line(line)
    assert e.l3 == "ipv4"
    assert e.orig.src.startswith("192.168.1.")
    assert e.zone is None


def test_legacy_tcp_fields():
    e = parse_line(K.WRITTEN_LEGACY_TCP)
    assert (e.l4, e.l4num, e.timeout, e.state) == ("tcp", 6, 431999, "ESTABLISHED")
    assert (e.orig.packets, e.reply.bytes, e.mark, e.secmark, e.use) == (5, 600, 0, 0, 1)


def test_conntrack_l_layout():
    e = parse_line(K.CT_L_TCP6)
    assert (e.l3, e.l4, e.timeout, e.state, e.orig.src) == (
        "ipv6",
        "tcp",
        431987,
        "ESTABLISHED",
        "::1",
    )
    u = parse_line(K.CT_L_UNKNOWN)
    # "unknown 253 587": the l4 name, not an l3 column.
    assert (u.l3, u.l4, u.l4num, u.timeout) == ("ipv4", "unknown", 253, 587)
    d = parse_line(K.CT_L_DCCP)
    assert (d.l4, d.state, d.orig.sport, d.orig.dport) == ("dccp", None, 0, 0)


def test_conntrack_extended_layout_equals_proc_fields():
    x = parse_line(K.CT_X_TCP6)
    p = parse_line(K.PROC_TCP6_ESTABLISHED)
    assert (x.l3, x.l4, x.state, x.orig.src, x.orig.dport) == (
        p.l3,
        p.l4,
        p.state,
        p.orig.src,
        p.orig.dport,
    )
    assert parse_line(K.CT_X_UNKNOWN).l4 == "unknown"
    assert parse_line(K.CT_X_SCTP).state == "CLOSED"


def test_unknown_bracket_flags_and_keys_are_kept_not_fatal():
    line = K.PROC_TCP_ESTABLISHED.replace("[ASSURED]", "[ASSURED] [FUTURE]") + " labels=0x1"
    e = parse_line(line)
    assert e.assured
    assert e.extra == {"unknown_flags": ["[FUTURE]"], "labels": "0x1"}


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "garbage",
        "ipv4 2 tcp",
        "ipv4     2 tcp      6 431997 ESTABLISHED",
        "ipv4     2 tcp      6 431997 ESTABLISHED dst=1.2.3.4",
        "ipv4     2 tcp      6 431997 ESTABLISHED src=1.2.3.4 sport=1",
        "ipv4     2 tcp      6 300 ESTABLISHED src=1.1.1.1 dst=2.2.2.2 sport=x dport=1",
        "ipv4     2 tcp      x 300 ESTABLISHED src=1.1.1.1 dst=2.2.2.2",
        "ipv4 2 tcp 6 300 src=1.1.1.1 dst=2.2.2.2 src=3.3.3.3 dst=4.4.4.4 src=5.5.5.5 dst=6.6.6.6",
        "ipv4 2 tcp 6 300 ESTABLISHED src=1.1.1.1 dst=2.2.2.2 stray use=1",
        "\x00\xff\xfe binary",
    ],
)
def test_unparseable_lines_raise_parse_error(bad):
    with pytest.raises(ParseError):
        parse_line(bad)


def test_parse_error_is_a_value_error_with_the_line():
    with pytest.raises(ValueError, match="garbage"):
        parse_line("garbage here")


def test_invalid_utf8_bytes_do_not_crash():
    with pytest.raises(ParseError):
        parse_line(b"\xff\xfe\xfd src=\xff dst=\xfe")


def test_display_addr():
    assert display_addr("0000:0000:0000:0000:0000:0000:0000:0001") == "::1"
    assert display_addr("2001:0db8:0000:0000:0000:0000:0000:00aa") == "2001:db8::aa"
    assert display_addr("10.0.0.1") == "10.0.0.1"
    assert display_addr("not:an:address:zz") == "not:an:address:zz"
