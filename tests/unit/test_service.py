"""clb_wizard.service: the rules the CLI and the wizard share, decided once (preview means
dry run, the confirm timer's default, this host's own addresses), and both faces agreeing
on them."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys

import pytest

import clb_wizard.cli
from clb_wizard.errors import ClbWizardError
from clb_wizard.facts import HostAddresses
from clb_wizard.methods.base import LoAddress
from clb_wizard.screens.state import initial_state
from clb_wizard.service import (
    CONFIRM_SECONDS,
    Launch,
    Service,
    default_confirm_seconds,
    host_ipv4s,
    is_preview,
    key_checksum,
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


# -- what the screens catch: every refusal through the door is a ClbWizardError -------------
def test_typed_keys_and_a_keys_file_others_can_read_are_refused_as_clb_wizard_errors(tmp_path):
    service = Service(tmp_path)
    with pytest.raises(ClbWizardError, match="The private key is empty"):
        service.credentials("public-key", "  ", "cn-bj2")
    creds = service.credentials(" public-key\n", "private-key", "cn-bj2", None,
                                region_source="the Region field")
    assert (creds.public_key, creds.project_id) == ("public-key", None)
    assert "private-key" not in repr(creds)
    keys = tmp_path / "keys"
    keys.write_text("UCLOUD_PUBLIC_KEY=public-key\n")
    keys.chmod(0o644)
    with pytest.raises(ClbWizardError, match="lets other users read"):
        service.keys_file(str(keys))
    keys.chmod(0o600)
    assert service.keys_file(str(keys)) == {"UCLOUD_PUBLIC_KEY": "public-key"}


def test_the_key_checksum_is_the_clouds():
    from clb_wizard.cloud.credentials import key_checksum as clouds

    assert key_checksum(" 4E9UU0Vhq\n") == clouds("4E9UU0Vhq") and len(clouds("x")) == 6


READ_HISTORY = """
import sys
from clb_wizard.errors import ClbWizardError
from clb_wizard.service import Service
try:
    Service(sys.argv[1]).last_change()
except ClbWizardError as exc:
    print(f"{type(exc).__name__}: {exc}")
"""


def test_a_history_that_cannot_be_listed_is_refused_as_a_clb_wizard_error(tmp_path):
    # The door's reads fail as ClbWizardError (a RunnerError here), never as a bare
    # OSError the screens would not catch: a history directory this process cannot list
    # (mode 000; as root, run without the capabilities that override it).
    history = tmp_path / "var/lib/clb-wizard/history"
    history.mkdir(parents=True)
    history.parent.chmod(0o700)
    history.chmod(0)
    drop = (["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
            if os.geteuid() == 0 else [])
    result = subprocess.run([*drop, sys.executable, "-c", READ_HISTORY, str(tmp_path)],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "CLB_WIZARD_STATE_DIR": "/var/lib/clb-wizard"})
    history.chmod(0o700)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("RunnerError: cannot list /var/lib/clb-wizard/history: "
                                     "Permission denied")
