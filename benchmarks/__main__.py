"""``python -m benchmarks``: run every comparison, each in its own process, print the table.

``--quick`` is a smoke run (fewer requests and repetitions; the figures are not the ones to
quote). ``--only small_gets,decode_page`` picks comparisons. ``--profile NAME`` prints a
cProfile of that comparison's SDK side instead of timing it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import time

from .report import Row, environment, print_table

COMPARISONS = (
    "small_gets",
    "decode_page",
    "request_counts",
    "iter_calendar",
    "memory",
    "watch",
    "bridge",
)
_MARK = "BENCHMARK-ROWS "


def _child(name: str, quick: bool) -> None:
    module = importlib.import_module(f"benchmarks.{name}")
    rows: list[Row] = module.run(quick=quick)
    print(_MARK + json.dumps([row.to_json() for row in rows]), flush=True)


def _run_in_process(name: str, quick: bool) -> list[Row]:
    command = [sys.executable, "-m", "benchmarks", "--child", name]
    if quick:
        command.append("--quick")
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    elapsed = time.perf_counter() - started
    marked = [line for line in done.stdout.splitlines() if line.startswith(_MARK)]
    if done.returncode != 0 or not marked:
        sys.stderr.write(done.stdout)
        raise SystemExit(f"benchmark {name} failed (exit status {done.returncode})")
    print(f"  {name}: {elapsed:.0f} s", file=sys.stderr, flush=True)
    return [Row.from_json(item) for item in json.loads(marked[-1][len(_MARK) :])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--only", default=",".join(COMPARISONS), help="comparisons to run")
    parser.add_argument("--profile", choices=COMPARISONS, help="cProfile one SDK side")
    parser.add_argument("--child", choices=COMPARISONS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.quick)
        return 0
    if args.profile:
        importlib.import_module(f"benchmarks.{args.profile}").profile(quick=args.quick)
        return 0
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(names) - set(COMPARISONS))
    if unknown:
        parser.error(f"unknown comparison(s): {', '.join(unknown)}")
    print("\n".join(environment()), flush=True)
    print(f"running: {', '.join(names)}{' (quick)' if args.quick else ''}", file=sys.stderr)
    rows: list[Row] = []
    started = time.perf_counter()
    for name in names:
        rows += _run_in_process(name, args.quick)
    print(f"total: {time.perf_counter() - started:.0f} s\n", flush=True)
    print_table(rows)
    # A missed target is reported in the table, not as a failure: `make bench` measures.
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
