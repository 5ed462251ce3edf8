"""Apply+verify and rollback wall time for 1 and 64 VIPs (ifupdown method), against the
raw commands they wrap, measured in the same run inside a namespace sandbox.

Run as root:  .venv/bin/python bench/bench_transaction.py [--runs 7]

Three numbers per size, each a median of --runs:
  raw        the commands a careful admin would type: write the stanza file, then
             `ifup lo:N` for each alias (and `ip addr add` x N as a floor);
  engine     Service.apply (plan under the lock, apply, verify) in one Python process
             (what the TUI pays);
  cli        `clb-wizard apply --yes` as a new process (adds interpreter start and imports).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.live.hosts import DEBIAN_INTERFACES  # noqa: E402
from tests.sandbox import Sandbox  # noqa: E402

ENGINE = r"""
import json, sys, time
from clb_wizard.service import Options, Service
vips = tuple(sys.argv[1:])
t0 = time.perf_counter()
service = Service()
out = service.apply(Options(vips=vips, method="ifupdown"))  # planned under the lock
t1 = time.perf_counter()
back = service.rollback_last()
t2 = time.perf_counter()
assert out.exit_code == 0 and back.exit_code == 0, (out.message, back.message)
print(json.dumps({"apply": t1 - t0, "rollback": t2 - t1}))
"""


def vips(n: int) -> list[str]:
    return [f"203.0.113.{i}" for i in range(1, n + 1)] if n < 200 else []


def stanzas(addresses: list[str]) -> str:
    return "".join(
        f"auto lo:{i}\niface lo:{i} inet static\n    address {a}\n    netmask 255.255.255.255\n"
        for i, a in enumerate(addresses, 1)
    )


def timed(sb: Sandbox, script: str) -> float:
    start = time.perf_counter()
    sb.sh(script, check=True)
    return time.perf_counter() - start


def measure(n: int, runs: int) -> dict:
    addresses = vips(n)
    labels = " ".join(f"lo:{i}" for i in range(1, n + 1))
    results: dict[str, list[float]] = {k: [] for k in (
        "raw_ip_add", "raw_ifup", "raw_ifdown", "engine_apply", "engine_rollback",
        "cli_apply", "cli_rollback")}
    with Sandbox() as sb:
        sb.sh("rm -f /etc/netplan/*.yaml /etc/network/interfaces.d/*")
        sb.write("/etc/network/interfaces", DEBIAN_INTERFACES)
        for _ in range(runs):
            adds = "; ".join(f"ip addr add {a}/32 dev lo" for a in addresses)
            dels = "; ".join(f"ip addr del {a}/32 dev lo" for a in addresses)
            results["raw_ip_add"].append(timed(sb, adds))
            sb.sh(dels, check=True)
            sb.write("/etc/network/interfaces.d/raw", stanzas(addresses))
            ups = "; ".join(f"ifup lo:{i}" for i in range(1, n + 1))
            start = time.perf_counter()
            sb.write("/etc/network/interfaces.d/raw", stanzas(addresses))
            sb.sh(ups, check=True)
            results["raw_ifup"].append(time.perf_counter() - start)
            down = f"ifdown {labels}; rm /etc/network/interfaces.d/raw"
            results["raw_ifdown"].append(timed(sb, down))

            out = sb.run([sys.executable, "-c", ENGINE, *addresses], check=True).stdout
            engine = json.loads(out)
            results["engine_apply"].append(engine["apply"])
            results["engine_rollback"].append(engine["rollback"])

            args = [x for a in addresses for x in ("--vip", a)]
            start = time.perf_counter()
            applied = sb.wizard("apply", "--yes", "--method", "ifupdown", *args)
            results["cli_apply"].append(time.perf_counter() - start)
            assert applied.returncode == 0, applied.stdout + applied.stderr
            start = time.perf_counter()
            assert sb.wizard("rollback").returncode == 0
            results["cli_rollback"].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(f"{'VIPs':>4} {'what':<16} {'median ms':>10} {'x raw ifup':>11}")
    for n in (1, 64):
        medians = measure(n, args.runs)
        base = medians["raw_ifup"]
        for key, value in medians.items():
            print(f"{n:>4} {key:<16} {value * 1000:>10.1f} {value / base:>11.2f}")


if __name__ == "__main__":
    main()
