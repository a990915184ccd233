"""Builds the sample_proc/ trees: real kernel files copied out of lab namespaces (run as root).

    python tests/capture_samples.py [calm] [synflood] [mixed] [legacy-centos5]

Each tree mirrors `/`, so `ctwatch --once --root sample_proc/NAME` reads it. The legacy
tree is written from the documented 2.6.18 format (write_legacy_tree): no such kernel
runs here.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lab import Lab, global_conntrack_max, lab_unavailable_reason  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(REPO, "sample_proc")
META = os.path.join(SAMPLES, "captures.json")
NF = "/proc/sys/net/netfilter"
NF_SETTINGS = ("count", "max", "buckets", "acct", "timestamp", "checksum")
SYNFLOOD_MAX = 2048
FLOOD_SOURCES = "127.0.10.1,127.0.10.2,127.0.10.3,127.0.10.4"

# Run inside the namespace: every file in one process, the count read before and after the
# table so a capture whose table moved underneath can be retried.
READER = r"""
import json, os, sys
nf = sys.argv[1]
names = [n for n in sorted(os.listdir(nf))
         if "timeout" in n or n.split("nf_conntrack_")[-1] in sys.argv[2].split(",")]
def read(path):
    with open(path) as f:
        return f.read()
out = {"before": read(nf + "/nf_conntrack_count")}
out["files"] = {"/proc/net/nf_conntrack": read("/proc/net/nf_conntrack"),
                "/proc/net/stat/nf_conntrack": read("/proc/net/stat/nf_conntrack")}
out["after"] = read(nf + "/nf_conntrack_count")
for n in names:
    out["files"][nf + "/" + n] = read(nf + "/" + n)
print(json.dumps(out))
"""


def global_files() -> dict:
    """Files that are the same in every namespace (read in ours)."""
    files = {}
    for path in ("/sys/module/nf_conntrack/parameters/hashsize", "/proc/sys/net/nf_conntrack_max"):
        with open(path) as f:
            files[path] = f.read()
    with open("/proc/slabinfo") as f:
        lines = f.read().splitlines(keepends=True)
    files["/proc/slabinfo"] = "".join(
        line for line in lines if line.startswith(("slabinfo", "#", "nf_conntrack "))
    )
    return files


def capture(lab: Lab, tries: int = 5) -> dict:
    """{absolute path: text} of one consistent moment of the lab's table."""
    for _ in range(tries):
        got = json.loads(lab.python(READER, NF, ",".join(NF_SETTINGS)).stdout)
        table = got["files"]["/proc/net/nf_conntrack"]
        lines = len(table.splitlines())
        if int(got["before"]) == int(got["after"]) == lines:
            got["files"][f"{NF}/nf_conntrack_count"] = f"{lines}\n"
            return {**got["files"], **global_files()}
        time.sleep(0.2)
    raise RuntimeError(f"table of {lab.name} kept changing during {tries} captures")


