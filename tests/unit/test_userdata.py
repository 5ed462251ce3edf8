"""cloud-init UserData (wizard/export/userdata.py): a correct shell script per OS that writes the
same files as the plan (real indentation, quoted here-documents, no `sudo echo > file`),
activates them the least disruptive way and checks the result. shellcheck and dash -n
are the real validators here; tests/live/test_validators.py runs some scripts for real."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

import clb_wizard.export.userdata
from clb_wizard.export.userdata import render_userdata
from clb_wizard.platform import detect
from clb_wizard.runner import Runner
from clb_wizard.service import Options, Service
from tests.fixtures import readers
from tests.fixtures.roots import (
    LINUX_OS_KEYS,
    SPECS,
    VIP1,
    VIP3,
)

VIPS = (VIP1, VIP3)
_WRITE = re.compile(
    r"^cat > \"\$tmp\" <<'(?P<eof>\w+)'\n(?P<content>.*?)^(?P=eof)\n"
    r"chmod (?P<mode>[0-7]{4}) \"\$tmp\"\nmv -f \"\$tmp\" (?P<path>\S+)\n",
    re.M | re.S,
)


def userdata(key: str, vips=VIPS) -> str:
    return render_userdata(detect(Runner(root=Path("/nonexistent")), key), list(vips))


# lines added to a file the OS ships (wicked's ifcfg-lo), once
_APPEND = re.compile(r"^    cat >> (?P<path>\S+) <<'(?P<eof>\w+)'\n(?P<content>.*?)^(?P=eof)\nfi\n",
                     re.M | re.S)


def appended_files(script: str) -> dict[str, str]:
    return {shlex.split(m["path"])[0]: m["content"] for m in _APPEND.finditer(script)}


def written_files(script: str) -> dict[str, tuple[str, int]]:
    """path -> (content, mode) of every file the script writes."""
    return {shlex.split(m["path"])[0]: (m["content"], int(m["mode"], 8))
            for m in _WRITE.finditer(script)}


def command_lines(script: str) -> list[tuple[str, ...]]:
    """The lines after the last file is written and before the check loop."""
    tail = script[max(m.end() for m in [*_WRITE.finditer(script), *_APPEND.finditer(script)]):]
    body = tail.split("\nset -- ")[0]
    lines = [line for line in body.splitlines() if line and not line.startswith(" ")]
    return [tuple(shlex.split(line)) for line in lines if not line.startswith(("if ", "fi"))]


@pytest.mark.parametrize("count", [1, 2, 5])
@pytest.mark.parametrize("key", LINUX_OS_KEYS)
def test_userdata_passes_dash_n_and_shellcheck(key, count, tmp_path):
    for tool in ("dash", "shellcheck"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: run tests/setup-system.sh")
    path = tmp_path / f"userdata-{key}.sh"
    path.write_text(userdata(key, [f"198.51.100.{n}" for n in range(1, count + 1)]))
    syntax = subprocess.run(["dash", "-n", str(path)], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    # every severity, style included
    lint = subprocess.run(["shellcheck", "--shell=sh", "--severity=style", str(path)],
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.parametrize("key", LINUX_OS_KEYS)
def test_userdata_writes_what_the_plan_writes(key, tmp_path):
    script = userdata(key)
    assert script.startswith("#!/bin/sh\n")  # POSIX: Alpine has no bash
    assert "\nset -eu\n" in script
    assert "sudo" not in script
    # files are written whole through a temp file; only the guarded `source` line is
    # appended (>>) to /etc/network/interfaces
    assert not re.search(r"\b(echo|printf)\b[^\n]*(?<!>)>(?!>)\s*/etc/", script)
    files = written_files(script)
    root = tmp_path / "root"
    if SPECS[key].method in ("ifupdown", "ifupdown-ng"):  # stock, sourcing the drop-ins
        (root / "etc/network").mkdir(parents=True)
        (root / "etc/network/interfaces").write_text("source /etc/network/interfaces.d/*\n")
    else:
        root.mkdir()
    plan = Service(root).plan(Options(vips=VIPS, os_override=key))
    planned = {c.path: (c.after, c.mode) for c in plan.files}
    for change in plan.files:  # a stock file gets our lines appended, not rewritten
        if change.path in appended_files(script):
            files[change.path] = (change.before + appended_files(script)[change.path],
                                  change.mode)
    assert files == planned
    method = SPECS[key].method
    for content, mode in files.values():
        if method == "ifcfg":
            assert readers.parse_ifcfg_text(content)["IPADDR"] in VIPS and mode == 0o644
        elif method == "ifupdown":
            _, ifaces = readers.parse_stanzas(content)
            assert [i["options"]["address"] for i in ifaces.values()] == list(VIPS)
        elif method == "netplan":
            assert mode == 0o600
            lo = yaml.safe_load(content)["network"]["ethernets"]["lo"]
            assert lo["addresses"] == [f"{v}/32" for v in VIPS]
        elif method == "networkmanager":
            assert mode == 0o600
            profile = readers.parse_keyfile_text(content)
            assert readers.keyfile_addresses(profile) == [f"{v}/32" for v in VIPS]
        elif method == "systemd-unit":
            unit = readers.parse_unit(content)
            assert len(readers.unit_values(unit, "Service", "ExecStart")) == len(VIPS)


@pytest.mark.parametrize("key", LINUX_OS_KEYS)
def test_userdata_activates_like_the_plan_and_checks_every_vip(key, tmp_path):
    script = userdata(key)
    commands = command_lines(script)
    for argv in commands:
        assert "restart" not in argv and argv[:2] != ("netplan", "apply"), argv
    root = tmp_path / "root"
    (root / "etc/network").mkdir(parents=True)
    (root / "etc/network/interfaces").write_text("source /etc/network/interfaces.d/*\n")
    plan = Service(root).plan(Options(vips=VIPS, os_override=key))
    expected = [c.argv for c in plan.activate]
    assert commands == expected
    check = script.split("\nset -- ", 1)[1]
    assert check.startswith(" ".join(VIPS) + "\n")
    assert "exit 1" in check


@pytest.mark.parametrize("key", ["centos-8", "rocky-8", "almalinux-8"])
def test_userdata_installs_network_scripts_when_missing(key):
    script = userdata(key)
    install = script.index("dnf install -y network-scripts")
    assert script.index("ifup-eth") < install < script.index("ifcfg-lo:1")
    assert "dnf install" not in userdata("centos-7")


def test_userdata_for_ifupdown_adds_a_source_line_only_when_needed():
    script = userdata("debian-12")
    guard = re.search(r"^if ! grep -Eq (.+) /etc/network/interfaces; then\n(.*?)^fi\n",
                      script, re.M | re.S)
    assert guard, "the source line is guarded by a grep"
    pattern = shlex.split(guard.group(1))[0]
    for line, matches in [("source /etc/network/interfaces.d/*", True),
                          ("source-directory /etc/network/interfaces.d", True),
                          ("  source-directory interfaces.d/", True),
                          ("source /etc/network/interfaces.d/*.cfg", False),
                          ("# source /etc/network/interfaces.d/*", False)]:
        grep = subprocess.run(["grep", "-Eq", pattern], input=line + "\n", text=True)
        assert (grep.returncode == 0) is matches, line
    assert "source %s" in guard.group(2) and "/etc/network/interfaces.d/clb-wizard-lo" in (
        guard.group(2))


def test_windows_userdata_is_a_powershell_script():
    script = userdata("windows")
    assert script.startswith("#ps1_sysnative\n")
    assert readers.windows_vip_array(script) == list(VIPS)
    assert "mask=255.255.255.255" in script and "weakhostsend=enabled" in script


def test_userdata_keeps_yaml_indentation_for_any_number_of_vips():
    vips = [f"198.51.100.{n}" for n in range(1, 8)]
    (content, _), = written_files(userdata("ubuntu-24.04", vips)).values()
    assert yaml.safe_load(content)["network"]["ethernets"]["lo"]["addresses"] == [
        f"{v}/32" for v in vips]


# -- the final check, run by sh against a stand-in `ip` -------------------------------------------
FAKE_IP = """#!/bin/sh
# prints lo's addresses; the VIP shows up only from call $SHOW_AFTER on, as when
# systemd-networkd adds it a moment after `networkctl reconfigure lo` returned
n=$(cat "$COUNTER" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$COUNTER"
echo "1: lo    inet 127.0.0.1/8 brd 127.255.255.255 scope host lo"
if [ "$n" -ge "$SHOW_AFTER" ]; then
    echo "1: lo    inet 203.0.113.10/32 scope global lo:1\\       valid_lft forever"
fi
"""


def _run_check(tmp_path, vips, seconds, monkeypatch, show_after=3):
    monkeypatch.setattr(clb_wizard.export.userdata, "CHECK_SECONDS", seconds)
    script = userdata("debian-12", vips)
    check = "set -eu\nset -- " + script.split("\nset -- ", 1)[1]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ip").write_text(FAKE_IP)
    (bin_dir / "ip").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "COUNTER": str(tmp_path / "calls"),
           "SHOW_AFTER": str(show_after)}
    return subprocess.run(["sh", "-c", check], capture_output=True, text=True, env=env,
                          timeout=30)


def test_the_check_waits_for_an_address_that_comes_a_moment_later(tmp_path, monkeypatch):
    result = _run_check(tmp_path, [VIP1], 10, monkeypatch)
    assert result.returncode == 0, result.stderr
    assert "the CLB VIPs are on lo" in result.stdout
    assert int((tmp_path / "calls").read_text()) == 3


def test_the_check_fails_naming_a_vip_that_never_comes(tmp_path, monkeypatch):
    # no waiting here (0 s): VIP1 is there at once, the other one never
    result = _run_check(tmp_path, [VIP1, "198.51.100.99"], 0, monkeypatch, show_after=1)
    assert result.returncode == 1
    assert "198.51.100.99 is not on lo" in result.stderr
    # a VIP that is a prefix of another must not count as present: 203.0.113.1 vs .10
    (tmp_path / "again").mkdir()
    result = _run_check(tmp_path / "again", ["203.0.113.1"], 0, monkeypatch, show_after=1)
    assert result.returncode == 1 and "203.0.113.1 is not on lo" in result.stderr
