"""Run every ``benchmarks/bench_*.py`` and print its figures: medians, spread, targets.

    uv run python benchmarks/run.py                 # all of them
    uv run python benchmarks/run.py audit           # those whose name contains "audit"
    uv run python benchmarks/run.py --repeats 3 --scale 0.1   # a quick look

Each ``bench_*.py`` is a script (it also runs alone) with a ``main()`` that measures
with the helpers below and reports through :func:`rate` and :func:`ratio`. Each runs in
its own process, so one benchmark's memory and files do not colour the next. Figures
are medians over ``--repeats`` runs, with the min and max beside them; a figure with a
target also prints how far above or below it the median is.

A new benchmark needs nothing but a ``bench_NAME.py`` file here: import the helpers
with ``from run import rate, ratio, scaled, timed`` and call them from ``main()``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPEATS = int(os.environ.get("CASEVIEW_BENCH_REPEATS", "5"))
SCALE = float(os.environ.get("CASEVIEW_BENCH_SCALE", "1"))
_RESULTS = os.environ.get("CASEVIEW_BENCH_RESULTS")  # where run.py collects figures
WIDTH = 52


# --- helpers for bench_*.py ---------------------------------------------------------


def scaled(count: int) -> int:
    """``count`` times ``--scale`` (at least 1): the full size by default."""
    return max(1, round(count * SCALE))


def timed(
    run: Callable[[], object],
    *,
    setup: Callable[[], object] | None = None,
    repeats: int | None = None,
    cpu: list[float] | None = None,
) -> list[float]:
    """Wall-clock seconds of ``run()``, ``repeats`` times; ``setup()`` is not timed.

    Given a ``cpu`` list, the same runs' CPU seconds in this process go there too: on a
    busy machine they show what the code costs, apart from waiting for a CPU.
    """
    seconds = []
    for _ in range(repeats or REPEATS):
        if setup is not None:
            setup()
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        seconds.append(time.perf_counter() - start)
        if cpu is not None:
            cpu.append(time.process_time() - start_cpu)
    return seconds


def rate(
    name: str,
    count: int,
    seconds: Sequence[float],
    *,
    unit: str = "events/s",
    target: float | None = None,
) -> float:
    """Print ``count / seconds`` as median (min, max); with a target, the ratio to it."""
    rates = sorted(count / s for s in seconds)
    median = statistics.median(rates)
    print(
        f"  {name:<{WIDTH}} {median:>12,.0f} {unit}   "
        f"(median of {len(rates)}; min {rates[0]:,.0f}, max {rates[-1]:,.0f}; "
        f"{count:,} in {statistics.median(seconds):.3f} s)"
    )
    verdict = None
    if target is not None:
        verdict = median / target
        print(
            f"  {'':<{WIDTH}} target >= {target:,.0f} {unit}: median is {verdict:.2f}x "
            f"the target: {'MET' if verdict >= 1 else 'NOT MET'}"
        )
    _collect({"figure": name, "median": median, "unit": unit, "target": target})
    return median


def ratio(name: str, numerator: float, denominator: float, *, target: float | None = None) -> float:
    """Print and return ``numerator / denominator`` (of two medians); with a target, the
    ratio to it, as :func:`rate` does."""
    value = numerator / denominator
    print(f"  {name:<{WIDTH}} {value:>12.2f}x")
    if target is not None:
        print(
            f"  {'':<{WIDTH}} target >= {target:.2f}x: {value / target:.2f}x the target: "
            f"{'MET' if value >= target else 'NOT MET'}"
        )
    _collect({"figure": name, "median": value, "unit": "x", "target": target})
    return value


def _collect(figure: dict[str, object]) -> None:
    if _RESULTS:
        bench = Path(sys.argv[0]).stem.removeprefix("bench_")
        with open(_RESULTS, "a", encoding="utf-8") as out:
            out.write(json.dumps({"bench": bench, **figure}) + "\n")


# --- the runner ---------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="run only benchmarks whose name has this")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="runs per figure (5)")
    parser.add_argument("--scale", type=float, default=SCALE, help="size factor (1)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and stop")
    args = parser.parse_args(argv)

    found = sorted(HERE.glob("bench_*.py"))
    chosen = [f for f in found if not args.names or any(n in f.stem for n in args.names)]
    if args.list or not chosen:
        for f in found:
            print(f.stem.removeprefix("bench_"))
        return 0 if found and (args.list or not args.names) else 2

    print(
        f"Caseview benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs, {platform.platform()}"
    )
    print(f"Medians of {args.repeats} runs; scale {args.scale:g}.\n")
    failed = []
    with tempfile.TemporaryDirectory() as scratch:
        results = Path(scratch) / "results.jsonl"
        env = os.environ | {
            "CASEVIEW_BENCH_REPEATS": str(args.repeats),
            "CASEVIEW_BENCH_SCALE": str(args.scale),
            "CASEVIEW_BENCH_RESULTS": str(results),
        }
        for bench in chosen:
            print(f"== {bench.stem.removeprefix('bench_')}", flush=True)
            start = time.perf_counter()
            code = subprocess.call([sys.executable, str(bench)], env=env)
            print(f"   ({time.perf_counter() - start:.0f} s)\n", flush=True)
            if code != 0:
                failed.append(f"{bench.name} (exit {code})")
        figures = (
            [json.loads(line) for line in results.read_text("utf-8").splitlines()]
            if results.exists()
            else []
        )

    _summary(figures)
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
        return 1
    return 0


def _summary(figures: list[dict[str, Any]]) -> None:
    if not figures:
        return
    print("Summary (medians)")
    for f in figures:
        median = float(f["median"])
        value = f"{median:,.2f}x" if f["unit"] == "x" else f"{median:,.0f} {f['unit']}"
        line = f"  {f['bench']}: {f['figure']:<{WIDTH}} {value:>22}"
        if f["target"] is not None:
            target = float(f["target"])
            line += f"   {median / target:.2f}x target {'met' if median >= target else 'NOT met'}"
        print(line)


if __name__ == "__main__":
    sys.exit(main())
