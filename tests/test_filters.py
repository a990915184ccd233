"""Filters (-s/-d IP or CIDR, -p, --state, --dport) against an independent computation."""

from __future__ import annotations

import ipaddress

import kernel_lines as K
import pytest
from test_scan import expected_breakdowns, observed

from ctwatch.model.entry import parse_line
from ctwatch.model.filters import Filter
from ctwatch.model.scan import scan_table

SYNTH = K.synthetic_table(400, seed=11)
# conntrack -L prints IPv6 compressed: the filters must work on that form too.
CT_L_TEXT_LINES = list(K.CT_L_REAL)


def independent(src=(), dst=(), proto=(), state=(), dport=()):
    """The filter written the obvious way, on parsed entries."""
    src_nets = [ipaddress.ip_network(s, strict=False) for s in src]
    dst_nets = [ipaddress.ip_network(d, strict=False) for d in dst]
    protos = {p.lower() for p in proto}
    states = {s.upper() for s in state}
    ports = {int(p) for p in dport}

    def keep(e) -> bool:
        if src_nets and not any(ipaddress.ip_address(e.orig.src) in n for n in src_nets):
            return False
        if dst_nets and not any(ipaddress.ip_address(e.orig.dst) in n for n in dst_nets):
            return False
        if protos and e.l4 not in protos:
            return False
        if states and e.state not in states:
            return False
        return not (ports and e.orig.dport not in ports)

    return keep


CASES = [
    {"src": ["127.0.0.1"]},
    {"src": ["10.0.0.0/8"]},
    {"src": ["10.0.0.0/8", "192.0.2.0/24"]},
    {"src": ["::1"]},
    {"src": ["2001:db8::/32"]},
    {"src": ["fd00::/8", "2001:db8::2/128"]},
    {"dst": ["127.0.0.0/8"]},
    {"dst": ["2001:db8::1"]},
    {"proto": ["tcp"]},
    {"proto": ["UDP", "icmp"]},
    {"proto": ["gre", "unknown", "icmpv6"]},
    {"state": ["ESTABLISHED"]},
    {"state": ["syn_sent", "time_wait"]},
    {"dport": ["8080"]},
    {"dport": ["53", "443"]},
    {"src": ["10.0.0.0/8"], "proto": ["tcp"], "state": ["ESTABLISHED"], "dport": ["443"]},
    {"src": ["::/0"], "dst": ["2001:db8::/32"]},
    {"src": ["0.0.0.0/0"], "dport": ["22"]},
]


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
@pytest.mark.parametrize("table", ["synthetic", "conntrack-L"])
def test_filtered_scan_equals_independent_filter(case, table):
    lines = SYNTH if table == "synthetic" else CT_L_TEXT_LINES
    filt = Filter.build(**case)
    scan = scan_table(["".join(x + "\n" for x in lines).encode()], filt=filt)
    want = expected_breakdowns(lines, independent(**case))
    assert observed(scan.totals) == want
    assert scan.bad_lines == 0


def test_the_cases_select_something():
    # Guard against filters that pass only because both sides are empty.
    nonempty = [c for c in CASES if expected_breakdowns(SYNTH, independent(**c))["entries"]]
    assert len(nonempty) >= len(CASES) - 2


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_match_row_agrees_with_independent_filter(case):
    filt = Filter.build(**case)
    keep = independent(**case)
    for line in SYNTH + CT_L_TEXT_LINES:
        entry = parse_line(line)
        assert filt.match_row(_row_of(entry)) == keep(entry), line


def _row_of(entry) -> tuple:
    """A parsed entry as the scanner's row of raw fields (l4, combo, state, src, dst, dport)."""
    return (
        entry.l4.encode(),
        b"",
        (entry.state or "").encode(),
        entry.orig.src.encode(),
        entry.orig.dst.encode(),
        b"" if entry.orig.dport is None else str(entry.orig.dport).encode(),
    )


def test_no_criteria_means_no_filter():
    assert Filter.build() is None
    assert Filter.build(src=[], dst=None, proto=[], state=[], dport=[]) is None


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"src": ["10.0.0.300"]}, "not an IP address or CIDR"),
        ({"src": ["10.0.0.0/33"]}, "not an IP address or CIDR"),
        ({"dst": ["example.com"]}, "not an IP address or CIDR"),
        ({"src": ["2001:db8::/129"]}, "not an IP address or CIDR"),
        ({"dport": ["http"]}, "not a port number"),
        ({"dport": ["65536"]}, "not a port number"),
        ({"dport": ["-1"]}, "not a port number"),
        ({"proto": ["tcpx"]}, "unknown protocol"),
    ],
)
def test_bad_filter_values_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Filter.build(**kwargs)


def test_host_bits_in_a_cidr_are_accepted_like_conntrack():
    filt = Filter.build(src=["10.0.0.1/8"])
    assert str(filt.src[0]) == "10.0.0.0/8"


def test_describe():
    filt = Filter.build(
        src=["10.0.0.0/8"], dst=["::1"], proto=["udp", "TCP"], state=["established"], dport=["53"]
    )
    assert filt.describe() == (
        "src 10.0.0.0/8; dst ::1/128; proto tcp, udp; state ESTABLISHED; dport 53"
    )


def test_address_memo_does_not_mix_source_and_destination():
    filt = Filter.build(src=["10.0.0.1"], dst=["10.0.0.2"])
    row = (b"tcp", b"1", b"ESTABLISHED", b"10.0.0.1", b"10.0.0.2", b"80")
    swapped = (b"tcp", b"1", b"ESTABLISHED", b"10.0.0.2", b"10.0.0.1", b"80")
    assert filt.match_row(row)
    assert not filt.match_row(swapped)
    assert filt.match_row(row)
