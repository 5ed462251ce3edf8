"""The fleet over real SSH (issues 15, 20): booted Debian hosts with mixed stacks
(ifupdown, netplan + systemd-networkd, NetworkManager, and one with no python3 at all) on a
private bridge; ansible-playbook (the test extras' ansible-core, from PyPI) and ssh inside
the bridge's namespace with keys made for this run.

No host has clb-wizard before the play: the play installs the portable bundle (built once
per test run by tests/bundle/build.py) with `sh FILE --install-only` and runs clb-wizard on
each host with the bundle's own Python. The tests run in order on one fleet, with exactly
the commands and the inventory of the README's "A fleet" section
(test_readme_shows_what_the_fleet_tests_run checks that): a canary, a host whose
activation fails (rolled back by the engine byte-exact) stopping the batch, batches with a
failure budget, every host, reboots, a second run with nothing to change, removal only
when asked, an ansible-playbook killed mid-change, and rolling every host back.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.boot.checks import Snapshot, lo_addresses, wait_for_addresses
from tests.boot.fleet import NET, Controller, Host, configure, keypair, recap
from tests.boot.harness import Bridge, Machine
from tests.boot.roots import NOPYTHON_SUITE, Root
from tests.bundle.build import base_name, run_file, version

SUITE = "bookworm"
VIPS = ("192.0.2.21", "203.0.113.21")
VIP_SET = {f"{v}/32" for v in VIPS}
# name -> (cached root, how its own address is configured, the method clb-wizard chooses);
# web4's root has no python3 at all (minbase, ifupdown, sshd; the oldest suite of the run)
HOSTS = {"web1": (Root(SUITE, "ifupdown"), "ifupdown", "ifupdown"),
         "web2": (Root(SUITE, "netplan"), "netplan", "netplan"),
         "web3": (Root(SUITE, "nm"), "nm", "networkmanager"),
         "web4": (Root(NOPYTHON_SUITE, "nopython"), "ifupdown", "ifupdown")}
INVENTORY = f"""[backends]
web1 ansible_host={NET}.11
web2 ansible_host={NET}.12
web3 ansible_host={NET}.13
web4 ansible_host={NET}.14
"""
BUNDLE = f"{base_name()}.run"  # run_file() (built by the fixture), copied into the workdir
VERSION = version()
EXPORT = ["clb-wizard", "export", "--format", "ansible", "--vip", VIPS[0], "--vip", VIPS[1],
          "--bundle", BUNDLE, "--output", "fleet/"]
PLAY = ["ansible-playbook", "-i", "inventory.ini", "-b", "fleet/clb-wizard-lo.yml"]
CANARY = [*PLAY, "--limit", "web1"]
BATCHES = [*PLAY, "-e", "clb_serial=3", "-e", "clb_max_fail_percentage=50"]
UNDO_EXPORT = ["clb-wizard", "export", "--format", "ansible", "--vip", VIPS[0],
               "--bundle", BUNDLE, "--output", "undo/"]
UNDO = ["ansible-playbook", "-i", "inventory.ini", "-b", "undo/clb-wizard-lo.yml",
        "-e", "clb_remove_others=true", "--limit", "web1"]
UNDO_PREVIEW = [*UNDO, "--check"]
ROLLBACK = [*PLAY, "-e", "clb_rollback=true"]
UNDO_ROLLBACK = ["ansible-playbook", "-i", "inventory.ini", "-b", "undo/clb-wizard-lo.yml",
                 "-e", "clb_rollback=true", "--limit", "web1"]
README_COMMANDS = (EXPORT, CANARY, PLAY, BATCHES, UNDO_EXPORT, UNDO_PREVIEW, UNDO, ROLLBACK,
                   UNDO_ROLLBACK)
# activation fails on web2: its `networkctl reload` (a shim first on root's PATH)
FAILING_NETWORKCTL = ("#!/bin/sh\n[ \"$1\" = reload ] && { echo 'networkctl: simulated "
                      "failure' >&2; exit 1; }\nexec /usr/bin/networkctl \"$@\"\n")
# web1's ifdown waits for the test: the engine is mid-change when ansible-playbook dies
REACHED, GO = "/var/lib/clb-test-reached", "/var/lib/clb-test-go"  # on the overlay: not /run
HELD_IFDOWN = (f"#!/bin/sh\ntouch {REACHED}\nwhile [ ! -e {GO} ]; do sleep 0.1; done\n"
               "exec /sbin/ifdown \"$@\"\n")
LOCK = "/var/lib/clb-wizard/lock"


class Fleet:
    def __init__(self, hosts: dict[str, Host], controller: Controller, workdir: Path):
        self.hosts, self.ctl, self.dir = hosts, controller, workdir
        self.pristine: dict[str, Snapshot] = {}

    def run(self, argv: list[str]):
        """A README command: clb-wizard on this machine, ansible-playbook in the bridge."""
        if argv[0] == "clb-wizard":
            result = subprocess.run([sys.executable, "-m", "clb_wizard", *argv[1:]],
                                    cwd=self.dir, capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, result.stderr
            return result
        return self.ctl.playbook(*argv[1:], cwd=self.dir)

    def machine(self, name: str) -> Machine:
        return self.hosts[name].machine

    def vips_on(self, name: str) -> set[str]:
        return lo_addresses(self.machine(name)) & VIP_SET

    def wizard_json(self, name: str, *args: str) -> dict:
        """clb-wizard on the host, as the play installed it (the bundle's link)."""
        result = self.machine(name).run(["clb-wizard", *args, "--json"], timeout=180)
        assert result.returncode == 0, result.stdout + result.stderr
        return json.loads(result.stdout)


def shown(result) -> str:
    return result.stdout[-6000:] + result.stderr[-2000:]


def installed(machine: Machine) -> bool:
    return machine.path(f"/opt/clb-wizard/{VERSION}/clb-wizard").exists()


def processes(machine: Machine) -> dict[int, list[bytes]]:
    """pid -> argv of every process in the machine (its PID namespace), read from this
    side's /proc, so that a search never finds itself."""
    found = {}
    own = os.readlink(f"/proc/{machine.leader}/ns/pid")
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(proc / "ns/pid") == own:
                    found[int(proc.name)] = (proc / "cmdline").read_bytes().split(b"\0")
    return found


def ansible_left(machine: Machine) -> bool:
    """A process of the play's (async_wrapper, a module) still runs in the machine."""
    return any(any(b"/.ansible" in arg for arg in argv) for argv in processes(machine).values())


def engine_running(machine: Machine) -> bool:
    """A `clb-wizard apply` of the play's (its --confirm-timeout=0) runs in the machine."""
    return any(b"apply" in argv and b"--confirm-timeout=0" in argv
               for argv in processes(machine).values())


@pytest.fixture(scope="module")
def fleet(boot_env, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("fleet")
    shutil.copyfile(run_file(), workdir / BUNDLE)
    client_key, client_pub = keypair(workdir, "client")
    host_key, host_pub = keypair(workdir, "host")
    bridge = Bridge()
    hosts: dict[str, Host] = {}
    try:
        for n, (name, (root, stack, _)) in enumerate(HOSTS.items(), 1):
            # no clb-wizard on the hosts: the play brings it
            machine = Machine(root.path, boot_env.workdir, bridge=bridge)
            hosts[name] = Host(name, f"{NET}.1{n}", machine)
            configure(machine, stack, hosts[name].ip, host_key, client_pub)
        with ThreadPoolExecutor(len(hosts)) as pool:
            list(pool.map(lambda h: h.machine.boot(), hosts.values()))
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


def test_one_host_has_no_python_at_all(fleet):
    web4 = fleet.machine("web4")
    found = web4.run("ls /usr/bin/python* /usr/local/bin/python* /bin/python* 2>/dev/null; "
                     "command -v python3 python").stdout
    assert found == "", found
    for name in fleet.hosts:
        fleet.pristine[name] = Snapshot.take(fleet.machine(name))
        assert not installed(fleet.machine(name))


def test_canary_touches_one_host(fleet):
    fleet.run(EXPORT)
    preview = fleet.run([*CANARY, "--check"])  # the install would change it; nothing more yet
    assert preview.returncode == 0, shown(preview)
    assert recap(preview)["web1"]["changed"] == 1, shown(preview)
    assert "is not installed here yet" in preview.stdout
    assert not installed(fleet.machine("web1"))
    result = fleet.run(CANARY)
    assert result.returncode == 0, shown(result)
    counts = recap(result)
    assert set(counts) == {"web1"} and counts["web1"]["changed"] > 0
    assert fleet.vips_on("web1") == VIP_SET
    assert not any(fleet.vips_on(name) or installed(fleet.machine(name))
                   for name in ("web2", "web3", "web4"))
    # the per-host record is the engine's own
    newest = fleet.wizard_json("web1", "history")["history"][0]
    assert newest["vips"] == list(VIPS) and newest["method"] == "ifupdown"


def test_a_failed_activation_is_rolled_back_by_the_engine_and_stops_the_rollout(fleet):
    """One host at a time (the default), no failure allowed: web2's activation fails, its
    clb-wizard rolls it back byte-exact, and web3 and web4 are never touched."""
    web2 = fleet.machine("web2")
    web2.write("/usr/local/sbin/networkctl", FAILING_NETWORKCTL, 0o755)
    result = fleet.run(PLAY)
    assert result.returncode != 0
    counts = recap(result)
    assert counts["web1"]["changed"] == 0 and counts["web1"]["failed"] == 0, shown(result)
    assert counts["web2"]["failed"] == 1, shown(result)
    assert "web3" not in counts and "web4" not in counts, shown(result)
    assert "networkctl: simulated failure" in result.stdout, shown(result)  # the failed step
    assert "Log on the host: /var/lib/clb-wizard/log/" in result.stdout
    assert Snapshot.take(web2) == fleet.pristine["web2"]  # files byte-exact, lo as before
    assert not web2.path("/var/lib/clb-wizard/journal.json").exists()
    assert fleet.wizard_json("web2", "history")["history"] == []
    assert not installed(fleet.machine("web3")) and not installed(fleet.machine("web4"))


def test_a_batch_goes_on_within_its_failure_budget(fleet):
    """Batches of 3 with 50% allowed to fail: web2 fails again (rolled back), web3 in the
    same batch and web4 (no Python) in the next one get the VIPs."""
    result = fleet.run(BATCHES)
    counts = recap(result)
    assert counts["web2"]["failed"] == 1, shown(result)
    for name in ("web3", "web4"):
        assert counts[name]["failed"] == 0 and counts[name]["changed"] > 0, shown(result)
        assert fleet.vips_on(name) == VIP_SET
    assert Snapshot.take(fleet.machine("web2")) == fleet.pristine["web2"]
    assert fleet.vips_on("web1") == VIP_SET
    fleet.machine("web2").path("/usr/local/sbin/networkctl").unlink()


def test_every_host_keeps_its_vips_after_a_reboot_and_a_second_run_changes_nothing(fleet):
    first = fleet.run(PLAY)
    assert first.returncode == 0, shown(first)
    assert recap(first)["web2"]["changed"] > 0
    for name, (_, _, method) in HOSTS.items():
        assert fleet.vips_on(name) == VIP_SET, name
        assert (f"[{name}] => {{\n    \"msg\": \"Applied and verified." in first.stdout
                or f"[{name}] => {{\n    \"msg\": \"No change needed" in first.stdout), name
        assert f"{', '.join(VIPS)} on lo, verified ({method})." in first.stdout
    with ThreadPoolExecutor(len(fleet.hosts)) as pool:
        list(pool.map(lambda h: h.machine.reboot(), fleet.hosts.values()))
    fleet.ctl.flush_neighbours()
    for name in fleet.hosts:
        assert wait_for_addresses(fleet.machine(name), VIP_SET) >= VIP_SET, name
        verified = fleet.machine(name).run(["clb-wizard", "verify"], timeout=180)
        assert verified.returncode == 0, f"{name}: {verified.stdout}{verified.stderr}"
    second = fleet.run(PLAY)
    assert second.returncode == 0, shown(second)
    assert {name: c["changed"] for name, c in recap(second).items()} == dict.fromkeys(
        fleet.hosts, 0)


def test_a_vip_leaves_service_only_when_asked(fleet):
    fleet.run(UNDO_EXPORT)
    refused = fleet.run(UNDO[:5] + ["--limit", "web1"])  # without clb_remove_others
    assert refused.returncode != 0
    assert f"{VIPS[1]}" in refused.stdout and "out of service" in refused.stdout
    assert recap(refused)["web1"]["changed"] == 0
    preview = fleet.run(UNDO_PREVIEW)  # clb-wizard's own dry run
    assert preview.returncode == 0, shown(preview)
    assert recap(preview)["web1"]["changed"] == 1
    assert f"out of service: {VIPS[1]}" in preview.stdout and "Dry run" in preview.stdout
    assert fleet.vips_on("web1") == VIP_SET


def test_a_host_another_run_is_changing_fails_unchanged(fleet):
    """The play holds no lock of its own: clb-wizard's lock keeps it and the wizard apart."""
    web3 = fleet.machine("web3")
    before = Snapshot.take(web3)
    holder = web3.popen(["flock", LOCK, "sleep", "600"])
    try:
        while web3.run(["flock", "-n", LOCK, "true"]).returncode == 0:
            time.sleep(0.1)  # until the holder has it
        result = fleet.run([*PLAY, "--limit", "web3"])
    finally:
        for pid, argv in processes(web3).items():  # the holder's flock and sleep
            if argv[0] in (b"flock", b"sleep") and b"600" in argv:
                os.kill(pid, 9)
        holder.kill()
        holder.wait()
    assert result.returncode != 0
    assert "another clb-wizard run" in result.stdout and "is changing this host" in result.stdout
    assert recap(result)["web3"]["changed"] == 0
    assert Snapshot.take(web3) == before


def test_a_killed_ansible_playbook_leaves_no_lock_and_the_next_runs_proceed(fleet):
    """ansible-playbook and its connections are SIGKILLed while web1's clb-wizard is in
    the middle of the change (its ifdown held): clb-wizard runs detached from the SSH
    session, finishes the change and lets go of its lock; the next run proceeds, and so
    does the wizard, whose unconfirmed change is reverted by its watchdog in time."""
    web1 = fleet.machine("web1")
    web1.write("/usr/local/sbin/ifdown", HELD_IFDOWN, 0o755)
    playbook = fleet.ctl.start_playbook(*UNDO[1:], cwd=fleet.dir, log=fleet.dir / "killed.log")
    try:
        deadline = time.monotonic() + 600
        while not web1.path(REACHED).exists():
            assert playbook.poll() is None, (fleet.dir / "killed.log").read_text()[-4000:]
            assert time.monotonic() < deadline, (fleet.dir / "killed.log").read_text()[-4000:]
            time.sleep(0.2)
    finally:
        fleet.ctl.kill_everything(playbook)
    assert engine_running(web1), processes(web1)  # the controller is gone, clb-wizard is not
    web1.write(GO, "")
    deadline = time.monotonic() + 300
    while engine_running(web1) or ansible_left(web1) or \
            web1.run(["flock", "-n", LOCK, "true"]).returncode != 0:
        assert time.monotonic() < deadline, f"still running or locked: {processes(web1)}"
        time.sleep(0.2)
    for leftover in ("/usr/local/sbin/ifdown", REACHED, GO):
        web1.path(leftover).unlink()
    assert not web1.path("/var/lib/clb-wizard/journal.json").exists()
    assert fleet.vips_on("web1") == {f"{VIPS[0]}/32"}  # the change was finished, verified
    assert fleet.wizard_json("web1", "history")["history"][0]["vips"] == [VIPS[0]]

    again = fleet.run(UNDO)  # the next run proceeds: nothing left to do
    assert again.returncode == 0, shown(again)
    assert recap(again)["web1"]["changed"] == 0

    # the wizard proceeds too: a change nobody confirms (its session is cut off) is
    # reverted by the watchdog after its deadline
    extra = "203.0.113.99"
    session = fleet.ctl.ssh_session(
        fleet.hosts["web1"], f"clb-wizard add --vip {extra} --yes --confirm-timeout 20",
        log=fleet.dir / "wizard.log")
    try:
        deadline = time.monotonic() + 300
        while "waiting up to 20 s for confirmation" not in (fleet.dir / "wizard.log").read_text():
            assert session.poll() is None, (fleet.dir / "wizard.log").read_text()
            assert time.monotonic() < deadline, (fleet.dir / "wizard.log").read_text()
            time.sleep(0.2)
        assert f"{extra}/32" in lo_addresses(web1)
    finally:
        session.kill()
        session.wait()
    deadline = time.monotonic() + 300
    while f"{extra}/32" in lo_addresses(web1) or \
            web1.path("/var/lib/clb-wizard/journal.json").exists():
        assert time.monotonic() < deadline, "the watchdog did not revert the change"
        time.sleep(0.5)
    assert fleet.vips_on("web1") == {f"{VIPS[0]}/32"}
    assert fleet.wizard_json("web1", "history")["history"][0]["vips"] == [VIPS[0]]


def test_rollback_brings_every_host_back(fleet):
    """`clb_rollback=true` undoes this playbook's change on each host where it is the
    newest one; web1's newest is the undo playbook's, so it waits for that one first."""
    preview = fleet.run([*ROLLBACK, "--check", "--limit", "web2"])
    assert recap(preview)["web2"]["changed"] == 1 and "A run rolls back" in preview.stdout
    assert fleet.vips_on("web2") == VIP_SET
    first = fleet.run(ROLLBACK)
    assert first.returncode == 0, shown(first)
    counts = recap(first)
    assert counts["web1"]["changed"] == 0 and "is not the one of this playbook" in first.stdout
    for name in ("web2", "web3", "web4"):
        assert counts[name]["changed"] > 0, shown(first)
        assert Snapshot.take(fleet.machine(name)) == fleet.pristine[name], name
    undone = fleet.run(UNDO_ROLLBACK)
    assert undone.returncode == 0, shown(undone)
    assert fleet.vips_on("web1") == VIP_SET
    last = fleet.run(ROLLBACK)
    assert last.returncode == 0, shown(last)
    assert {name: c["changed"] for name, c in recap(last).items()} == {
        "web1": 1, "web2": 0, "web3": 0, "web4": 0}
    for name in fleet.hosts:
        assert Snapshot.take(fleet.machine(name)) == fleet.pristine[name], name


def test_readme_shows_what_the_fleet_tests_run():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### A fleet", 1)[1].split("\n### ", 1)[0]
    assert "\n".join("    " + line for line in INVENTORY.splitlines()) in section
    for argv in README_COMMANDS:
        assert "    " + " ".join(argv) + "\n" in section, " ".join(argv)
