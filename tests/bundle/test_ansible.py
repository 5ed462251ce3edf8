"""The bundle's bin/python3 as Ansible's interpreter (the fleet playbook's
ansible_python_interpreter on hosts without Python): the builtin modules the playbook uses
run on it. Here through Ansible's local connection with this machine's ansible-core; the
fleet tests (tests/boot/test_fleet.py) do it over SSH on booted hosts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bundle.conftest import Bundle

PLAY = """- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.setup: {{gather_subset: [min]}}
      register: setup
    - ansible.builtin.command: id -u
      register: command
    - ansible.builtin.stat: {{path: /etc/hostname}}
      register: stat
    - ansible.builtin.slurp: {{src: /etc/hostname}}
      register: slurp
    - ansible.builtin.copy:
        dest: "{tmp}/results.json"
        content: "{{{{ dict(setup=setup, command=command, stat=stat, slurp=slurp) | to_json }}}}"
"""


def test_ansible_builtin_modules_run_on_the_bundles_python(bundle: Bundle,
                                                           tmp_path: Path) -> None:
    # the test extras' ansible-core (PyPI), as the fleet tests use it: Debian's is not installed
    playbook = Path(sys.executable).with_name("ansible-playbook")
    if not playbook.exists():
        pytest.fail("ansible-playbook missing: run `sudo bash tests/run` (the test extras)")
    python = str(bundle.folder / "bin/python3")
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(tmp=tmp_path))
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "local"),
           "ANSIBLE_REMOTE_TEMP": str(tmp_path / "remote"), "ANSIBLE_HOME": str(tmp_path),
           "ANSIBLE_PYTHON_INTERPRETER": python, "ANSIBLE_NOCOLOR": "1"}
    result = subprocess.run([str(playbook), "-c", "local", "-i", "localhost,", str(play)],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "ok=5 " in result.stdout and "failed=0 " in result.stdout, result.stdout
    ran = json.loads((tmp_path / "results.json").read_text())  # written by the copy module
    facts = ran["setup"]["ansible_facts"]
    assert facts["ansible_python"]["executable"] == python
    assert facts["ansible_python_version"].startswith("3.11.")
    assert ran["command"]["stdout"] == "0"
    assert ran["stat"]["stat"]["exists"] and ran["slurp"]["content"]
