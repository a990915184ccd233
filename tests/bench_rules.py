"""Benchmark (root): read + parse a generated 20,000-rule ruleset in each backend, in a lab
namespace, against the tool alone (`nft -j list ruleset`, `iptables-save -c`), same run.

    sudo .venv/bin/python tests/bench_rules.py [--rules 20000] [--runs 5]

CPU seconds count this process and its reaped children (the tools), medians of --runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import rules_gen  # noqa: E402
from lab import Lab, lab_unavailable_reason  # noqa: E402

from ctwatch.model.rules import merge  # noqa: E402
from ctwatch.sources.rules import RulesReader  # noqa: E402


def cpu() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def measure(fn, runs: int) -> tuple:
    """(median CPU seconds, median wall seconds, last result)."""
    cpus, walls, result = [], [], None
    for _ in range(runs):
        c, w = cpu(), time.monotonic()
        result = fn()
        cpus.append(cpu() - c)
        walls.append(time.monotonic() - w)
    return statistics.median(cpus), statistics.median(walls), result


def tool_alone(lab: Lab, argv: list):
    def run():
        # nsenter-free: `ip netns exec` adds its own cost, so the tool runs from a
        # thread of ours inside the namespace, exactly as ctwatch runs it.
        return reader._pool.submit(
            subprocess.run, argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        ).result()

    reader = RulesReader(netns=lab.name)
    return reader, run


def bench(lab: Lab, backend: str, tool: list, runs: int, expect: int) -> dict:
    reader, alone = tool_alone(lab, tool)
    try:
        t_cpu, t_wall, _ = measure(alone, runs)

        def ours():
            out = reader.read()
            return merge(out.outputs, out.errors)

        c_cpu, c_wall, ruleset = measure(ours, runs)
    finally:
        reader.close()
    held = sum(1 for r in ruleset.rules if r.backend == backend)
    assert held >= expect, (backend, held, ruleset.errors)
    return {
        "backend": backend,
        "rules": held,
        "tool": " ".join(tool),
        "tool_cpu": t_cpu,
        "tool_wall": t_wall,
        "ours_cpu": c_cpu,
        "ours_wall": c_wall,
    }


def cadence(lab: Lab, seconds: float, budget: float) -> dict:
    """The rules view's reading as the TUI does it: a poll every second, the view shown
    (RulesWatch.active), for `seconds`: how often the rules were read, at what CPU."""
    from ctwatch.engine.rules import RulesWatch

    watch = RulesWatch(RulesReader(netns=lab.name), cpu_budget=budget)
    watch.set_active(True)
    reads, last = 0, None
    c, w = cpu(), time.monotonic()
    try:
        while time.monotonic() - w < seconds:
            view = watch.poll()
            if view.taken_at != last:
                reads, last = reads + 1, view.taken_at
            time.sleep(1.0)
    finally:
        watch.close()
    used, wall = cpu() - c, time.monotonic() - w
    return {"reads": reads, "wall": wall, "share": used / wall, "cost": watch.view.cost}


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its reaped children (utime stime cutime cstime)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def tui(lab: Lab, seconds: float, budget: float) -> dict:
    """The installed ctwatch in tmux at 80x24 on the lab, the rules view open (`f`) for
    `seconds`: CPU of its whole process tree, conntrack polls and UI included."""
    ctwatch = os.path.join(os.path.dirname(sys.executable), "ctwatch")
    name = f"ctwbench-{os.getpid()}"
    command = f"exec {ctwatch} --netns {lab.name} --cpu-budget {budget:g} --log-file /dev/null"
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "80", "-y", "24", command],
                   check=True)  # fmt: skip
    try:
        pid = int(subprocess.run(["tmux", "list-panes", "-t", name, "-F", "#{pane_pid}"],
                                 capture_output=True, text=True, check=True).stdout.split()[0])  # fmt: skip
        time.sleep(5)  # start-up and the first scan
        subprocess.run(["tmux", "send-keys", "-t", name, "f"], check=True)
        time.sleep(3)
        c, w = tree_cpu(pid), time.monotonic()
        time.sleep(seconds)
        used, wall = tree_cpu(pid) - c, time.monotonic() - w
        screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", name],
                                capture_output=True, text=True).stdout  # fmt: skip
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
    return {"share": used / wall, "wall": wall, "shown": "rules by" in screen}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rules", type=int, default=20_000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--cadence", type=float, default=60.0, help="seconds of the view's loop")
    p.add_argument("--budget", type=float, default=10.0, help="--cpu-budget, percent")
    p.add_argument("--tui", type=float, default=60.0, help="seconds of the TUI in tmux (0: skip)")
    args = p.parse_args(argv)
    reason = lab_unavailable_reason()
    if reason:
        print(f"bench_rules: lab unavailable: {reason}", file=sys.stderr)
        return 1
    n = args.rules
    rows = []
    with Lab("ctwbench") as lab:
        lab.nft(rules_gen.nft_script(n))
        rows.append(bench(lab, "nft", ["nft", "-j", "-t", "list", "ruleset"], args.runs, n))
        paced = cadence(lab, args.cadence, args.budget / 100.0) if args.cadence > 0 else None
        shown = tui(lab, args.tui, args.budget) if args.tui > 0 else None
    with Lab("ctwbench") as lab:
        lab.run(["iptables-legacy-restore"], input=rules_gen.iptables_restore(n))
        rows.append(bench(lab, "iptables-legacy", ["iptables-legacy-save", "-c"], args.runs, n))
    with Lab("ctwbench") as lab:
        lab.run(["iptables-nft-restore"], input=rules_gen.iptables_restore(n))
        rows.append(bench(lab, "iptables-nft", ["iptables-nft-save", "-c"], args.runs, n))
    load = os.getloadavg()[0]
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, kernel {os.uname().release}, "
          f"load {load:.2f}, medians of {args.runs} runs")  # fmt: skip
    print(
        "| backend | rules | tool alone | CPU | wall | ctwatch read + parse (all tools) | CPU | wall | ratio (CPU) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['backend']} | {r['rules']:,} | `{r['tool']}` | {r['tool_cpu']:.2f} s | "
            f"{r['tool_wall']:.2f} s | RulesReader.read() + merge() | {r['ours_cpu']:.2f} s | "
            f"{r['ours_wall']:.2f} s | {r['ours_cpu'] / r['tool_cpu']:.2f}x |"
        )
    if paced is not None:
        print(
            f"\nrules view open {paced['wall']:.0f} s on the nft ruleset, a poll a second, "
            f"--cpu-budget {args.budget:g}: {paced['reads']} readings (one every "
            f"{paced['wall'] / max(1, paced['reads']):.1f} s), {paced['cost']:.2f} s CPU each, "
            f"{100 * paced['share']:.1f} % of a core in all"
        )
    if shown is not None:
        print(
            f"ctwatch in tmux 80x24, rules view open on it for {shown['wall']:.0f} s "
            f"(--cpu-budget {args.budget:g}): {100 * shown['share']:.1f} % of a core for the "
            f"whole process tree{'' if shown['shown'] else ' (the view did not show: check)'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
