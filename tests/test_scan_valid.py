"""A line is an entry only if it is valid (issue 7, section 4): a bad line leaves every
breakdown, counts in bad_lines and says why."""

from __future__ import annotations

import random

import kernel_lines as K
import pytest

from ctwatch.model.badline import explain
from ctwatch.model.filters import PROTOCOLS, Filter
from ctwatch.model.scan import DIMENSIONS, scan_table

TCP = (
    "ipv4     2 tcp      6 117 SYN_SENT src=10.0.0.1 dst=192.0.2.1 sport=40000 dport=80 "
    "[UNREPLIED] src=192.0.2.1 dst=10.0.0.1 sport=80 dport=40000 mark=0 zone=0 use=2"
)
UDP = K.PROC_UDP_REPLIED
TCP6 = K.PROC_TCP6_ESTABLISHED
V6_ONE = "0000:0000:0000:0000:0000:0000:0000:0001"


def tcp(old: str, new: str, line: str = TCP) -> str:
    assert old in line
    return line.replace(old, new, 1)


# (what, line, reason)
CASES = [
    ("source 999.1.1.1", tcp("src=10.0.0.1", "src=999.1.1.1"), "bad source address"),
    ("destination 999", tcp("dst=192.0.2.1", "dst=192.0.2.999"), "bad destination address"),
    ("source of 3 octets", tcp("src=10.0.0.1", "src=10.0.1"), "bad source address"),
    ("octet with a leading zero", tcp("src=10.0.0.1", "src=10.0.0.01"), "bad source address"),
    ("dport 65536", tcp("dport=80", "dport=65536"), "port out of range"),
    ("dport 99999", tcp("dport=80", "dport=99999"), "port out of range"),
    ("sport 65536", tcp("sport=40000", "sport=65536"), "port out of range"),
    ("dport of 5000 digits", tcp("dport=80", "dport=" + "9" * 5000), "port out of range"),
    ("dport -1", tcp("dport=80", "dport=-1"), "negative port"),
    ("sport -1", tcp("sport=40000", "sport=-1"), "negative port"),
    ("dport 080", tcp("dport=80", "dport=080"), "bad dport"),
    ("dport +80", tcp("dport=80", "dport=+80"), "bad dport"),
    ("NUL inside the source", tcp("src=10.0.0.1", "src=10.0\x00.0.1"), "bad source address"),
    (
        "ESC inside the destination",
        tcp("dst=192.0.2.1", "dst=192.0\x1b.2.1"),
        "bad destination address",
    ),
    (
        "a terminal escape as source",
        tcp("src=10.0.0.1", "src=\x1b[2J\x1b]0;pwn\x07"),
        "bad source address",
    ),
    ("leading junk in the source", tcp("src=10.0.0.1", "src=x10.0.0.1"), "bad source address"),
    ("garbage after the source", tcp("src=10.0.0.1", "src=10.0.0.1junk"), "bad source address"),
    ("garbage after dport", tcp("dport=80", "dport=80x"), "garbage after dport"),
    ("garbage after sport", tcp("sport=40000", "sport=40000;"), "garbage after sport"),
    ("two spaces inside the tuple", tcp(" dst=", "  dst="), "no dst= after src"),
    ("ipv4 line, IPv6 source", tcp("src=10.0.0.1", "src=::1"), "bad source address"),
    ("ipv6 line, IPv4 source", tcp(f"src={V6_ONE}", "src=10.0.0.1", TCP6), "bad source address"),
    ("IPv6 with two ::", tcp(f"dst={V6_ONE}", "dst=1::2::3", TCP6), "bad destination address"),
    ("IPv6 in capitals", tcp(f"dst={V6_ONE}", "dst=FE80::1", TCP6), "bad destination address"),
    ("a state of sctp on tcp", tcp("SYN_SENT", "COOKIE_WAIT"), "bad state"),
    ("a state on udp", tcp("17 27 ", "17 27 ESTABLISHED ", UDP), "bad state"),
    ("an unknown state", tcp("SYN_SENT", "SYN_BOGUS"), "bad state"),
    ("timeout with a leading zero", tcp(" 117 ", " 0117 "), "bad timeout"),
    ("timeout of 11 digits", tcp(" 117 ", " 11111111111 "), "bad timeout"),
    ("negative timeout", tcp(" 117 ", " -5 "), "bad timeout"),
    (
        "timeout glued to src",
        tcp(" 117 SYN_SENT src=", " 117src=", UDP.replace(" 27 src=", " 117 SYN_SENT src=")),
        "bad timeout",
    ),
    ("unknown l4 name", tcp("tcp      6", "tcpx     6"), "unknown protocol name"),
    ("l4 number of udp on tcp", tcp("tcp      6", "tcp      17"), "bad protocol number"),
    ("l3 number 3", tcp("ipv4     2", "ipv4     3"), "bad l3 protocol number"),
    ("escape sequence in the tail", TCP + "\x1b[2J", "control byte in use"),
    ("non-ASCII in the tail", tcp("zone=0", "zone=\xff"), "non-ASCII byte in zone"),
    ("CR line end", TCP + "\r", "control byte in use"),
    ("icmp type 256", tcp("type=8", "type=256", K.PROC_ICMP), "bad type"),
    ("gre key not hex", tcp("srckey=0x0", "srckey=0xzz", K.PROC_GRE), "bad srckey"),
    ("tcp without ports", TCP.split(" sport=")[0], "no ports"),
    ("empty line", "", "empty line"),
    ("not a conntrack line", "garbage", "not a conntrack line"),
]
IDS = [c[0] for c in CASES]


