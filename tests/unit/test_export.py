"""`clb-wizard export` without a host (wizard/export/playbook.py, wizard/cli/fleet.py).

The playbook is static YAML shipped as package data plus the variables Python makes; the
tests read what `export` writes: the play as shipped, the variables, the bundle copied
byte for byte, ansible-lint's production profile (offline: in a network namespace with
nothing in it when run as root, as in CI), the argv the play gives `clb-wizard apply` as
the installed ansible-core templates it, that nothing before the install needs Python on
the host, and every refusal. The play against real hosts: tests/boot/test_fleet.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from clb_wizard.cli import main
from clb_wizard.export.playbook import BUNDLE_ENV, PLAYBOOK_NAME, VARS_NAME, static_playbook
from tests.fixtures.roots import VIP1, VIP2

BUNDLE = "clb-wizard-0.1.0-linux-x86_64.run"
# A stand-in: export only copies the bundle and reads its name (the real one is tested
# in tests/bundle and installed by the fleet tests in tests/boot/test_fleet.py).
BUNDLE_TEXT = b"#!/bin/sh\n# a stand-in for the portable bundle\nexit 0\n"
VENV_BIN = Path(sys.executable).parent
# modules that run on the host without Python (action plugins run on the controller)
NO_PYTHON_NEEDED = {"ansible.builtin.raw", "ansible.builtin.script", "ansible.builtin.fail",
                    "ansible.builtin.debug"}


@pytest.fixture
def bundle(tmp_path) -> Path:
    path = tmp_path / "dist" / BUNDLE
    path.parent.mkdir()
    path.write_bytes(BUNDLE_TEXT)
    return path


def export(*args: str) -> int:
    return main(["export", "--format", *args])


def exported(tmp_path: Path, bundle: Path, *extra: str) -> Path:
    out = tmp_path / "fleet"
    assert export("ansible", "--vip", VIP1, "--vip", VIP2, "--bundle", str(bundle),
                  "--output", str(out), *extra) == 0
    return out


def play_of(out: Path) -> dict:
    return yaml.safe_load((out / PLAYBOOK_NAME).read_text())[0]


def task_modules(tasks: list[dict]) -> list[str]:
    return [next(k for k in t if k.startswith("ansible.")) for t in tasks]


# -- what export writes ------------------------------------------------------------------------
def test_the_play_is_shipped_as_is_and_python_makes_only_its_variables(tmp_path, bundle):
    out = exported(tmp_path, bundle)
    assert sorted(p.name for p in out.iterdir()) == sorted([PLAYBOOK_NAME, VARS_NAME, BUNDLE])
    assert (out / PLAYBOOK_NAME).read_bytes() == static_playbook()
    assert (out / BUNDLE).read_bytes() == BUNDLE_TEXT
    assert (out / BUNDLE).stat().st_mode & 0o777 == 0o755
    assert yaml.safe_load((out / VARS_NAME).read_text()) == {
        "clb_vips": [VIP1, VIP2], "clb_method": "", "clb_bundle": BUNDLE,
        "clb_version": "0.1.0", "clb_arch": "x86_64"}
    assert play_of(out)["vars_files"] == [VARS_NAME]


def test_a_sha256_beside_the_bundle_must_match_and_is_copied(tmp_path, bundle):
    sidecar = bundle.with_name(BUNDLE + ".sha256")
    sidecar.write_text(f"{hashlib.sha256(BUNDLE_TEXT).hexdigest()}  {BUNDLE}\n")
    out = exported(tmp_path, bundle)
    assert (out / sidecar.name).read_text() == sidecar.read_text()
    sidecar.write_text(f"{'0' * 64}  {BUNDLE}\n")
    assert export("ansible", "--vip", VIP1, "--bundle", str(bundle),
                  "--output", str(tmp_path / "again")) == 2


def test_the_bundle_this_wizard_came_from_is_the_default(tmp_path, bundle, monkeypatch):
    monkeypatch.setenv(BUNDLE_ENV, str(bundle))
    assert export("ansible", "--vip", VIP1, "--output", str(tmp_path / "o")) == 0
    assert (tmp_path / "o" / BUNDLE).read_bytes() == BUNDLE_TEXT


def test_without_a_bundle_the_message_says_how_to_get_one(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(BUNDLE_ENV, raising=False)
    assert export("ansible", "--vip", VIP1, "--output", str(tmp_path / "o")) == 2
    err = capsys.readouterr().err
    assert "--bundle FILE" in err and "packaging/build-bundle" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("args,message", [
    (["ansible", "--output", "o"], "No VIP given"),
    (["ansible", "--vip", "10.0.0.1", "--type", "external", "--output", "o"], "--force"),
    (["ansible", "--vip", VIP1], "--output"),
    (["ansible", "--vip", VIP1, "--os", "debian-12", "--output", "o"], "detect each"),
    (["script", "--os", "windows", "--vip", VIP1, "--output", "o"], "PowerShell"),
    (["script", "--os", "plan9-1", "--vip", VIP1, "--output", "o"], "Unsupported OS"),
    (["script", "--vip", VIP1], "--output"),
])
def test_bad_input_is_refused_with_nothing_written(tmp_path, bundle, capsys, monkeypatch,
                                                   args, message):
    monkeypatch.chdir(tmp_path)
    assert export(*args, "--bundle", str(bundle)) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("name,content,message", [
    ("clb-wizard-lo.run", BUNDLE_TEXT, "not named like a clb-wizard bundle"),
    (BUNDLE, b"\x7fELF...", "not a self-extracting sh file"),
])
def test_a_file_that_is_not_a_bundle_is_refused(tmp_path, capsys, name, content, message):
    given = tmp_path / name
    given.write_bytes(content)
    assert export("ansible", "--vip", VIP1, "--bundle", str(given),
                  "--output", str(tmp_path / "o")) == 2
    assert message in capsys.readouterr().err


def test_a_fifo_named_like_a_bundle_is_refused_without_blocking(tmp_path, capsys):
    os.mkfifo(tmp_path / BUNDLE)
    assert export("ansible", "--vip", VIP1, "--bundle", str(tmp_path / BUNDLE),
                  "--output", str(tmp_path / "o")) == 2
    assert "named pipe" in capsys.readouterr().err


def test_output_must_be_a_directory_and_a_symlink_is_not_followed(tmp_path, bundle, capsys):
    afile = tmp_path / "playbook.yml"
    afile.write_text("mine\n")
    assert export("ansible", "--vip", VIP1, "--bundle", str(bundle),
                  "--output", str(afile)) == 2
    assert "not a directory" in capsys.readouterr().err and afile.read_text() == "mine\n"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "link").symlink_to(elsewhere)
    assert export("ansible", "--vip", VIP1, "--bundle", str(bundle),
                  "--output", str(tmp_path / "link")) == 2
    assert list(elsewhere.iterdir()) == []


def test_script_is_the_bundle_with_a_note_on_how_to_run_it(tmp_path, bundle, capsys):
    """`--format script` (the retired sh export's name, as the wizard's old-system hint
    prints it) writes the bundle itself and says what to run on the host."""
    target = tmp_path / "clb-wizard-lo.sh"
    assert export("script", "--os", "centos-7", "--vip", VIP1, "--vip", VIP2,
                  "--bundle", str(bundle), "--output", str(target)) == 0
    assert target.read_bytes() == BUNDLE_TEXT and target.stat().st_mode & 0o777 == 0o755
    err = capsys.readouterr().err
    assert "the exported sh script is retired" in err
    assert f"sudo sh clb-wizard-lo.sh apply --vip {VIP1} --vip {VIP2}" in err
    assert export("script", "--bundle", str(bundle), "--output", str(tmp_path)) == 0
    assert (tmp_path / BUNDLE).read_bytes() == BUNDLE_TEXT


# -- the play ----------------------------------------------------------------------------------
def test_nothing_before_the_install_needs_python_on_the_host(tmp_path, bundle):
    play = play_of(exported(tmp_path, bundle))
    assert play["gather_facts"] is False
    tasks = play["tasks"]
    install = next(i for i, t in enumerate(tasks) if "ansible.builtin.script" in t)
    assert set(task_modules(tasks[:install + 1])) <= NO_PYTHON_NEEDED
    assert tasks[install]["ansible.builtin.script"] == {
        "cmd": "{{ clb_bundle }} --install-only", "creates": "{{ clb_wizard }}",
        "executable": "/bin/sh"}
    rest = tasks[install + 1:]
    assert len(rest) == 1 and "block" in rest[0]  # every other task: the bundle's Python
    assert rest[0]["vars"]["ansible_python_interpreter"] == "{{ clb_home }}/bin/python3"
    assert play["vars"]["clb_home"] == "/opt/clb-wizard/{{ clb_version }}"


def test_batches_are_options_with_safe_defaults(tmp_path, bundle):
    play = play_of(exported(tmp_path, bundle))
    assert play["serial"] == "{{ clb_serial | default(1) }}"
    assert play["max_fail_percentage"] == "{{ clb_max_fail_percentage | default(0) }}"
    assert play["hosts"] == "{{ clb_hosts | default('all') }}"


def test_the_play_runs_the_engine_and_holds_no_lock_of_its_own(tmp_path, bundle):
    """Every change is `clb-wizard apply`/`rollback` (async: a killed ansible-playbook does
    not cut it off); the play writes no file and takes no lock itself."""
    block = play_of(exported(tmp_path, bundle))["tasks"][-1]["block"]
    used = set(task_modules(block))
    assert used == {"ansible.builtin.command", "ansible.builtin.debug", "ansible.builtin.fail"}
    commands = [t for t in block if "ansible.builtin.command" in t]
    changing = [t for t in commands if t.get("changed_when") != False]  # noqa: E712
    assert [t["register"] for t in changing] == ["clb_applied", "clb_rolled"]
    assert all(t["poll"] > 0 and "async" in t for t in changing)
    text = (tmp_path / "fleet" / PLAYBOOK_NAME).read_text()
    assert "flock" not in text and "/var/lib/clb-wizard" not in text  # the engine's own


PROBE = """- name: The play's variables, templated by ansible-core as the play templates them
  hosts: all
  gather_facts: false
  vars_files: [{vars_file}]
  vars: {vars}
  tasks:
    - name: Show the argv of clb-wizard apply
      ansible.builtin.debug:
        msg: "ARGV={{{{ clb_apply_argv | join('|') }}}}"
    - name: The rollback's choice, in a conditional as the play uses it
      ansible.builtin.debug:
        msg: "OURS"
      when: clb_undo and clb_ours
    - name: The rollback's other choice
      ansible.builtin.debug:
        msg: "NOT OURS"
      when: clb_undo and not clb_ours
