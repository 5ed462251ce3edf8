"""The CLI (wizard/cli/) on bad input: exit 2, the reason and what to do on stderr,
nothing written (the fixture root is byte-for-byte the same); and the JSON shapes of
`detect --json` and `plan --json`."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
from pathlib import Path

import pytest

import clb_wizard.cli
from tests.fixtures.roots import (
    VIP1,
    VIP2,
    make_root,
    tree_digest,
    write,
)

REPO = Path(__file__).resolve().parents[2]
ENTRY_POINT = REPO / ".venv" / "bin" / "clb-wizard"


def cli(*argv: str) -> int:
    return clb_wizard.cli.main(list(argv))


def broken_yaml(root):
    write(root, "/etc/netplan/60-admin.yaml", "network:\n  ethernets:\n    eth1: {dhcp4: true\n",
          0o600)


def broken_ifcfg(root):
    write(root, "/etc/sysconfig/network-scripts/ifcfg-lo:1",
          "DEVICE=lo:1\nIPADDR=192.0.2.50\nifup this now please\n")


def broken_interfaces(root):
    write(root, "/etc/network/interfaces",
          "source /etc/network/interfaces.d/*\n    address 192.0.2.5\nauto lo\n"
          "iface lo inet loopback\n")


def no_known_stack(root):
    """An OS without systemd whose only network tool is gone (Alpine minus ifupdown-ng)."""
    for tool in ("ifupdown", "ifup", "ifquery"):  # one binary and its links
        (root / "sbin" / tool).unlink()


BAD_INPUT = [
    # (id, release of the fixture root, extra argv, root changer, what stderr must say)
    ("malformed", "debian-12", ["--vip", "203.0.113"], None, "not a valid IPv4 address"),
    ("hostname", "debian-12", ["--vip", "vip.example.com"], None, "not an IPv4 address"),
    ("prefix", "debian-12", ["--vip", "203.0.113.10/24"], None, "/32"),
    ("zero", "debian-12", ["--vip", "0.0.0.0"], None, "0.0.0.0/8"),
    ("loopback", "ubuntu-22.04", ["--vip", "127.0.0.2"], None, "loopback"),
    ("multicast", "centos-7", ["--vip", "224.0.0.18"], None, "multicast"),
    ("link-local", "rocky-9", ["--vip", "169.254.169.254"], None, "link-local"),
    ("broadcast", "debian-12", ["--vip", "255.255.255.255"], None, "limited broadcast"),
    ("class-e", "debian-12", ["--vip", "240.1.2.3"], None, "class E"),
    ("duplicate", "ubuntu-22.04", ["--vip", VIP1, "--vip", f"{VIP1}/32"], None, "listed twice"),
    ("duplicate-in-one", "debian-12", ["--vip", f"{VIP1},{VIP2},{VIP1}"], None, "listed twice"),
    ("semicolon", "debian-12", ["--vip", "1.2.3.4;reboot"], None, "'reboot'"),
    ("subshell", "debian-12", ["--vip", "$(reboot)"], None, "not an IPv4 address"),
    ("backticks", "centos-7", ["--vip", "`reboot`"], None, "not an IPv4 address"),
    ("pipe", "rocky-9", ["--vip", "203.0.113.10|sh"], None, "not an IPv4 address"),
    ("ipv6", "debian-12", ["--vip", "2001:db8::10"], None, "IPv6"),
    ("no-vip", "debian-12", [], None, "--vip"),
    ("internal-public", "debian-12", ["--type", "internal", "--vip", "8.8.8.8"], None,
     "--force"),
    ("external-private", "rocky-9", ["--type", "external", "--vip", "10.1.2.3"], None,
     "--force"),
    ("unknown-os-flag", "debian-12", ["--os", "fedora-40", "--vip", VIP1], None, "Supported:"),
    ("malformed-os-flag", "debian-12", ["--os", "debian", "--vip", VIP1], None, "ID-VERSION"),
    ("unknown-os-root", "alpine-3", ["--vip", VIP1], no_known_stack,
     f"ip addr add {VIP1}/32 dev lo label lo:1"),
    ("bad-yaml", "ubuntu-22.04", ["--vip", VIP1], broken_yaml, "60-admin.yaml"),
    ("bad-ifcfg", "centos-7", ["--vip", VIP1], broken_ifcfg, "KEY=VALUE"),
    ("bad-interfaces", "debian-12", ["--vip", VIP1], broken_interfaces, "outside any 'iface'"),
]
# What a message must offer besides the fault: a way forward.
WAY_FORWARD = ("e.g.", "enter", "use", "give", "fix", "check", "--force", "--os", "supported",
               "copy", "pass")


@pytest.mark.parametrize("case", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_exits_2_says_why_and_writes_nothing(tmp_path, capsys, case):
    _, key, argv, change, says = case
    root = make_root(tmp_path, key)
    if change:
        change(root)
    before = tree_digest(root)
    assert cli("plan", "--root", str(root), *argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("clb-wizard: ") and says in err, err
    assert any(word in err.lower() for word in WAY_FORWARD), err
    assert tree_digest(root) == before


@pytest.mark.parametrize("case", [c for c in BAD_INPUT if c[0] in (
    "prefix", "semicolon", "unknown-os-root", "bad-yaml")], ids=lambda c: c[0])
def test_bad_input_as_json_reports_the_error_on_stdout_too(tmp_path, capsys, case):
    _, key, argv, change, says = case
    root = make_root(tmp_path, key)
    if change:
        change(root)
    assert cli("plan", "--json", "--root", str(root), *argv) == 2
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["ok"] is False and says in data["error"]
    assert says in err


@pytest.mark.parametrize("argv, vip", [(["--type", "internal"], "8.8.8.8"),
                                       (["--type", "external"], "10.1.2.3")])
def test_a_type_mismatch_passes_with_force(tmp_path, capsys, argv, vip):
    root = make_root(tmp_path, "debian-12")
    assert cli("plan", "--json", "--force", "--root", str(root), *argv, "--vip", vip) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["vips"] == [vip] and data["changed"] is True
    assert len(data["warnings"]) == 1 and "CLB" in data["warnings"][0]


def test_a_missing_root_is_an_input_error(tmp_path, capsys):
    assert cli("plan", "--root", str(tmp_path / "nope"), "--vip", VIP1) == 2
    assert "no such directory" in capsys.readouterr().err


def test_a_windows_root_asks_for_os(tmp_path, capsys):
    root = make_root(tmp_path, "windows")
    assert cli("detect", "--root", str(root)) == 2
    assert "--os" in capsys.readouterr().err
    assert cli("plan", "--os", "windows", "--root", str(root), "--vip", VIP1) == 0
    assert "netsh interface ipv4 add address" in capsys.readouterr().out


def test_userdata_bad_input(capsys):
    assert cli("userdata", "--vip", VIP1) == 2
    assert "--os" in capsys.readouterr().err
    assert cli("userdata", "--os", "ubuntu-22.04", "--vip", "127.0.0.1") == 2
    assert "loopback" in capsys.readouterr().err
    assert cli("userdata", "--os", "fedora-40", "--vip", VIP1) == 2
    assert "Supported:" in capsys.readouterr().err
    assert cli("userdata", "--os", "ubuntu-22.04", "--type", "internal", "--vip", "8.8.8.8") == 2
    assert "--force" in capsys.readouterr().err


def test_argparse_rejects_an_unknown_type(capsys):
    with pytest.raises(SystemExit) as info:
        cli("plan", "--type", "public", "--vip", VIP1)
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


# -- JSON shapes ------------------------------------------------------------------------------
def test_detect_json_shape(tmp_path, capsys):
    root = make_root(tmp_path, "rocky-8")
    assert cli("detect", "--json", "--root", str(root)) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"os_id", "version", "name", "family", "release", "detected", "method",
            "reasons", "packages", "stack"} <= set(data)
    assert (data["os_id"], data["version"], data["method"]) == ("rocky", "8.10", "ifcfg")
    assert data["packages"] == ["network-scripts"] and data["detected"] is True
    assert data["stack"]["network_scripts"] is False and data["stack"]["networkmanager"] is True


def test_plan_json_shape(tmp_path, capsys):
    root = make_root(tmp_path, "debian-12")
    assert cli("plan", "--json", "--root", str(root), "--vip", VIP1, "--vip", VIP2) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"platform", "method", "vips", "clb_type", "changed", "files", "commands",
            "warnings", "notes", "checks"} <= set(data)
    assert data["vips"] == [VIP1, VIP2] and data["method"] == "ifupdown"
    (change,) = data["files"]
    assert {"path", "before", "after", "mode"} <= set(change)
    assert change["path"] == "/etc/network/interfaces.d/clb-wizard-lo"
    assert change["before"] is None and change["mode"] == "0644"
    assert f"address {VIP1}" in change["after"]
    assert [c["argv"] for c in data["commands"]] == [["ifup", "lo:1"], ["ifup", "lo:2"]]
    assert all(isinstance(c["why"], str) and c["shell"] for c in data["commands"])
    assert isinstance(data["warnings"], list) and isinstance(data["notes"], list)
    assert {c["kind"] for c in data["checks"]} >= {"on-lo", "routed-local"}


def test_no_change_plan_json(tmp_path, capsys):
    root = make_root(tmp_path, "ubuntu-22.04")
    assert cli("plan", "--json", "--root", str(root), "--vip", VIP1) == 0
    first = json.loads(capsys.readouterr().out)
    (change,) = first["files"]
    write(root, change["path"], change["after"], int(change["mode"], 8))
    assert cli("plan", "--json", "--root", str(root), "--vip", VIP1) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["changed"] is False and again["files"] == [] and again["commands"] == []


def test_plan_text_goes_to_the_current_stdout(tmp_path):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        clb_wizard.cli.main(["plan", "--os", "ubuntu-22.04", "--root", str(tmp_path),
                             "--vip", VIP1])
    assert "90-clb-wizard-lo.yaml" in buffer.getvalue()


# -- through the installed entry point ------------------------------------------------------
def entry(*argv: str) -> subprocess.CompletedProcess:
    assert ENTRY_POINT.exists(), "pip install -e '.[test]' creates .venv/bin/clb-wizard"
    return subprocess.run([str(ENTRY_POINT), *argv], capture_output=True, text=True, timeout=60)


def test_entry_point_rejects_bad_input_with_exit_2(tmp_path):
    root = make_root(tmp_path, "ubuntu-24.04")
    before = tree_digest(root)
    result = entry("plan", "--root", str(root), "--vip", "1.2.3.4;reboot")
    assert result.returncode == 2 and result.stdout == ""
    assert "'reboot' is not an IPv4 address" in result.stderr
    result = entry("plan", "--root", str(root), "--os", "fedora-40", "--vip", VIP1)
    assert result.returncode == 2 and "Supported:" in result.stderr
    assert tree_digest(root) == before


def test_entry_point_plans_and_detects(tmp_path):
    root = make_root(tmp_path, "ubuntu-18.04")
    result = entry("detect", "--json", "--root", str(root))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["method"] == "netplan"
    result = entry("plan", "--root", str(root), "--vip", VIP1)
    assert result.returncode == 0, result.stderr
    assert "+      - 203.0.113.10/32" in result.stdout
    assert "ip addr replace 203.0.113.10/32 dev lo" in result.stdout
