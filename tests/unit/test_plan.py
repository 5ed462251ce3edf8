"""Plans (wizard/plan.py through wizard/service.py) for every OS id on a fixture root:
the method, the content read back semantically, the commands, idempotency, never
clobbering, and removing VIPs."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

import clb_wizard.cli
from clb_wizard.errors import PlatformError
from clb_wizard.methods.networkmanager import CONNECTION_UUID
from clb_wizard.plan import FileChange
from clb_wizard.service import Options, Service
from tests.fixtures import readers
from tests.fixtures.roots import (
    LINUX_KEYS,
    RELEASE_KEYS,
    SPECS,
    VIP1,
    VIP2,
    VIP3,
    apply_files,
    make_root,
    read,
    tree_digest,
    write,
)

NS = "/etc/sysconfig/network-scripts"
ENI = "/etc/network/interfaces"
DROPIN = "/etc/network/interfaces.d/clb-wizard-lo"
NETPLAN = "/etc/netplan/90-clb-wizard-lo.yaml"
NM = "/etc/NetworkManager/system-connections/clb-wizard-lo.nmconnection"
UNIT = "/etc/systemd/system/clb-wizard-lo.service"
VIPS = (VIP1, VIP2)

# Commands a plan must never hold: they re-apply every interface (or all of networking).
FORBIDDEN = (("netplan", "apply"), ("netplan", "try"), ("systemctl", "restart"),
             ("service", "networking"), ("service", "network"), ("/etc/init.d/networking",),
             ("nmcli", "networking"), ("ifup", "-a"), ("ifdown", "-a"))


def run_cli(*argv: str) -> int:
    return clb_wizard.cli.main(list(argv))


def plan_for(root, vips=VIPS, os_override=None, **options):
    return Service(root).plan(Options(vips=tuple(vips), os_override=os_override, **options))


def changes(plan) -> dict[str, FileChange]:
    return {change.path: change for change in plan.files}


def argvs(plan) -> list[tuple[str, ...]]:
    return [c.argv for c in plan.commands]


def assert_no_restart(commands):
    for argv in commands:
        assert "restart" not in " ".join(argv), argv
        for bad in FORBIDDEN:
            assert tuple(argv[: len(bad)]) != bad, argv


def install_network_scripts(root):
    """What the plan's `dnf install -y network-scripts` leaves behind."""
    write(root, f"{NS}/ifup-eth", "#!/bin/sh\n", 0o755)
    write(root, f"{NS}/ifup-aliases", "#!/bin/sh\n", 0o755)


