"""Confirm or revert: a change is kept only when confirmed in time, even if the session
that made it disappears (the watchdog reverts it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pexpect
import pytest

from tests.live.hosts import files_digest, prepare, wait_for

pytestmark = pytest.mark.live  # needs root and namespaces (CI runs as root)

VIP = "203.0.113.10"


def journal_state(sb):
    path = sb.dir / "varlib" / "clb-wizard" / "journal.json"
    try:
        return json.loads(path.read_text())["state"]
    except (OSError, ValueError):
        return None


def start_apply(sb, timeout_s):
    argv = [sys.executable, "-m", "clb_wizard", "apply", "--vip", VIP, "--method", "ifupdown",
            "--yes", "--confirm-timeout", str(timeout_s)]
    return sb.popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, text=True)


def test_no_confirmation_rolls_back_after_the_timeout(sandbox):
    prepare(sandbox, "ifupdown")
    before = (files_digest(sandbox), sandbox.lo_addresses())
    result = sandbox.wizard("apply", "--vip", VIP, "--method", "ifupdown", "--yes",
                            "--confirm-timeout", "1.5", "--json")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "not confirmed within 1.5 s" in json.loads(result.stdout)["message"]
    assert (files_digest(sandbox), sandbox.lo_addresses()) == before


def test_confirm_from_another_session_keeps_the_change(sandbox):
    prepare(sandbox, "ifupdown")
    proc = start_apply(sandbox, 30)
    try:
        assert wait_for(lambda: journal_state(sandbox) == "awaiting-confirm")
        assert f"{VIP}/32" in sandbox.lo_addresses()
        confirmed = sandbox.wizard("confirm")
        assert confirmed.returncode == 0, confirmed.stderr
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, out + err
    assert f"{VIP}/32" in sandbox.lo_addresses()
    assert journal_state(sandbox) is None
    assert sandbox.wizard("verify").returncode == 0


def test_confirm_at_the_terminal_prompt(sandbox):
    prepare(sandbox, "ifupdown")
    argv = sandbox.argv([sys.executable, "-m", "clb_wizard", "apply", "--vip", VIP,
                         "--method", "ifupdown", "--yes", "--confirm-timeout", "30"])
    child = pexpect.spawn(argv[0], argv[1:], env=sandbox.env(), encoding="utf-8", timeout=30)
    try:
        child.expect("Keep this change")
        child.sendline("y")
        child.expect("Applied and verified")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert f"{VIP}/32" in sandbox.lo_addresses()


def test_no_at_the_terminal_prompt_rolls_back_as_declined(sandbox):
    """'n' is the user's choice: rolled back, but neither called 'not confirmed in time'
    nor left as a login note saying so."""
    prepare(sandbox, "ifupdown")
    before = (files_digest(sandbox), sandbox.lo_addresses())
    argv = sandbox.argv([sys.executable, "-m", "clb_wizard", "apply", "--vip", VIP,
                         "--method", "ifupdown", "--yes", "--confirm-timeout", "30"])
    child = pexpect.spawn(argv[0], argv[1:], env=sandbox.env(), encoding="utf-8", timeout=30)
    try:
        child.expect("Keep this change")
        child.sendline("n")
        child.expect(pexpect.EOF)
        said = child.before
    finally:
        child.close()
    assert child.exitstatus == 3, said
    assert "declined at the confirmation prompt" in said
    assert "not confirmed" not in said.lower(), said
    assert (files_digest(sandbox), sandbox.lo_addresses()) == before
    assert not (sandbox.dir / "run" / "motd.d" / "clb-wizard").exists()

def test_watchdog_reverts_when_the_session_dies(sandbox):
    prepare(sandbox, "ifupdown")
    before = (files_digest(sandbox), sandbox.lo_addresses())
    proc = start_apply(sandbox, 2)
    assert wait_for(lambda: journal_state(sandbox) == "awaiting-confirm")
    # Kill the apply process (as a lost SSH session would): only the watchdog is left.
    # (nsenter execs the program, so proc.pid is the wizard itself.)
    assert "apply" in _cmdline(proc.pid)
    watchdogs = [p for p in sandbox.pids() if "--expired" in _cmdline(p)]
    assert len(watchdogs) == 1
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert f"{VIP}/32" in sandbox.lo_addresses()  # still applied: nobody confirmed yet
    assert wait_for(lambda: journal_state(sandbox) is None, timeout=30)
    assert (files_digest(sandbox), sandbox.lo_addresses()) == before


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""
