"""The TUI changing a real host: the installed wizard runs inside a namespace sandbox (its
own network stack, /etc and /var/lib; tests/sandbox.py) that is an ifupdown host, driven
through a pty and read through a terminal emulator, keyboard only. It applies for real and
the VIP is on lo afterwards; with a failing ifup it shows the automatic rollback and the
host is exactly as before; over SSH it asks to keep the change and keeps it."""

from __future__ import annotations

import shlex

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
        # a kept change goes on to its checks by itself
        term.wait_for("Step 7 of 8", f"[ OK ] {VIP} on lo: {VIP}/32 on lo",
                      f"[ OK ] {VIP} routed locally", "Status code: ")
        term.press("escape")  # the apply's log, one Esc away
        term.wait_for("Step 6 of 8", "Applied and verified.", "100%")
        term.press("enter")
        term.wait_for("Step 7 of 8")
        term.press("enter")
        term.wait_for("Step 8 of 8", "Undo it (what this run changed, nothing older):",
                      "U Roll back")
        term.press("enter")
        assert term.finish() == 0
    finally:
        term.close()
    assert f"{VIP}/32" in host.lo_addresses()
    assert PRE_EXISTING in host.lo_addresses()
    # What stays on the terminal: plain lines, and a rollback command that runs as it is.
    printed = term.printed_after_exit
    assert printed[0] == "The VIPs are on lo, verified, and will stay there after a reboot."
    assert all(len(line) <= 80 for line in printed)
    undo = printed[printed.index("Undo it (what this run changed, nothing older):") + 1]
    assert shlex.split(undo)[-1] == "rollback" and not undo.startswith("clb-wizard: ")


def test_tui_shows_the_rollback_when_activation_fails(host):
    before = files_digest(host), host.lo_addresses()
    host.add_tool("ifup", "#!/bin/sh\necho 'ifup: simulated failure' >&2\nexit 1\n")
    term = run_wizard(host)
    try:
        walk_to_apply(term)
        term.wait_for("FAILED: the change was rolled back.",
                      "The host was rolled back to exactly how it was.", "What to try next",
                      "ifup: simulated failure")
        assert "100%" not in term.text
        term.press("enter")
        term.wait_for("Step 7 of 8", "After the rollback:", "[ OK ] lo addresses as before")
        term.press("escape", "escape")  # back to the preview; then quit from there
        term.wait_for("Step 5 of 8")
        term.press("f10")
        assert term.finish() == 3, "the failure stays the last word (issue 23 item 6)"
    finally:
        term.close()
    assert (files_digest(host), host.lo_addresses()) == before
    printed = " ".join(term.printed_after_exit)
    assert "Nothing was changed: the change failed and was rolled back." in printed
    assert "failed. The host was rolled back" in printed and "Log: " in printed


def test_tui_over_ssh_asks_to_keep_the_change(host):
    term = run_wizard(host, {"SSH_CONNECTION": "192.0.2.1 50000 192.0.2.2 22"})
    try:
        walk_to_apply(term, confirm=True)
        term.wait_for("Keep this change?", "unless you keep it.")
        term.press("y")
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


VIP2 = "203.0.113.11"


def to_vips_step(term: Terminal, *start: str) -> None:
    term.wait_for("Step 1 of 8", *start)
    term.press("enter")
    term.wait_for("Step 2 of 8")
    term.press("down", "enter")


def finish_applied(term: Terminal) -> int:
    term.wait_for("Step 7 of 8", "[ OK ]")
    term.press("enter")
    term.wait_for("Step 8 of 8")
    term.press("enter")
    return term.finish()


def test_tui_second_visit_adds_and_removes_only_on_purpose(host):
    term = run_wizard(host)  # the first visit: one VIP
    try:
        walk_to_apply(term)
        assert finish_applied(term) == 0
    finally:
        term.close()
    term = run_wizard(host)  # the second: it starts with that VIP; add one
    try:
        to_vips_step(term, f"Ours {VIP}: configured by clb-wizard earlier")
        term.wait_for("Step 3 of 8", f"clb-wizard already manages {VIP} here")
        term.type(VIP2)
        term.wait_for(f"{VIP2} (documentation range): press Enter to add.")
        term.press("enter")
        term.wait_for(f"Added {VIP2}.")
        term.press("enter")
        term.wait_for("Step 4 of 8")
        term.press("enter")
        screen = term.wait_for("Step 5 of 8", f"VIPs: {VIP}, {VIP2}")
        assert "Leaving service" not in screen
        term.press("enter")
        term.wait_for("Apply this change now?")
        term.press("enter")  # Enter applies
        assert finish_applied(term) == 0
    finally:
        term.close()
    lo = host.lo_addresses()
    assert f"{VIP}/32" in lo and f"{VIP2}/32" in lo and PRE_EXISTING in lo
    term = run_wizard(host)  # the third: take the first one out of service, explicitly
    try:
        to_vips_step(term, f"Ours {VIP}, {VIP2}")
        term.wait_for("Step 3 of 8", f"{VIP} documentation range (configured now)")
        term.press("tab")
        term.wait_for("Del Remove VIP")  # the list has the focus (as a person would see)
        term.press("delete")
        term.wait_for(f"{VIP} documentation range (leaves service)",
                      f"{VIP} leaves service when you apply")
        term.press("enter")
        term.wait_for("Step 4 of 8")
        term.press("enter")
        term.wait_for("Step 5 of 8", f"Leaving service: {VIP} is on this host now and will "
                      "be taken out of service: it stops answering here.")
        term.press("enter")
        term.wait_for(f"Apply, and take {VIP} out of service?")
        term.press("y")
        assert finish_applied(term) == 0
    finally:
        term.close()
    lo = host.lo_addresses()
    assert f"{VIP}/32" not in lo and f"{VIP2}/32" in lo and PRE_EXISTING in lo


def test_cli_verify_wraps_at_words_on_an_80_column_terminal(host):
    applied = host.wizard("apply", "--vip", VIP, "--method", "ifupdown", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "[warn] ARP sysctls: arp_ignore=0" in applied.stdout, "a warning, not [ok]"
    assert "[ok] warning" not in applied.stdout
    term = Terminal(host.argv([*installed_wizard(), "verify"]), terminal_env(base=host.env()))
    try:
        term.wait_for("All checks passed.", "ARP sysctls")
        assert term.finish() == 0
    finally:
        term.close()
    lines = [line.rstrip() for line in term.text.splitlines()]
    detail = "the backend may answer ARP for the VIP; set 1 and 2 (--arp-sysctls)"
    assert detail in term.flat  # all of it, in order
    for word in detail.split():  # and no word cut across two lines
        assert any(word in line.split() for line in lines), (word, term.text)
    assert all(len(line) <= 80 for line in lines)