def check_content(key, plan, vips, ifquery_dir=None):
    """The planned files, read back with independent parsers, and the commands."""
    method = SPECS[key].method
    files = changes(plan)
    commands = argvs(plan)
    assert plan.method == method
    assert_no_restart(commands)
    if method == "ifcfg":
        assert sorted(files) == [f"{NS}/ifcfg-lo:{n}" for n in range(1, len(vips) + 1)]
        for n, vip in enumerate(vips, 1):
            change = files[f"{NS}/ifcfg-lo:{n}"]
            assert (change.action, change.mode) == ("create", 0o644)
            assert readers.parse_ifcfg_text(change.after) == {
                "DEVICE": f"lo:{n}", "IPADDR": vip, "NETMASK": "255.255.255.255",
                "ONBOOT": "yes"}
        ups = [("ifup", f"lo:{n}") for n in range(1, len(vips) + 1)]
        if SPECS[key].packages:  # Rocky/Alma/CentOS 8 minimal: install network-scripts first
            assert commands == [("dnf", "install", "-y", "network-scripts"), *ups]
        else:
            assert commands == ups
    elif method == "ifupdown":
        change = files[DROPIN]
        assert (change.action, change.mode) == ("create", 0o644)
        autos, ifaces = readers.parse_stanzas(change.after)
        labels = [f"lo:{n}" for n in range(1, len(vips) + 1)]
        assert autos == labels and list(ifaces) == labels
        for label, vip in zip(labels, vips):
            assert ifaces[label] == {"family": "inet", "method": "static", "options": {
                "address": vip, "netmask": "255.255.255.255"}}
        assert commands == [("ifup", label) for label in labels]
        if ifquery_dir is not None:  # the real ifupdown parser reads the same thing
            path = ifquery_dir / "clb-wizard-lo"
            path.write_text(change.after)
            for label, vip in zip(labels, vips):
                out = subprocess.run(["ifquery", "--state-dir", str(ifquery_dir), "-i",
                                      str(path), label], capture_output=True, text=True,
                                     check=True).stdout
                options = dict(line.split(": ", 1) for line in out.splitlines())
                assert options["address"] == vip
                assert options["netmask"] == "255.255.255.255"
    elif method == "netplan":
        change = files[NETPLAN]
        assert (change.action, change.mode) == ("create", 0o600)
        data = yaml.safe_load(change.after)
        assert data["network"]["version"] == 2
        assert data["network"]["ethernets"]["lo"]["addresses"] == [f"{v}/32" for v in vips]
        assert commands[0] == ("netplan", "generate")
        if SPECS[key].networkd >= 244:
            assert commands[1:] == [("networkctl", "reload"), ("networkctl", "reconfigure", "lo")]
        else:
            assert commands[1:] == [("ip", "addr", "replace", f"{v}/32", "dev", "lo")
                                    for v in vips]
    elif method == "networkmanager":
        change = files[NM]
        assert (change.action, change.mode) == ("create", 0o600)
        profile = readers.parse_keyfile_text(change.after)
        assert profile["connection"]["type"] == "loopback"
        assert profile["connection"]["interface-name"] == "lo"
        assert profile["ipv4"]["method"] == "manual"
        assert readers.keyfile_addresses(profile) == [f"{v}/32" for v in vips]
        assert commands == [("nmcli", "connection", "load", NM),
                            ("nmcli", "connection", "up", "uuid", CONNECTION_UUID)]
    elif method == "systemd-unit":
        change = files[UNIT]
        assert (change.action, change.mode) == ("create", 0o644)
        unit = readers.parse_unit(change.after)
        assert readers.unit_values(unit, "Service", "ExecStart") == [
            f"/sbin/ip addr replace {v}/32 dev lo label lo:{n}" for n, v in enumerate(vips, 1)]
        assert readers.unit_values(unit, "Install", "WantedBy") == ["multi-user.target"]
        assert commands[:2] == [("systemctl", "daemon-reload"),
                                ("systemctl", "enable", "clb-wizard-lo.service")]
        assert commands[2:] == [("ip", "addr", "replace", f"{v}/32", "dev", "lo", "label",
                                 f"lo:{n}") for n, v in enumerate(vips, 1)]
    elif method == "networkd":  # a plain .network file: [Match] lo, the VIPs only
        change = files["/etc/systemd/network/10-clb-wizard-lo.network"]
        assert (change.action, change.mode) == ("create", 0o644)
        network = readers.parse_unit(change.after)
        assert readers.unit_values(network, "Match", "Name") == ["lo"]
        assert readers.unit_values(network, "Network", "Address") == [f"{v}/32" for v in vips]
        assert commands == [("networkctl", "reload"), ("networkctl", "reconfigure", "lo")]
    elif method == "wicked":  # the stock ifcfg-lo kept, our suffixed keys added
        change = files["/etc/sysconfig/network/ifcfg-lo"]
        assert change.action == "modify" and change.after.startswith(change.before)
        values = readers.parse_ifcfg_text(change.after)
        assert values["IPADDR"] == "127.0.0.1/8" and values["STARTMODE"] == "nfsroot"
        assert [values[f"IPADDR_CLB{n}"] for n in range(1, len(vips) + 1)] == [
            f"{v}/32" for v in vips]
        assert commands == [("wicked", "ifup", "lo")]
    elif method == "ifupdown-ng":  # an extra `iface lo` with one address per VIP
        change = files[DROPIN]
        autos, ifaces = readers.parse_stanzas(change.after.replace("iface lo\n", "iface lo - -\n"))
        assert autos == [] and list(ifaces) == ["lo"]
        assert change.after.count("    address ") == len(vips)
        assert all(f"    address {v}/32\n" in change.after for v in vips)
        main = files["/etc/network/interfaces"]  # Alpine's file gets a `source` line
        assert main.after.startswith(main.before) and f"source {DROPIN}" in main.after
        assert commands == [("ip", "addr", "replace", f"{v}/32", "dev", "lo") for v in vips]
    elif method == "windows":
        script = next(c.after for p, c in files.items() if p.endswith("\\clb-wizard-lo.ps1"))
        assert readers.windows_vip_array(script) == list(vips)
        assert "mask=255.255.255.255" in script
        assert "weakhostsend=enabled" in script and "weakhostreceive=enabled" in script
        assert plan.checks == ()  # no Linux kernel facts: the script checks its own result
        return
    else:  # pragma: no cover
        raise AssertionError(method)
    assert [c.target for c in plan.checks if c.kind == "on-lo"] == list(vips)


