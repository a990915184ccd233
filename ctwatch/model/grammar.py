"""What a valid conntrack table line is: the scanner's regular expression and why a line fails.

A line counts as an entry only when every field the breakdowns use is one the kernel or
conntrack(8) could print: l3 and l4 names with their numbers, a timeout, a state of that
protocol, addresses of the line's family, ports 0-65535, each field ended by a space or the
end of the line, and nothing but printable ASCII anywhere. The rest of the line (reply
tuple, counters, flags, mark=, zone=, use=...) is not counted, so beyond being printable it
is not checked: conntrack(8) options add fields there that the kernel never prints.

Speed: one regex pass per piece of text checks the structure in C. Addresses are only
shaped by the regex (digits and dots, or hex and colons); the scanner checks each distinct
address once with inet_pton (`bad_addresses`), which is far cheaper than spelling 0-255
out in the regex for every line of a flood.
"""

from __future__ import annotations

import re
import socket
from collections import Counter, deque
from itertools import repeat
from operator import itemgetter
from typing import Optional

# LISTEN: 2.4's name, and conntrack(8)'s for SYN_SENT2. HEARTBEAT_ACKED: older kernels.
# In a stable order, for messages and the `/` prompt.
STATE_LISTS = {
    "tcp": ("NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT")
    + ("LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2", "LISTEN"),
    "sctp": ("CLOSED", "COOKIE_WAIT", "COOKIE_ECHOED", "ESTABLISHED", "SHUTDOWN_SENT")
    + ("SHUTDOWN_RECD", "SHUTDOWN_ACK_SENT", "HEARTBEAT_SENT", "HEARTBEAT_ACKED"),
    "dccp": ("REQUEST", "RESPOND", "PARTOPEN", "OPEN", "CLOSEREQ", "CLOSING", "TIMEWAIT")
    + ("IGNORE", "INVALID"),
}
# Every tracker also prints NONE for an entry it has not classified yet.
STATES = {l4: frozenset(("NONE", *names)) for l4, names in STATE_LISTS.items()}
TCP_STATES, SCTP_STATES, DCCP_STATES = STATES["tcp"], STATES["sctp"], STATES["dccp"]
L4_NUMBERS = {
    "tcp": "6",
    "udp": "17",
    "udplite": "136",
    "icmp": "1",
    "icmpv6": "58",
    "sctp": "132",
    "dccp": "33",
    "gre": "47",
}
L3_NUMBERS = {"ipv4": "2", "ipv6": "10"}


def _states(names: frozenset) -> bytes:
    # Longest first: SYN_SENT2 before SYN_SENT, CLOSE_WAIT before CLOSE.
    return b"(?:" + b"|".join(n.encode() for n in sorted(names, key=len, reverse=True)) + b")"


