"""Real validators: the configs and commands the engine plans, fed to the real tools.

Everything runs inside the `sandbox` fixture (new network + mount namespaces, /etc as an
overlay, private /run): the host's own network and /etc never change. Where possible the
plan's OWN commands (plan.commands argv) are run, not hand-written equivalents.

- netplan: `netplan generate --root-dir` on every netplan plan (no permissions warning),
  and the whole plan (generate, networkctl reload, reconfigure lo) against a real
  systemd-networkd;
- ifupdown: the real `ifup lo:N` / `ifdown` bring the VIPs onto and off `lo`;
- NetworkManager: a real NetworkManager loads and activates the profile; our keyfile is
  compared with what `nmcli --offline connection add type loopback` writes;
- systemd unit: `systemd-analyze verify` works here without systemd as PID 1 (checked: it
  loads the unit offline and rejects bad keys and relative ExecStart paths), and
  `systemctl --root` enables it offline; the ExecStart/ExecStop lines themselves are run.
  The plan's `systemctl daemon-reload` / `systemctl enable` need systemd as PID 1 and do
  not run here;
- UserData scripts run for real for ifupdown, netplan+networkd and NetworkManager;
- a VIP equal to an address of a real interface is refused by the CLI.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from clb_wizard.export.userdata import render_userdata
from clb_wizard.methods import get_method
from clb_wizard.methods.base import TransitionInput
from clb_wizard.methods.networkmanager import CONNECTION_UUID
from clb_wizard.platform import detect
from clb_wizard.runner import Runner
from clb_wizard.service import Options, Service
from tests.conftest import require
from tests.fixtures.readers import parse_keyfile_text, parse_unit, unit_values
from tests.fixtures.roots import NETPLAN_KEYS, VIP1, VIP2, VIP3, apply_files, make_root, read, write
from tests.sandbox import NM_LIBS, NMROOT

pytestmark = pytest.mark.live

ENI = "/etc/network/interfaces"
DROPIN = "/etc/network/interfaces.d/clb-wizard-lo"
NM_PATH = "/etc/NetworkManager/system-connections/clb-wizard-lo.nmconnection"
UNIT_PATH = "/etc/systemd/system/clb-wizard-lo.service"


# -- helpers ----------------------------------------------------------------------------------
def plan_for(root, vips):
    return Service(root).plan(Options(vips=tuple(vips)))


def lo_inet(sb) -> dict[str, dict]:
    """lo's IPv4 addresses from `ip -j addr`: address -> {prefixlen, label}."""
    out = sb.run(["ip", "-j", "addr", "show", "dev", "lo"], check=True).stdout
    return {a["local"]: {"prefixlen": a["prefixlen"], "label": a.get("label", "lo")}
            for a in json.loads(out)[0]["addr_info"] if a["family"] == "inet"}


def wait_for(condition, what: str, seconds: float = 10.0) -> None:
    """Poll a condition (daemons apply config asynchronously); fail with `what`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.05)


def run_commands(sb, commands) -> None:
    for command in commands:
        result = sb.run(list(command.argv))
        assert result.returncode == 0, (command.argv, result.stdout, result.stderr)


def write_files(sb, plan) -> None:
    """Write the plan's files inside the sandbox (its /etc is an overlay)."""
    for change in plan.files:
        if change.after is None:
            sb.run(["rm", "-f", change.path], check=True)
        else:
            sb.write(change.path, change.after, change.mode)


def execute(sb, plan) -> None:
    """What apply does, without its journal: prepare, files, activate."""
    run_commands(sb, plan.prepare)
    write_files(sb, plan)
    run_commands(sb, plan.activate)


def drop_vip2(sb, root, plan, *, ends_with_ip_del: bool):
    """Plan VIP1 alone over the files `plan` wrote and run it: VIP2 leaves lo, VIP1 and
    127.0.0.1 stay. ends_with_ip_del: the plan deletes VIP2 itself (networkd keeps addresses
    dropped from its config). Returns the smaller plan."""
    apply_files(root, plan)
    smaller = plan_for(root, [VIP1])
    if ends_with_ip_del:
        assert smaller.commands[-1].argv == ("ip", "addr", "del", f"{VIP2}/32", "dev", "lo")
    execute(sb, smaller)

    def settled() -> bool:  # networkd re-applies lo after its reload (the engine waits too)
        inet = lo_inet(sb)
        return VIP1 in inet and VIP2 not in inet and "127.0.0.1" in inet

    wait_for(settled, f"lo to hold {VIP1} and not {VIP2}")
    return smaller