# -- every OS id --------------------------------------------------------------------------------
@pytest.mark.parametrize("key", LINUX_KEYS)
def test_plan_from_a_detected_root(tmp_path, key):
    root = make_root(tmp_path, key)
    before = tree_digest(root)
    plan = plan_for(root)
    assert plan.platform.detected and plan.changed
    check_content(key, plan, VIPS, ifquery_dir=tmp_path)
    assert tree_digest(root) == before  # planning writes nothing


@pytest.mark.parametrize("key", RELEASE_KEYS)
def test_plan_with_os_on_its_root(tmp_path, key):
    root = make_root(tmp_path, key)
    plan = plan_for(root, vips=(VIP3,), os_override=key)
    assert not plan.platform.detected
    check_content(key, plan, (VIP3,))


@pytest.mark.parametrize("key", RELEASE_KEYS)
def test_plan_with_os_on_an_empty_root(tmp_path, key):
    check_content(key, plan_for(tmp_path, os_override=key), VIPS)


@pytest.mark.parametrize("key", ["debian-12", "ubuntu-16.04"])
def test_os_preview_assumes_the_stock_interfaces_file(tmp_path, key):
    # A preview of a system we are not on: its stock /etc/network/interfaces already reads
    # interfaces.d (source on Debian, source-directory on Ubuntu 16.04), so no source line.
    plan = plan_for(tmp_path, os_override=key)
    assert list(changes(plan)) == ["/etc/network/interfaces.d/clb-wizard-lo"]


def test_ifupdown_on_a_real_root_without_the_interfaces_file_is_refused(tmp_path):
    root = make_root(tmp_path, "debian-12", without=("ifupdown",))
    # --method is refused up front: the method does not fit a host without its file
    with pytest.raises(PlatformError, match="/etc/network/interfaces is missing"):
        plan_for(root, method="ifupdown")


def test_rocky8_without_network_scripts_installs_it_first(tmp_path):
    for key in ("rocky-8", "almalinux-8", "centos-8"):
        plan = plan_for(make_root(tmp_path, key))
        assert plan.commands[0].argv == ("dnf", "install", "-y", "network-scripts")
        assert plan.prepare[0] == plan.commands[0]  # before the files are written
    plan = plan_for(make_root(tmp_path, "rocky-8", name="with", also=("network-scripts",)))
    assert all("install" not in c.argv for c in plan.commands)


def test_ubuntu_1604_cloud_image_sources_only_cfg_files(tmp_path):
    root = make_root(tmp_path, "ubuntu-16.04")
    main = read(root, ENI).replace("source-directory /etc/network/interfaces.d",
                                   "source /etc/network/interfaces.d/*.cfg")
    write(root, ENI, main)
    plan = plan_for(root)
    change = changes(plan)[ENI]
    assert change.action == "modify" and change.after.startswith(main)
    assert f"source {DROPIN}" in change.after.splitlines()
    assert ("+source " + DROPIN) in plan.diff()


