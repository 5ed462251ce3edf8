"""The portable bundle on a booted Debian with no python3 at all (the "nopython" root:
minbase, systemd, ifupdown, sshd; no xz either): installed from the .run file with the
host's sh, tar, gzip and sha256sum alone, its CLI applies -> reboot -> verify -> rollback
-> reboot and the host is as before; a change nobody confirms is reverted by the systemd
timer the bundle armed, whose unit runs the bundle's own Python; --uninstall removes it all.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator

import pytest

from tests.boot import roots
from tests.boot.checks import Snapshot, lo_addresses, wizard
from tests.boot.harness import Machine
from tests.boot.test_methods import boot_clean, prove_cycle
from tests.boot.test_watchdog import CONFIRM_S, awaiting, journal, start_apply, wait_until
from tests.bundle.build import run_file, version

INSTALLED = f"/opt/clb-wizard/{version()}"


@pytest.fixture
def host(boot_env) -> Iterator[Machine]:
    """A nopython machine holding the .run file in /root (not booted yet)."""
    root = roots.Root(roots.NOPYTHON_SUITE, "nopython")
    machine = Machine(roots.build(root), boot_env.workdir, name="nopy-bundle")
    try:
        shutil.copy(run_file(), machine.path(f"/root/{run_file().name}"))
        yield machine
    finally:
        machine.close()


def install(m: Machine) -> None:
    boot_clean(m)
    found = m.run("for p in python3 python python2 python3.11 xz; do command -v $p; done; "
                  "ls -d /usr/lib/python3* 2>/dev/null; true")
    assert found.stdout == "", found.stdout  # no Python, no xz: only what the bundle brings
    installed = m.run(["sh", f"/root/{run_file().name}", "--install-only"])
    assert installed.returncode == 0, installed.stdout + installed.stderr
    shown = wizard(m, "--version")
    assert shown.returncode == 0 and f"in {INSTALLED}" in shown.stdout, shown.stderr


def test_from_the_run_file_apply_reboot_verify_rollback_reboot(host: Machine) -> None:
    install(host)
    prove_cycle(host, ["192.0.2.120", "203.0.113.120"], "ifupdown", None)
    removed = host.run(["sh", f"/root/{run_file().name}", "--uninstall"])
    assert removed.returncode == 0, removed.stdout + removed.stderr
    left = host.run(f"ls -d /opt/clb-wizard {INSTALLED} /usr/local/sbin/clb-wizard 2>&1")
    assert left.stdout.count("No such file or directory") == 3, left.stdout


def test_an_unconfirmed_change_is_reverted_by_the_bundles_timer(host: Machine) -> None:
    install(host)
    vip = "192.0.2.121"
    before = Snapshot.take(host)
    session = start_apply(host, vip, CONFIRM_S)
    try:
        assert wait_until(lambda: awaiting(host), 60), session.communicate(timeout=5)[0]
        unit = journal(host)["watchdog"]["unit"]
        started = host.run(["systemctl", "show", "-p", "ExecStart", f"{unit}.service"]).stdout
        assert f"path={INSTALLED}/bin/python3 " in started, started  # the bundle's sys.executable
    finally:
        os.killpg(session.pid, signal.SIGKILL)  # the session is gone before it confirms
        session.wait()
    assert f"{vip}/32" in lo_addresses(host)
    assert wait_until(lambda: journal(host) is None, CONFIRM_S + 5 + 60), journal(host)
    ran = host.run(["journalctl", "--no-pager", "-o", "cat", "-u", f"{unit}.service"]).stdout
    assert "not confirmed in time" in ran, ran
    boot_clean(host)
    assert Snapshot.take(host) == before
