"""A fleet rollout over real SSH (issue 15): booted Debian 12 hosts with mixed stacks
(ifupdown, netplan + systemd-networkd, NetworkManager) on a private bridge, and
ansible-playbook / ssh inside the bridge's namespace with keys made for this run.

The tests run in order on one fleet, and run exactly the commands and the inventory of
the README's "A fleet" section (test_readme_shows_what_the_fleet_tests_run checks that):
canary, a failed batch stopping the rollout, a failing host rescued while the others
succeed, everyone, a second run with nothing to change, reboots, the sh script over ssh,
the wizard's lock, and undo.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.boot.checks import Snapshot, lo_addresses, wait_for_addresses, watched_digest
from tests.boot.fleet import NET, Controller, Host, configure, keypair, recap
from tests.boot.harness import Bridge

SUITE = "bookworm"
VIPS = ("192.0.2.21", "203.0.113.21")
VIP_SET = {f"{v}/32" for v in VIPS}
# name -> (cached root variant, the method the play must choose)
HOSTS = {"web1": ("ifupdown", "ifupdown"), "web2": ("netplan", "netplan"),
         "web3": ("nm", "networkmanager"), "web4": ("ifupdown", "ifupdown")}
INVENTORY = f"""[backends]
web1 ansible_host={NET}.11
web2 ansible_host={NET}.12
web3 ansible_host={NET}.13
"""
EXPORT = ["clb-wizard", "export", "--format", "ansible", "--vip", VIPS[0], "--vip", VIPS[1],
          "--output", "fleet/"]
PLAY = ["ansible-playbook", "-i", "inventory.ini", "-b", "fleet/clb-wizard-lo.yml"]
CANARY = [*PLAY, "--limit", "web1"]
BATCHES = [*PLAY, "-e", "clb_serial=3", "-e", "clb_max_fail_percentage=50"]
UNDO_EXPORT = ["clb-wizard", "export", "--format", "ansible", "--vip", VIPS[0],
               "--output", "undo/"]
UNDO = ["ansible-playbook", "-i", "inventory.ini", "-b", "undo/clb-wizard-lo.yml",
        "-e", "clb_remove_others=true", "--limit", "web1"]
SCRIPT_EXPORT = ["clb-wizard", "export", "--format", "script", "--os", "debian-12",
                 "--vip", VIPS[0], "--vip", VIPS[1], "--output", "clb-wizard-lo.sh"]
README_COMMANDS = (EXPORT, CANARY, PLAY, BATCHES, UNDO_EXPORT, UNDO, SCRIPT_EXPORT)
# activation fails on web2: its `networkctl reload` (a shim first on root's PATH)
FAILING_NETWORKCTL = ("#!/bin/sh\n[ \"$1\" = reload ] && { echo 'networkctl: simulated "
                      "failure' >&2; exit 1; }\nexec /usr/bin/networkctl \"$@\"\n")


class Fleet:
    def __init__(self, hosts: dict[str, Host], controller: Controller, workdir: Path):
        self.hosts, self.ctl, self.dir = hosts, controller, workdir

    def run(self, argv: list[str]) -> subprocess.CompletedProcess:
        """A README command: clb-wizard on this machine, ansible-playbook in the bridge."""
        if argv[0] == "clb-wizard":
            result = subprocess.run([sys.executable, "-m", "clb_wizard", *argv[1:]],
                                    cwd=self.dir, capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, result.stderr
            return result
        return self.ctl.playbook(*argv[1:], cwd=self.dir)

    def vips_on(self, name: str) -> set[str]:
        return lo_addresses(self.hosts[name].machine) & VIP_SET


@pytest.fixture(scope="module")
def fleet(boot_env, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("fleet")
    client_key, client_pub = keypair(workdir, "client")
    host_key, host_pub = keypair(workdir, "host")
    bridge = Bridge()
    hosts: dict[str, Host] = {}
    try:
        for n, (name, (variant, _)) in enumerate(HOSTS.items(), 1):
            machine = boot_env.machine(SUITE, variant, bridge=bridge)
            hosts[name] = Host(name, f"{NET}.1{n}", machine)
            configure(machine, variant, hosts[name].ip, host_key, client_pub)
            machine.boot()
        ctl = Controller(bridge, workdir, list(hosts.values()), client_key, host_pub)
        (workdir / "inventory.ini").write_text(INVENTORY)
        for host in hosts.values():
            reached = ctl.ssh(host, "hostname")
            assert reached.returncode == 0, f"ssh {host.name}: {reached.stderr}"
        yield Fleet(hosts, ctl, workdir)
    finally:
        for host in hosts.values():
            host.machine.close()
        bridge.close()


def test_canary_touches_one_host(fleet):
    fleet.run(EXPORT)
    result = fleet.run(CANARY)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    counts = recap(result)
    assert set(counts) == {"web1"} and counts["web1"]["changed"] > 0
    assert fleet.vips_on("web1") == VIP_SET
    assert not fleet.vips_on("web2") and not fleet.vips_on("web3")


def test_a_failed_batch_stops_the_rollout(fleet):
    """One host at a time (the default), no failure allowed: web2 fails activation and is
    rescued, and web3 is never touched."""
    web2 = fleet.hosts["web2"].machine
    web2.write("/usr/local/sbin/networkctl", FAILING_NETWORKCTL, 0o755)
    before = Snapshot.take(web2)
    result = fleet.run(PLAY)
    assert result.returncode != 0
    counts = recap(result)
    assert counts["web1"]["changed"] == 0 and counts["web1"]["failed"] == 0
    assert counts["web2"]["rescued"] == 1 and counts["web2"]["failed"] == 1
    assert "web3" not in counts or counts["web3"]["ok"] == 0, result.stdout[-3000:]
    assert "networkctl: simulated failure" in result.stdout
    assert Snapshot.take(web2) == before
    assert not fleet.vips_on("web3")


def test_a_failing_host_is_rescued_while_the_others_succeed(fleet):
    web2 = fleet.hosts["web2"].machine
    before = Snapshot.take(web2)
    result = fleet.run(BATCHES)
    counts = recap(result)
    assert counts["web2"]["rescued"] == 1, result.stdout[-4000:]
    assert counts["web3"]["failed"] == 0 and counts["web3"]["changed"] > 0
    assert "method networkmanager" in result.stdout
    assert Snapshot.take(web2) == before  # files byte-exact, no VIP
    assert not fleet.vips_on("web2")
    assert fleet.vips_on("web1") == VIP_SET and fleet.vips_on("web3") == VIP_SET
    web2.path("/usr/local/sbin/networkctl").unlink()


def test_every_host_then_a_second_run_changes_nothing(fleet):
    first = fleet.run(PLAY)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert all(fleet.vips_on(name) == VIP_SET for name in ("web1", "web2", "web3"))
    for name, (_, method) in HOSTS.items():
        if name != "web4":
            assert f"[{name}] => {{\n    \"msg\": \"{', '.join(VIPS)} on lo, verified " \
                   f"({method})" in first.stdout
    second = fleet.run(PLAY)
    assert second.returncode == 0, second.stdout[-4000:]
    counts = recap(second)
    assert {name: c["changed"] for name, c in counts.items()} == dict.fromkeys(
        ("web1", "web2", "web3"), 0)


def test_every_host_keeps_its_vips_after_a_reboot(fleet):
    for name in ("web1", "web2", "web3"):
        machine = fleet.hosts[name].machine
        machine.reboot()
        assert wait_for_addresses(machine, VIP_SET) >= VIP_SET, name
        verified = machine.run(["clb-wizard", "verify", "--vip", VIPS[0], "--vip", VIPS[1]])
        assert verified.returncode == 0, f"{name}: {verified.stdout}{verified.stderr}"
    fleet.ctl.flush_neighbours()
    again = fleet.run(PLAY)
    assert again.returncode == 0, again.stdout[-4000:]
    assert all(c["changed"] == 0 for c in recap(again).values())


def test_the_script_over_ssh_gives_what_the_playbook_gave(fleet):
    """web4 is web1's kind of host (Debian 12, ifupdown) outside the inventory."""
    fleet.run(SCRIPT_EXPORT)
    web4 = fleet.hosts["web4"]
    script = (fleet.dir / "clb-wizard-lo.sh").read_text()
    copied = fleet.ctl.ssh(web4, "cat > /root/clb-wizard-lo.sh", stdin=script)
    assert copied.returncode == 0, copied.stderr
    result = fleet.ctl.ssh(web4, "sh /root/clb-wizard-lo.sh")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Applied and verified." in result.stdout

    def state(name: str):
        digest = watched_digest(fleet.hosts[name].machine)
        digest.pop("/etc/network/interfaces.d/host0")  # each host's own address
        return digest, lo_addresses(fleet.hosts[name].machine)

    assert state("web4") == state("web1")


