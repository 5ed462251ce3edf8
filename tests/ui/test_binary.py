"""The installed `clb-wizard`, in a real 80x24 pty, read through a terminal emulator: from
launch to the Done step in a dry run, in an ordinary terminal and on a Linux console."""

from __future__ import annotations

import shlex

import pytest

from tests.fixtures.roots import VIP1, make_root, tree_digest
from tests.ui.conftest import CONSOLE_GLYPHS
from tests.ui.term import Terminal, installed_wizard, terminal_env


@pytest.fixture
def term_factory():
    terminals: list[Terminal] = []

    def make(*args: str, env: dict, cwd) -> Terminal:
        terminal = Terminal([*installed_wizard(), *args], env, cwd=cwd)
        terminals.append(terminal)
        return terminal

    yield make
    for terminal in terminals:
        terminal.close()


def walk_to_done(term: Terminal) -> None:
    term.wait_for("Step 1 of 8", "Ubuntu 22.04 (ubuntu-22.04, assumed with --os ubuntu-22.04)",
                  "Method netplan")
    term.press("enter")
    term.wait_for("Step 2 of 8", "External CLB")
    term.press("down", "enter")
    term.wait_for("Step 3 of 8", "VIPs to configure")
    term.type("10.0.0.300")
    term.wait_for("'10.0.0.300' is not a valid IPv4 address")
    term.press(*["\x7f"] * 10)  # backspace it all
    # Wait for it, as a person would: Textual runs a burst's backspaces (actions) after the
    # characters that follow them in the same read.
    term.wait_for("VIP: e.g. 203.0.113.10")
    term.type(VIP1)
    term.wait_for(f"{VIP1} (documentation range): press Enter to add.")
    term.press("enter")
    term.wait_for(f"Added {VIP1}.")
    term.press("enter")
    term.wait_for("Step 4 of 8", "[ ] Set the ARP sysctls", "[X] Dry run")
    term.press("escape")  # back, and forward again
    term.wait_for("Step 3 of 8")
    term.press("enter")
    term.wait_for("Step 4 of 8")
    term.press("enter")
    term.wait_for("Step 5 of 8", "create /etc/netplan/90-clb-wizard-lo.yaml", "Dry run >")
    term.press("enter")
    term.wait_for("Step 6 of 8", "Dry run: nothing was changed.", "100%")
    term.press("enter")
    term.wait_for("Step 7 of 8", f"[ -- ] {VIP1}/32 is an address of lo")
    term.press("enter")
    term.wait_for("Step 8 of 8", "Dry run finished: nothing was changed.", "Quit >")
    term.press("enter")


def test_installed_binary_walks_to_done_in_a_dry_run(term_factory, tmp_path):
    root = make_root(tmp_path, "ubuntu-22.04")
    before = tree_digest(root)
    term = term_factory("--root", str(root), "--os", "ubuntu-22.04", env=terminal_env(),
                        cwd=tmp_path)
    walk_to_done(term)
    assert term.finish() == 0
    assert tree_digest(root) == before, "a dry run changes nothing"
    # What stays on the terminal: plain lines, and the command to make the change for
    # real, broken only between words so it can be typed or pasted (issue 23 item 1).
    lines = term.printed_after_exit
    assert lines[0] == "Dry run finished: nothing was changed.", lines
    assert not any("clb-wizard: " in line for line in lines)
    start = next(n for n, line in enumerate(lines) if "To make this change for real" in line)
    command = []
    for line in lines[start + 1:]:
        command.append(line)
        if not line.endswith(" \\"):
            break
    assert len(command) > 1 and all(len(line) <= 80 for line in command)
    argv = shlex.split(" ".join(line.removesuffix("\\") for line in command))
    assert argv[argv.index("apply"):] == ["apply", "--vip", VIP1, "--type", "external",
                                          "--yes"]


def test_on_a_linux_console_only_console_glyphs_show(term_factory, tmp_path):
    root = make_root(tmp_path, "ubuntu-22.04")
    env = terminal_env({"TERM": "linux"})
    env.pop("COLORTERM")
    term = term_factory("--root", str(root), "--os", "ubuntu-22.04", env=env, cwd=tmp_path)
    walk_to_done(term)
    assert term.finish() == 0
    assert len(term.screens) >= 10
    unknown = {ch for screen in term.screens for ch in screen.replace("\n", "")}
    assert unknown - CONSOLE_GLYPHS == set()


def test_a_typed_private_key_is_masked_and_logged_nowhere(term_factory, tmp_path):
    secret = "PRIVATE-KEY-zz-3f9c1e-do-not-leak"
    root = make_root(tmp_path, "ubuntu-22.04")
    log = tmp_path / "textual.log"
    env = terminal_env({"TEXTUAL_LOG": str(log), "CLB_WIZARD_METADATA_URL": "http://127.0.0.1:9",
                        "UCLOUD_PUBLIC_KEY": "pub"})
    term = term_factory("--root", str(root), "--os", "ubuntu-22.04", env=env, cwd=tmp_path)
    term.wait_for("Method netplan")
    term.press("enter")
    term.wait_for("Step 2 of 8")
    term.press("enter")
    term.wait_for("Step 3 of 8")
    term.press("f2")  # no Ctrl chord: a browser's VNC console takes those
    term.wait_for("Public key pub")  # from the environment: the private key's field has focus
    term.type(secret)
    term.wait_for("Private key " + "*" * len(secret))
    assert secret not in term.text
    term.press("f10")
    assert term.finish() == 0
    assert secret not in term.text
    assert not log.exists() or secret not in log.read_text(errors="replace")


def test_keys_file_given_at_launch_fills_the_fetch_form(term_factory, tmp_path):
    """`clb-wizard --keys-file FILE`, end to end: the installed wizard's Fetch form has both
    keys from the file, shown by their checksums, never the private key itself."""
    from clb_wizard.cloud.credentials import key_checksum

    root = make_root(tmp_path, "ubuntu-22.04")
    public, private = "pub-key-for-the-form", "priv-key-never-on-screen"
    keys = tmp_path / "keys.env"
    keys.write_text(f"UCLOUD_PUBLIC_KEY={public}\nUCLOUD_PRIVATE_KEY={private}\n")
    keys.chmod(0o600)
    term = term_factory("--root", str(root), "--os", "ubuntu-22.04", "--keys-file", str(keys),
                        env=terminal_env(), cwd=tmp_path)
    term.wait_for("Step 1 of 8", "Method netplan")
    term.press("enter")
    term.wait_for("Step 2 of 8")
    term.press("down", "enter")
    term.wait_for("Step 3 of 8")
    term.press("f2")
    screen = term.wait_for(f"sum {key_checksum(private)}")
    assert f"sum {key_checksum(public)}" in " ".join(screen.split())
    assert private not in screen
    term.press("f10")