# -- netplan --------------------------------------------------------------------------------
def netplan_cases():
    for key in NETPLAN_KEYS:
        yield pytest.param(key, "fresh", id=f"{key}-fresh")
    yield pytest.param("ubuntu-22.04", "foreign-90", id="ubuntu-22.04-foreign-90")
    yield pytest.param("ubuntu-24.04", "vip-removed", id="ubuntu-24.04-vip-removed")


@pytest.mark.parametrize("key, variant", netplan_cases())
def test_netplan_generate_accepts_every_netplan_plan(sandbox, tmp_path, key, variant):
    require("netplan")
    root = make_root(tmp_path, key)
    vips = [VIP1, VIP2, VIP3]
    if variant == "foreign-90":
        write(root, "/etc/netplan/90-clb-wizard-lo.yaml",
              "network:\n  version: 2\n  ethernets:\n    lo:\n      addresses: [192.0.2.99/32]\n",
              0o600)
    if variant == "vip-removed":
        apply_files(root, plan_for(root, vips))
        vips = [VIP1, VIP3]
    plan = plan_for(root, vips)
    apply_files(root, plan)
    for change in plan.files:  # written with their planned modes
        assert (root / change.path.lstrip("/")).stat().st_mode & 0o777 == change.mode
    generate = plan.commands[0].argv
    assert generate == ("netplan", "generate")
    result = sandbox.run([*generate, "--root-dir", str(root)])
    assert result.returncode == 0, result.stderr
    assert "Permissions" not in result.stderr and "WARNING" not in result.stderr, result.stderr
    network = parse_unit((root / "run/systemd/network/10-netplan-lo.network").read_text())
    assert unit_values(network, "Match", "Name") == ["lo"]
    # Address= in [Network], or in [Address] sections for addresses with options
    addresses = unit_values(network, "Network", "Address") + unit_values(
        network, "Address", "Address")
    assert "127.0.0.1/8" not in addresses and "::1/128" not in addresses  # see tests/boot
    for vip in vips:
        assert f"{vip}/32" in addresses
    if variant == "foreign-90":  # netplan merges both files: the admin's address stays
        assert "192.0.2.99/32" in addresses
    if variant == "vip-removed":
        assert f"{VIP2}/32" not in addresses


@pytest.mark.parametrize("key", ["ubuntu-22.04", "debian-13"])
def test_netplan_plan_activates_with_a_real_networkd(sandbox, tmp_path, key):
    require("netplan", "networkctl", "dbus-daemon")
    sandbox.start_networkd()
    root = make_root(tmp_path, key)
    plan = plan_for(root, [VIP1, VIP2])
    assert [c.argv[:2] for c in plan.commands] == [
        ("netplan", "generate"), ("networkctl", "reload"), ("networkctl", "reconfigure")]
    execute(sandbox, plan)
    wait_for(lambda: {VIP1, VIP2} <= set(lo_inet(sandbox)), "networkd puts the VIPs on lo")
    inet = lo_inet(sandbox)
    assert inet[VIP1]["prefixlen"] == 32 and inet["127.0.0.1"]["prefixlen"] == 8
    assert "::1/128" in sandbox.lo_addresses()  # the loopback keeps its own addresses
    drop_vip2(sandbox, root, plan, ends_with_ip_del=True)


def test_netplan_plan_for_ubuntu_1804_adds_the_vips_without_reconfigure(sandbox, tmp_path):
    require("netplan")
    root = make_root(tmp_path, "ubuntu-18.04")
    plan = plan_for(root, [VIP1, VIP2])
    assert not any(c.argv[0] == "networkctl" for c in plan.commands)
    execute(sandbox, plan)
    inet = lo_inet(sandbox)
    assert inet[VIP1]["prefixlen"] == inet[VIP2]["prefixlen"] == 32
    generated = sandbox.read("/run/systemd/network/10-netplan-lo.network").decode()
    assert f"Address={VIP1}/32" in generated  # what networkd applies at the next boot


# -- ifupdown -------------------------------------------------------------------------------
def ifupdown_root(tmp_path, variant):
    if variant == "debian-12":
        return make_root(tmp_path, "debian-12")
    if variant == "ubuntu-16.04":  # source-directory: our file name has no dot
        return make_root(tmp_path, "ubuntu-16.04")
    root = make_root(tmp_path, "debian-10")  # interfaces that does not read interfaces.d
    write(root, ENI, "auto lo\niface lo inet loopback\n")
    return root


