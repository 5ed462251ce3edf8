"""What the boot tests look at inside a booted machine, each a plain reading of the system
(the negative controls in test_controls.py show each one can report a failure)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass

from tests.boot.harness import Machine

MARKER = "clb-wizard:"  # the first line of every file the project writes
# where any method writes; compared byte for byte before apply and after rollback
WATCHED = ("/etc/network", "/etc/netplan", "/etc/NetworkManager", "/etc/sysctl.d",
           "/etc/systemd/system")


def lo_addresses(m: Machine) -> set[str]:
    """Every address on lo as ADDRESS/PREFIX (v4 and v6)."""
    out = m.run(["ip", "-o", "addr", "show", "dev", "lo"], check=True).stdout
    return set(re.findall(r"\binet6? (\S+)", out))


def settle(m: Machine) -> None:
    """Let the network managers finish what they do after boot: "running" comes before
    NetworkManager activates its profiles and networkd configures its links."""
    m.run("command -v nm-online >/dev/null && systemctl -q is-active NetworkManager && "
          "nm-online -s -q -t 30", timeout=60)
    m.run("systemctl -q is-active systemd-networkd && for i in $(seq 100); do "
          "networkctl list --no-legend --no-pager | grep -qE 'configuring|pending' || exit 0;"
          " sleep 0.2; done", timeout=60)


def wait_for_addresses(m: Machine, wanted: set[str], timeout: float = 20.0) -> set[str]:
    """lo's addresses once `wanted` are all there, or when `timeout` has passed."""
    deadline = time.monotonic() + timeout
    while True:
        found = lo_addresses(m)
        if wanted <= found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def networkd_lo_state(m: Machine, watch: float = 3.0) -> str:
    """systemd-networkd's setup state of lo ("configured", "failed", "unmanaged"...), or
    "not running" when networkd is not active. Watched for `watch` seconds, "failed" as
    soon as it shows: networkd 252 reports lo "configured" first and marks it failed a
    moment later, when the kernel keeps refusing an address."""
    if m.run(["systemctl", "is-active", "--quiet", "systemd-networkd.service"]).returncode:
        return "not running"
    deadline = time.monotonic() + watch
    while True:
        out = m.run(["networkctl", "list", "--no-pager", "--no-legend", "lo"]).stdout.split()
        # IDX LINK TYPE OPERATIONAL SETUP
        state = out[4] if len(out) >= 5 else f"unknown ({' '.join(out)})"
        if state == "failed" or time.monotonic() > deadline:
            return state
        time.sleep(0.2)


def our_files(m: Machine) -> list[str]:
    """Files anywhere under /etc that carry our marker or our name."""
    out = m.run("grep -rlsF -- 'clb-wizard:' /etc; find /etc -name '*clb-wizard*'").stdout
    return sorted(set(out.split()))


def watched_digest(m: Machine) -> dict[str, str]:
    """path -> "mode sha256" for every file and symlink the methods may touch."""
    script = (f"for d in {' '.join(WATCHED)}; do [ -d $d ] && find $d -type f -o -type l; "
              "done | sort | while read -r f; do echo \"$f $(stat -c %a \"$f\") "
              "$(readlink \"$f\")$(sha256sum < \"$f\" 2>/dev/null | cut -c1-16)\"; done")
    out = m.run(script, check=True).stdout
    return dict(line.split(" ", 1) for line in out.splitlines())


def failed_units(m: Machine) -> list[str]:
    out = m.run(["systemctl", "--failed", "--no-legend", "--plain", "--no-pager"]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


@dataclass(frozen=True)
class Snapshot:
    """The state the cycle compares: after rollback + reboot it must equal the one
    before apply."""

    addresses: frozenset[str]
    files: tuple[tuple[str, str], ...]
    networkd_lo: str
    ours: tuple[str, ...]

    @classmethod
    def take(cls, m: Machine) -> Snapshot:
        return cls(frozenset(lo_addresses(m)), tuple(sorted(watched_digest(m).items())),
                   networkd_lo_state(m), tuple(our_files(m)))


def wizard(m: Machine, *args: str, timeout: float = 180):
    """The real CLI inside the machine."""
    return m.run(["clb-wizard", *args], timeout=timeout)


def wizard_json(m: Machine, *args: str) -> dict:
    result = wizard(m, *args, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)