def text(lines) -> bytes:
    return "".join(x + "\n" for x in lines).encode("latin-1")


def state(scan) -> dict:
    """Everything a scan counted: entries, every dimension and the expiry keys."""
    t = scan.totals
    out = {d: dict(t.counts[d]) for d in DIMENSIONS}
    out["entries"] = t.entries
    out["expiry"] = dict(t.expiry)
    return out


@pytest.mark.parametrize("what, line, reason", CASES, ids=IDS)
def test_a_bad_line_is_not_an_entry_and_says_why(what, line, reason):
    scan = scan_table([text([line])])
    assert (scan.totals.entries, scan.bad_lines) == (0, 1)
    assert all(scan.totals.top(d, 0) == [] for d in DIMENSIONS)
    assert [why for _, why in getattr(scan, "bad_examples", ())] == [reason]
    assert explain(line) == reason


GOOD = [TCP, UDP, TCP6, K.PROC_ICMP, K.PROC_GRE] + K.synthetic_table(60, seed=11)
EVERYTHING = Filter.build(proto=list(PROTOCOLS))


@pytest.mark.parametrize("what, line, reason", CASES, ids=IDS)
def test_a_bad_line_leaves_every_breakdown_among_good_ones(what, line, reason):
    # The bad line shares most keys with good lines: whatever was counted for it
    # before it was found bad must be taken back exactly, in every dimension.
    want = state(scan_table([text(GOOD * 3)]))
    mixed = text(GOOD + [line] + GOOD + [line, line] + GOOD)
    for size in (len(mixed), 4096, 200, 7):
        chunks = [mixed[i : i + size] for i in range(0, len(mixed), size)]
        for filt in (None, EVERYTHING):
            scan = scan_table(chunks, filt=filt)
            assert scan.bad_lines == 3, (size, filt)
            assert state(scan) == want, (size, filt)


def test_the_focus_breakdown_leaves_bad_lines_out_too():
    focus = Filter.build(src=["10.0.0.0/8"])
    lines = GOOD + [line for _, line, _ in CASES]
    scan = scan_table([text(lines)], focus=focus)
    good = scan_table([text(GOOD)], focus=focus)
    assert state(scan) == state(good)
    assert scan.focus.entries == good.focus.entries
    assert {d: dict(scan.focus.counts[d]) for d in DIMENSIONS} == {
        d: dict(good.focus.counts[d]) for d in DIMENSIONS
    }
    assert scan.focus_entries == good.focus_entries


def test_every_real_kernel_line_still_counts():
    lines = list(K.ALL_LINES) + K.synthetic_table(400)
    scan = scan_table([text(lines)])
    assert (scan.totals.entries, scan.bad_lines) == (len(lines), 0)
    assert all(explain(line) is None for line in lines)


def mutations(line: str, rng: random.Random) -> str:
    """One small random edit of the kind a broken or hostile printer makes."""
    pos = rng.randrange(len(line) + 1)
    pick = rng.choice(
        ["0", "9", "1", " ", ".", ":", "=", "-", "x", "A", "f", "\x00", "\x1b", "\xff", "\t"]
    )
    kind = rng.randrange(4)
    if kind == 0:
        return line[:pos] + pick + line[pos:]
    if kind == 1:
        return line[:pos] + line[pos + 1 :]
    if kind == 2:
        return line[:pos] + pick + line[pos + 1 :]
    digits = [i for i, c in enumerate(line) if c.isdigit()]
    i = rng.choice(digits)
    return line[:i] + str(rng.randrange(10)) * rng.randrange(1, 7) + line[i + 1 :]


