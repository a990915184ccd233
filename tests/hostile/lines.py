"""Hostile table lines and kernel-log records (sections 4, 6, 7)."""

from __future__ import annotations

from dataclasses import replace

from hostile.build import (
    BIDI,
    ESC,
    KMSG,
    TABLE,
    Case,
    calm_lines,
    entry,
    random_bytes,
    table_with,
    tree_case,
)
from hostile.expect import bad_lines, snat_skips

D5000 = "7" * 5000
FORMULAS = {
    "formula-cmd": "=cmd|'\u00a0/C\u00a0calc'!A0",
    "formula-plus": "+1+1",
    "formula-minus": "-2+3",
    "formula-at": "@SUM(1+1)",
    "formula-tab": "\t=1+1",
    "formula-eq": '=HYPERLINK("http://x")',
}


def _line(*lines: bytes, extra: tuple = ()) -> object:
    # --top 0: a hostile key seen once must still be printed, or nothing is tested.
    return tree_case({TABLE: lambda: table_with(*lines)}, "--top", "0", *extra)


# Section 4: lines that must count as bad_lines (with bad_examples), not as entries.
INVALID = {
    "line-src-999": 1, "line-dst-999": 1, "line-dport-65536": 1, "line-sport-65536": 1,
    "line-dport-neg": 1, "line-dport-5000-digits": 1, "line-sport-5000-digits": 1,
    "line-src-nul": 1, "line-src-bell": 1, "line-src-garbage-after": 1,
    "line-dport-garbage-after": 1, "line-src-escape": 1, "line-dst-escape": 1,
    "line-src-c1-csi": 1, "line-src-raw-c1": 1, "line-src-bidi": 1,
    "line-src-invalid-utf8": 1, "line-src-cr": 1, "line-src-del": 1, "line-src-1mb": 1,
    "line-src-ipv6-long": 1, "snat-reply-xff": 1, "snat-reply-escape": 1,
}  # fmt: skip
# The reply tuple is only required to be printable by the scan (checking it would cost
# every line of a flood); the SNAT view, which reads it, leaves these out.
SNAT_SKIPS = {"snat-reply-999": "999.1.1.1", "snat-reply-5000-digit-port": "10.9.9.9"}


