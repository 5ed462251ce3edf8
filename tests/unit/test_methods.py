"""Each persistence method (wizard/methods/*.py) on its own: what it renders from the
current files, what it never clobbers, and the commands between two sets of files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from clb_wizard.methods import MethodError, get_method
from clb_wizard.methods.base import MARKER, LoAddress, RenderInput, TransitionInput, is_ours
from clb_wizard.methods.ifupdown import sources_file
from clb_wizard.methods.networkmanager import CONNECTION_UUID
from clb_wizard.platform import detect
from clb_wizard.runner import Runner
from clb_wizard.vips import VipError, parse_vip
from tests.fixtures import readers
from tests.fixtures.roots import VIP1, VIP2, VIP3

NS = "/etc/sysconfig/network-scripts"
ENI = "/etc/network/interfaces"
ENI_D = "/etc/network/interfaces.d"
NP = "/etc/netplan"
NM = "/etc/NetworkManager/system-connections/clb-wizard-lo.nmconnection"
UNIT = "/etc/systemd/system/clb-wizard-lo.service"


def platform(key: str):
    return detect(Runner(root=Path("/nonexistent")), key)


def argvs(commands) -> list[tuple[str, ...]]:
    return [c.argv for c in commands]


def render_and_move(method_name, key, vips, current, live=None):
    """Render, then the transition from `current` to the result, as build_plan does."""
    method = get_method(method_name)
    plat = platform(key)
    rendered = method.render(RenderInput(vips, current, plat))
    after = {**current, **rendered.files}
    live_set = set(method.configured_vips(current)) if live is None else set(live)
    return rendered, method.transition(TransitionInput(current, after, plat, live_set)), after


# -- ifcfg ---------------------------------------------------------------------------------------
def test_ifcfg_one_file_per_vip(tmp_path):
    rendered, move, _ = render_and_move("ifcfg", "centos-7", [VIP1, VIP2], {})
    assert sorted(rendered.files) == [f"{NS}/ifcfg-lo:1", f"{NS}/ifcfg-lo:2"]
    for n, vip in ((1, VIP1), (2, VIP2)):
        text = rendered.files[f"{NS}/ifcfg-lo:{n}"]
        assert is_ours(text)
        assert readers.parse_ifcfg_text(text) == {"DEVICE": f"lo:{n}", "IPADDR": vip,
                                                  "NETMASK": "255.255.255.255", "ONBOOT": "yes"}
        assert rendered.modes[f"{NS}/ifcfg-lo:{n}"] == 0o644
    assert argvs(move.prepare) == []
    assert argvs(move.activate) == [("ifup", "lo:1"), ("ifup", "lo:2")]


def test_ifcfg_keeps_a_foreign_alias_and_takes_the_next_label():
    foreign = "DEVICE=lo:1\nIPADDR=192.0.2.50\nNETMASK=255.255.255.255\n"
    current = {f"{NS}/ifcfg-lo:1": foreign, f"{NS}/ifcfg-lo": "DEVICE=lo\n"}
    rendered, move, _ = render_and_move("ifcfg", "centos-7", [VIP1], current)
    assert f"{NS}/ifcfg-lo:1" not in rendered.files  # untouched
    assert readers.parse_ifcfg_text(rendered.files[f"{NS}/ifcfg-lo:2"])["DEVICE"] == "lo:2"
    assert argvs(move.activate) == [("ifup", "lo:2")]


def test_ifcfg_a_vip_already_in_a_foreign_file_is_left_to_it():
    current = {f"{NS}/ifcfg-lo:1": f"DEVICE=lo:1\nIPADDR={VIP1}\nNETMASK=255.255.255.255\n"}
    rendered, move, _ = render_and_move("ifcfg", "centos-7", [VIP1, VIP2], current)
    assert rendered.foreign == (VIP1,)
    assert any(VIP1 in note and "not ours" in note for note in rendered.notes)
    assert list(rendered.files) == [f"{NS}/ifcfg-lo:2"]


def test_ifcfg_avoids_labels_in_use_on_the_live_host():
    method = get_method("ifcfg")
    live = [LoAddress("127.0.0.1", 8), LoAddress("192.0.2.77", 32, "lo:1")]
    rendered = method.render(RenderInput([VIP1], {}, platform("centos-7"), live))
    assert list(rendered.files) == [f"{NS}/ifcfg-lo:2"]


def test_ifcfg_removing_a_vip_removes_its_file_and_downs_its_alias():
    first, _, files = render_and_move("ifcfg", "centos-7", [VIP1, VIP2, VIP3], {})
    rendered, move, _ = render_and_move("ifcfg", "centos-7", [VIP1, VIP3], first.files)
    assert rendered.files[f"{NS}/ifcfg-lo:2"] is None
    # VIP3 keeps lo:3: no renumbering, so nothing else goes down and up.
    assert readers.parse_ifcfg_text(rendered.files[f"{NS}/ifcfg-lo:3"])["IPADDR"] == VIP3
    assert argvs(move.prepare) == [("ifdown", "lo:2")]
    assert argvs(move.activate) == []
    assert get_method("ifcfg").configured_vips(files) == [VIP1, VIP2, VIP3]


def test_ifcfg_a_broken_alias_file_stops_the_plan():
    current = {f"{NS}/ifcfg-lo:1": "DEVICE=lo:1\nthis is not a variable\n"}
    with pytest.raises(MethodError) as info:
        render_and_move("ifcfg", "centos-7", [VIP1], current)
    assert "ifcfg-lo:1 line 2" in str(info.value) and "KEY=VALUE" in str(info.value)


# -- ifupdown --------------------------------------------------------------------------------
DEBIAN_ENI = "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n"


def test_ifupdown_one_stanza_per_vip():
    rendered, move, _ = render_and_move("ifupdown", "debian-12", [VIP1, VIP2], {ENI: DEBIAN_ENI})
    assert list(rendered.files) == [f"{ENI_D}/clb-wizard-lo"]  # interfaces already sources it
    autos, ifaces = readers.parse_stanzas(rendered.files[f"{ENI_D}/clb-wizard-lo"])
    assert autos == ["lo:1", "lo:2"]
    assert ifaces == {
        "lo:1": {"family": "inet", "method": "static",
                 "options": {"address": VIP1, "netmask": "255.255.255.255"}},
        "lo:2": {"family": "inet", "method": "static",
                 "options": {"address": VIP2, "netmask": "255.255.255.255"}},
    }
    assert argvs(move.activate) == [("ifup", "lo:1"), ("ifup", "lo:2")]


@pytest.mark.parametrize(
    "main, sourced",
    [
        ("source /etc/network/interfaces.d/*\n", True),
        ("source-directory /etc/network/interfaces.d\n", True),
        ("source-directory interfaces.d\n", True),
        ("source interfaces.d/*\n", True),
        ("source /etc/network/interfaces.d/*.cfg\n", False),  # Ubuntu 16.04 cloud images
        ("auto lo\niface lo inet loopback\n", False),
        ("source /etc/network/other.d/*\n", False),
    ],
)
def test_ifupdown_adds_a_source_line_only_when_needed(main, sourced):
    path = f"{ENI_D}/clb-wizard-lo"
    assert sources_file(main, path) is sourced
    rendered, _, _ = render_and_move("ifupdown", "debian-12", [VIP1], {ENI: main})
    if sourced:
        assert ENI not in rendered.files
    else:
        new_main = rendered.files[ENI]
        assert new_main.startswith(main)  # the admin's lines stay as they were
        assert f"source {path}" in new_main.splitlines()
        assert sources_file(new_main, path)
        assert any("source" in note for note in rendered.notes)


def test_ifupdown_source_directory_reads_our_file_because_its_name_has_no_dot():
    assert "." not in "clb-wizard-lo"
    main = "source-directory /etc/network/interfaces.d\n"
    # a name with a dot would be skipped by source-directory (run-parts naming rules)
    assert not sources_file(main, f"{ENI_D}/clb-wizard-lo.cfg")
    assert sources_file(main, f"{ENI_D}/clb-wizard-lo-2")


def test_ifupdown_never_clobbers_a_foreign_file_of_our_name():
    theirs = "auto lo:1\niface lo:1 inet static\n    address 192.0.2.50\n    netmask 32\n"
    current = {ENI: DEBIAN_ENI, f"{ENI_D}/clb-wizard-lo": theirs}
    rendered, move, _ = render_and_move("ifupdown", "debian-12", [VIP1], current)
    assert f"{ENI_D}/clb-wizard-lo" not in rendered.files
    autos, ifaces = readers.parse_stanzas(rendered.files[f"{ENI_D}/clb-wizard-lo-2"])
    assert autos == ["lo:2"] and ifaces["lo:2"]["options"]["address"] == VIP1
    assert argvs(move.activate) == [("ifup", "lo:2")]


def test_ifupdown_vip_in_an_admin_stanza_is_left_alone():
    main = DEBIAN_ENI + f"\nauto lo:7\niface lo:7 inet static\n    address {VIP2}\n"
    rendered, _, _ = render_and_move("ifupdown", "debian-12", [VIP1, VIP2], {ENI: main})
    assert rendered.foreign == (VIP2,)
    _, ifaces = readers.parse_stanzas(rendered.files[f"{ENI_D}/clb-wizard-lo"])
    assert [i["options"]["address"] for i in ifaces.values()] == [VIP1]


def test_ifupdown_removing_a_vip_drops_its_stanza_and_forces_it_down():
    first, _, files = render_and_move("ifupdown", "debian-12", [VIP1, VIP2], {ENI: DEBIAN_ENI})
    current = {**files}
    rendered, move, _ = render_and_move("ifupdown", "debian-12", [VIP1], current)
    autos, ifaces = readers.parse_stanzas(rendered.files[f"{ENI_D}/clb-wizard-lo"])
    assert autos == ["lo:1"] and list(ifaces) == ["lo:1"]
    assert argvs(move.prepare) == [("ifdown", "--force", "lo:2")]
    assert argvs(move.activate) == []


@pytest.mark.parametrize(
    "main",
    [
        "    address 192.0.2.5\nauto lo\niface lo inet loopback\n",
        "auto eth0\n    address 192.0.2.5\n",
        "iface eth0\n",
    ],
)
def test_ifupdown_a_broken_interfaces_file_stops_the_plan(main):
    with pytest.raises(MethodError) as info:
        render_and_move("ifupdown", "debian-12", [VIP1], {ENI: main})
    assert ENI in str(info.value) and "line" in str(info.value)


def test_ifupdown_without_interfaces_file_is_refused():
    with pytest.raises(MethodError, match="does not exist"):
        render_and_move("ifupdown", "debian-12", [VIP1], {})


# -- netplan ------------------------------------------------------------------------------------
def test_netplan_file_is_yaml_with_the_vips_only():
    rendered, _, _ = render_and_move("netplan", "ubuntu-22.04", [VIP1, VIP2], {})
    path = f"{NP}/90-clb-wizard-lo.yaml"
    assert list(rendered.files) == [path] and rendered.modes[path] == 0o600
    data = yaml.safe_load(rendered.files[path])
    assert data == {"network": {"version": 2, "ethernets": {"lo": {"addresses": [
        f"{VIP1}/32", f"{VIP2}/32"]}}}}  # never lo's own addresses (tests/boot)
    assert "renderer" not in data["network"]


@pytest.mark.parametrize("key, reconfigure", [("ubuntu-18.04", False), ("ubuntu-20.04", True),
                                              ("ubuntu-22.04", True), ("ubuntu-24.04", True),
                                              ("debian-13", True)])
def test_netplan_activation_touches_only_lo(key, reconfigure):
    _, move, _ = render_and_move("netplan", key, [VIP1, VIP2], {})
    commands = argvs(move.prepare + move.activate)
    assert commands[0] == ("netplan", "generate")
    if reconfigure:  # networkd >= 244
        assert commands[1:] == [("networkctl", "reload"), ("networkctl", "reconfigure", "lo")]
    else:  # 18.04, networkd 237: no reconfigure
        assert commands[1:] == [("ip", "addr", "replace", f"{v}/32", "dev", "lo")
                                for v in (VIP1, VIP2)]
    assert all("apply" not in c for c in commands)


def test_netplan_never_clobbers_a_foreign_file_of_our_name():
    theirs = "network:\n  version: 2\n  ethernets:\n    eth1:\n      dhcp4: true\n"
    current = {f"{NP}/90-clb-wizard-lo.yaml": theirs}
    rendered, _, _ = render_and_move("netplan", "ubuntu-22.04", [VIP1], current)
    assert list(rendered.files) == [f"{NP}/91-clb-wizard-lo.yaml"]
    lo = yaml.safe_load(rendered.files[f"{NP}/91-clb-wizard-lo.yaml"])["network"]["ethernets"]
    assert lo["lo"]["addresses"][-1] == f"{VIP1}/32"


def test_netplan_a_vip_already_in_another_file_is_left_to_it():
    theirs = f"network:\n  ethernets:\n    lo:\n      addresses: [{VIP1}/32]\n"
    rendered, _, _ = render_and_move("netplan", "ubuntu-22.04", [VIP1, VIP2],
                                     {f"{NP}/60-admin.yaml": theirs})
    assert rendered.foreign == (VIP1,)
    data = yaml.safe_load(rendered.files[f"{NP}/90-clb-wizard-lo.yaml"])
    assert data["network"]["ethernets"]["lo"]["addresses"] == [f"{VIP2}/32"]


def test_netplan_removing_a_vip_rewrites_the_file_and_deletes_the_address():
    first, _, files = render_and_move("netplan", "ubuntu-22.04", [VIP1, VIP2], {})
    rendered, move, _ = render_and_move("netplan", "ubuntu-22.04", [VIP1], files)
    data = yaml.safe_load(rendered.files[f"{NP}/90-clb-wizard-lo.yaml"])
    assert f"{VIP2}/32" not in data["network"]["ethernets"]["lo"]["addresses"]
    assert argvs(move.activate)[-1] == ("ip", "addr", "del", f"{VIP2}/32", "dev", "lo")


@pytest.mark.parametrize(
    "text, says",
    [
        ("network:\n  ethernets:\n    eth0: {dhcp4: true\n", "line"),
        ("network:\n\tversion: 2\n", "not valid YAML"),
        ("- network\n", "the top level must be a mapping"),
        ("network: [1, 2]\n", "'network' must be a mapping"),
        ("network:\n  ethernets: [eth0]\n", "'network.ethernets' must be a mapping"),
        ("network:\n  ethernets:\n    lo: 5\n", "'network.ethernets.lo' must be a mapping"),
        ("network:\n  ethernets:\n    lo:\n      addresses: 192.0.2.1/32\n",
         "'network.ethernets.lo.addresses' must be a list"),
        ("network:\n  ethernets:\n    lo:\n      addresses: [{a: 1, b: 2}]\n",
         "each entry of 'network.ethernets.lo.addresses' must be a single address"),
    ],
)
def test_netplan_a_broken_file_stops_the_plan_with_a_message(text, says):
    with pytest.raises(MethodError) as info:
        render_and_move("netplan", "ubuntu-22.04", [VIP1], {f"{NP}/50-cloud-init.yaml": text})
    assert "50-cloud-init.yaml" in str(info.value) and says in str(info.value)


# -- NetworkManager ---------------------------------------------------------------------------
def test_networkmanager_keyfile_is_a_loopback_profile():
    rendered, move, _ = render_and_move("networkmanager", "rocky-9", [VIP1, VIP2], {})
    assert list(rendered.files) == [NM] and rendered.modes[NM] == 0o600
    profile = readers.parse_keyfile_text(rendered.files[NM])
    assert profile["connection"]["type"] == "loopback"
    assert profile["connection"]["interface-name"] == "lo"
    assert profile["connection"]["uuid"] == CONNECTION_UUID
    assert profile["ipv4"]["method"] == "manual"
    assert readers.keyfile_addresses(profile) == [f"{VIP1}/32", f"{VIP2}/32"]
    assert argvs(move.activate) == [("nmcli", "connection", "load", NM),
                                    ("nmcli", "connection", "up", "uuid", CONNECTION_UUID)]


def test_networkmanager_refuses_to_replace_someone_elses_profile():
    with pytest.raises(MethodError, match="not clb-wizard's"):
        render_and_move("networkmanager", "rocky-9", [VIP1],
                        {NM: "[connection]\nid=mine\ntype=loopback\ninterface-name=lo\n"})
    theirs = "/etc/NetworkManager/system-connections/lo.nmconnection"
    with pytest.raises(MethodError) as info:
        render_and_move("networkmanager", "rocky-9", [VIP1],
                        {theirs: "[connection]\nid=my-lo\ntype=loopback\ninterface-name=lo\n"})
    assert "my-lo" in str(info.value) and "nmcli connection modify" in str(info.value)


def test_networkmanager_ignores_other_profiles():
    eth0 = "/etc/NetworkManager/system-connections/eth0.nmconnection"
    rendered, _, _ = render_and_move(
        "networkmanager", "rocky-9", [VIP1],
        {eth0: "[connection]\nid=eth0\ntype=ethernet\ninterface-name=eth0\n"})
    assert list(rendered.files) == [NM]


def test_networkmanager_a_broken_keyfile_stops_the_plan():
    eth0 = "/etc/NetworkManager/system-connections/eth0.nmconnection"
    with pytest.raises(MethodError, match="not a valid keyfile"):
        render_and_move("networkmanager", "rocky-9", [VIP1], {eth0: "id=eth0\n"})


def test_networkmanager_removing_every_vip_downs_and_unloads_the_profile():
    first, _, files = render_and_move("networkmanager", "rocky-9", [VIP1], {})
    method = get_method("networkmanager")
    move = method.transition(TransitionInput(files, {NM: None}, platform("rocky-9"), {VIP1}))
    assert argvs(move.prepare) == [("nmcli", "connection", "down", "uuid", CONNECTION_UUID)]
    assert argvs(move.activate) == [("nmcli", "connection", "load", NM)]


# -- systemd unit -------------------------------------------------------------------------------
def test_systemd_unit_adds_each_vip_with_ip_addr_replace():
    rendered, move, _ = render_and_move("systemd-unit", "rocky-9.1", [VIP1, VIP2], {})
    unit = readers.parse_unit(rendered.files[UNIT])
    assert readers.unit_values(unit, "Service", "Type") == ["oneshot"]
    assert readers.unit_values(unit, "Service", "RemainAfterExit") == ["yes"]
    assert readers.unit_values(unit, "Service", "ExecStart") == [
        f"/sbin/ip addr replace {VIP1}/32 dev lo label lo:1",
        f"/sbin/ip addr replace {VIP2}/32 dev lo label lo:2",
    ]
    assert readers.unit_values(unit, "Service", "ExecStop") == [
        f"-/sbin/ip addr del {VIP1}/32 dev lo", f"-/sbin/ip addr del {VIP2}/32 dev lo"]
    assert readers.unit_values(unit, "Install", "WantedBy") == ["multi-user.target"]
    assert argvs(move.activate) == [
        ("systemctl", "daemon-reload"), ("systemctl", "enable", "clb-wizard-lo.service"),
        ("ip", "addr", "replace", f"{VIP1}/32", "dev", "lo", "label", "lo:1"),
        ("ip", "addr", "replace", f"{VIP2}/32", "dev", "lo", "label", "lo:2"),
    ]
    assert all("restart" not in c for c in argvs(move.activate))


def test_systemd_unit_removing_a_vip_deletes_it():
    _, _, files = render_and_move("systemd-unit", "rocky-9.1", [VIP1, VIP2], {})
    rendered, move, _ = render_and_move("systemd-unit", "rocky-9.1", [VIP2], files)
    unit = readers.parse_unit(rendered.files[UNIT])
    assert readers.unit_values(unit, "Service", "ExecStart") == [
        f"/sbin/ip addr replace {VIP2}/32 dev lo label lo:2"]
    assert ("ip", "addr", "del", f"{VIP1}/32", "dev", "lo") in argvs(move.activate)


def test_systemd_unit_never_clobbers_a_foreign_unit_of_our_name():
    theirs = "[Service]\nExecStart=/usr/local/bin/mine\n"
    with pytest.raises(MethodError, match="not clb-wizard's"):
        render_and_move("systemd-unit", "rocky-9.1", [VIP1], {UNIT: theirs})


# -- Windows --------------------------------------------------------------------------------------
def test_windows_script_puts_every_vip_on_the_loopback_with_weak_host_model():
    rendered, move, _ = render_and_move("windows", "windows", [VIP1, VIP2], {})
    script = next(t for p, t in rendered.files.items() if p.endswith("clb-wizard-lo.ps1"))
    undo = next(t for p, t in rendered.files.items() if p.endswith("-undo.ps1"))
    assert MARKER in script.splitlines()[0]
    assert readers.windows_vip_array(script) == [VIP1, VIP2] == readers.windows_vip_array(undo)
    # every VIP is added (a loop over $Vips) with a /32 mask on the loopback adapter
    loop = re.search(r"foreach \(\$vip in \$Vips\) \{(.*?)\n\}", script, re.S).group(1)
    add = [line for line in loop.splitlines() if "netsh interface ipv4 add address" in line]
    assert len(add) == 1
    assert 'name="$($lo.Name)"' in add[0] and "address=$vip" in add[0]
    assert "mask=255.255.255.255" in add[0]
    # weak host send and receive, on both the NIC and the loopback
    weak = re.search(r"foreach \(\$name in @\((.*?)\)\) \{(.*?)\n\}", script, re.S)
    assert [n.strip() for n in weak.group(1).split(",")] == ["$nic.Name", "$lo.Name"]
    assert "weakhostreceive=enabled" in weak.group(2)
    assert "weakhostsend=enabled" in weak.group(2)
    assert "netsh interface ipv4 delete address" in undo
    assert argvs(move.activate)[0][0] == "powershell.exe"


def test_every_linux_method_re_reads_what_it_wrote():
    cases = [("ifcfg", "centos-7", {}), ("ifupdown", "debian-12", {ENI: DEBIAN_ENI}),
             ("netplan", "ubuntu-22.04", {}), ("networkmanager", "rocky-9", {}),
             ("systemd-unit", "rocky-9.1", {})]
    for name, key, current in cases:
        rendered, _, after = render_and_move(name, key, [VIP2, VIP1, VIP3], current)
        assert get_method(name).configured_vips(after) == [VIP2, VIP1, VIP3], name
        # and rendering again from there changes nothing
        again, move, _ = render_and_move(name, key, [VIP2, VIP1, VIP3], after)
        assert all(after.get(p) == t for p, t in again.files.items()), name
        assert not move.prepare and not move.activate, name


@pytest.mark.parametrize("name, key, ours, current", [
    ("netplan", "ubuntu-22.04", f"{NP}/91-clb-wizard-lo.yaml", {}),
    ("ifupdown", "debian-12", f"{ENI_D}/clb-wizard-lo-2", {ENI: DEBIAN_ENI}),
])
def test_deleting_our_renamed_file_takes_its_vips_down(name, key, ours, current):
    """Deleting our file (rollback, or the last VIP gone) finds it under its own name."""
    method = get_method(name)
    plat = platform(key)
    theirs = {f"{NP}/90-clb-wizard-lo.yaml": "network:\n  version: 2\n"} if name == "netplan" \
        else {f"{ENI_D}/clb-wizard-lo": "auto lo:1\niface lo:1 inet static\n  address 192.0.2.5\n"}
    rendered = method.render(RenderInput([VIP1], {**current, **theirs}, plat))
    assert list(rendered.files) == [ours]
    before = {**current, **rendered.files}  # the admin's file is gone by now
    move = method.transition(TransitionInput(before, {**before, ours: None}, plat, {VIP1}))
    commands = argvs(move.prepare + move.activate)
    if name == "netplan":
        assert commands[-1] == ("ip", "addr", "del", f"{VIP1}/32", "dev", "lo")
    else:
        assert commands == [("ifdown", "--force", "lo:2")]


# -- any VIPs: what a method writes, it reads back; the YAML/keyfile/stanzas stay valid -------
def _valid(ip) -> bool:
    try:
        parse_vip(str(ip))
    except VipError:
        return False
    return True


ALPINE_ENI = "auto lo\niface lo inet loopback\n"
vip_lists = st.lists(st.ip_addresses(v=4).filter(_valid).map(str), min_size=1, max_size=8,
                     unique=True)


@settings(max_examples=60, deadline=None)  # no timing in tests: the machine may be busy
@given(vip_lists)
def test_any_vips_render_and_re_read(vips):
    for name, key, current in (("ifcfg", "centos-7", {}),
                               ("ifupdown", "debian-12", {ENI: DEBIAN_ENI}),
                               ("netplan", "ubuntu-22.04", {}),
                               ("networkmanager", "rocky-9", {}),
                               ("systemd-unit", "rocky-9.1", {}),
                               ("networkd", "amzn-2023", {}),
                               ("wicked", "sles-15", {}),
                               ("ifupdown-ng", "alpine-3", {ENI: ALPINE_ENI})):
        rendered, move, after = render_and_move(name, key, vips, current)
        assert get_method(name).configured_vips(after) == vips, name
        assert [c for c in move.activate if c.argv[0] in ("ifup", "ip", "netplan", "nmcli",
                                                          "systemctl", "networkctl", "wicked")]
    data = yaml.safe_load(after_netplan(vips))
    assert data["network"]["ethernets"]["lo"]["addresses"] == [f"{v}/32" for v in vips]


def after_netplan(vips) -> str:
    rendered, _, _ = render_and_move("netplan", "ubuntu-22.04", vips, {})
    return rendered.files[f"{NP}/90-clb-wizard-lo.yaml"]
