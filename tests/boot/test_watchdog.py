"""Confirm or revert in a booted system, where the watchdog is a transient systemd timer
(`systemd-run --on-active`): the session that applied the change is killed before it
confirms, and the timer alone puts the host back; a change confirmed from another session
disarms the timer and survives a reboot."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from typing import Optional

import pytest

from tests.boot.checks import Snapshot, lo_addresses, settle, wait_for_addresses, wizard
from tests.boot.harness import Machine
from tests.boot.roots import ONE_SUITE, SUITES
from tests.boot.test_methods import boot_clean

CONFIRM_S = 4  # the watchdog acts 5 s (WATCHDOG_GRACE) after this


def journal(m: Machine) -> Optional[dict]:
    path = m.path("/var/lib/clb-wizard/journal.json")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def revert_timers(m: Machine) -> list[str]:
    out = m.run(["systemctl", "list-timers", "--all", "--no-legend", "--plain",
                 "clb-wizard-revert-*"]).stdout
    return [w for w in out.split() if w.startswith("clb-wizard-revert-") and w.endswith(".timer")]


def start_apply(m: Machine, vip: str, seconds: float) -> subprocess.Popen:
    """`clb-wizard apply` in its own session (killed as a whole, like a dropped SSH login)."""
    return m.popen(["clb-wizard", "apply", "--yes", f"--vip={vip}",
                    f"--confirm-timeout={seconds:g}"],
                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                   text=True, start_new_session=True)


def awaiting(m: Machine) -> bool:
    return (journal(m) or {}).get("state") == "awaiting-confirm"


@pytest.mark.parametrize("suite", SUITES)
def test_killed_session_is_reverted_by_the_systemd_timer(suite: str, new_machine) -> None:
    m = new_machine(suite, "ifupdown", name=f"{suite[:4]}-watchdog")
    vip = f"192.0.2.{90 + list(SUITES).index(suite)}"
    boot_clean(m)
    before = Snapshot.take(m)
    session = start_apply(m, vip, CONFIRM_S)
    try:
        assert wait_until(lambda: awaiting(m), 60), session.communicate(timeout=5)[0]
        watchdog = journal(m)["watchdog"]
        assert watchdog["kind"] == "systemd", watchdog  # not the detached-process fallback
        assert revert_timers(m) == [f"{watchdog['unit']}.timer"]
        assert f"{vip}/32" in lo_addresses(m)
    finally:
        os.killpg(session.pid, signal.SIGKILL)  # the session dies before confirming
        session.wait()
    assert f"{vip}/32" in lo_addresses(m)  # still live: only the timer can revert it now
    assert wait_until(lambda: journal(m) is None, CONFIRM_S + 5 + 60), journal(m)
    settle(m)
    assert Snapshot.take(m) == before
    ran = m.run(["journalctl", "--no-pager", "-o", "cat", "-u", f"{watchdog['unit']}.service"])
    assert "not confirmed in time" in ran.stdout, ran.stdout
    assert revert_timers(m) == []
    boot_clean(m)  # the revert is persistent, not just live
    assert Snapshot.take(m) == before


def test_confirmed_from_another_session_is_kept_across_reboot(new_machine) -> None:
    m = new_machine(ONE_SUITE, "ifupdown", name="book-confirm")
    vip = "192.0.2.95"
    boot_clean(m)
    session = start_apply(m, vip, 120)
    try:
        assert wait_until(lambda: awaiting(m), 60), session.communicate(timeout=5)[0]
        assert len(revert_timers(m)) == 1
        confirmed = wizard(m, "confirm")
        assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
        out, _ = session.communicate(timeout=60)
    finally:
        if session.poll() is None:
            os.killpg(session.pid, signal.SIGKILL)
    assert session.returncode == 0, out
    assert revert_timers(m) == []  # disarmed: nothing left to fire later
    boot_clean(m)
    assert f"{vip}/32" in wait_for_addresses(m, {f"{vip}/32"})
    assert wizard(m, "verify").returncode == 0
