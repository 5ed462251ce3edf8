"""The playbook tells a host's family, release and method as `clb-wizard detect` does, on
every family fixture, with real Ansible templating.

One ansible-playbook run (connection local, nothing on this machine changes: the play is
only set_fact and debug tasks) holds a play per fixture root. Each play is the exported
playbook's own vars and its own probe-and-choose tasks up to the method choice, with each
task that asks the host (stat, find, nmcli, networkctl, systemctl, cat os-release)
replaced by the answer that host would give, read from the fixture root. The choice must
be the method `detect` picks on the same root, and the family and release its own.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from clb_wizard.errors import PlatformError
from clb_wizard.export.ansible import _Dumper, playbook_data
from clb_wizard.export.ansible_plan import probe_and_choose
from clb_wizard.methods.netplan import is_netplan_config
from clb_wizard.platform import KNOWN_RELEASES, detect
from clb_wizard.runner import Runner
from tests.conftest import require
from tests.fixtures.roots import LINUX_KEYS, host, make_root

pytestmark = pytest.mark.live

LAST_TASK = "Choose the method (as clb-wizard does)"


def _answers(root: Path, probe_paths: list[str]) -> dict:
    """What the tasks that ask the host would register on this root. nmcli answers with
    the version `detect` finds for NetworkManager (on a live host it asks nmcli too)."""
    osr = host(root, "/etc/os-release")
    text = osr.read_text() if osr.exists() else ""
    netplan = host(root, "/etc/netplan")
    yaml_files = os.listdir(netplan) if netplan.is_dir() else []
    try:
        stack = detect(Runner(root=root)).stack
    except PlatformError:
        stack = None
    nm = stack.nm_version if stack is not None and stack.networkmanager else None
    return {
        "clb_probe": {"results": [{"item": p, "stat": {"exists": os.path.lexists(
            host(root, p))}} for p in probe_paths]},
        "clb_netplan_yaml": {"matched": sum(map(is_netplan_config, yaml_files))},
        "clb_nmcli": ({"rc": 0, "stdout": f"nmcli tool, version {nm}"} if nm
                      else {"rc": 2, "stdout": ""}),
        "clb_networkctl": {"rc": 2, "stdout": ""},  # a root, not a running host
        "clb_networkd_active": {"rc": 3},
        "clb_osr": {"rc": 0, "stdout": text},
    }


def _play_for(key: str, root: Path, template: dict) -> dict:
    tasks = []
    for task in probe_and_choose():
        tasks.append(task)
        if task["name"] == LAST_TASK:
            break
    answers = _answers(root, template["vars"]["clb_probe_paths"])
    asked = [t for t in tasks if "register" in t]
    assert {t["register"] for t in asked} == set(answers), "a new question for the host"
    tasks = [{"name": "Answers of this root", "ansible.builtin.set_fact": answers}] + [
        t for t in tasks if "register" not in t]
    tasks.append({"name": "RESULT", "ansible.builtin.debug": {
        "msg": f"RESULT {key} " + "{{ clb_chosen }} {{ clb_family }} {{ clb_release or '-' }}"}})
    return {"name": key, "hosts": "localhost", "gather_facts": False,
            "vars": template["vars"], "tasks": tasks}


def _engine(root: Path) -> tuple[str, str, str]:
    try:
        platform = detect(Runner(root=root))
    except PlatformError:  # no method fits: the play says "none"
        return "none", "-", "-"
    known = KNOWN_RELEASES.get(platform.release)
    # a known key of another family is a bare release of the same name (uos-20 desktop)
    release = platform.release if known and known.family == platform.family else "-"
    return platform.method, platform.family, release


def test_the_playbook_identifies_every_family_as_detect(tmp_path):
    require("ansible-playbook")
    template = playbook_data(["192.0.2.10"])[0]
    roots = {key: make_root(tmp_path, key) for key in LINUX_KEYS}
    playbook = tmp_path / "identify.yml"
    plays = [_play_for(key, root, template) for key, root in roots.items()]
    playbook.write_text(yaml.dump(plays, Dumper=_Dumper, sort_keys=False))  # the export's own
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "0"}
    result = subprocess.run(["ansible-playbook", "-c", "local", "-i", "localhost,",
                             str(playbook)], capture_output=True, text=True, env=env,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    said = {}
    for line in re.findall(r'^\s*"msg": "RESULT (.*)"$', result.stdout, re.M):
        key, *rest = line.split()
        said[key] = tuple(rest)
    expected = {key: _engine(root) for key, root in roots.items()}
    assert said == expected
    # the fixtures cover every family and the fallback, and one refusal-free unknown OS
    assert {family for _, family, _ in said.values()} >= {"rhel", "debian", "suse",
                                                          "alpine", "linux"}
    assert {"ifupdown-ng", "wicked", "networkd", "systemd-unit"} <= {
        method for method, _, _ in said.values()}