@pytest.mark.parametrize("variant", ["debian-12", "ubuntu-16.04", "no-source"])
def test_ifupdown_plan_with_the_real_ifup_and_ifdown(sandbox, tmp_path, variant):
    require("ifup", "ifdown")
    root = ifupdown_root(tmp_path, variant)
    sandbox.write(ENI, read(root, ENI))
    sandbox.sh("rm -f /etc/network/interfaces.d/*")
    plan = plan_for(root, [VIP1, VIP2, VIP3])
    assert (ENI in {c.path for c in plan.files}) is (variant == "no-source")
    assert [c.argv for c in plan.commands] == [("ifup", "lo:1"), ("ifup", "lo:2"),
                                               ("ifup", "lo:3")]
    before = lo_inet(sandbox)
    assert VIP1 not in before
    execute(sandbox, plan)
    inet = lo_inet(sandbox)
    for n, vip in enumerate((VIP1, VIP2, VIP3), 1):
        assert inet[vip] == {"prefixlen": 32, "label": f"lo:{n}"}
    # remove VIP2: its stanza goes and `ifdown --force lo:2` (run before the file
    # changes, while the stanza still exists) takes it off lo
    apply_files(root, plan)
    smaller = plan_for(root, [VIP1, VIP3])
    assert [c.argv for c in smaller.prepare] == [("ifdown", "--force", "lo:2")]
    execute(sandbox, smaller)
    inet = lo_inet(sandbox)
    assert VIP2 not in inet and inet[VIP1]["label"] == "lo:1" and inet[VIP3]["label"] == "lo:3"
    # the real ifdown of what ifup brought up
    down = sandbox.run(["ifdown", "lo:1"])
    assert down.returncode == 0, down.stderr
    assert VIP1 not in lo_inet(sandbox)
    # removing our file altogether: the method's own commands take the rest down
    apply_files(root, smaller)
    files = {DROPIN: read(root, DROPIN)}
    move = get_method("ifupdown").transition(
        TransitionInput(files, {DROPIN: None}, smaller.platform, live={VIP3}))
    # every alias of the file goes down, lo:1 too although it is already down:
    # `ifdown --force` of an alias that is not up must not fail
    assert [c.argv for c in move.prepare] == [("ifdown", "--force", "lo:1"),
                                              ("ifdown", "--force", "lo:3")]
    run_commands(sandbox, move.prepare)
    assert set(lo_inet(sandbox)) == set(before)


def test_ifup_refuses_what_ifquery_accepts(sandbox, tmp_path):
    """Why the engine validates VIPs itself: ifquery only checks syntax, ifup fails late."""
    require("ifup", "ifquery")
    bad = tmp_path / "interfaces"
    bad.write_text("auto lo:9\niface lo:9 inet static\n    address 203.0.113.300\n"
                   "    netmask 255.255.255.255\n")
    state = tmp_path / "state"
    state.mkdir()
    query = sandbox.run(["ifquery", "-i", str(bad), "lo:9"])
    assert query.returncode == 0
    up = sandbox.run(["ifup", "-i", str(bad), "--state-dir", str(state), "lo:9"])
    assert up.returncode != 0


