"""Benchmark of the wizard's keystrokes (not a test): `.venv/bin/python bench/bench_visits.py`.

In a real 80x24 pty, the screen read through a terminal emulator (pyte), the wizard walks a
fixture Debian 12 root with --os (a preview: a dry run, no root needed) from launch to its
exit, twice:
- the first visit: one internal VIP on a host clb-wizard never touched;
- the second visit: the same host as clb-wizard left it with that VIP; one more VIP is
  added, and the Preview must keep both (nothing leaves service).
For each: the keys pressed besides the VIP's own characters (target for the first visit:
at most 10; a live run adds one, the Enter that answers "Apply this change now?"), and the
wall time from launch to exit, median of N.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_tui import Pty, environment, ms  # noqa: E402

from clb_wizard.service import Options, Service  # noqa: E402
from tests.fixtures.roots import apply_files, make_root  # noqa: E402

VIP1, VIP2 = "203.0.113.10", "203.0.113.11"
ENTER = "\r"

# (wait for this on screen, then send these keys); a str key of several characters is the
# VIP's text, not counted as keystrokes.
FIRST = [("Method", [ENTER]), ("Step 2 of 8", [ENTER]), ("Step 3 of 8", [VIP1, ENTER]),
         (f"Added {VIP1}", [ENTER]), ("Step 4 of 8", [ENTER]), ("Dry run >", [ENTER]),
         ("Dry run: nothing was changed.", [ENTER]), ("Step 7 of 8", [ENTER]),
         ("Step 8 of 8", [ENTER])]
SECOND = [("Ours", [ENTER]), ("Step 2 of 8", [ENTER]),
          ("already manages", [VIP2, ENTER]), (f"Added {VIP2}", [ENTER]),
          ("Step 4 of 8", [ENTER]), ("Dry run >", [ENTER]),
          ("Dry run: nothing was changed.", [ENTER]), ("Step 7 of 8", [ENTER]),
          ("Step 8 of 8", [ENTER])]


def visit(root: Path, script: list, env: dict[str, str]) -> tuple[int, float]:
    """Keys pressed (besides VIP text) and seconds from launch to exit."""
    start = time.perf_counter()
    pty = Pty([sys.executable, "-m", "clb_wizard", "--root", str(root), "--os", "debian-12"],
              env)
    keys = 0
    try:
        for needle, sends in script:
            pty.until(needle)
            for send in sends:
                pty.child.send(send)
                keys += 1 if len(send) == 1 else 0
        pty.child.expect_exact("Dry run finished", timeout=30)
        pty.child.wait()
        return keys, time.perf_counter() - start
    finally:
        pty.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5, help="runs of each visit (default 5)")
    args = parser.parse_args()
    env = environment()
    results: dict[str, list[tuple[int, float]]] = {"first": [], "second": []}
    with tempfile.TemporaryDirectory(prefix="clb-bench.") as tmp:
        fresh = make_root(Path(tmp), "debian-12", name="fresh")
        again = make_root(Path(tmp), "debian-12", name="again")
        plan = Service(again).plan(Options(vips=(VIP1,), clb_type="internal",
                                           os_override="debian-12"))
        apply_files(again, plan)
        for _ in range(args.n):
            results["first"].append(visit(fresh, FIRST, env))
            results["second"].append(visit(again, SECOND, env))
    for name, runs in results.items():
        keys = {k for k, _ in runs}
        print(f"{name} visit: {'/'.join(map(str, sorted(keys)))} keys besides the VIP, "
              f"launch to exit {ms(statistics.median(t for _, t in runs))} (median of {args.n})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
