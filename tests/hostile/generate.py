"""The hostile corpus: `--list` the cases, `--build DIR` them, or `--run` them and print a checklist.

python tests/hostile/generate.py --list
python tests/hostile/generate.py --run [--format text] [ID ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

if __name__ == "__main__":  # run as a script: make `hostile` and the tests importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hostile.cli import cli_cases  # noqa: E402
from hostile.files import number_cases, special_cases  # noqa: E402
from hostile.lines import kmsg_cases, table_cases  # noqa: E402
from hostile.recordings import recording_cases  # noqa: E402

WORKERS = 3  # runs mostly wait (hangs, rate windows); the machine has 2 cores


def all_cases() -> list:
    cases = (
        special_cases()
        + number_cases()
        + table_cases()
        + kmsg_cases()
        + recording_cases()
        + cli_cases()
    )
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    return cases


def by_id() -> dict:
    return {c.id: c for c in all_cases()}


def run_all(pairs: list, base: str, workers: int = WORKERS, each=None) -> list:
    """[(case, fmt)] -> [(case, fmt, Run, problems)], run in parallel, in input order;
    `each(result)` is called as each run ends."""
    from hostile.check import problems, run_case

    def one(pair):
        case, fmt = pair
        run = run_case(case, fmt, os.path.join(base, f"{case.id}.{fmt}"))
        result = (case, fmt, run, problems(case, run))
        if each is not None:
            each(result)
        return result

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, pairs))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--list", action="store_true", help="print id and description of each case")
    p.add_argument("--build", metavar="DIR", help="build every case under DIR, print its argv")
    p.add_argument("--run", action="store_true", help="run cases and print what fails")
    p.add_argument("--format", action="append", choices=("text", "json", "csv"))
    p.add_argument("ids", nargs="*", help="only these case ids")
    args = p.parse_args(argv)
    cases = all_cases()
    if args.ids:
        known = by_id()
        cases = [known[i] for i in args.ids]
    if args.list:
        for c in cases:
            print(f"{c.id:32} {_safe(c.why)}")
        print(f"{len(cases)} cases")
    if args.build:
        for c in cases:
            where = os.path.join(args.build, c.id)
            os.makedirs(where, exist_ok=True)
            print(c.id, " ".join(_safe(a) for a in c.build(where))[:300])
    if args.run:
        return _run(cases, args.format or ["text", "json", "csv"])
    return 0


def _run(cases: list, formats: list) -> int:
    from hostile.check import kind

    def report(result) -> None:
        case, fmt, run, found = result
        if found:
            print(f"FAIL {case.id:32} {fmt:4} {run.seconds:5.1f}s {run.peak_rss_kib // 1024:5} MB  "
                  f"{kind(found)} | {_safe(found[0])[:110]}", flush=True)  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="ctwatch-hostile-") as base:
        results = run_all([(c, f) for c in cases for f in formats], base, each=report)
    failing = sum(1 for r in results if r[3])
    print(f"{failing} of {len(results)} runs fail ({len(cases)} cases)")
    return 1 if failing else 0


def _safe(text: str) -> str:
    return text.encode("unicode_escape", "backslashreplace").decode("ascii")


if __name__ == "__main__":
    sys.exit(main())
