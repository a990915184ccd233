"""Firewall rules on real captured outputs (tests/rules_samples/, from lab namespaces):
parsing, conntrack marks, iptables-nft's tables, rates and baseline, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest

from ctwatch.engine.rules import RulesWatch
from ctwatch.faces.report.rules import CSV_HEADER, rules_csv, rules_json
from ctwatch.model.rule_rates import counts, rule_rows, uncounted_chains
from ctwatch.model.rules import merge, parse_iptables_save, parse_nft_json
from ctwatch.sources.rules import NEEDS_ROOT, RulesOutput, RulesReader

SAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rules_samples")


def sample(name: str) -> str:
    with open(os.path.join(SAMPLES, name), encoding="utf-8") as f:
        return f.read()


def test_nft_rules_counters_and_texts():
    rules, chains, errors = parse_nft_json(sample("nft_native.json"))
    assert errors == ()
    by = {(r.table, r.chain, r.position): r for r in rules}
    first = by[("filt", "input", 1)]
    assert (first.family, first.handle, first.packets, first.bytes) == ("inet", 3, 17, 1562)
    assert first.text == "ct state established,related counter accept"
    assert first.conntrack
    svc = by[("filt", "input", 2)]
    assert svc.text == 'udp dport 5001 counter accept comment "udp svc"'
    assert (svc.packets, svc.bytes, svc.conntrack) == (6, 288, False)
    assert by[("filt", "input", 3)].text == "tcp dport { 80, 443 } ct state new counter accept"
    assert by[("filt", "input", 4)].packets is None  # no counter statement: unknown, not 0
    assert by[("rawt", "pre", 1)].text == "udp dport 5003 counter notrack"
    assert by[("rawt", "pre", 1)].conntrack and by[("rawt", "pre", 1)].packets == 5
    assert by[("nat", "post", 1)].text.endswith("counter masquerade")
    assert by[("nat", "out", 1)].text == "udp dport 5005 counter dnat to 127.0.0.1:5006"
    assert all(r.conntrack for r in rules if r.table == "nat")
    assert not by[("filt", "plain", 2)].conntrack


def test_nft_chain_without_counters_is_named():
    _, chains, _ = parse_nft_json(sample("nft_native.json"))
    plain = [c for c in chains if c.name == "plain"][0]
    assert (plain.rules, plain.counted, plain.hook, plain.policy) == (2, 0, "output", "accept")
    ruleset = merge((("nft", None, sample("nft_native.json")),))
    assert [c.name for c in uncounted_chains(ruleset)] == ["input", "plain"]
    assert [c.uncounted for c in uncounted_chains(ruleset)] == [1, 2]


def test_iptables_legacy_save_v4_and_v6():
    rules, chains, tables, incompatible = parse_iptables_save(
        sample("iptables_legacy_v4.txt"), "iptables-legacy", "ip"
    )
    assert tables == ("nat", "raw", "filter") and not incompatible
    by = {(r.table, r.chain, r.position): r for r in rules}
    notrack = by[("raw", "PREROUTING", 1)]
    assert notrack.text == "-p udp -m udp --dport 5003 -j CT --notrack"
    assert (notrack.packets, notrack.bytes, notrack.conntrack) == (5, 190, True)
    assert by[("raw", "OUTPUT", 1)].conntrack  # -j NOTRACK
    assert by[("nat", "POSTROUTING", 1)].conntrack  # NAT needs conntrack
    assert by[("filter", "INPUT", 1)].conntrack  # -m conntrack --ctstate
    assert not by[("filter", "INPUT", 2)].conntrack
    assert by[("filter", "INPUT", 3)].conntrack  # -m state --state NEW
    assert by[("filter", "custom", 1)].conntrack  # connlimit
    assert by[("filter", "INPUT", 4)].packets == 10
    pol = {(c.table, c.name): c for c in chains}
    assert (pol[("filter", "FORWARD")].policy, pol[("filter", "FORWARD")].packets) == ("DROP", 0)
    assert pol[("filter", "custom")].policy is None
    six, _, _, _ = parse_iptables_save(sample("ip6tables_legacy.txt"), "iptables-legacy", "ip6")
    assert {r.family for r in six} == {"ip6"} and len(six) == len(rules)


def test_iptables_nft_tables_are_not_counted_twice():
    outputs = (
        ("nft", None, sample("nft_iptables_nft.json")),
        ("iptables-nft", "ip", sample("iptables_nft_v4.txt")),
        ("iptables-nft", "ip6", sample("ip6tables_nft.txt")),
    )
    ruleset = merge(outputs)
    assert ruleset.backends == ("iptables-nft",)
    assert {r.backend for r in ruleset.rules} == {"iptables-nft"}
    assert len(ruleset.rules) == 16


def test_tables_iptables_nft_cannot_show_stay_nfts():
    text = sample("iptables_nft_incompatible.txt")
    rules, chains, tables, incompatible = parse_iptables_save(text, "iptables-nft", "ip")
    assert incompatible == {"nat"} and rules == () and chains == ()
    ruleset = merge((("nft", None, sample("nft_native.json")), ("iptables-nft", "ip", text)))
    assert ruleset.backends == ("nft",)
    assert [r.chain for r in ruleset.rules if r.table == "nat"] == ["post", "out"]


def test_outside_text_is_escaped_and_csv_cells_neutralised():
    doc = json.loads(sample("nft_native.json"))
    doc["nftables"][4]["rule"]["comment"] = "\x1b[2Jevil\u202e"
    doc["nftables"][2]["chain"]["name"] = "=cmd|calc"
    for item in doc["nftables"]:
        if "rule" in item and item["rule"]["chain"] == "input":
            item["rule"]["chain"] = "=cmd|calc"
    ruleset = merge((("nft", None, json.dumps(doc)),))
    texts = " ".join(r.text for r in ruleset.rules)
    assert "\x1b" not in texts and "\\x1b[2Jevil\\u202e" in texts
    view = RulesWatch(_Fixed(ruleset_output=(("nft", None, json.dumps(doc)),))).poll()
    rows = list(csv.reader(io.StringIO(rules_csv(view))))
    assert tuple(rows[0]) == CSV_HEADER
    assert any(row[3] == "'=cmd|calc" for row in rows[1:])
    assert all(not row[5].startswith("-") for row in rows[1:])


def test_bad_output_is_an_error_not_a_crash():
    assert parse_nft_json("not json")[2][0].startswith("nft -j: not JSON")
    assert parse_nft_json('{"nftables": 3}')[2] == ("nft -j: no nftables list in its output",)
    weird = (
        '{"nftables": [{"rule": {"expr": [{"x": 1, "y": 2}, 7, {"jump": 3}]}}, [], {"chain": 1}]}'
    )
    rules, _, errors = parse_nft_json(weird)
    assert len(rules) == 1 and errors == ()
    rules, _, _, _ = parse_iptables_save("[x:y] -A\n-A\n[1:2]\n*\n:\n", "iptables-legacy", "ip")
    assert len(rules) <= 1


def _ruleset(packets: int, size: int):
    text = sample("iptables_legacy_v4.txt").replace(
        "[5:190] -A PREROUTING", f"[{packets}:{size}] -A PREROUTING"
    )
    return merge((("iptables-legacy", "ip", text),))


def test_rates_and_counts_since_the_baseline():
    first, second = _ruleset(5, 190), _ruleset(25, 990)
    rows = rule_rows(second, counts(first), 2.0, counts(first), "pps")
    top = rows[0]
    assert top.rule.chain == "PREROUTING" and top.pps == 10.0 and top.bps == 400.0
    assert (top.packets, top.bytes) == (20, 800)
    assert all(r.pps == 0.0 for r in rows[1:])
    # A counter that went down (iptables -Z, the rule replaced) counts from zero again.
    rows = rule_rows(_ruleset(3, 100), counts(second), 2.0, counts(first), "position")
    pre = [r for r in rows if r.rule.chain == "PREROUTING"][0]
    assert pre.pps is None and pre.packets == 3
    assert [r.rule.table for r in rows][:2] == ["nat", "raw"]  # as the kernel holds them


class _Fixed:
    """A reader that returns fixed outputs, one per read() from a list when given."""

    netns = None

    def __init__(self, ruleset_output=(), sequence=None, denied=False):
        self.sequence = list(sequence or [])
        self.outputs = ruleset_output
        self.denied = denied

    def read(self):
        outputs = self.sequence.pop(0) if self.sequence else self.outputs
        errors = (NEEDS_ROOT,) if self.denied else ()
        return RulesOutput(outputs, errors, self.denied, ("nft",))

    def close(self):
        pass


class _Clock:
    def __init__(self):
        self.t = 100.0

    def monotonic(self):
        return self.t

    def wall(self):
        return 1e9 + self.t

    def cpu(self):
        return 0.0


def test_watch_baseline_resets_in_ctwatch_only():
    texts = [
        sample("iptables_legacy_v4.txt").replace(
            "[5:190] -A PREROUTING", f"[{n}:{n * 38}] -A PREROUTING"
        )
        for n in (5, 15, 40)
    ]
    reader = _Fixed(sequence=[(("iptables-legacy", "ip", t),) for t in texts])
    clock = _Clock()
    watch = RulesWatch(reader, clock=clock)
    watch.poll(force=True)
    clock.t += 5
    view = watch.poll(force=True)
    assert view.rows[0].packets == 10 and view.rows[0].pps == 2.0
    watch.reset_baseline()  # z
    clock.t += 5
    view = watch.poll()
    top = view.rows[0]
    assert top.packets == 0 and top.rule.packets == 40  # the kernel's count untouched
    assert view.baseline_at == 1e9 + clock.t


def test_watch_reads_slower_when_a_read_costs_more():
    clock = _Clock()
    watch = RulesWatch(
        _Fixed(((("nft", None, sample("nft_native.json"))),)), cpu_budget=0.1, clock=clock
    )
    watch.active = True
    clock.cpu = lambda: 0.0
    watch.poll()
    assert watch.view.next_at == clock.t + 2.0  # cheap: the floor while shown
    cost = iter((0.0, 0.8))
    clock.cpu = lambda: next(cost)
    clock.t += 3
    watch.poll()
    # 0.8 s at half of a 10 % budget (the scans have the other half): 16 s.
    assert watch.view.next_at == pytest.approx(clock.t + 16.0)
    assert not watch.due(clock.t + 15.9) and watch.due(clock.t + 16.0)


def test_json_rules_fields_and_unknown_when_denied():
    view = RulesWatch(_Fixed(((("nft", None, sample("nft_native.json"))),))).poll()
    doc = rules_json(view)
    keys = {
        "backend",
        "family",
        "table",
        "chain",
        "position",
        "rule",
        "packets",
        "bytes",
        "conntrack",
    }
    assert keys <= set(doc["rules"][0])
    assert [r["packets"] for r in doc["rules"] if r["chain"] == "plain"] == [None, None]
    assert isinstance(doc["rules"][0]["conntrack"], bool)
    plain = [c for c in doc["rules_chains"] if c["chain"] == "plain"][0]
    assert plain["counted"] == 0 and plain["rules"] == 2
    denied = rules_json(RulesWatch(_Fixed(denied=True)).poll())
    assert denied["rules"] is None and denied["rules_errors"] == [NEEDS_ROOT]


def _fake_tools(tmp_path, outputs: dict, fail: dict = ()):
    paths = {}
    for name, text in outputs.items():
        data = tmp_path / f"{name}.out"
        data.write_text(text)
        tool = tmp_path / name
        tool.write_text(f"#!/bin/sh\ncat '{data}'\n")
        tool.chmod(0o755)
        paths[name] = str(tool)
    for name, message in dict(fail).items():
        tool = tmp_path / name
        tool.write_text(f"#!/bin/sh\necho '{message}' >&2\nexit 1\n")
        tool.chmod(0o755)
        paths[name] = str(tool)
    return paths.get


def test_reader_runs_each_installed_tool(tmp_path):
    which = _fake_tools(
        tmp_path,
        {
            "nft": sample("nft_native.json"),
            "iptables-legacy-save": sample("iptables_legacy_v4.txt"),
        },
        {"ip6tables-legacy-save": "ip6tables-legacy-save: Cannot initialize: broken"},
    )
    reader = RulesReader(which=which, privileged=lambda: True)
    assert reader.available == ("nft", "iptables-legacy")
    out = reader.read()
    assert [(b, f) for b, f, _ in out.outputs] == [("iptables-legacy", "ip"), ("nft", None)]
    assert len(out.errors) == 1 and "broken" in out.errors[0] and not out.denied
    assert len(merge(out.outputs).rules) == 10 + 8


def test_reader_without_privilege_says_what_is_needed_once(tmp_path):
    ran = tmp_path / "ran"
    tool = tmp_path / "nft"
    tool.write_text(f"#!/bin/sh\ntouch '{ran}'\n")
    tool.chmod(0o755)
    reader = RulesReader(
        which=lambda n: str(tool) if n == "nft" else None, privileged=lambda: False
    )
    out = reader.read()
    assert out.denied and out.errors == (NEEDS_ROOT,) and not ran.exists()  # nothing run
    refused = _fake_tools(tmp_path, {}, {"nft": "Error: Operation not permitted"})
    out = RulesReader(which=refused, privileged=lambda: True).read()
    assert out.denied and out.errors == (NEEDS_ROOT,)


FAKE_NFT = """#!/bin/sh
echo "$*" >> '{log}'
case "$*" in
  "-j list tables") cat '{tables}' ;;
  "-j -t list table inet mine") cat '{native}' ;;
  *) cat '{native}' ;;