def test_the_reason_and_the_scanner_agree_on_random_edits_of_real_lines():
    """explain() is None exactly for the lines the scanner counts, in both scan paths."""
    rng = random.Random(7)
    seen = {True: 0, False: 0}
    for _ in range(3000):
        line = mutations(rng.choice(K.ALL_LINES), rng)
        counted = scan_table([text([line])]).totals.entries
        filtered = scan_table([text([line])], filt=EVERYTHING).totals.entries
        reason = explain(line)
        assert counted == filtered == (reason is None), (line, reason)
        # The walk names the fault the regex found: never the catch-all.
        assert reason != "malformed line", line
        assert reason is None or len(reason) < 40, reason
        seen[reason is None] += 1
    assert min(seen.values()) > 300  # both outcomes really exercised


def test_bad_examples_are_at_most_five_safe_lines_of_200_characters():
    lines = [TCP] + [tcp("dport=80", f"dport=8{i}x" + "\x1b" * 300) for i in range(9)]
    scan = scan_table([text(lines)])
    assert (scan.totals.entries, scan.bad_lines) == (1, 9)
    assert len(scan.bad_examples) == 5
    for line, reason in scan.bad_examples:
        assert reason == "garbage after dport"
        assert len(line) <= 200 and line.isprintable() and "\x1b" not in line
        assert "\\x1b" in line
    assert scan.sample_bad_line == scan.bad_examples[0][0][:120]


def test_a_truncated_last_line_is_explained():
    scan = scan_table([text([TCP]) + TCP.encode()[:60]])
    assert (scan.totals.entries, scan.bad_lines) == (1, 1)
    assert scan.bad_examples[0][1] == "truncated last line (no newline)"


def test_a_flood_of_bad_keys_in_many_pieces_is_taken_out_everywhere():
    # Every line new and bad on its own dst, spread over many chunks, mixed with good
    # lines sharing the source: the good lines' counts must come out exact.
    bad = [tcp("dst=192.0.2.1", f"dst=192.0.{i % 7}.{256 + i}") for i in range(3000)]
    good = [tcp("dst=192.0.2.1", f"dst=192.0.{i % 7}.{i % 256}") for i in range(3000)]
    mixed = [x for pair in zip(bad, good) for x in pair]
    data = text(mixed)
    chunks = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    scan = scan_table(chunks)
    assert scan.bad_lines == 3000
    assert state(scan) == state(scan_table([text(good)]))


def test_once_json_reports_bad_examples_and_no_impossible_subnet(tmp_path):
    import json
    import subprocess
    import sys

    bad = [line for _, line, _ in CASES if "\r" not in line]
    root = K.modern_tree(tmp_path, lines=GOOD + bad, count=len(GOOD) + len(bad))
    proc = subprocess.run(
        [sys.executable, "-m", "ctwatch", "--once", "--json", "--rate-window", "0"]
        + ["--root", root],
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["entries"], out["bad_lines"]) == (len(GOOD), len(bad))
    assert len(out["bad_examples"]) == 5
    reasons = {why for _, _, why in CASES}
    for example in out["bad_examples"]:
        assert set(example) == {"line", "reason"}
        assert example["reason"] in reasons
        assert len(example["line"]) <= 200 and example["line"].isprintable()
    assert b"\x1b" not in proc.stdout
    assert not any("999" in key for key in out["by_src_subnet"])
    assert not any("999" in key for key in out["by_src"])


def test_bad_examples_survive_a_recording_and_a_hostile_one_is_made_safe():
    from ctwatch.model.recorded import scan_from_record, scan_to_record

    scan = scan_table([text([TCP, CASES[0][1]])])
    back = scan_from_record(scan_to_record(scan))
    assert back.bad_examples == scan.bad_examples == ((CASES[0][1], "bad source address"),)
    hostile = {"entries": 1, "bad_examples": [["\x1b]0;pwn\x07" * 100, "x\x1b"]] * 9 + [7, [1]]}
    examples = scan_from_record(hostile).bad_examples
    assert len(examples) == 5
    for line, why in examples:
        assert line.isprintable() and why.isprintable() and len(line) <= 200
    assert scan_from_record({"bad_examples": "nonsense"}).bad_examples == ()
