"""Hostile files: FIFOs, devices, huge and sparse files, and impossible numbers (sections 3, 5)."""

from __future__ import annotations

from hostile.build import (
    BUCKETS,
    COUNT,
    ESC,
    HASHSIZE,
    KMSG,
    MAX,
    SLAB,
    STATS,
    SYSCTL,
    TABLE,
    Case,
    Dir,
    Fifo,
    Link,
    Sparse,
    calm_lines,
    random_bytes,
    tree_case,
)
from hostile.expect import absent, every, positive, unknown

GB = 1024**3
SMALL = {"count": COUNT, "max": MAX, "buckets": BUCKETS, "stats": STATS, "sysctl": SYSCTL,
         "slabinfo": SLAB, "kmsg": KMSG}  # fmt: skip


def special_cases() -> list:
    """Section 3: every read bounded in bytes, time and memory."""
    out = []
    for name, rel in [("table", TABLE), *SMALL.items()]:
        out.append(Case(f"{name}-fifo", f"a FIFO nobody writes to in place of {rel}",
                        tree_case({rel: Fifo()})))  # fmt: skip
        out.append(Case(f"{name}-dev-zero", f"{rel} is a link to /dev/zero (endless NULs)",
                        tree_case({rel: Link("/dev/zero")})))  # fmt: skip
    for name, rel in (("table", TABLE), ("count", COUNT), ("kmsg", KMSG), ("stats", STATS)):
        out.append(Case(f"{name}-dev-urandom", f"{rel} is a link to /dev/urandom (endless garbage)",
                        tree_case({rel: Link("/dev/urandom")})))  # fmt: skip
    out += [
        Case("table-sparse-50g", "the table is a sparse 50 GB file of NULs",
             tree_case({TABLE: Sparse(50 * GB)})),
        Case("table-sparse-50g-lines-first", "real lines, then a 50 GB hole",
             tree_case({TABLE: Sparse(50 * GB, b"".join(calm_lines()))})),
        Case("count-sparse-4g", "the count file is a sparse 4 GB file",
             tree_case({COUNT: Sparse(4 * GB, b"425")})),
        Case("stats-sparse-4g", "the stats file is a sparse 4 GB file after its header",
             tree_case({STATS: Sparse(4 * GB, b"entries drop\n")})),
        Case("table-oversize-for-max", "max is 100 but the table holds 60,000 lines (24 MB)",
             tree_case({TABLE: lambda: b"".join(calm_lines()) * 141, MAX: "100\n"})),
        Case("table-dir", "a directory in place of the table", tree_case({TABLE: Dir()})),
        Case("count-dir", "a directory in place of the count file", tree_case({COUNT: Dir()})),
        Case("kmsg-dir", "a directory in place of dev/kmsg", tree_case({KMSG: Dir()})),
        Case("table-dev-null", "the table is /dev/null (a device, empty)",
             tree_case({TABLE: Link("/dev/null")})),
        Case("table-dangling-link", "the table is a link to nowhere",
             tree_case({TABLE: Link("/nonexistent/\x1b]0;pwn\x07")})),
        Case("table-link-loop", "the table is a link to itself (ELOOP)",
             tree_case({TABLE: Link("nf_conntrack")})),
        Case("table-dev-tty", "the table is a link to /dev/tty (a terminal device)",
             tree_case({TABLE: Link("/dev/tty")})),
        Case("table-proc-self-fd0", "the table is stdin via /proc/self/fd/0",
             tree_case({TABLE: Link("/proc/self/fd/0")})),
        Case("count-dev-full", "the count file is /dev/full", tree_case({COUNT: Link("/dev/full")})),
    ]  # fmt: skip
    return out


BAD_NUMBERS = {
    "neg": "-5\n",
    "huge-2e70": f"{2**70}\n",
    "underscore": "4_25\n",
    "arabic-digits": "\u0664\u0662\u0665\n",
    "fullwidth-digits": "\uff14\uff12\uff15\n",
    "superscript": "\u00b9\n",
    "empty": "",
    "whitespace": " \t \n\n",
    "nul": "\0\0\0\n",
    "nul-after": "425\0garbage\n",
    "float": "4.25\n",
    "hex": "0x1a9\n",
    "nan": "nan\n",
    "5000-digits": "9" * 5000 + "\n",
    "escape": ESC + "\n",
    "bidi": "\u202e524\n",
    "two-lines": "425\n426\n",
    "bom": "\ufeff425\n",
    "crlf": "425\r\n",
    "invalid-utf8": b"4\xff\xfe5\n",
}