def table_cases() -> list:
    """Lines that look like entries but are not, and fields that attack what shows them."""
    out = [
        Case("line-src-999", "src=999.1.1.1 (not an address)", _line(entry(src="999.1.1.1"))),
        Case("line-dst-999", "dst=999.1.1.1", _line(entry(dst="999.1.1.1"))),
        Case("line-dport-65536", "dport=65536", _line(entry(dport="65536"))),
        Case("line-sport-65536", "sport=65536", _line(entry(sport="65536"))),
        Case("line-dport-neg", "dport=-1", _line(entry(dport="-1"))),
        Case("line-dport-5000-digits", "a 5000-digit dport", _line(entry(dport=D5000))),
        Case("line-sport-5000-digits", "a 5000-digit sport", _line(entry(sport=D5000))),
        Case("line-timeout-5000-digits", "a 5000-digit timeout", _line(entry(timeout=D5000))),
        Case("line-src-nul", "a NUL byte inside the source address",
             _line(entry(src="10.0.0.\x001"))),
        Case("line-src-bell", "a BEL control byte after the source address",
             _line(entry(src="10.0.0.1\x07"))),
        Case("line-src-garbage-after", "garbage glued after the source address",
             _line(entry(src="10.0.0.1garbage"))),
        Case("line-dport-garbage-after", "garbage glued after the dport",
             _line(entry(dport="443abc"))),
        Case("line-src-escape", "src=ESC[2J ESC]0;pwn BEL: clears the screen, sets the title",
             _line(entry(src=ESC))),
        Case("line-dst-escape", "the escape sequences in dst", _line(entry(dst=ESC))),
        Case("line-state-escape", "escape sequences in the state field",
             _line(entry(state="ESTABLISHED" + ESC))),
        Case("line-src-c1-csi", "a UTF-8 C1 CSI (U+009B) in the source",
             _line(entry(src="\u009b2J10.0.0.1"))),
        Case("line-src-raw-c1", "a raw 0x9b byte (8-bit CSI) in the source",
             _line(entry(src="10.0.0.\udc9b1"))),
        Case("line-src-bidi", "a right-to-left override in the source",
             _line(entry(src=BIDI + "1.0.0.01"))),
        Case("line-src-invalid-utf8", "invalid UTF-8 bytes as the source",
             _line(entry(src="\udcff\udcfe\udcfd"))),
        Case("line-src-cr", "a carriage return inside the source (overwrites the row)",
             _line(entry(src="10.0.0.1\rEVIL"))),
        Case("line-src-del", "a DEL byte in the source", _line(entry(src="10.0.0.1\x7f"))),
        Case("line-src-1mb", "a 1 MB source field", _line(entry(src="A" * 1_000_000))),
        Case("line-src-ipv6-long", "an IPv6-looking source of 20,000 groups",
             _line(entry(src="1:" * 20000 + "1"))),
        Case("line-100k-fields", "a line with 100,000 mark= fields",
             _line(entry(tail="mark=0 " * 100_000))),
        Case("lines-10k-escapes", "10,000 lines, each with a distinct escape-sequence source",
             tree_case({TABLE: lambda: b"".join(entry(src=f"\x1b]0;{i}\x07") + b"\n"
                                        for i in range(10_000))})),
        Case("table-escape-heavy", "300 entries from an escape-sequence source to a C1/bidi "
             "destination: the top row of Sources and Destinations",
             tree_case({TABLE: lambda: table_with(*[
                 entry(src=ESC, dst="\u009b2J" + BIDI + "x", sport=str(40000 + i))
                 for i in range(300)])})),
        Case("table-crlf", "the whole table with CRLF line ends",
             tree_case({TABLE: b"".join(x.rstrip(b"\n") + b"\r\n" for x in calm_lines())})),
        Case("table-bom", "a UTF-8 BOM before the first line",
             tree_case({TABLE: b"\xef\xbb\xbf" + b"".join(calm_lines())})),
        Case("table-binary-1mb", "1 MB of random bytes between real lines",
             tree_case({TABLE: lambda: b"".join(calm_lines()[:200]) + random_bytes(1 << 20)
                        + b"\n" + b"".join(calm_lines()[200:])})),
        Case("table-nul-only", "1 MB of NUL bytes", tree_case({TABLE: b"\0" * (1 << 20)})),
        Case("table-no-newline-8mb", "real lines, then an 8 MB line without a newline",
             tree_case({TABLE: lambda: b"".join(calm_lines()) + b"x" * (8 << 20)})),
        Case("table-long-line-8mb", "an 8 MB line that looks like an entry, in the middle",
             tree_case({TABLE: lambda: table_with(entry(tail="x" * (8 << 20)), at=100)})),
        Case("table-200k-garbage-lines", "200,000 short garbage lines",
             tree_case({TABLE: lambda: b"garbage\n" * 200_000})),
        Case("table-utf16", "the table encoded as UTF-16",
             tree_case({TABLE: b"".join(calm_lines()).decode().encode("utf-16")})),
        Case("table-escape-everywhere", "every line's source is an escape sequence",
             tree_case({TABLE: b"".join(x.replace(b"src=", b"src=" + ESC.encode(), 1)
                                        for x in calm_lines())})),
        # SNAT view: the translated address and port come from the reply tuple.
        Case("snat-reply-999", "--snat with a reply dst=999.1.1.1",
             _line(entry(rdst="999.1.1.1"), extra=("--snat",))),
        Case("snat-reply-xff", "--snat with a \\xff byte in the reply address",
             _line(entry(rdst="10.9.9.\udcff"), extra=("--snat",))),
        Case("snat-reply-5000-digit-port", "--snat with a 5000-digit reply port",
             _line(entry(rdst="10.9.9.9", rdport=D5000), extra=("--snat",))),
        Case("snat-reply-escape", "--snat with escape sequences as the reply address",
             _line(entry(rdst=ESC), extra=("--snat",))),
        Case("dport-filter-5000-digit-line", "--dport 443 over a line whose dport has 5000 digits",
             _line(entry(dport=D5000), extra=("--dport", "443"))),
        Case("src-filter-escape-line", "--src 10.0.0.0/8 over escape-sequence sources",
             _line(entry(src=ESC), entry(src="10.0.0.\x001"), extra=("--src", "10.0.0.0/8"))),
        Case("growers-escape-line", "--growers over a table with escape-sequence sources",
             _line(entry(src=ESC), entry(dst=ESC), extra=("--growers",))),
        Case("top0-escape-line", "--top 0 (every row shown) with hostile keys",
             _line(entry(src=ESC), entry(dst=BIDI + "x"), entry(src="=1+1"),
                   extra=("--top", "0"))),
    ]  # fmt: skip
    for name, cell in FORMULAS.items():
        out.append(Case(f"csv-{name}-src", f"a source a spreadsheet would run: {cell!r}",
                        _line(entry(src=cell), entry(dst=cell)), check=bad_lines(2)))  # fmt: skip
    out = [replace(c, check=snat_skips(SNAT_SKIPS[c.id])) if c.id in SNAT_SKIPS else c for c in out]
    return [replace(c, check=bad_lines(INVALID[c.id])) if c.id in INVALID else c for c in out]


def _kmsg(*messages: str, seq: int = 500) -> bytes:
    return b"".join(
        f"4,{seq + i},15840896639,-;{m}\n".encode("utf-8", "surrogateescape")
        for i, m in enumerate(messages)
    )


FULL = "nf_conntrack: nf_conntrack: table full in netns 4026532384, dropping packet"


def kmsg_cases() -> list:
    """Kernel-log records as a file standing in for /dev/kmsg."""
    return [
        Case("kmsg-escape", "a table-full record carrying escape sequences",
             tree_case({KMSG: _kmsg(FULL, ESC + FULL + ESC + BIDI, "net_ratelimit" + ESC
                                    + ": 5 callbacks suppressed")})),
        Case("kmsg-netns-5000-digits", "table full in netns <5000 digits>",
             tree_case({KMSG: _kmsg(f"nf_conntrack: table full in netns {D5000}, dropping packet")})),
        Case("kmsg-suppressed-5000-digits", "net_ratelimit: <5000 digits> callbacks suppressed",
             tree_case({KMSG: _kmsg(f"net_ratelimit: {D5000} callbacks suppressed")})),
        Case("kmsg-seq-huge", "record sequence 2**70 and a negative timestamp",
             tree_case({KMSG: f"4,{2**70},-5,-;{FULL}\n".encode()})),
        Case("kmsg-binary", "64 kB of random bytes", tree_case({KMSG: random_bytes(65536, 9)})),
        Case("kmsg-no-newline-8mb", "one 8 MB record without a newline",
             tree_case({KMSG: lambda: b"4,1,1,-;" + b"x" * (8 << 20)})),
        Case("kmsg-100k-records", "100,000 table-full records", tree_case({KMSG: lambda: _kmsg(*[FULL] * 100_000)})),
        Case("kmsg-invalid-utf8", "a record with invalid UTF-8 and a bidi override",
             tree_case({KMSG: _kmsg("nf_conntrack: \udcff\udcfe" + BIDI + " table full, dropping packet")})),
    ]  # fmt: skip