def test_interfaces_without_source_gets_a_source_line_for_our_file(tmp_path):
    root = make_root(tmp_path, "debian-11")
    write(root, ENI, "auto lo\niface lo inet loopback\n\nallow-hotplug eth0\n"
                     "iface eth0 inet dhcp\n")
    plan = plan_for(root)
    assert changes(plan)[ENI].after.endswith(f"\nsource {DROPIN}\n")
    apply_files(root, plan)
    again = plan_for(root)
    assert not again.changed


# -- idempotency ------------------------------------------------------------------------------
@pytest.mark.parametrize("key", LINUX_KEYS)
def test_a_second_plan_after_applying_changes_nothing(tmp_path, key, capsys):
    root = make_root(tmp_path, key)
    plan = plan_for(root)
    apply_files(root, plan)
    if SPECS[key].packages:
        install_network_scripts(root)
    again = plan_for(root)
    assert not again.changed
    assert again.files == () and again.commands == ()
    assert any("No change needed" in note for note in again.notes)
    assert run_cli("plan", "--root", str(root), "--vip", VIP1, "--vip", VIP2) == 0
    assert "No change needed." in capsys.readouterr().out


def test_a_file_with_our_content_but_the_wrong_mode_is_fixed(tmp_path):
    root = make_root(tmp_path, "ubuntu-22.04")
    apply_files(root, plan_for(root))
    (root / NETPLAN.lstrip("/")).chmod(0o644)
    plan = plan_for(root)
    (change,) = plan.files
    assert change.before == change.after and change.mode == 0o600


# -- never clobber ----------------------------------------------------------------------------
def test_a_foreign_ifcfg_lo_1_is_kept_and_we_take_lo_2(tmp_path):
    root = make_root(tmp_path, "centos-7")
    foreign = "DEVICE=lo:1\nIPADDR=192.0.2.50\nNETMASK=255.255.255.255\nONBOOT=yes\n"
    write(root, f"{NS}/ifcfg-lo:1", foreign)
    plan = plan_for(root, vips=(VIP1,))
    assert list(changes(plan)) == [f"{NS}/ifcfg-lo:2"]
    assert readers.parse_ifcfg_text(plan.files[0].after)["DEVICE"] == "lo:2"
    assert argvs(plan) == [("ifup", "lo:2")]
    apply_files(root, plan)
    assert read(root, f"{NS}/ifcfg-lo:1") == foreign
    assert not plan_for(root, vips=(VIP1,)).changed


def test_a_foreign_netplan_file_of_our_name_is_kept_and_we_take_91(tmp_path):
    root = make_root(tmp_path, "ubuntu-24.04")
    foreign = "network:\n  version: 2\n  ethernets:\n    eth1:\n      dhcp4: true\n"
    write(root, NETPLAN, foreign, 0o600)
    plan = plan_for(root)
    assert list(changes(plan)) == ["/etc/netplan/91-clb-wizard-lo.yaml"]
    apply_files(root, plan)
    assert read(root, NETPLAN) == foreign
    assert not plan_for(root).changed


def test_a_foreign_ifupdown_file_of_our_name_is_kept_and_we_take_dash_2(tmp_path):
    root = make_root(tmp_path, "debian-12")
    foreign = "auto lo:1\niface lo:1 inet static\n    address 192.0.2.50/32\n"
    write(root, DROPIN, foreign)
    plan = plan_for(root, vips=(VIP1,))
    assert list(changes(plan)) == [DROPIN + "-2"]
    autos, ifaces = readers.parse_stanzas(plan.files[0].after)
    assert autos == ["lo:2"] and ifaces["lo:2"]["options"]["address"] == VIP1
    assert argvs(plan) == [("ifup", "lo:2")]
    apply_files(root, plan)
    assert read(root, DROPIN) == foreign
    assert not plan_for(root, vips=(VIP1,)).changed


# -- removing VIPs ----------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["centos-7", "debian-12", "ubuntu-16.04", "ubuntu-18.04",
                                 "ubuntu-22.04", "debian-13", "rocky-9", "rocky-9.1"])