esac
"""


def _managed_lab(tmp_path, tables: list):
    log = tmp_path / "calls"
    listing = {"nftables": [{"table": {"family": f, "name": n, "handle": 1}} for f, n in tables]}
    (tmp_path / "tables.json").write_text(json.dumps(listing))
    (tmp_path / "native.json").write_text(sample("nft_native.json"))
    nft = tmp_path / "nft"
    nft.write_text(
        FAKE_NFT.format(log=log, tables=tmp_path / "tables.json", native=tmp_path / "native.json")
    )
    nft.chmod(0o755)
    save = tmp_path / "iptables-nft-save"
    save.write_text(f"#!/bin/sh\ncat '{os.path.join(SAMPLES, 'iptables_nft_v4.txt')}'\n")
    save.chmod(0o755)
    tools = {"nft": str(nft), "iptables-nft-save": str(save)}
    return RulesReader(which=tools.get, privileged=lambda: True), log


def test_nft_lists_only_the_tables_iptables_nft_does_not_show(tmp_path):
    reader, log = _managed_lab(tmp_path, [("ip", "filter"), ("ip", "raw"), ("inet", "mine")])
    out = reader.read()
    assert log.read_text().splitlines() == ["-j list tables", "-j -t list table inet mine"]
    assert [b for b, _, _ in out.outputs] == ["iptables-nft", "nft"]


def test_a_table_name_nft_would_parse_as_commands_is_never_passed(tmp_path):
    reader, log = _managed_lab(tmp_path, [("ip", "filter"), ("inet", "x; flush ruleset")])
    reader.read()
    assert log.read_text().splitlines() == ["-j list tables", "-j -t list ruleset"]


def test_background_reading_never_holds_up_the_poll():
    import threading
    import time

    gate = threading.Event()
    calls = []

    class Slow(_Fixed):
        def read(self):
            calls.append(1)
            gate.wait(5)
            return super().read()

    clock = _Clock()
    watch = RulesWatch(
        Slow(((("nft", None, sample("nft_native.json"))),)), clock=clock, background=True
    )
    started = time.monotonic()
    assert watch.poll().taken_at is None  # returns at once: the reading runs beside
    assert watch.poll().taken_at is None and len(calls) == 1  # never two at a time
    assert time.monotonic() - started < 1.0
    gate.set()
    watch._reading.join(5)
    assert len(watch.poll().rows) == 10
    watch.close()


def test_following_a_namespace_that_cannot_be_entered_says_so():
    from types import SimpleNamespace

    from ctwatch.engine.rules import follow
    from ctwatch.engine.switching import Watched

    watch = RulesWatch(_Fixed(((("nft", None, sample("nft_native.json"))),)), clock=_Clock())
    assert follow(watch, Watched(name="initial", inode=1), None) == ()  # adopted as started
    assert watch.target == 1
    gone = SimpleNamespace(_path="/nonexistent/ns/net")
    follow(watch, Watched(name="lab", inode=2, netns="lab", home=False), gone)
    assert watch.target == 2 and "rules of lab" in watch.view.errors[0]


def test_text_report_has_rules_policies_and_uncounted_chains():
    from ctwatch.faces.report.rules import rules_text

    outputs = (
        ("nft", None, sample("nft_native.json")),
        ("iptables-legacy", "ip", sample("iptables_legacy_v4.txt")),
    )
    lines = rules_text(RulesWatch(_Fixed(outputs)).poll())
    text = "\n".join(lines)
    assert "18 firewall rules (nft, iptables-legacy)" in text
    assert "iptables-legacy/ip/filter/FORWARD  policy DROP" in text
    assert "no counter: 2 of 2 rules in nft inet filt plain (not shown as zero)" in text
    assert any(line.split()[:2] == ["-", "-"] for line in lines)  # no counter: a dash