# -- NetworkManager -------------------------------------------------------------------------
def test_networkmanager_profile_loaded_and_activated_by_a_real_networkmanager(sandbox, tmp_path):
    require("dbus-daemon", "NetworkManager")
    sandbox.start_networkmanager()
    root = make_root(tmp_path, "rocky-9")
    plan = plan_for(root, [VIP1, VIP2])
    (change,) = plan.files
    assert change.path == NM_PATH and change.mode == 0o600
    assert [c.argv for c in plan.commands] == [
        ("nmcli", "connection", "load", NM_PATH),
        ("nmcli", "connection", "up", "uuid", CONNECTION_UUID)]
    execute(sandbox, plan)
    inet = lo_inet(sandbox)
    assert inet[VIP1]["prefixlen"] == inet[VIP2]["prefixlen"] == 32
    assert "127.0.0.1" in inet and "::1/128" in sandbox.lo_addresses()
    shown = sandbox.run(["nmcli", "-g", "connection.type,ipv4.addresses", "connection",
                         "show", "uuid", CONNECTION_UUID], check=True).stdout.splitlines()
    assert shown == ["loopback", f"{VIP1}/32, {VIP2}/32"]
    active = sandbox.run(["nmcli", "-g", "UUID,DEVICE", "connection", "show", "--active"],
                         check=True).stdout.splitlines()
    assert f"{CONNECTION_UUID}:lo" in active
    # drop VIP2: reloading and re-activating the profile takes it off lo
    smaller = drop_vip2(sandbox, root, plan, ends_with_ip_del=False)
    # drop the profile: the method's own down + load remove it, lo keeps 127.0.0.1
    apply_files(root, smaller)
    move = get_method("networkmanager").transition(TransitionInput(
        {NM_PATH: read(root, NM_PATH)}, {NM_PATH: None}, smaller.platform, live={VIP1}))
    run_commands(sandbox, move.prepare)
    sandbox.run(["rm", NM_PATH], check=True)
    run_commands(sandbox, move.activate)
    assert set(lo_inet(sandbox)) == {"127.0.0.1"}
    listed = sandbox.run(["nmcli", "-g", "UUID", "connection", "show"], check=True).stdout
    assert CONNECTION_UUID not in listed


def test_our_keyfile_matches_what_nmcli_offline_writes(sandbox):
    require("NetworkManager")
    nmcli = str(NMROOT / "usr/bin/nmcli")
    vips = [VIP1, VIP2]
    theirs = sandbox.run(
        [nmcli, "--offline", "connection", "add", "type", "loopback", "con-name",
         "clb-wizard-lo", "ifname", "lo", "ipv4.method", "manual",
         "ipv4.addresses", ",".join(f"{v}/32" for v in vips)],
        env={"LD_LIBRARY_PATH": str(NM_LIBS)}, check=True).stdout
    plan = Service("/nonexistent").plan(Options(vips=tuple(vips), os_override="rocky-9"))
    ours = parse_keyfile_text(plan.files[0].after)
    reference = parse_keyfile_text(theirs)
    assert ours.sections() == reference.sections()
    for section in reference.sections():
        for key, value in reference.items(section):
            if (section, key) == ("connection", "uuid"):
                continue  # ours is stable (uuid5), nmcli's is random
            assert ours.get(section, key) == value, (section, key)
    extra = {(s, k) for s in ours.sections() for k in ours[s]
             if not reference.has_option(s, k)}
    # autoconnect=true is NetworkManager's default, written out to be explicit
    assert extra == {("connection", "autoconnect")}
    assert ours["connection"]["autoconnect"] == "true"


# -- systemd unit ---------------------------------------------------------------------------
def test_systemd_unit_verifies_enables_and_its_exec_lines_work(sandbox, tmp_path):
    require("systemd-analyze", "systemctl", "ip")
    root = make_root(tmp_path, "rocky-9.1")
    plan = plan_for(root, [VIP1, VIP2])
    (change,) = plan.files
    assert change.path == UNIT_PATH
    units = tmp_path / "units"
    units.mkdir()
    (units / "clb-wizard-lo.service").write_text(change.after)
    verify = sandbox.run(["systemd-analyze", "verify", str(units / "clb-wizard-lo.service")])
    assert verify.returncode == 0, verify.stderr
    assert "clb-wizard-lo.service" not in verify.stderr, verify.stderr
    # [Install] works: enabling offline links it into multi-user.target.wants
    offline = tmp_path / "offline"
    write(offline, UNIT_PATH, change.after, change.mode)
    enable = sandbox.run(["systemctl", f"--root={offline}", "enable", "clb-wizard-lo.service"])
    assert enable.returncode == 0, enable.stderr
    assert (offline / "etc/systemd/system/multi-user.target.wants/clb-wizard-lo.service"
            ).is_symlink()
    # what systemd runs at boot: every ExecStart line, then every ExecStop line
    unit = parse_unit(change.after)
    for line in unit_values(unit, "Service", "ExecStart"):
        result = sandbox.run(line.split())
        assert result.returncode == 0, (line, result.stderr)
    inet = lo_inet(sandbox)
    assert inet[VIP1] == {"prefixlen": 32, "label": "lo:1"}
    assert inet[VIP2] == {"prefixlen": 32, "label": "lo:2"}
    for line in unit_values(unit, "Service", "ExecStart"):  # idempotent: `replace`
        assert sandbox.run(line.split()).returncode == 0
    for line in unit_values(unit, "Service", "ExecStop"):
        assert line.startswith("-")  # a missing address does not fail the stop
        assert sandbox.run(line[1:].split()).returncode == 0
    assert VIP1 not in lo_inet(sandbox) and VIP2 not in lo_inet(sandbox)
    # the plan's own `ip` commands (daemon-reload/enable need systemd as PID 1)
    run_commands(sandbox, [c for c in plan.activate if c.argv[0] == "ip"])
    assert {VIP1, VIP2} <= set(lo_inet(sandbox))


