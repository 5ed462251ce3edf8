"""The confirm watchdog from the bundle, where there is no systemd (the detached process):
sys.executable is the bundle's bin/python3, so the watchdog the apply leaves behind is the
bundle's own Python, and it reverts the change after the session that made it is killed.
(With systemd, tests/boot/test_bundle.py.) In a namespace sandbox with real ifupdown."""

from __future__ import annotations

import os
import signal
import subprocess

from tests.bundle.conftest import Bundle
from tests.live.hosts import files_digest, prepare, wait_for
from tests.live.test_confirm import VIP, _cmdline, journal_state


def test_the_bundles_watchdog_reverts_when_the_session_dies(sandbox, bundle: Bundle) -> None:
    prepare(sandbox, "ifupdown")
    before = (files_digest(sandbox), sandbox.lo_addresses())
    proc = sandbox.popen([str(bundle.folder / "clb-wizard"), "apply", "--vip", VIP, "--method",
                          "ifupdown", "--yes", "--confirm-timeout", "2"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: journal_state(sandbox) == "awaiting-confirm", timeout=60), \
            proc.poll()
        # sys.executable is the bundle's bin/python3: its launcher (a moment later the
        # bundle's loader, given the same path as --argv0) is the watchdog
        def watchdogs() -> list[str]:
            return [_cmdline(p) for p in sandbox.pids() if "--expired" in _cmdline(p)]

        started = f"--argv0 {bundle.folder}/bin/python3 "
        assert wait_for(lambda: len(watchdogs()) == 1 and started in watchdogs()[0],
                        timeout=30), watchdogs()
        assert "apply" in _cmdline(proc.pid)
        assert f"{VIP}/32" in sandbox.lo_addresses()
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # the session dies before confirming
        proc.wait(timeout=10)
    assert f"{VIP}/32" in sandbox.lo_addresses()  # only the watchdog can revert it now
    assert wait_for(lambda: journal_state(sandbox) is None, timeout=60)
    assert (files_digest(sandbox), sandbox.lo_addresses()) == before
