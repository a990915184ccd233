"""Rule counters on a real kernel: known packets through nft, iptables-legacy (IPv4 and
IPv6) and iptables-nft rules in three lab namespaces must be counted exactly; the notrack
advice, applied as printed, stops the table growing for the flooded port."""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import shlex
import shutil
import subprocess
import sys

import pytest
from lab import MAX_LOCK, Lab, _read_max, lab_unavailable_reason

pytestmark = pytest.mark.lab

CTWATCH = [sys.executable, "-m", "ctwatch", "--once", "--json", "--rules", "--rate-window", "0"]
# Sends `count` UDP datagrams to each port; `flows` of them from a socket of their own
# (a new conntrack flow each: NAT rules see only a flow's first packet).
SEND = """
import socket, sys
family = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
addr = "::1" if sys.argv[1] == "6" else "127.0.0.1"
for spec in sys.argv[2:]:
    port, count, flows = (int(x) for x in spec.split(":"))
    for i in range(count):
        if i < flows:  # the rest go on the last flow's socket
            s = socket.socket(family, socket.SOCK_DGRAM)
        s.sendto(b"lab", (addr, port))
"""


@pytest.fixture(autouse=True)
def _lab_needed():
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(f"lab unavailable: {reason}")


def _need(*tools):
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (apt install iptables)")