"""


def probe_play(tmp_path: Path, out: Path, inventory: dict, *extra: str) -> dict[str, list[str]]:
    """The play's own variables (of the play and of its block, but the interpreter)
    templated by ansible-playbook (the test extras' ansible-core) for the hosts of
    `inventory` (host -> host vars): host -> the messages shown."""
    play = play_of(out)
    block_vars = {k: v for k, v in play["tasks"][-1]["vars"].items()
                  if k != "ansible_python_interpreter"}
    probe = tmp_path / "probe.yml"
    probe.write_text(PROBE.format(vars_file=out / VARS_NAME,
                                  vars=json.dumps({**play["vars"], **block_vars})))
    hosts = tmp_path / "hosts.yml"
    hosts.write_text(json.dumps({"all": {"hosts": inventory}}))
    env = {**os.environ, "HOME": str(tmp_path), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
           "ANSIBLE_NOCOLOR": "1"}
    result = subprocess.run([VENV_BIN / "ansible-playbook", "-i", hosts, "-c", "local", probe,
                             *extra], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    shown: dict[str, list[str]] = {}
    for host, msg in re.findall(r'^ok: \[(\w+)\] => \{\n\s+"msg": "(.*)"$', result.stdout, re.M):
        shown.setdefault(host, []).append(msg)
    return shown


def test_apply_gets_the_vips_and_exactly_the_options_asked_for(tmp_path, bundle):
    """Three hosts: no option, each option set in the inventory, and one set with -e as
    the README shows (-e wins over the inventory: arp gets none)."""
    out = exported(tmp_path, bundle, "--method", "networkd")
    shown = probe_play(tmp_path, out, {"plain": {}, "remove": {"clb_remove_others": True},
                                       "arp": {"clb_arp_sysctls": "yes"}},
                       "-e", "clb_arp_sysctls=false")
    argv = {host: msgs[0].removeprefix("ARGV=").split("|") for host, msgs in shown.items()}
    base = ["/opt/clb-wizard/0.1.0/clb-wizard", "apply", "--json", "--yes",
            "--confirm-timeout=0", f"--vip={VIP1},{VIP2}", "--method=networkd"]
    assert argv == {"plain": base, "remove": [*base, "--remove-others"], "arp": base}


def history(*vip_sets: list[str]) -> dict:
    """A registered `clb-wizard history --json` result, newest first."""
    entries = [{"id": f"2025010{n}-000000-abcdef", "vips": vips}
               for n, vips in enumerate(vip_sets)]
    return {"stdout": json.dumps({"ok": True, "history": entries}), "rc": 0}


def test_rollback_undoes_only_a_newest_change_that_is_this_playbooks(tmp_path, bundle):
    out = exported(tmp_path, bundle)
    shown = probe_play(tmp_path, out, {
        "ours": {"clb_history": history([VIP2, VIP1], [VIP1])},  # any order of the VIPs
        "later": {"clb_history": history([VIP1], [VIP1, VIP2])},  # another change since
        "none": {"clb_history": history()},  # nothing on record
    }, "-e", "clb_rollback=true")
    assert {host: msgs[1:] for host, msgs in shown.items()} == {
        "ours": ["OURS"], "later": ["NOT OURS"], "none": ["NOT OURS"]}


def test_the_play_passes_ansible_lint_production_offline(tmp_path, bundle):
    out = exported(tmp_path, bundle)
    lint = [str(VENV_BIN / "ansible-lint"), "--offline", "--profile", "production",
            "--nocolor", PLAYBOOK_NAME]
    if os.geteuid() == 0:  # as in CI: a network namespace with nothing in it
        lint = ["unshare", "--net", *lint]
    env = {**os.environ, "HOME": str(tmp_path), "NO_COLOR": "1"}
    result = subprocess.run(lint, cwd=out, capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "Profile 'production' was required, and it passed" in result.stdout + result.stderr
