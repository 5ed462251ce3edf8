"""Negative controls: each check the boot tests rely on reports a failure when the system
is in the state it guards against (so a passing boot test is not a check that cannot fail)."""

from __future__ import annotations

from tests.boot.checks import (
    Snapshot,
    failed_units,
    lo_addresses,
    settle,
    wait_for_addresses,
    wizard,
)
from tests.boot.roots import ONE_SUITE
from tests.boot.test_methods import boot_clean

RUNTIME_ONLY = "192.0.2.201/32"
PERSISTENT = "192.0.2.202/32"
MARKED = "/etc/network/interfaces.d/stray"


def test_each_check_sees_what_it_guards_against(new_machine) -> None:
    m = new_machine(ONE_SUITE, "ifupdown", name="book-controls")
    boot_clean(m)
    before = Snapshot.take(m)
    # an address with no configuration behind it: live now, gone after a reboot
    m.run(["ip", "addr", "add", RUNTIME_ONLY, "dev", "lo"], check=True)
    assert RUNTIME_ONLY in lo_addresses(m)
    # leftovers a rollback must not leave: a file with our marker that configures an
    # address at boot, and an enabled unit that fails
    m.write(MARKED, f"# clb-wizard: stray\nauto lo:7\niface lo:7 inet static\n"
                    f"    address {PERSISTENT}\n")
    m.write("/etc/systemd/system/broken.service",
            "[Service]\nType=oneshot\nExecStart=/bin/false\n[Install]\n"
            "WantedBy=multi-user.target\n")
    m.run(["systemctl", "enable", "broken.service"], check=True)

    state = m.reboot()
    assert state == "degraded" and failed_units(m) == ["broken.service"]  # boot_clean's check
    settle(m)
    found = wait_for_addresses(m, {RUNTIME_ONLY}, timeout=5)
    assert RUNTIME_ONLY not in found  # the "VIPs after reboot" check fails without config
    after = Snapshot.take(m)
    assert PERSISTENT in after.addresses and after.addresses != before.addresses
    assert MARKED in after.ours and not before.ours
    assert after.files != before.files
    assert after != before  # the "as before" comparison after rollback + reboot fails


def test_verify_fails_when_a_fact_is_false(new_machine) -> None:
    m = new_machine(ONE_SUITE, "ifupdown", name="book-verifyctl")
    boot_clean(m)
    assert wizard(m, "apply", "--yes", "--vip=192.0.2.203").returncode == 0
    assert wizard(m, "verify").returncode == 0
    m.run(["ip", "addr", "del", "192.0.2.203/32", "dev", "lo"], check=True)
    failed = wizard(m, "verify")
    assert failed.returncode == 1, failed.stdout + failed.stderr