def number_cases() -> list:
    """Section 5: impossible or malformed numbers in the small files."""
    out = [
        Case("max-neg", "max is -1 (today: -42500% full, FULL dropping)",
             tree_case({MAX: "-1\n"}), check=every(unknown("max", "fill"), absent("-42500"))),
        Case("max-zero", "max is 0 (fill divides by it)", tree_case({MAX: "0\n"})),
        Case("buckets-neg", "buckets is -8 (today: grow the hash from -8)",
             tree_case({BUCKETS: "-8\n"}), check=every(unknown("buckets"), absent("from -8"))),
        Case("buckets-zero", "buckets is 0 (load factor divides by it)",
             tree_case({BUCKETS: "0\n"})),
        Case("hashsize-neg", "no buckets sysctl, hashsize is -8",
             tree_case({BUCKETS: Dir(), HASHSIZE: "-8\n"}), check=unknown("buckets")),
        Case("max-huge", "max is 2**70", tree_case({MAX: f"{2**70}\n"}), check=unknown("max")),
        Case("max-underscore", "max is 262_144", tree_case({MAX: "262_144\n"}),
             check=unknown("max")),
        Case("max-arabic-digits", "max in Arabic-Indic digits (int() accepts them)",
             tree_case({MAX: "\u0662\u0666\u0662\u0661\u0664\u0664\n"}), check=unknown("max")),
        Case("buckets-huge", "buckets is 2**64", tree_case({BUCKETS: f"{2**64}\n"}),
             check=unknown("buckets")),
        Case("buckets-underscore", "buckets is 65_536", tree_case({BUCKETS: "65_536\n"}),
             check=unknown("buckets")),
        Case("stats-neg", "stats: drop column is -1", tree_case({STATS: _stats(drop="-1")}),
             check=every(unknown("stats.drop"), absent("drop=-1"))),
        Case("stats-huge", "stats: drop column is 2**80 in hex",
             tree_case({STATS: _stats(drop=format(2**80, "x"))}), check=unknown("stats.drop")),
        Case("stats-escape-header", "stats header holds an escape sequence",
             tree_case({STATS: "entries drop " + ESC + "\n000001a9 00000001 00000000\n"})),
        Case("stats-5000-columns", "stats with 5,000 columns and 2 rows",
             tree_case({STATS: _wide_stats(5000)})),
        Case("stats-20000-cpus", "stats with 20,000 per-CPU rows",
             tree_case({STATS: _stats(rows=20000)})),
        Case("stats-underscore", "stats values with underscores (int(x, 16) accepts 0_1)",
             tree_case({STATS: _stats(drop="0_1")}), check=unknown("stats.drop")),
        Case("sysctl-neg", "the established timeout is -1", tree_case({SYSCTL: "-1\n"})),
        Case("sysctl-huge", "the established timeout is 2**70", tree_case({SYSCTL: f"{2**70}\n"})),
        Case("sysctl-escape", "the established timeout holds an escape sequence",
             tree_case({SYSCTL: ESC + "\n"})),
        Case("slab-objsize-neg", "slabinfo objsize is -1", tree_case({SLAB: _slab("-1")}),
             check=positive("advice.bytes_per_entry")),
        Case("slab-objsize-zero", "slabinfo objsize is 0", tree_case({SLAB: _slab("0")}),
             check=positive("advice.bytes_per_entry")),
        Case("slab-objsize-huge", "slabinfo objsize is 2**70", tree_case({SLAB: _slab(str(2**70))})),
        Case("slab-escape", "slabinfo's conntrack line holds an escape sequence",
             tree_case({SLAB: _slab(ESC)})),
        Case("slab-binary", "slabinfo is 64 kB of random bytes",
             tree_case({SLAB: random_bytes(65536, 3)})),
    ]  # fmt: skip
    for suffix, text in BAD_NUMBERS.items():
        # A BOM or CRLF around digits is odd but not impossible; the rest is no count.
        check = None if suffix in ("bom", "crlf") else unknown("count")
        out.append(Case(f"count-{suffix}", f"the count file holds {text!r:.60}",
                        tree_case({COUNT: text}), check=check))  # fmt: skip
    return out


def _stats(drop: str = "00000000", rows: int = 2) -> str:
    header = "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n"
    row = f"000001a9  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 {drop} 00000000 00000000  00000000 00000000 00000000 00000000\n"
    return header + row * rows


def _wide_stats(columns: int) -> str:
    header = "entries " + " ".join(f"c{i}" for i in range(columns)) + "\n"
    row = "000001a9 " + " ".join("00000001" for _ in range(columns)) + "\n"
    return header + row * 2


def _slab(objsize: str) -> str:
    return (
        "slabinfo - version: 2.1\n"
        f"nf_conntrack      249431 250032    {objsize}   16    1 : tunables    0    0    0 : slabdata  15627  15627      0\n"
    )
