"""Hostile command-line values and paths (section 7)."""

from __future__ import annotations

import os
import signal

from hostile.build import BIDI, ESC, TABLE, Case, entry, tree, tree_case

USAGE = frozenset({2})


def _calm(*args: str):
    return tree_case({}, *args)


def _distinct_table() -> bytes:
    """5,000 distinct sources and destinations: --top 0 output far beyond a pipe's 64 kB."""
    return b"".join(
        entry(src=f"10.{i // 250}.{i % 250}.1", dst=f"172.16.{i // 250}.{i % 250}") + b"\n"
        for i in range(5000)
    )


def _tree_at(name: str):
    def build(workdir: str) -> list:
        where = os.path.join(workdir, name)
        os.makedirs(where)
        return ["--root", tree(where)]

    return build


def _missing_root(workdir: str) -> list:
    return ["--root", os.path.join(workdir, f"nowhere{ESC}{BIDI}")]


def cli_cases() -> list:
    out = [
        Case("dport-superscript", "--dport ¹ (isdigit() says yes, int() says no)",
             _calm("--dport", "\u00b9"), USAGE),
        Case("dport-5000-digits", "--dport with 5000 digits", _calm("--dport", "4" * 5000), USAGE),
        Case("dport-neg", "--dport -1", _calm("--dport=-1"), USAGE),
        Case("dport-65536", "--dport 65536", _calm("--dport", "65536"), USAGE),
        Case("dport-escape", "--dport holding escape sequences", _calm("--dport", ESC), USAGE),
        Case("interval-inf", "--interval inf", _calm("--interval", "inf"), USAGE),
        Case("interval-nan", "--interval nan", _calm("--interval", "nan"), USAGE),
        Case("interval-neg", "--interval -1", _calm("--interval=-1"), USAGE),
        Case("rate-window-inf", "--rate-window inf (today: a traceback from time.sleep)",
             _calm("--rate-window", "inf")),
        Case("rate-window-nan", "--rate-window nan", _calm("--rate-window", "nan")),
        Case("rate-window-neg", "--rate-window -1", _calm("--rate-window=-1")),
        Case("rate-window-1e308", "--rate-window 1e308", _calm("--rate-window", "1e308")),
        Case("state-bogus", "--state bogus (today: exit 0 with 0 entries)",
             _calm("--state", "bogus"), USAGE),
        Case("state-escape", "--state holding escape sequences (echoed in the filter line)",
             _calm("--state", ESC), USAGE),
        Case("state-invalid-utf8", "--state with a byte that is not UTF-8",
             _calm("--state", "\udcff"), USAGE),
        Case("top-neg", "--top -1", _calm("--top=-1"), USAGE),
        Case("top-1e30", "--top 10**30", _calm("--top", str(10**30))),
        Case("top-5000-digits", "--top with 5000 digits", _calm("--top", "9" * 5000), USAGE),
        Case("cpu-budget-nan", "--cpu-budget nan", _calm("--cpu-budget", "nan")),
        Case("cpu-budget-inf", "--cpu-budget inf", _calm("--cpu-budget", "inf")),
        Case("source-conntrack-with-root", "--source conntrack --root DIR: reads the host "
             "while claiming the tree", _calm("--source", "conntrack"), USAGE),
        Case("record-dev-full", "--record /dev/full", _calm("--record", "/dev/full")),
        Case("record-path-escape", "--record to a missing directory whose name holds "
             "escape sequences", _calm("--record", f"/nonexistent{ESC}/rec.gz")),
        Case("log-file-escape", "--log-file under a missing directory named with escapes",
             _calm("--log-file", f"/nonexistent{ESC}/log")),
        Case("export-dir-escape", "--export-dir named with escape sequences",
             _calm("--export-dir", f"/nonexistent{ESC}")),
        Case("root-missing-escape", "a missing --root whose name holds escape sequences",
             _missing_root),
        Case("root-escape-valid", "a real tree under a directory named with escape sequences "
             "(the label prints the path)", _tree_at(f"dir{ESC}{BIDI}")),
        Case("root-invalid-utf8", "a real tree under a directory whose name is not UTF-8",
             _tree_at("dir\udcff\udcfe")),
        Case("root-dev-zero", "--root /dev/zero", lambda d: ["--root", "/dev/zero"], frozenset({1, 2})),
        Case("netns-escape", "--netns named with escape sequences", _calm("--netns", ESC)),
        Case("netns-dev-zero", "--netns ../../../dev/zero (a path, not a name)",
             _calm("--netns", "../../../dev/zero")),
        Case("pid-neg", "--pid -1", _calm("--pid=-1")),
        Case("pid-huge", "--pid 10**30", _calm("--pid", str(10**30))),
        Case("src-escape", "--src holding escape sequences", _calm("--src", ESC), USAGE),
        Case("src-prefix-99", "--src 10.0.0.0/99", _calm("--src", "10.0.0.0/99"), USAGE),
        Case("proto-escape", "--proto holding escape sequences", _calm("--proto", ESC), USAGE),
        Case("proto-10000-times", "-p tcp given 10,000 times", _calm(*["-ptcp"] * 10000)),
    ]  # fmt: skip
    big = tree_case({TABLE: _distinct_table()}, "--top", "0")
    # Dying of SIGPIPE quietly is what other CLI tools do, so it counts as quiet too.
    out.append(Case("head-1-broken-pipe", "--top 0 | head -1: the reader goes away "
                    "(BrokenPipeError must exit quietly)", big,
                    frozenset({0, 1, 2, -signal.SIGPIPE}), head_only=True))  # fmt: skip
    return out