def test_removing_a_vip_removes_its_config_and_takes_it_down(tmp_path, key):
    root = make_root(tmp_path, key)
    apply_files(root, plan_for(root, vips=(VIP1, VIP2, VIP3)))
    plan = plan_for(root, vips=(VIP1, VIP3))
    files, commands = changes(plan), argvs(plan)
    assert_no_restart(commands)
    method = SPECS[key].method
    if method == "ifcfg":
        assert files[f"{NS}/ifcfg-lo:2"].action == "delete"
        assert set(files) == {f"{NS}/ifcfg-lo:2"}  # lo:1 and lo:3 stay as they are
        assert commands == [("ifdown", "lo:2")]
        assert argvs(plan) == [c.argv for c in plan.prepare]  # down while its file exists
    elif method == "ifupdown":
        _, ifaces = readers.parse_stanzas(files[DROPIN].after)
        assert {k: v["options"]["address"] for k, v in ifaces.items()} == {
            "lo:1": VIP1, "lo:3": VIP3}
        assert commands == [("ifdown", "--force", "lo:2")]
        assert [c.argv for c in plan.prepare] == commands
    elif method == "netplan":
        data = yaml.safe_load(files[NETPLAN].after)
        assert f"{VIP2}/32" not in data["network"]["ethernets"]["lo"]["addresses"]
        assert commands[-1] == ("ip", "addr", "del", f"{VIP2}/32", "dev", "lo")
    elif method == "networkmanager":
        assert readers.keyfile_addresses(readers.parse_keyfile_text(files[NM].after)) == [
            f"{VIP1}/32", f"{VIP3}/32"]
        # re-activating the profile takes the dropped address off lo (seen live)
        assert commands == [("nmcli", "connection", "load", NM),
                            ("nmcli", "connection", "up", "uuid", CONNECTION_UUID)]
    elif method == "systemd-unit":
        unit = readers.parse_unit(files[UNIT].after)
        assert len(readers.unit_values(unit, "Service", "ExecStart")) == 2
        assert commands == [("systemctl", "daemon-reload"),
                            ("systemctl", "enable", "clb-wizard-lo.service"),
                            ("ip", "addr", "del", f"{VIP2}/32", "dev", "lo")]
    apply_files(root, plan)
    assert not plan_for(root, vips=(VIP1, VIP3)).changed


# -- the plan object --------------------------------------------------------------------------
def test_no_plan_for_any_os_restarts_networking(tmp_path):
    for key in RELEASE_KEYS:
        assert_no_restart(argvs(plan_for(tmp_path / "none", os_override=key)
                                if SPECS[key].method != "ifupdown"
                                else plan_for(make_root(tmp_path, key))))


def test_the_diff_applies_with_the_real_patch_tool(tmp_path):
    if shutil.which("patch") is None:
        pytest.fail("patch is missing: run tests/setup-system.sh")
    root = make_root(tmp_path, "debian-10")
    write(root, ENI, "auto lo\niface lo inet loopback\n")
    plan = plan_for(root)
    assert {c.action for c in plan.files} == {"create", "modify"}
    copy = tmp_path / "patched"
    shutil.copytree(root, copy, symlinks=True)
    subprocess.run(["patch", "-p1", "-s", "-d", str(copy)], input=plan.diff(), text=True,
                   check=True)
    for change in plan.files:
        assert read(copy, change.path) == change.after


def test_diff_names_follow_a_and_b_also_for_windows_paths(tmp_path):
    plan = plan_for(tmp_path, os_override="windows")
    heads = [line for line in plan.diff().splitlines() if line.startswith("+++ ")]
    assert heads and all(h.startswith("+++ b/C:\\ProgramData\\clb-wizard\\") for h in heads)
    change = FileChange("/etc/x", "a\n", None, 0o644)
    assert change.action == "delete"
    assert change.diff().splitlines()[:2] == ["--- a/etc/x", "+++ /dev/null"]


