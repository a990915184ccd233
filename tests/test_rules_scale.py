"""A 20,000-rule ruleset in each format parses at a cost relative to plain JSON decoding
(never an absolute time: the machine is shared): tests/bench_rules.py measures seconds."""

from __future__ import annotations

import json
import time

import pytest
import rules_gen

from ctwatch.model.rules import parse_iptables_save, parse_nft_json

RULES = 20_000
NFT_FACTOR = 5.0  # measured 1.8x json.loads (the decode is inside our parse)
IPTABLES_FACTOR = 1.5  # measured 0.3x decoding the same ruleset's nft JSON


def _best(fn, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        fn()
        best = min(best, time.process_time() - started)
    return best


def test_nft_json_parse_costs_a_small_multiple_of_json_loads():
    text = rules_gen.nft_json(RULES)
    rules, _, errors = parse_nft_json(text)
    assert len(rules) == RULES and errors == ()
    assert sum(r.conntrack for r in rules) == RULES // 10
    ours = _best(lambda: parse_nft_json(text))
    decode = _best(lambda: json.loads(text))
    assert ours <= NFT_FACTOR * decode, (ours, decode)


@pytest.mark.parametrize("six", [False, True], ids=["ipv4", "ipv6"])
def test_iptables_save_parse_costs_less_than_decoding_the_same_rules_as_json(six):
    text = rules_gen.iptables_save(RULES, six)
    family = "ip6" if six else "ip"
    rules, _, _, _ = parse_iptables_save(text, "iptables-legacy", family)
    assert len(rules) == RULES + rules_gen.CHAINS  # and the jumps from INPUT
    ours = _best(lambda: parse_iptables_save(text, "iptables-legacy", family))
    same_rules = rules_gen.nft_json(RULES)
    decode = _best(lambda: json.loads(same_rules))
    assert ours <= IPTABLES_FACTOR * decode, (ours, decode)
