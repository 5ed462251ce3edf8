"""Persistence proven by real boots: for every method that fits each Debian root, the
project's CLI inside the booted system applies the VIPs, the system reboots, the facts
hold and `verify` exits 0, the change is rolled back, the system reboots again and
nothing of ours is left (no file, no address, lo as it was).

The method is the one `detect` picks on that root (asserted), except the systemd-unit
fallback, which is forced on an ifupdown root; NetworkManager below 1.42 (bullseye's 1.30)
cannot keep addresses on lo, and the NetworkManager root there proves detection falls
back to the systemd unit and that the fallback survives a reboot too. A root with plain
systemd-networkd enabled (no netplan, no ifupdown: e.g. Arch's stack) gets the networkd
method's `.network` file for lo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pytest

from tests.boot.checks import (
    Snapshot,
    failed_units,
    networkd_lo_state,
    settle,
    wait_for_addresses,
    wizard,
)
from tests.boot.harness import Machine
from tests.boot.roots import SUITES

LOOPBACK_OWN = {"127.0.0.1/8", "::1/128"}


@dataclass(frozen=True)
class Case:
    name: str  # how the host is set up
    variant: str  # the cached root
    expected: dict[str, str]  # suite -> the method detect must pick (or the forced one)
    forced: Optional[str] = None
    enable: tuple[str, ...] = ()  # units enabled in the overlay before the first boot

    def method(self, suite: str) -> str:
        return self.expected[suite]


ALL = dict.fromkeys(SUITES)
CASES = (
    Case("ifupdown", "ifupdown", {s: "ifupdown" for s in ALL}),
    Case("netplan", "netplan", {s: "netplan" for s in ALL}),
    Case("networkmanager", "nm",
         {"bullseye": "systemd-unit", "bookworm": "networkmanager", "trixie": "networkmanager"}),
    Case("networkd", "base", {s: "networkd" for s in ALL},
         enable=("systemd-networkd.service",)),
    Case("systemd-unit", "ifupdown", {s: "systemd-unit" for s in ALL}, forced="systemd-unit"),
)


def vips_for(index: int, suite_index: int) -> list[str]:
    n = 10 + 10 * suite_index + index
    return [f"192.0.2.{n}", f"203.0.113.{n}"]


def boot_clean(m: Machine) -> None:
    """(Re)boot; the system must come up "running" (no failed unit) and settle."""
    state = m.boot() if m.process is None else m.reboot()
    assert state == "running", (state, failed_units(m), m.console_tail())
    settle(m)


def prove_cycle(m: Machine, vips: list[str], method: str, forced: Optional[str]) -> None:
    """apply -> reboot -> facts + verify -> rollback -> reboot -> as before."""
    boot_clean(m)
    before = Snapshot.take(m)
    assert before.addresses >= LOOPBACK_OWN and not before.ours, before
    detected = wizard(m, "detect")
    assert f"Method:  {method}" in detected.stdout or forced, detected.stdout + detected.stderr

    args = ["apply", "--yes", *(f"--vip={v}" for v in vips)]
    applied = wizard(m, *args, *([f"--method={forced}"] if forced else []))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"method: {method}" in applied.stdout, applied.stdout

    boot_clean(m)
    wanted = {f"{v}/32" for v in vips} | before.addresses
    assert wait_for_addresses(m, wanted) >= wanted
    assert networkd_lo_state(m) != "failed", m.run("networkctl status lo --no-pager").stdout
    verified = wizard(m, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr

    rolled = wizard(m, "rollback")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr

    boot_clean(m)
    assert Snapshot.take(m) == before


@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_apply_reboot_verify_rollback_reboot(case: Case, suite: str, new_machine) -> None:
    m = new_machine(suite, case.variant, name=f"{suite[:4]}-{case.name[:10]}")
    if case.enable:
        m.enable(*case.enable)
    vips = vips_for(CASES.index(case), list(SUITES).index(suite))
    prove_cycle(m, vips, case.method(suite), case.forced)