OCTET = rb"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# Ephemeral (5-digit) ports first: the branch that matches most source ports.
PORT = rb"(?:[1-5]\d{4}|[1-9]\d{0,3}|6[0-4]\d{3}|65[0-4]\d\d|655[0-2]\d|6553[0-5]|0)"
TIMEOUT = rb"(?:0|[1-9]\d{0,9})"  # seconds; the kernel prints a signed 32-bit jiffies count / HZ
# Address shapes; inet_pton decides validity (bad_addresses). IPv6 is exploded in /proc,
# compressed by conntrack(8), possibly with a dotted IPv4 tail (::ffff:1.2.3.4).
V4_SHAPE = rb"[0-9.]{7,15}"
V6_SHAPE = rb"[0-9a-f]{0,4}:[0-9a-f:.]{1,44}"
EITHER = rb"(?:" + V4_SHAPE + rb"|" + V6_SHAPE + rb")"
ADDRESS = rb"(?(v4)" + V4_SHAPE + rb"|(?(v6)" + V6_SHAPE + rb"|" + EITHER + rb"))"
_T = rb"(?:" + TIMEOUT + rb" +|)"
# What may stand between the l4 number and src= (the `combo` group), exactly.
COMBO_STRICT = re.compile(
    rb"(?:tcp +6 +" + _T + rb"(?:" + _states(TCP_STATES) + rb" +|)"
    rb"|udp(?:lite +136| +17) +" + _T + rb""
    rb"|sctp +132 +" + _T + rb"(?:" + _states(SCTP_STATES) + rb" +|)"
    rb"|dccp +33 +" + _T + rb"(?:" + _states(DCCP_STATES) + rb" +|)"
    rb"|icmp(?:v6 +58| +1) +" + _T + rb""
    rb"|gre +47 +" + _T + rb"(?:timeout=\d{1,10}, stream_timeout=\d{1,10} +|)"
    rb"|unknown +" + OCTET + rb" +" + _T + rb")"
)
_COMBO_LINES = re.compile(rb"(?m)^" + COMBO_STRICT.pattern + rb"\n")
PORT_STRICT = re.compile(PORT)
# The scanner's regex. Each BRANCH costs the regex engine about as much as 50 characters
# of tail, so the hot path takes few: the combo group (l4 name and number, timeout,
# state) and dport are only shaped here and checked per distinct value (COMBO_STRICT,
# PORT_STRICT), like addresses. `X|)` rather than `X)?`: an optional group is a REPEAT
# in sre, dearer than a branch. Empty groups (v4, v6, p, i, g; pt, pu, ps, pd) are flags
# the conditionals test; in a row they are one shared empty bytes object each.
# The dport group says its protocol at no cost per line: it starts earlier in the text
# ` dport=80` for each port protocol (DPORT_PREFIX), so one Counter of the captured
# bytes counts (protocol, port) pairs without a tuple or a second pass; measured 12 %
# less parser CPU than counting (l4, dport) tuples.
HEAD = (
    rb"(?:ipv4 +2 +(?P<v4>)|ipv6 +10 +(?P<v6>)|unknown +" + OCTET + rb" +|)"
    rb"(?P<combo>(?:tcp +6(?P<pt>)|udp +17(?P<pu>)|udplite +136|sctp +132(?P<ps>)"
    rb"|dccp +33(?P<pd>))(?P<p>) [ 0-9A-Z_]*"
    rb"|icmp(?:v6 +58| +1)(?P<i>) [ 0-9]*"
    rb"|gre +47(?P<g>) [ 0-9]*(?:timeout=\d{1,10}, stream_timeout=\d{1,10} +|)"
    rb"|unknown +\d{1,3} [ 0-9]*)"
    rb"src=(?P<src>" + ADDRESS + rb") dst=(?P<dst>" + ADDRESS + rb")"
    rb"(?(p) sport=" + PORT + rb" d(?(pt)port=|(?(pu)port|(?(ps)por|(?(pd)po|p))))"
    rb"(?P<dport>(?(pt)|(?(pu)=|(?(ps)t=|(?(pd)rt=|ort=))))\d{1,5})"
    rb"|(?(i) type=" + OCTET + rb" code=" + OCTET + rb" id=" + PORT + rb""
    rb"|(?(g) srckey=0x[0-9a-f]{1,8} dstkey=0x[0-9a-f]{1,8})))"
)
# For text known to hold only printable ASCII (`clean_lines`), the tail needs no check.
_ANY_TAIL, _PRINTABLE_TAIL = rb"(?: [^\n]*|)\n", rb"(?: [ -~]*|)\n"
FAST_RE = re.compile(rb"(?m)^" + HEAD + _ANY_TAIL)
STRICT_RE = re.compile(rb"(?m)^" + HEAD + _PRINTABLE_TAIL)
COMBO, SRC, DST, DPORT = (FAST_RE.groupindex[k] - 1 for k in ("combo", "src", "dst", "dport"))
# The same, with the whole line (without its newline) as the first group of each row.
LINE_FAST_RE = re.compile(rb"(?m)^(?=([^\n]*))" + HEAD + _ANY_TAIL)
LINE_STRICT_RE = re.compile(rb"(?m)^(?=([^\n]*))" + HEAD + _PRINTABLE_TAIL)

# What the dport group holds before the digits, by protocol (see HEAD).
DPORT_PREFIX = {b"tcp": b"", b"udp": b"=", b"sctp": b"t=", b"dccp": b"rt=", b"udplite": b"ort="}
PREFIX_L4 = {v: k for k, v in DPORT_PREFIX.items()}


def port_of(key: bytes) -> bytes:
    """The port digits of a dport group (b"" stays b"": no port)."""
    return key[key.find(b"=") + 1 :]


def split_port(key: bytes) -> tuple:
    """(l4 name, port digits) of a dport group."""
    cut = key.find(b"=") + 1
    return PREFIX_L4.get(key[:cut], b"?"), key[cut:]