# -- UserData run for real --------------------------------------------------------------------
def userdata(key, vips):
    return render_userdata(detect(Runner(root=Path("/nonexistent")), key), list(vips))


@pytest.mark.parametrize("key, interfaces", [
    ("debian-12", "source /etc/network/interfaces.d/*\n"),
    ("ubuntu-16.04", "auto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/*.cfg\n"),
])
def test_userdata_for_ifupdown_runs(sandbox, key, interfaces):
    require("ifup", "bash")
    sandbox.write(ENI, interfaces)
    sandbox.sh("rm -f /etc/network/interfaces.d/*")
    result = sandbox.run(["bash", "-c", userdata(key, [VIP1, VIP3])])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the CLB VIPs are on lo" in result.stdout
    assert {VIP1, VIP3} <= set(lo_inet(sandbox))
    main = sandbox.read(ENI).decode()
    if interfaces.endswith("*\n"):
        assert main == interfaces
    else:
        assert main.startswith(interfaces) and f"source {DROPIN}" in main.splitlines()
    assert sandbox.run(["ls", "-A", "/etc/network/interfaces.d"]).stdout.split() == [
        "clb-wizard-lo"]  # no temp file left behind


def test_userdata_for_netplan_runs_with_networkd(sandbox):
    require("netplan", "networkctl", "dbus-daemon", "bash")
    sandbox.start_networkd()
    result = sandbox.run(["bash", "-c", userdata("ubuntu-24.04", [VIP1, VIP2])])
    # the script checks right after `networkctl reconfigure lo`; networkd is quick
    # enough here, and a failure would name the missing VIP
    assert result.returncode == 0, result.stdout + result.stderr
    mode = sandbox.run(["stat", "-c", "%a", "/etc/netplan/90-clb-wizard-lo.yaml"]).stdout
    assert mode.strip() == "600"
    assert {VIP1, VIP2} <= set(lo_inet(sandbox))


def test_userdata_for_networkmanager_runs(sandbox):
    require("dbus-daemon", "NetworkManager", "bash")
    sandbox.start_networkmanager()
    result = sandbox.run(["bash", "-c", userdata("rocky-9", [VIP1])])
    assert result.returncode == 0, result.stdout + result.stderr
    assert lo_inet(sandbox)[VIP1]["prefixlen"] == 32


# -- a VIP that is this host's own address ------------------------------------------------------
def test_a_vip_equal_to_an_interface_address_is_refused(sandbox):
    # a veth pair (the dummy driver is not available in every container)
    sandbox.sh("ip link add dummy0 type veth peer name dummy1 && "
               "ip addr add 198.51.100.7/24 dev dummy0 && ip link set dummy0 up", check=True)
    watched = "/etc/network /etc/netplan /etc/NetworkManager /etc/systemd/system"
    listing = sandbox.sh(f"ls -laR {watched} 2>/dev/null || true").stdout
    refused = sandbox.wizard("plan", "--vip", "198.51.100.7")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "198.51.100.7" in refused.stderr and "dummy0" in refused.stderr
    assert refused.stdout == ""
    assert "198.51.100.7" not in lo_inet(sandbox)
    # a neighbour in the same subnet is a fine VIP: the live plan goes through
    allowed = sandbox.wizard("plan", "--json", "--vip", "198.51.100.8")
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["vips"] == ["198.51.100.8"]
    assert sandbox.sh(f"ls -laR {watched} 2>/dev/null || true").stdout == listing


def test_tools_needed_here_exist():
    """As root, every validator above must really run: a missing tool fails, not skips."""
    require("netplan", "ifup", "ifdown", "ifquery", "systemd-analyze", "networkctl",
            "dbus-daemon", "NetworkManager", "shellcheck")
    assert shutil.which("ip")
    assert subprocess.run(["netplan", "generate", "--help"], capture_output=True).returncode == 0
