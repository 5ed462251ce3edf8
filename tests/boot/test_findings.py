"""What the first real boots found (issue 13), each proven on every suite.

(a) Debian with netplan.io installed but systemd-networkd not enabled and no YAML yet
    (Debian's default): netplan only writes configuration, nothing renders it, and
    `networkctl reload` fails ("Unit dbus-org.freedesktop.network1.service not found").
    Detection must pick a method that works there, and it must survive reboots.
(b) With 127.0.0.1/8 listed for lo in the netplan file, systemd-networkd 252 logs
`lo: Failed to configure address: Numerical result out of range` and marks lo failed. The
project's file must bring lo up clean ("configured") with 127.0.0.1 and ::1 kept.
"""

from __future__ import annotations

import pytest

from tests.boot.checks import networkd_lo_state, wait_for_addresses, wizard
from tests.boot.roots import SUITES
from tests.boot.test_methods import LOOPBACK_OWN, boot_clean, prove_cycle

NETWORKD_UNITS = ("systemd-networkd.service", "systemd-networkd.socket")


@pytest.mark.parametrize("suite", SUITES)
def test_netplan_without_a_running_renderer_is_not_chosen(suite: str, new_machine) -> None:
    """Detection picks the systemd unit, which goes through the whole cycle (apply,
    reboot, verify, rollback, reboot) without ever needing networkd."""
    m = new_machine(suite, "netplan", name=f"{suite[:4]}-ndoff")
    m.enable(*NETWORKD_UNITS, verb="disable")
    prove_cycle(m, [f"192.0.2.{110 + list(SUITES).index(suite)}"], "systemd-unit", None)
    assert m.run(["systemctl", "is-active", "systemd-networkd"]).stdout.strip() == "inactive"


def _journal_errors(m) -> str:
    return m.run("journalctl -b --no-pager -o cat -u systemd-networkd | "
                 "grep -i 'failed to configure address' || true").stdout


@pytest.mark.parametrize("suite", SUITES)
def test_netplan_lo_comes_up_clean(suite: str, new_machine) -> None:
    m = new_machine(suite, "netplan", name=f"{suite[:4]}-loclean")
    vip = f"192.0.2.{120 + list(SUITES).index(suite)}"
    boot_clean(m)
    applied = wizard(m, "apply", "--yes", f"--vip={vip}")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert networkd_lo_state(m) == "configured", _journal_errors(m)
    boot_clean(m)
    wanted = LOOPBACK_OWN | {f"{vip}/32"}
    assert wait_for_addresses(m, wanted) >= wanted
    status = m.run(["networkctl", "status", "lo", "--no-pager"]).stdout
    assert networkd_lo_state(m) == "configured", status + _journal_errors(m)
    assert _journal_errors(m) == ""


@pytest.mark.skipif("bookworm" not in SUITES, reason="CLB_BOOT_SUITES leaves bookworm out")
def test_control_listing_127_0_0_1_fails_lo_on_networkd_252(new_machine) -> None:
    """The cause, isolated: the file the project used to write (lo's own addresses listed
    beside the VIP), put there by hand, marks lo failed on bookworm's networkd 252 (so the
    check above can fail, and the fix is exactly the lines it leaves out). networkd 247
    and 257 do not fail there, but drop the listed addresses when the file goes away."""
    m = new_machine("bookworm", "netplan", name="book-lo127")
    m.write("/etc/netplan/90-control.yaml", "network:\n  version: 2\n  ethernets:\n    lo:\n"
            "      addresses: [127.0.0.1/8, '::1/128', 192.0.2.130/32]\n", 0o600)
    boot_clean(m)
    assert networkd_lo_state(m, watch=10) == "failed", _journal_errors(m)
    assert "Numerical result out of range" in _journal_errors(m)
