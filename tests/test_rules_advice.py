"""Advice that names the rule to add: when it appears, the commands per backend with their
consequence, silence when the rule exists, and the unlimited (max 0) warning."""

from __future__ import annotations

import shlex
import subprocess
import sys

from test_rules import sample

from ctwatch.model.advice import advise
from ctwatch.model.rule_advice import backend_in_use, rule_advice
from ctwatch.model.rules import merge


def _nft():
    return merge((("nft", None, sample("nft_native.json")),))


def _legacy():
    return merge((("iptables-legacy", "ip", sample("iptables_legacy_v4.txt")),))


def test_udp_port_holding_the_table_gets_a_notrack_rule_for_nft():
    (item,) = rule_advice(
        ruleset=_nft(), backend="nft", entries=10_000, udp_ports=((5353, 9_000), (53, 10))
    )
    assert item.key == "notrack" and "5353" in item.title and "90.0%" in item.title
    lines = item.command.splitlines()
    assert lines[0] == "nft add table inet untracked"
    assert shlex.split(lines[1])[-1] == "{ type filter hook prerouting priority raw; }"
    assert "nft add rule inet untracked prerouting udp dport 5353 notrack" in lines
    assert "nft add rule inet untracked output udp sport 5353 notrack" in lines  # local replies
    assert "stateful rules" in item.reasoning and "NAT is not applied" in item.reasoning
    assert "0 means no limit" in item.reasoning  # the old max-0 trick, warned against


def test_notrack_commands_for_iptables_backends_and_namespaces():
    (item,) = rule_advice(
        ruleset=_legacy(),
        backend="iptables-legacy",
        entries=1000,
        udp_ports=((514, 800),),
        prefix=("ip", "netns", "exec", "lab 1"),
    )
    lines = item.command.splitlines()
    assert lines[0] == (
        "ip netns exec 'lab 1' iptables-legacy -t raw -I PREROUTING -p udp --dport 514 -j CT --notrack"
    )
    assert any(shlex.split(line)[4] == "ip6tables-legacy" for line in lines)
    (nft_item,) = rule_advice(
        ruleset=None, backend="iptables-nft", entries=1000, udp_ports=((514, 800),)
    )
    assert nft_item.command.startswith("iptables-nft -t raw")
    assert "could not be read" in nft_item.reasoning  # unknown ruleset: check by hand


def test_no_advice_when_the_notrack_rule_exists_or_the_port_is_small():
    # The captured ruleset untracks UDP 5003 in raw prerouting already.
    assert rule_advice(ruleset=_nft(), backend="nft", entries=1000, udp_ports=((5003, 900),)) == ()
    assert (
        rule_advice(
            ruleset=_legacy(), backend="iptables-legacy", entries=1000, udp_ports=((5003, 900),)
        )
        == ()
    )
    assert rule_advice(ruleset=_nft(), backend="nft", entries=1000, udp_ports=((53, 400),)) == ()
    assert rule_advice(ruleset=_nft(), backend="nft", entries=50, udp_ports=((53, 50),)) == ()


def test_half_open_flood_from_many_sources_gets_a_rate_limit():
    kwargs = dict(
        entries=20_000,
        states={"SYN_RECV": 15_000, "ESTABLISHED": 100},
        distinct_src=12_000,
        tcp_ports=((80, 15_100),),
    )
    (item,) = rule_advice(ruleset=_nft(), backend="nft", **kwargs)
    assert item.key == "limit_new" and "12,000 sources" in item.title
    assert item.command.splitlines()[-1] == (
        "nft add rule inet newlimit input tcp dport 80 ct state new limit rate over 200/second "
        "burst 200 packets drop"
    )
    assert "genuine new connections" in item.reasoning
    (ipt,) = rule_advice(ruleset=_legacy(), backend="iptables-legacy", **kwargs)
    assert ipt.command.splitlines()[0].startswith(
        "iptables-legacy -I INPUT -p tcp --dport 80 --syn"
    )
    assert "hashlimit" in ipt.command
    # One peer holding half-open entries is no flood: the timeout advice covers it.
    assert rule_advice(ruleset=_nft(), backend="nft", **{**kwargs, "distinct_src": 3}) == ()


def test_no_limit_advice_when_a_limit_rule_exists():
    head, tail = sample("iptables_legacy_v4.txt").rsplit("COMMIT\n", 1)
    text = (
        head
        + (
            "[0:0] -A INPUT -p tcp -m tcp --dport 80 --tcp-flags FIN,SYN,RST,ACK SYN -m conntrack "
            "--ctstate NEW -m hashlimit --hashlimit-above 200/sec -j DROP\nCOMMIT\n"
        )
        + tail
    )
    ruleset = merge((("iptables-legacy", "ip", text),))
    items = rule_advice(
        ruleset=ruleset,
        backend="iptables-legacy",
        entries=20_000,
        states={"SYN_RECV": 15_000},
        distinct_src=12_000,
    )
    assert items == ()


def test_backend_in_use_is_the_one_holding_rules():
    assert backend_in_use(_legacy(), ("nft",)) == "iptables-legacy"
    assert backend_in_use(_nft(), ("nft", "iptables-legacy")) == "nft"
    assert backend_in_use(merge(()), ("iptables-nft",)) == "iptables-nft"
    assert backend_in_use(None, ()) == "nft"


def test_max_zero_is_unlimited_and_said_first():
    a = advise(
        count=5000, maximum=0, buckets=65536, slab_objsize=320, ram_bytes=8 << 30, drop_rate=0.0
    )
    first = a.items[0]
    assert first.key == "max" and "unlimited" in first.title
    assert "0 means no limit" in first.reasoning and "kernel memory" in first.reasoning
    assert first.command == "sysctl -w net.netfilter.nf_conntrack_max=262144"


def test_cli_rules_options_are_refused_where_they_cannot_work():
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "ctwatch", *args], capture_output=True, text=True
        )

    live = run("--rules")
    assert live.returncode == 2 and "--rules needs --once" in live.stderr
    tree = run("--once", "--rules", "--root", "sample_proc/synflood")
    assert tree.returncode == 2 and "not a recording or --root tree" in tree.stderr
    assert "Traceback" not in live.stderr + tree.stderr


def test_a_table_with_max_zero_is_reported_unlimited(tmp_path):
    import json
    import os
    import shutil

    root = tmp_path / "tree"
    shutil.copytree(os.path.join("sample_proc", "calm"), root, symlinks=True)
    (root / "proc/sys/net/netfilter/nf_conntrack_max").write_text("0\n")

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "ctwatch", "--once", "--root", str(root), *args],
            capture_output=True,
            text=True,
        )

    text = run()
    assert text.returncode == 0 and "/ max unlimited" in text.stdout
    doc = json.loads(run("--json", "--rate-window", "0").stdout)
    assert doc["max"] == 0 and doc["fill"] is None
    assert "unlimited" in doc["advice"]["items"][0]["title"]
