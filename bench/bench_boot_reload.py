"""How long `networkctl` takes in the netplan method's apply and rollback, on real boots.

For each suite's netplan root (systemd-networkd enabled), the project's CLI applies a VIP
and rolls it back several times in a booted system (some rollbacks right after a reboot),
with a `networkctl` shim in /usr/local/sbin that records how long every call took. With
`--ref REV` the same runs use the project as it was at git revision REV (e.g. before the
netplan file stopped listing lo's own addresses), to compare.

    sudo .venv/bin/python bench/bench_boot_reload.py [--suites bookworm,trixie] [--ref REV]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.boot import roots, site  # noqa: E402
from tests.boot.checks import settle, wizard  # noqa: E402
from tests.boot.harness import Machine  # noqa: E402

SHIM = """#!/bin/sh
# bench: time every networkctl call, then behave exactly like it
start=$(date +%s%N)
/usr/bin/networkctl "$@"
rc=$?
echo "$(( ($(date +%s%N) - start) / 1000000 )) $rc $*" >> /run/networkctl-times
exit $rc
"""


def wheel_at(ref: str | None, workdir: Path) -> Path:
    if ref is None:
        return site.project_wheel(workdir / "wheel")
    tree = workdir / f"src-{ref}"
    tree.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(roots.REPO), "archive", ref], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    dest = workdir / f"wheel-{ref}"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(dest), str(tree)], check=True)
    return next(dest.glob("*.whl"))


def calls(m: Machine) -> list[tuple[int, str]]:
    """(ms, verb) of the reload/reconfigure calls since the last look."""
    out = m.run("cat /run/networkctl-times 2>/dev/null; rm -f /run/networkctl-times").stdout
    found = []
    for line in out.splitlines():
        ms, _, args = line.split(" ", 2)
        if args.split()[0] in ("reload", "reconfigure"):
            found.append((int(ms), args.split()[0]))
    return found


def run_suite(suite: str, wheel: Path, workdir: Path, rounds: int) -> dict[str, list[int]]:
    root = roots.Root(suite, "netplan")
    m = Machine(root.path, workdir, name=f"bench-{suite}")
    site.install(m, site.site_dir(root.python, wheel, workdir), root.python)
    m.write("/usr/local/sbin/networkctl", SHIM, 0o755)
    timings: dict[str, list[int]] = {}
    try:
        m.boot()
        settle(m)
        for n in range(rounds):
            vip = f"192.0.2.{140 + n}"
            after_reboot = n % 2 == 1
            calls(m)
            applied = wizard(m, "apply", "--yes", f"--vip={vip}")
            assert applied.returncode == 0, applied.stdout + applied.stderr
            for ms, verb in calls(m):
                timings.setdefault(f"apply: networkctl {verb}", []).append(ms)
            if after_reboot:
                m.reboot()
                settle(m)
            started = time.monotonic()
            rolled = wizard(m, "rollback")
            assert rolled.returncode == 0, rolled.stdout + rolled.stderr
            total = int((time.monotonic() - started) * 1000)
            kind = "rollback after reboot" if after_reboot else "rollback"
            timings.setdefault(f"{kind}: whole CLI", []).append(total)
            for ms, verb in calls(m):
                timings.setdefault(f"{kind}: networkctl {verb}", []).append(ms)
    finally:
        m.close()
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", default=",".join(roots.ALL_SUITES))
    parser.add_argument("--ref", help="git revision of the project to run instead")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    suites = args.suites.split(",")
    roots.build_all(roots.Root(s, "netplan") for s in suites)
    with tempfile.TemporaryDirectory(prefix="clb-bench-boot.") as tmp:
        workdir = Path(tmp)
        wheel = wheel_at(args.ref, workdir)
        print(f"project: {args.ref or 'this checkout'}; ms, median [min-max] of {args.rounds}"
              " rounds (half of them right after a reboot)")
        for suite in suites:
            for name, values in sorted(run_suite(suite, wheel, workdir, args.rounds).items()):
                print(f"  {suite:9} {name:38} {statistics.median(values):7.0f} "
                      f"[{min(values)}-{max(values)}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