def test_the_playbook_skips_a_host_the_wizard_is_changing(fleet):
    web3 = fleet.hosts["web3"].machine
    web3.run(["mkdir", "-p", "/var/lib/clb-wizard"], check=True)
    holder = web3.popen(["flock", "/var/lib/clb-wizard/lock", "sleep", "600"])
    while web3.run(["flock", "-n", "/var/lib/clb-wizard/lock", "true"]).returncode == 0:
        time.sleep(0.1)  # until the holder has it
    try:
        result = fleet.run([*PLAY, "--limit", "web3"])
    finally:
        holder.kill()
        web3.run(["pkill", "-f", "^sleep 600$"])
    assert result.returncode != 0
    assert "is changing this host: it is skipped" in result.stdout
    assert recap(result)["web3"]["changed"] == 0


def test_undo_takes_a_vip_out_of_service_only_when_asked(fleet):
    fleet.run(UNDO_EXPORT)
    refused = fleet.run([*UNDO[:5], "--limit", "web1"])
    assert refused.returncode != 0
    assert f"This would take {VIPS[1]} out of service" in refused.stdout
    assert fleet.vips_on("web1") == VIP_SET
    undone = fleet.run(UNDO)
    assert undone.returncode == 0, undone.stdout[-4000:]
    assert fleet.vips_on("web1") == {f"{VIPS[0]}/32"}
    assert fleet.vips_on("web2") == VIP_SET


def test_readme_shows_what_the_fleet_tests_run():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### A fleet", 1)[1].split("\n### ", 1)[0]
    assert "\n".join("    " + line for line in INVENTORY.splitlines()) in section
    for argv in README_COMMANDS:
        assert "    " + " ".join(argv) + "\n" in section, " ".join(argv)
