"""The TUI changing a real host: the installed wizard runs inside a namespace sandbox (its
own network stack, /etc and /var/lib; tests/sandbox.py) that is an ifupdown host, driven
through a pty and read through a terminal emulator, keyboard only. It applies for real and
the VIP is on lo afterwards; with a failing ifup it shows the automatic rollback and the
host is exactly as before; over SSH it asks to keep the change and keeps it."""

from __future__ import annotations

import pytest

from tests.live.hosts import PRE_EXISTING, files_digest, prepare
from tests.ui.term import Terminal, installed_wizard, terminal_env

pytestmark = pytest.mark.live

VIP = "203.0.113.10"


@pytest.fixture
def host(sandbox):
    prepare(sandbox, "ifupdown")
    return sandbox


def run_wizard(sb, extra_env=None) -> Terminal:
    env = terminal_env(extra_env, base=sb.env())
    return Terminal(sb.argv([*installed_wizard(), "--method", "ifupdown"]), env)


def walk_to_apply(term: Terminal, *, confirm: bool = False) -> None:
    term.wait_for("Step 1 of 8", "Method ifupdown", f"{PRE_EXISTING} (lo:9)", "User root",
                  "changes this host")
    term.press("enter")
    term.wait_for("Step 2 of 8")
    term.press("down", "enter")
    term.wait_for("Step 3 of 8")
    term.type(VIP)
    term.wait_for(f"{VIP} (documentation range): press Enter to add.")
    term.press("enter")
    term.wait_for(f"Added {VIP}.")
    term.press("enter")
    term.wait_for("Step 4 of 8", "[ ] Dry run",
                  "[X] Confirm timer" if confirm else "[ ] Confirm timer")
    term.press("enter")
    # (the step trail says "Apply >" too: wait for the plan itself)
    term.wait_for("Step 5 of 8", "create /etc/network/interfaces.d/clb-wizard-lo")
    term.press("enter")
    term.wait_for("Apply this change now?")
    term.press("y")


def test_tui_applies_for_real_and_the_vip_is_on_lo(host):
    term = run_wizard(host)
    try:
        walk_to_apply(term)
        term.wait_for("Step 6 of 8", "Applied and verified.", "100%")
        term.press("enter")
        term.wait_for("Step 7 of 8", f"[ OK ] {VIP} on lo: {VIP}/32 on lo",
                      f"[ OK ] {VIP} routed locally")
        term.press("enter")
        term.wait_for("Step 8 of 8", "Undo it all: sudo clb-wizard rollback", "Log: ")
        term.press("enter")
        assert term.finish() == 0
    finally:
        term.close()
    assert f"{VIP}/32" in host.lo_addresses()
    assert PRE_EXISTING in host.lo_addresses()


def test_tui_shows_the_rollback_when_activation_fails(host):
    before = files_digest(host), host.lo_addresses()
    host.add_tool("ifup", "#!/bin/sh\necho 'ifup: simulated failure' >&2\nexit 1\n")
    term = run_wizard(host)
    try:
        walk_to_apply(term)
        term.wait_for("FAILED: the change was rolled back.",
                      "The host was rolled back to exactly how it was.", "What to try next",
                      "ifup: simulated failure")
        term.press("enter")
        term.wait_for("Step 7 of 8", "After the rollback:", "[ OK ] lo addresses as before")
        term.press("enter")
        term.wait_for("Nothing was changed: the change failed and was rolled back.")
        term.press("enter")
        assert term.finish() == 3
    finally:
        term.close()
    assert (files_digest(host), host.lo_addresses()) == before


def test_tui_over_ssh_asks_to_keep_the_change(host):
    term = run_wizard(host, {"SSH_CONNECTION": "192.0.2.1 50000 192.0.2.2 22"})
    try:
        walk_to_apply(term, confirm=True)
        term.wait_for("Keep this change?", "unless you keep it.")
        term.press("y")
        term.wait_for("Applied and verified.")
        term.press("enter")
        term.wait_for("Step 7 of 8")
        term.press("enter")
        term.wait_for("Step 8 of 8")
        term.press("enter")
        assert term.finish() == 0
    finally:
        term.close()
    assert f"{VIP}/32" in host.lo_addresses()
    status = host.wizard("verify", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