def rules_of(lab: Lab, *extra: str) -> dict:
    proc = subprocess.run(
        CTWATCH + ["--netns", lab.name, *extra], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


def send(lab: Lab, six: bool, *specs: str) -> None:
    lab.python(SEND, "6" if six else "4", *specs)


def find(doc: dict, backend: str, family: str, table: str, chain: str, text: str) -> dict:
    found = [
        r
        for r in doc["rules"]
        if (r["backend"], r["family"], r["table"], r["chain"]) == (backend, family, table, chain)
        and text in r["rule"]
    ]
    assert len(found) == 1, (backend, family, table, chain, text, doc["rules"])
    return found[0]


NFT_RULESET = """
table inet rl {
  chain input { type filter hook input priority 0; policy accept; udp dport 7001 counter accept; }
  chain quiet { type filter hook input priority 1; policy accept; udp dport 7001 accept; }
  chain pre { type filter hook prerouting priority raw; udp dport 7002 counter notrack; }
  chain out { type filter hook output priority raw; udp dport 7002 counter notrack; }
}
table ip rlnat {
  chain out { type nat hook output priority -100; udp dport 7003 counter dnat to 127.0.0.1:7004; }
}
"""


def test_lab_nft_counters_equal_packets_sent():
    with Lab("ctwrl") as lab:
        lab.nft(NFT_RULESET)
        # A named set is listed tersely (nft -t): the rule names it, its elements stay out.
        block = ", ".join(f"10.1.{i // 250}.{i % 250 + 1}" for i in range(2000))
        lab.nft(
            "add set inet rl block { type ipv4_addr; }\n"
            f"add element inet rl block {{ {block} }}\n"
            "add rule inet rl input ip saddr @block counter drop\n"
        )
        send(lab, False, "7001:37:1", "7002:23:1", "7003:16:11")
        doc = rules_of(lab)
        assert find(doc, "nft", "inet", "rl", "input", "udp dport 7001")["packets"] == 37
        pre = find(doc, "nft", "inet", "rl", "pre", "notrack")
        out = find(doc, "nft", "inet", "rl", "out", "notrack")
        assert (pre["packets"], out["packets"]) == (23, 23)
        assert pre["conntrack"] and out["conntrack"]
        nat = find(doc, "nft", "ip", "rlnat", "out", "dnat to 127.0.0.1:7004")
        assert nat["packets"] == 11 and nat["conntrack"]  # NAT sees each flow's first packet
        assert find(doc, "nft", "inet", "rl", "input", "@block")["rule"] == (
            "ip saddr @block counter drop"
        )
        quiet = find(doc, "nft", "inet", "rl", "quiet", "udp dport 7001")
        assert quiet["packets"] is None and quiet["bytes"] is None and not quiet["conntrack"]
        chain = [c for c in doc["rules_chains"] if (c["table"], c["chain"]) == ("rl", "quiet")]
        assert chain[0]["rules"] == 1 and chain[0]["counted"] == 0
        # The CSV holds the same rows and counts.
        proc = subprocess.run(
            [sys.executable, "-m", "ctwatch", "--once", "--csv", "--rules", "--netns", lab.name],
            capture_output=True,
            text=True,
            timeout=120,
        )
        rows = list(csv.DictReader(io.StringIO(proc.stdout)))
        by_text = {(r["table"], r["chain"], r["rule"]): r for r in rows}
        assert by_text[("rl", "input", "udp dport 7001 counter accept")]["packets"] == "37"
        assert by_text[("rl", "quiet", "udp dport 7001 accept")]["packets"] == ""
        assert (
            by_text[("rlnat", "out", "udp dport 7003 counter dnat to 127.0.0.1:7004")]["conntrack"]
            == "true"
        )
        # The notrack rule did its work: no entry for port 7002 in the table.
        assert "dport=7002 " not in lab.cat("/proc/net/nf_conntrack")


def _iptables(lab: Lab, backend: str) -> None:
    for tool in (f"iptables-{backend}", f"ip6tables-{backend}"):
        lab.run([tool, "-A", "INPUT", "-p", "udp", "--dport", "7001", "-j", "ACCEPT"])
        lab.run([tool, "-t", "raw", "-A", "PREROUTING", "-p", "udp", "--dport", "7002",
                 "-j", "CT", "--notrack"])  # fmt: skip
        lab.run(
            [tool, "-t", "raw", "-A", "OUTPUT", "-p", "udp", "--dport", "7002", "-j", "NOTRACK"]
        )
        lab.run([tool, "-t", "nat", "-A", "OUTPUT", "-p", "udp", "--dport", "7003", "-j", "DNAT",
                 "--to-destination", "[::1]:7004" if tool.startswith("ip6") else "127.0.0.1:7004"])  # fmt: skip


def _check_iptables(doc: dict, backend: str) -> None:
    sent = {"ip": (37, 23, 11), "ip6": (19, 13, 7)}
    for family, (plain, untracked, flows) in sent.items():
        assert find(doc, backend, family, "filter", "INPUT", "--dport 7001")["packets"] == plain
        pre = find(doc, backend, family, "raw", "PREROUTING", "--dport 7002")
        out = find(doc, backend, family, "raw", "OUTPUT", "--dport 7002")
        assert (pre["packets"], out["packets"]) == (untracked, untracked)
        assert pre["conntrack"] and out["conntrack"]
        nat = find(doc, backend, family, "nat", "OUTPUT", "--dport 7003")
        assert nat["packets"] == flows and nat["conntrack"]
        policy = [
            c for c in doc["rules_chains"] if c["backend"] == backend and c["family"] == family
        ]
        assert any(c["chain"] == "INPUT" and c["policy"] == "ACCEPT" for c in policy)


def _send_both(lab: Lab) -> None:
    send(lab, False, "7001:37:1", "7002:23:1", "7003:16:11")
    send(lab, True, "7001:19:1", "7002:13:1", "7003:12:7")


def test_lab_iptables_legacy_v4_and_v6_counters_equal_packets_sent():
    _need("iptables-legacy-save", "ip6tables-legacy-save")
    with Lab("ctwrl") as lab:
        _iptables(lab, "legacy")
        _send_both(lab)
        doc = rules_of(lab)
        _check_iptables(doc, "iptables-legacy")
        assert "iptables-legacy" in {r["backend"] for r in doc["rules"]}


def test_lab_iptables_nft_counters_equal_packets_sent_and_count_once():
    _need("iptables-nft-save", "ip6tables-nft-save")
    with Lab("ctwrl") as lab:
        _iptables(lab, "nft")
        _send_both(lab)
        doc = rules_of(lab)
        _check_iptables(doc, "iptables-nft")
        # nft lists those tables too: they are reported once, as iptables-nft's.
        nft_tables = {(r["family"], r["table"]) for r in doc["rules"] if r["backend"] == "nft"}
        assert nft_tables == {("inet", "ctwatch_lab")}


def test_lab_rules_of_a_namespace_chosen_by_pid():
    with Lab("ctwrl") as lab:
        lab.nft(NFT_RULESET)
        holder = lab.popen(["sleep", "120"], what="sleep")
        send(lab, False, "7001:5:1")
        proc = subprocess.run(
            CTWATCH + ["--pid", str(holder.pid)], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert find(doc, "nft", "inet", "rl", "input", "udp dport 7001")["packets"] == 5


@contextlib.contextmanager
def max_held():
    """Other lab tests lower the global nf_conntrack_max for a few seconds, under a lock:
    a flood test holds that lock (the value untouched) so its table can grow."""
    with open(MAX_LOCK, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _read_max() < 20_000:
            pytest.skip(f"the global nf_conntrack_max is lowered ({_read_max()})")
        yield


FLOOD = """
import socket, sys
for i in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"q", ("127.0.0.1", 5353))
    s.close()
"""


def test_lab_notrack_advice_applied_stops_the_table_growing():
    with max_held(), Lab("ctwrl") as lab:
        lab.sysctl("net.netfilter.nf_conntrack_udp_timeout", 600)
        lab.python(FLOOD, "3000")
        grown = lab.count()
        assert grown >= 2000  # closed sockets free their ports: a few flows repeat
        doc = rules_of(lab)
        items = {i["key"]: i for i in doc["advice"]["items"]}
        assert "notrack" in items, [i["key"] for i in doc["advice"]["items"]]
        commands = items["notrack"]["command"].splitlines()
        assert all(line.startswith(f"ip netns exec {lab.name} nft ") for line in commands)
        for line in commands:  # exactly as printed: the lab is the check of the advice
            subprocess.run(shlex.split(line), check=True, capture_output=True, text=True)
        lab.python(FLOOD, "3000")
        assert lab.count() <= grown  # not one entry more for that traffic
        after = rules_of(lab)
        out = find(after, "nft", "inet", "untracked", "output", "udp dport 5353")
        assert out["packets"] is None  # the advised rule has no counter: unknown, not 0
        assert "notrack" not in {i["key"] for i in after["advice"]["items"]}


SPOOFED = ",".join(f"10.98.{i // 200}.{i % 200 + 1}" for i in range(400))
LISTEN = """
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080))
s.listen(4096)
print("ready", flush=True)
time.sleep(600)
"""


def test_lab_rate_limit_advice_applied_stops_a_spoofed_syn_flood():
    """The flood comes from another lab namespace over a veth pair made inside the two
    (loopback traffic is confirmed on output, before any input rule could drop it)."""
    with max_held(), Lab("ctwrv") as victim, Lab("ctwra") as attacker:
        subprocess.run(
            ["ip", "-n", attacker.name, "link", "add", "vA", "type", "veth",
             "peer", "name", "vV", "netns", victim.name],
            check=True,
        )  # fmt: skip
        attacker.run(["ip", "addr", "add", "10.99.0.1/24", "dev", "vA"])
        attacker.run(["ip", "link", "set", "vA", "up"])
        victim.run(["ip", "addr", "add", "10.99.0.2/24", "dev", "vV"])
        victim.run(["ip", "link", "set", "vV", "up"])
        victim.run(["ip", "route", "add", "default", "via", "10.99.0.1"])
        victim.long_timeouts()
        victim.popen([sys.executable, "-c", LISTEN], what="listener").wait_ready()
        flood = ("flood", "--n", "3000", "--port", "8080", "--dst", "10.99.0.2", "--src", SPOOFED)
        attacker.traffic(*flood)
        grown = victim.count()
        assert grown >= 2500
        doc = rules_of(victim)
        assert doc["by_state"].get("SYN_RECV", 0) >= 2500 and doc["distinct_src"] >= 100
        items = {i["key"]: i for i in doc["advice"]["items"]}
        assert "limit_new" in items, list(items)
        for line in items["limit_new"]["command"].splitlines():
            subprocess.run(shlex.split(line), check=True, capture_output=True, text=True)
        attacker.traffic(*flood)
        # 3000 more SYNs flat out: only the limit's burst and rate get an entry.
        assert victim.count() - grown <= 600, (grown, victim.count())
        after = rules_of(victim)
        assert "limit_new" not in {i["key"] for i in after["advice"]["items"]}


def test_lab_rules_follow_the_namespace_the_monitor_switches_to():
    import os

    from ctwatch.engine.rules import follow, open_rules
    from ctwatch.engine.switching import Watched
    from ctwatch.sources.netns import NetnsSource

    with Lab("ctwrl") as a, Lab("ctwrl") as b:
        a.nft("table inet only_a { chain c { udp dport 1111 counter accept; }; }")
        b.nft("table inet only_b { chain c { udp dport 2222 counter accept; }; }")
        ino = {lab.name: os.stat(f"/run/netns/{lab.name}").st_ino for lab in (a, b)}
        watch, prefix = open_rules(netns=a.name)
        source_b = NetnsSource(b.name)
        try:
            home = Watched(name=a.name, inode=ino[a.name], netns=a.name, home=True)
            assert follow(watch, home, None) == ("ip", "netns", "exec", a.name)
            tables = {r.rule.table for r in watch.poll(force=True).rows}
            assert "only_a" in tables and "only_b" not in tables
            away = Watched(name=b.name, inode=ino[b.name], netns=b.name, home=False)
            assert follow(watch, away, source_b) == ("ip", "netns", "exec", b.name)
            tables = {r.rule.table for r in watch.poll(force=True).rows}
            assert "only_b" in tables and "only_a" not in tables
            assert follow(watch, home, None) == ("ip", "netns", "exec", a.name)
            assert "only_a" in {r.rule.table for r in watch.poll(force=True).rows}
        finally:
            source_b.close()
            watch.close()