def test_plan_json_shape(tmp_path):
    root = make_root(tmp_path, "ubuntu-22.04")
    data = plan_for(root).to_json()
    assert {"platform", "method", "vips", "changed", "files", "commands", "prepare",
            "activate", "checks", "warnings", "notes", "clb_type"} <= set(data)
    (change,) = data["files"]
    assert change["path"] == NETPLAN and change["before"] is None
    assert change["mode"] == "0600" and change["action"] == "create"
    assert yaml.safe_load(change["after"])["network"]["ethernets"]["lo"]
    assert [c["argv"] for c in data["commands"]][0] == ["netplan", "generate"]
    assert all(set(c) == {"argv", "shell", "why"} for c in data["commands"])


@pytest.mark.parametrize("key, foreign_path, foreign, ours", [
    ("ubuntu-22.04", NETPLAN, "network:\n  version: 2\n", "/etc/netplan/91-clb-wizard-lo.yaml"),
    ("debian-12", DROPIN, "auto lo:7\niface lo:7 inet static\n    address 192.0.2.50\n",
     DROPIN + "-2"),
])
def test_our_renamed_file_stays_ours_after_the_foreign_one_goes(tmp_path, key, foreign_path,
                                                                foreign, ours):
    root = make_root(tmp_path, key)
    write(root, foreign_path, foreign, 0o600)
    first = plan_for(root, vips=(VIP1, VIP2))
    assert list(changes(first)) == [ours]
    apply_files(root, first)
    (root / foreign_path.lstrip("/")).unlink()  # the admin removes their file
    assert not plan_for(root, vips=(VIP1, VIP2)).changed
    plan = plan_for(root, vips=(VIP1,))
    assert list(changes(plan)) == [ours]  # still our file that changes, not a new one
    assert not any("not ours" in note for note in plan.notes)
    if SPECS[key].method == "netplan":
        assert argvs(plan)[-1] == ("ip", "addr", "del", f"{VIP2}/32", "dev", "lo")
    else:
        assert argvs(plan) == [("ifdown", "--force", "lo:2")]


@pytest.mark.parametrize("key", RELEASE_KEYS)
def test_cli_plan_json_for_every_os_by_root_and_by_os(tmp_path, capsys, key):
    import json

    root = make_root(tmp_path, key)
    by_os = ["--os", key] if key == "windows" else []  # a Windows root has no os-release
    assert run_cli("plan", "--json", "--root", str(root), *by_os, "--vip", VIP1) == 0
    detected = json.loads(capsys.readouterr().out)
    assert run_cli("plan", "--json", "--root", str(root), "--os", key, "--vip", VIP1) == 0
    chosen = json.loads(capsys.readouterr().out)
    assert detected["method"] == chosen["method"] == SPECS[key].method
    assert detected["platform"]["detected"] is (key != "windows")
    assert chosen["platform"]["detected"] is False
    engine = plan_for(root, vips=(VIP1,), os_override=key)
    for data in (detected, chosen):
        assert [(f["path"], f["after"], f["mode"]) for f in data["files"]] == [
            (c.path, c.after, f"{c.mode:04o}") for c in engine.files]
        assert [tuple(c["argv"]) for c in data["commands"]] == argvs(engine)


def test_every_networkmanager_family_gets_the_profile_a_real_networkmanager_loads(tmp_path):
    """openEuler 24.03, OpenCloudOS 9, TencentOS 4, Fedora, Leap 16...: the same keyfile as
    Rocky 9, which tests/live loads and activates with a real NetworkManager 1.42."""
    reference = {c.path: c.after for c in plan_for(make_root(tmp_path, "rocky-9")).files}
    keys = [k for k, spec in SPECS.items() if spec.method == "networkmanager"]
    assert {"openeuler-24.03", "opencloudos-9", "tencentos-4", "fedora-41",
            "opensuse-leap-16"} <= set(keys)
    for key in keys:
        plan = plan_for(make_root(tmp_path, key, name=f"nm-{key}"))
        assert {c.path: c.after for c in plan.files} == reference, key