def write_tree(name: str, files: dict, extra: dict = None) -> str:
    root = os.path.join(SAMPLES, name)
    shutil.rmtree(root, ignore_errors=True)
    for path, text in {**files, **(extra or {})}.items():
        dest = os.path.join(root, path.lstrip("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "w") as f:
            f.write(text)
    return root


def kmsg_mark() -> int:
    """An fd on /dev/kmsg positioned at the end: what is logged from now on."""
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    os.lseek(fd, 0, os.SEEK_END)
    return fd


def kmsg_conntrack_records(fd: int) -> str:
    """The conntrack lines logged since kmsg_mark, as /dev/kmsg records."""
    keep = []
    while True:
        try:
            data = os.read(fd, 16384)
        except BlockingIOError:
            break
        except BrokenPipeError:
            continue
        if not data:
            break
        record = data.decode("utf-8", "replace").split("\n", 1)[0]
        message = record.partition(";")[2]
        if "conntrack" in message or "callbacks suppressed" in message:
            keep.append(record + "\n")
    os.close(fd)
    return "".join(keep)


def uptime_file() -> dict:
    with open("/proc/uptime") as f:
        return {"/proc/uptime": f.read()}


def clients(prefix: str, n: int) -> str:
    return ",".join(f"{prefix}.{i}" for i in range(1, n + 1))


def build_calm() -> str:
    """A web server on a quiet day, kernel default timeouts."""
    with Lab("ctwsample") as lab:
        web = clients("127.0.1", 30)
        lab.traffic_bg(
            "hold-tcp", "--n", "180", "--port", "443", "--src", web, "--time-wait", "120"
        )
        lab.traffic_bg("hold-tcp", "--n", "60", "--port", "80", "--src", web)
        lab.traffic_bg("hold-tcp", "--n", "3", "--port", "22", "--src", "127.0.2.1")
        lab.traffic_bg("hold-tcp", "--n", "20", "--port", "5432", "--dst", "127.0.0.20")
        lab.traffic("udp", "--n", "40", "--port", "53", "--dst", "127.0.0.53", "--echo")
        lab.traffic("icmp", "--n", "2")
        write_tree("calm", capture(lab))
    return (
        "a web server: 263 held TCP connections (443, 80, 22 and a database on 5432) "
        "from 30 client addresses, 120 finished HTTPS requests (TIME_WAIT), 40 answered "
        "DNS queries to 127.0.0.53, 2 pings; kernel default timeouts"
    )


def build_synflood() -> str:
    """A SYN flood from four addresses that filled the table: count == max, drops."""
    with Lab("ctwsample") as lab:
        lab.sysctl("net.ipv4.tcp_synack_retries", 1)
        lab.drop_synack(80)
        lab.traffic_bg("hold-tcp", "--n", "60", "--port", "443", "--src", clients("127.0.1", 20))
        lab.traffic("udp", "--n", "20", "--port", "53", "--dst", "127.0.0.53", "--echo")
        mark = kmsg_mark()
        with global_conntrack_max(SYNFLOOD_MAX):
            flood = lab.traffic_bg(
                "flood", "--src", FLOOD_SOURCES, "--port", "80", "--listen", "--hold",
                "--n", "0", "--duration", "8", "--rate", "1500", "--backlog", "128",
            )  # fmt: skip
            deadline = time.monotonic() + 60
            while lab.count() < SYNFLOOD_MAX - 1 and time.monotonic() < deadline:
                time.sleep(0.5)
            # DNS lookups made during the flood: they top the table up to exactly max
            # (or are dropped themselves, which is the point of the sample).
            lab.fill_udp(40, timeout=30)
            files = capture(lab)
            flood.stop()
        kmsg = kmsg_conntrack_records(mark)
        count = int(files[f"{NF}/nf_conntrack_count"])
        if count != SYNFLOOD_MAX:
            raise RuntimeError(f"synflood: count {count} != max {SYNFLOOD_MAX}")
        write_tree("synflood", files, {"/dev/kmsg": kmsg, **uptime_file()})
    return (
        f"global nf_conntrack_max lowered to {SYNFLOOD_MAX} (restored after), 60 held "
        "HTTPS connections and 20 DNS queries, then raw SYNs with spoofed sources "
        f"{FLOOD_SOURCES} to port 80 at 1500/s; the listener's SYN-ACKs are dropped after "
        "tracking (no spoofed source answers), so flows stay SYN_RECV; 40 DNS-like UDP "
        "sends at the end. Captured while the flood ran; dev/kmsg holds the real "
        "table-full lines the kernel logged (conntrack lines only)"
    )


def build_mixed() -> str:
    with Lab("ctwsample") as lab:
        lab.mixed(scale=5, long_lived=False)
        write_tree("mixed", capture(lab))
    return (
        "Lab.mixed(scale=5, long_lived=False): IPv4 and IPv6 (::1) TCP in ESTABLISHED, "
        "TIME_WAIT, SYN_SENT, SYN_RECV, CLOSE_WAIT, CLOSE; UDP unreplied, replied and "
        "ASSURED; ICMP and ICMPv6 echo; GRE v0 and v1 (PPTP keys); protocol 253 "
        "(unknown); hand-built SCTP (CLOSED and ESTABLISHED); UDP-Lite; ct mark 7 on "
        "port 5300; accounting on for the first flows, timestamps for later ones"
    )


# 2.6.18 (CentOS 5) ip_conntrack_standalone.c: "%-8s %u %ld " then state, tuples, flags,
# "mark=%u " (CONNTRACK_MARK), "secmark=%u " (CONNTRACK_SECMARK), "use=%u".
LEGACY_STATS_HEADER = (
    "entries  searched found new invalid ignore delete delete_list insert insert_failed "
    "drop early_drop icmp_error  expect_new expect_create expect_delete\n"
)
LEGACY_TIMEOUTS = {
    "tcp_timeout_syn_sent": 120, "tcp_timeout_syn_recv": 60,
    "tcp_timeout_established": 432000, "tcp_timeout_fin_wait": 120,
    "tcp_timeout_close_wait": 60, "tcp_timeout_last_ack": 30, "tcp_timeout_time_wait": 120,
    "tcp_timeout_close": 10, "tcp_timeout_max_retrans": 300, "udp_timeout": 30,
    "udp_timeout_stream": 180, "icmp_timeout": 30, "generic_timeout": 600,
}  # fmt: skip
LEGACY_SERVER = "10.0.0.10"


def _legacy_lines(rng: random.Random) -> list:
    def client() -> str:
        net = rng.choice(("192.0.2", "198.51.100", "203.0.113"))
        return f"{net}.{rng.randrange(1, 255)}"

    def tcp(state, timeout, src, dst, dport, flags="[ASSURED] "):
        sport = rng.randrange(1024, 65536)
        unreplied = "[UNREPLIED] " if state == "SYN_SENT" else ""
        return (
            f"tcp      6 {timeout} {state} src={src} dst={dst} sport={sport} dport={dport} "
            f"{unreplied}src={dst} dst={src} sport={dport} dport={sport} {flags}"
            "mark=0 secmark=0 use=1"
        )

    lines = []
    for _ in range(900):
        port = rng.choice((80, 80, 80, 443))
        lines.append(
            tcp("ESTABLISHED", rng.randrange(300000, 432000), client(), LEGACY_SERVER, port)
        )
    for _ in range(800):
        lines.append(tcp("TIME_WAIT", rng.randrange(0, 120), client(), LEGACY_SERVER, 80))
    for state, n, top in (("FIN_WAIT", 30, 120), ("CLOSE_WAIT", 12, 60), ("LAST_ACK", 6, 30)):
        lines += [tcp(state, rng.randrange(0, top), client(), LEGACY_SERVER, 80) for _ in range(n)]
    lines += [tcp("SYN_RECV", rng.randrange(0, 60), client(), LEGACY_SERVER, 80, "")
              for _ in range(40)]  # fmt: skip
    lines += [tcp("CLOSE", rng.randrange(0, 10), client(), LEGACY_SERVER, 80) for _ in range(8)]
    lines += [tcp("ESTABLISHED", 431999, "192.0.2.7", LEGACY_SERVER, 22) for _ in range(2)]
    lines += [tcp("ESTABLISHED", rng.randrange(400000, 432000), LEGACY_SERVER, client(), 25)
              for _ in range(20)]  # fmt: skip
    lines += [tcp("SYN_SENT", rng.randrange(0, 120), LEGACY_SERVER, client(), 25, "")
              for _ in range(5)]  # fmt: skip
    for i in range(300):
        sport = rng.randrange(1024, 65536)
        stream = i % 10 == 0
        flags = "[ASSURED] " if stream else ""
        timeout = rng.randrange(0, 180 if stream else 30)
        lines.append(
            f"udp      17 {timeout} src={LEGACY_SERVER} dst=10.0.0.2 sport={sport} dport=53 "
            f"src=10.0.0.2 dst={LEGACY_SERVER} sport=53 dport={sport} {flags}"
            "mark=0 secmark=0 use=1"
        )
    lines.append(
        f"udp      17 151 src={LEGACY_SERVER} dst=10.0.0.3 sport=123 dport=123 src=10.0.0.3 "
        f"dst={LEGACY_SERVER} sport=123 dport=123 [ASSURED] mark=0 secmark=0 use=1"
    )
    for i in range(10):
        src, ident = client(), rng.randrange(1, 65536)
        unreplied = "[UNREPLIED] " if i < 3 else ""
        lines.append(
            f"icmp     1 {rng.randrange(0, 30)} src={src} dst={LEGACY_SERVER} type=8 code=0 "
            f"id={ident} {unreplied}src={LEGACY_SERVER} dst={src} type=0 code=0 id={ident} "
            "mark=0 secmark=0 use=1"
        )
    rng.shuffle(lines)  # the kernel prints in hash-bucket order
    return lines


def write_legacy_tree(root: str) -> str:
    """A CentOS 5 (2.6.18, ip_conntrack) web and mail server, 512 MB RAM, written by hand."""
    rng = random.Random(5)
    lines = _legacy_lines(rng)
    count, cpus = len(lines), 2
    per_cpu = [
        [count, 0, rng.randrange(10**6, 10**7), rng.randrange(10**5, 10**6), 812, 40211,
         rng.randrange(10**5, 10**6), 0, rng.randrange(10**5, 10**6), 0, 0, 0, 3, 0, 0, 0]
        for _ in range(cpus)
    ]  # fmt: skip

    def hexes(values) -> str:
        return " ".join(f"{v:08x}" for v in values)

    # The kernel's row format: two spaces after entries and before expect_new, one trailing.
    stats = LEGACY_STATS_HEADER + "".join(
        f"{hexes(row[:1])}  {hexes(row[1:13])}  {hexes(row[13:])} \n" for row in per_cpu
    )
    nf = "/proc/sys/net/ipv4/netfilter"
    files = {
        "/proc/net/ip_conntrack": "\n".join(lines) + "\n",
        "/proc/net/stat/ip_conntrack": stats,
        f"{nf}/ip_conntrack_count": f"{count}\n",
        f"{nf}/ip_conntrack_max": "32768\n",
        f"{nf}/ip_conntrack_buckets": "4096\n",
        "/proc/sys/net/ipv4/ip_conntrack_max": "32768\n",
        "/sys/module/ip_conntrack/parameters/hashsize": "4096\n",
        "/proc/slabinfo": (
            "slabinfo - version: 2.1\n# name            <active_objs> <num_objs> <objsize> "
            "<objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : "
            "slabdata <active_slabs> <num_slabs> <sharedavail>\n"
            f"ip_conntrack        {count}   {count + 157}    304   13    1 : tunables   54   27"
            f"    8 : slabdata    {(count + 157) // 13}    {(count + 157) // 13}      0\n"
        ),
        **{f"{nf}/ip_conntrack_{k}": f"{v}\n" for k, v in LEGACY_TIMEOUTS.items()},
    }
    write_tree(os.path.basename(root), files)
    return (
        "written by hand (tests/capture_samples.py write_legacy_tree, seeded random) from "
        "the 2.6.18 ip_conntrack format: no l3 columns, mark= and secmark=, no accounting; "
        "the 16-column stats header of kernels up to 2.6.34; RFC 5737 client addresses"
    )


def check(name: str) -> dict:
    """--once --json on the tree; bad_lines must be 0 and count == entries."""
    proc = subprocess.run(
        [sys.executable, "-m", "ctwatch", "--once", "--json", "--root", f"sample_proc/{name}"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{name}: ctwatch failed: {proc.stderr.strip()}")
    report = json.loads(proc.stdout)
    if report["bad_lines"] != 0 or report["count"] != report["entries"]:
        raise RuntimeError(
            f"{name}: bad_lines={report['bad_lines']} count={report['count']} "
            f"entries={report['entries']}"
        )
    return report


BUILDERS = {
    "calm": build_calm,
    "synflood": build_synflood,
    "mixed": build_mixed,
    "legacy-centos5": lambda: write_legacy_tree(os.path.join(SAMPLES, "legacy-centos5")),
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("trees", nargs="*", metavar="TREE", help=", ".join(BUILDERS) + " (default all)")
    args = p.parse_args(argv)
    unknown = [t for t in args.trees if t not in BUILDERS]
    if unknown:
        p.error(f"unknown tree {unknown[0]!r} (one of {', '.join(BUILDERS)})")
    args.trees = args.trees or list(BUILDERS)
    live = [t for t in args.trees if t != "legacy-centos5"]
    reason = lab_unavailable_reason() if live else None
    if reason:
        print(f"capture_samples: lab unavailable: {reason}", file=sys.stderr)
        return 1
    meta = {}
    if os.path.exists(META):
        with open(META) as f:
            meta = json.load(f)
    for name in args.trees:
        how = BUILDERS[name]()
        report = check(name)
        meta[name] = {
            "how": how,
            "kernel": None if name == "legacy-centos5" else platform.release(),
            "date": datetime.date.today().isoformat(),
            "count": report["count"],
            "max": report["max"],
            "by_state": report["by_state"],
            "by_proto": report["by_proto"],
        }
        print(f"{name}: count {report['count']} / max {report['max']}, {report['by_proto']}")
    with open(META, "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
