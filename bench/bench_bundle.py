"""Benchmark of the portable bundle against the pip install (not a test), as root:

    .venv/bin/python bench/bench_bundle.py [-n 10]

In a real 80x24 pty read through a terminal emulator (bench_tui's), interleaved so both
see the same machine load, medians of N runs:
- process start to the TUI's first frame ("Step 1 of 8"), from the bundle's launcher
  (its ownership check as root included) and from the pip install's console script;
- process start to exit of `clb-wizard --help` (the CLI's start-up), both ways.
The bundle is this checkout's (built by packaging/build-bundle if missing or stale, via
tests/bundle/build.py). Target: the bundle's first frame no slower than the pip install's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_tui import environment, measure_first_frame, ms, wizard_argv

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.bundle import build  # noqa: E402
from tests.fixtures.roots import make_root  # noqa: E402


def time_help(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([*argv, "--help"], env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10, help="runs of each (default 10)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run as root: the bundle is built as root and its launcher checks as root",
              file=sys.stderr)
        return 2
    bundle = build.unpacked()
    env = environment()
    with tempfile.TemporaryDirectory(prefix="clb-bench.") as tmp:
        root = make_root(Path(tmp), "ubuntu-22.04")
        pip_argv = wizard_argv(root)
        preview = pip_argv[pip_argv.index("--root"):]
        ways = {"pip install": pip_argv[:pip_argv.index("--root")],
                "bundle": [str(bundle / "clb-wizard")]}
        for argv in ways.values():  # warm the page cache for both
            measure_first_frame([*argv, *preview], env)
        frames: dict[str, list[float]] = {way: [] for way in ways}
        helps: dict[str, list[float]] = {way: [] for way in ways}
        for _ in range(args.n):
            for way, argv in ways.items():
                frames[way].append(measure_first_frame([*argv, *preview], env))
                helps[way].append(time_help(argv, env))
    frame = {way: statistics.median(v) for way, v in frames.items()}
    start = {way: statistics.median(v) for way, v in helps.items()}
    print(f"runs: {args.n} each, interleaved; {os.cpu_count()} CPUs; bundle {bundle}")
    for way in ways:
        print(f"first frame, {way:<12} {ms(frame[way])}   --help to exit {ms(start[way])}")
    print(f"ratio bundle/pip, first frame: {frame['bundle'] / frame['pip install']:5.2f}x "
          "(target <= 1.00x)")
    print(f"ratio bundle/pip, --help:      {start['bundle'] / start['pip install']:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