def sum_ports(groups: Counter) -> Counter:
    """dport -> count over every protocol, from the scan's dport groups. When every
    group has the same prefix (one protocol: the usual flood), it is cut in C."""
    joined = b" ".join(groups)
    if b"=" not in joined:  # TCP only: the groups are the ports
        return groups
    if joined.count(b"=") == len(groups) and b"t=" not in joined:  # UDP only: "=PORT"
        return Counter(dict(zip(map(itemgetter(slice(1, None)), groups), groups.values())))
    out: Counter = Counter()
    for key, n in groups.items():
        port = port_of(key)
        out[port] = out.get(port, 0) + n
    return out


_PRINTABLE = bytes(range(0x20, 0x7F))


def clean_lines(text: bytes) -> Optional[int]:
    """How many lines text holds when it is nothing but printable ASCII and newlines,
    else None: one C pass that leaves only the newlines of clean text."""
    rest = text.translate(None, _PRINTABLE)
    return len(rest) if rest.count(b"\n") == len(rest) else None


def split_combo(combo: bytes) -> tuple:
    """(l4, timeout, state) of a combo group; b"" for what the line did not print."""
    parts = combo.split()
    timeout = state = b""
    i = 2
    if len(parts) > i and parts[i][:1].isdigit():
        timeout = parts[i]
        i += 1
    if len(parts) > i and parts[i][:1].isupper():
        state = parts[i]
    return parts[0], timeout, state


_COMBO_PARTS = re.compile(rb"(?m)^([a-z0-9]+) +\d+ +(?:(\d+) +|)(?:([A-Z][A-Z0-9_]*) +|)[^\n]*\n")
_EXPIRY_ORDER = itemgetter(0, 2, 1)


def split_combos(counts: dict) -> dict:
    """{(l4, state, timeout): count} from {combo: count}, in C but for rare collisions
    (the same key printed two ways, such as `unknown 33` and `unknown 253`)."""
    parts = _COMBO_PARTS.findall(b"\n".join(counts) + b"\n") if counts else []
    out = dict(zip(map(_EXPIRY_ORDER, parts), counts.values()))
    if len(out) == len(counts) and len(parts) == len(counts):
        return out
    out = {}
    for combo, n in counts.items():
        l4, timeout, st = split_combo(combo)
        out[(l4, st, timeout)] = out.get((l4, st, timeout), 0) + n
    return out


def bad_combos(keys: list) -> list:
    """The combo keys COMBO_STRICT rejects (a state of another protocol, 09 seconds...)."""
    # One regex pass over all of them (a table of long-lived flows has a combo per
    # remaining second); only when one fails are they looked at one by one.
    if len(_COMBO_LINES.findall(b"\n".join(keys) + b"\n")) == len(keys):
        return []
    return [k for k in keys if not COMBO_STRICT.fullmatch(k)]


def bad_ports(keys: list) -> list:
    """The dport keys that are not 0-65535 as the kernel prints them (b"": no port)."""
    return [k for k in keys if k and not PORT_STRICT.fullmatch(k, k.find(b"=") + 1)]


def bad_addresses(keys: list) -> list:
    """The keys (shaped by the regex) that are not an address inet_pton accepts."""
    if not keys:
        return []
    joined = b" ".join(keys)  # keys hold no spaces: one decode and one split, in C
    if b":" not in joined:
        groups = [(socket.AF_INET, joined)]
    elif b"." not in joined:
        groups = [(socket.AF_INET6, joined)]
    else:  # both families (or IPv4-mapped IPv6): sort them apart
        groups = [
            (socket.AF_INET, b" ".join(k for k in keys if b":" not in k)),
            (socket.AF_INET6, b" ".join(k for k in keys if b":" in k)),
        ]
    bad: list = []
    for family, text in groups:
        words = text.decode("ascii", "replace").split(" ") if text else []
        try:  # the common case: every key valid, checked without a Python-level loop
            deque(map(socket.inet_pton, repeat(family, len(words)), words), maxlen=0)
        except (OSError, ValueError):
            bad.extend(w.encode() for w in words if not _valid_address(family, w))
    return bad


def _valid_address(family: int, text: str) -> bool:
    try:
        socket.inet_pton(family, text)
    except (OSError, ValueError):
        return False
    return True


def printable(raw: bytes, limit: int = 200) -> str:
    """A line as safe text: bytes outside printable ASCII shown as \\xNN; cut to limit."""
    text = "".join(chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}" for b in raw[: limit + 1])
    return text if len(text) <= limit else text[: limit - 3] + "..."
