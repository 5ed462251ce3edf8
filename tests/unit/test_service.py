"""clb_wizard.service: the rules the CLI and the wizard share, decided once (preview means
dry run, the confirm timer's default, this host's own addresses), and both faces agreeing
on them."""

from __future__ import annotations

import contextlib
import io
import os

import pytest

import clb_wizard.cli
from clb_wizard.facts import HostAddresses
from clb_wizard.methods.base import LoAddress
from clb_wizard.screens.state import initial_state
from clb_wizard.service import (
    CONFIRM_SECONDS,
    Launch,
    default_confirm_seconds,
    host_ipv4s,
    is_preview,
)
from tests.fixtures.roots import VIP1, make_root, tree_digest

SSH = {"SSH_CONNECTION": "192.0.2.1 5 192.0.2.2 22"}


@pytest.mark.parametrize(("root", "os_id", "preview"), [
    ("/", None, False), ("", None, False), ("/srv/root", None, True), ("/", "centos-7", True),
])
def test_root_or_os_is_a_preview(root, os_id, preview):
    assert is_preview(root, os_id) is preview


@pytest.mark.parametrize(("asked", "root", "os_id", "is_root", "dry"), [
    (False, "/", None, True, False),
    (True, "/", None, True, True),
    (False, "/srv/root", None, True, True),
    (False, "/", "debian-12", True, True),
    (False, "/", None, False, True),  # without root only a dry run can work
])
def test_launch_decides_the_dry_run(asked, root, os_id, is_root, dry):
    launch = Launch.from_flags(root, os_id, None, asked, is_root=is_root, env={})
    assert launch.dry_run is dry
    state = initial_state(root, os_id, None, asked, is_root, {})
    assert (state.choices.dry_run, state.launch.preview) == (dry, launch.preview)


def test_confirm_timer_only_in_an_interactive_ssh_session_that_changes_the_host():
    assert default_confirm_seconds(SSH, interactive=True, dry_run=False) == CONFIRM_SECONDS
    assert default_confirm_seconds(SSH, interactive=False, dry_run=False) is None
    assert default_confirm_seconds(SSH, interactive=True, dry_run=True) is None
    assert default_confirm_seconds({}, interactive=True, dry_run=False) is None
    assert initial_state("/", None, None, False, True, SSH).choices.confirm_timer
    assert not initial_state("/", "debian-12", None, False, True, SSH).choices.confirm_timer
    assert not initial_state("/", None, None, False, True, {}).choices.confirm_timer


def test_host_ipv4s_are_the_cards_v4_addresses_without_lo():
    addresses = HostAddresses(lo=(LoAddress("127.0.0.1", 8),),
                              others={"eth0": ("192.0.2.5", "2001:db8::5"),
                                      "eth1": ("198.51.100.7",)})
    assert host_ipv4s(addresses) == ("192.0.2.5", "198.51.100.7")
    assert host_ipv4s(None) == ()


def test_cli_apply_with_os_is_a_preview_and_changes_nothing(tmp_path):
    # Before the service, `apply --os ID` without --dry-run went on to change this very
    # host with another OS's method; the wizard always treated --os as a preview.
    root = make_root(tmp_path, "debian-12")
    before = tree_digest(root)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = clb_wizard.cli.main(["apply", "--os", "debian-12", "--vip", VIP1, "--yes",
                                    "--root", str(root)])
    assert code == 2
    assert "this is a preview: add --dry-run" in err.getvalue()
    assert tree_digest(root) == before
    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = clb_wizard.cli.main(["apply", "--os", "debian-12", "--vip", VIP1,
                                    "--root", str(root), "--dry-run"])
    assert code == 0, out.getvalue()
    assert tree_digest(root) == before


def test_both_parsers_know_the_same_wizard_flags():
    from clb_wizard.cli import _wizard_options
    from clb_wizard.cli.commands import build_parser

    argv = ["--root", "/srv/r", "--os", "debian-12", "--method", "ifupdown", "--dry-run"]
    quick = vars(_wizard_options(argv))
    full = vars(build_parser().parse_args(argv))
    assert quick == {k: v for k, v in full.items() if k.startswith("tui_")}
    assert os.path.isabs(quick["tui_root"])
