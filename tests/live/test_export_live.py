"""The exports, run for real inside a namespace sandbox (ifupdown path, real ifup/ifdown,
real kernel): the POSIX sh script (`export --format script`) and the Ansible playbook
(`export --format ansible`, run with ansible-playbook -c local inside the sandbox).

Each run ends either applied and verified, or byte-exact as before: the same guarantees
as `clb-wizard apply` (tests/live/test_transaction.py, test_faults.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import require
from tests.live.hosts import PRE_EXISTING, files_digest, prepare, route_type

VIPS = ("203.0.113.10", "203.0.113.11")
OS_ID = "debian-12"  # the sandbox runs the test machine's Debian; its method is ifupdown


def snapshot(sb):
    return files_digest(sb), sb.lo_addresses()


def script_state(sb) -> list[str]:
    base = sb.dir / "varlib" / "clb-wizard" / "script"
    if not base.exists():
        return []
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.name != "lock")


def export_script(sb, *vips, name="clb-wizard-lo.sh"):
    args = ["export", "--format", "script", "--os", OS_ID, "--output", str(sb.dir / name)]
    for vip in vips:
        args += ["--vip", vip]
    result = sb.wizard(*args)
    assert result.returncode == 0, result.stderr
    return str(sb.dir / name)


def run_script(sb, script, *args):
    require("sh")
    return sb.run(["sh", script, *args], timeout=120)


def run_with_failing_ifup(sb, ifup: str, *vips) -> subprocess.CompletedProcess:
    """The script for these VIPs run on ifupdown with `ifup` replaced by this shell script:
    the run must fail (exit 3) and leave the host byte-exact as before."""
    prepare(sb, "ifupdown")
    before = snapshot(sb)
    script = export_script(sb, *vips)
    sb.add_tool("ifup", ifup)
    result = run_script(sb, script)
    assert result.returncode == 3, result.stdout + result.stderr
    assert snapshot(sb) == before
    return result


# -- the POSIX sh script ---------------------------------------------------------------------
def test_script_applies_verifies_is_idempotent_and_rolls_back(sandbox):
    prepare(sandbox, "ifupdown")
    before = snapshot(sandbox)
    script = export_script(sandbox, *VIPS)
    # what the wizard would write on this host (planned before anything is written)
    plan = json.loads(sandbox.wizard("plan", "--vip", VIPS[0], "--vip", VIPS[1],
                                     "--json").stdout)
    rendered = {f["path"]: f["after"] for f in plan["files"]}

    first = run_script(sandbox, script)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Applied and verified." in first.stdout
    assert "[FAIL]" not in first.stdout
    assert "ifquery reads back: 203.0.113.10 203.0.113.11" in first.stdout
    lo = sandbox.lo_addresses()
    assert {f"{v}/32" for v in VIPS} | {PRE_EXISTING, "127.0.0.1/8"} <= lo
    assert all(route_type(sandbox, v) == "local" for v in VIPS)
    # the file is the engine's rendering, byte for byte
    ours = "/etc/network/interfaces.d/clb-wizard-lo"
    assert sandbox.read(ours).decode() == rendered[ours]
    applied = snapshot(sandbox)
    state = script_state(sandbox)
    assert "last" in state

    # a second run changes nothing: no file, no address, no new state
    second = run_script(sandbox, script)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "No change needed" in second.stdout
    assert "  $ " not in second.stdout  # no command ran
    assert snapshot(sandbox) == applied
    assert script_state(sandbox) == state

    # --verify checks facts only
    assert run_script(sandbox, script, "--verify").returncode == 0

    back = run_script(sandbox, script, "--rollback")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "Rollback verified" in back.stdout
    assert snapshot(sandbox) == before
    assert all(route_type(sandbox, v) != "local" for v in VIPS)
    # nothing left to roll back
    again = run_script(sandbox, script, "--rollback")
    assert again.returncode == 0 and "Nothing to roll back" in again.stdout
    assert snapshot(sandbox) == before


def test_script_failing_ifup_rolls_back_byte_exact(sandbox):
    result = run_with_failing_ifup(
        sandbox, "#!/bin/sh\necho 'ifup: simulated failure' >&2\nexit 1\n", *VIPS)
    assert "`ifup lo:1` failed" in result.stderr
    assert "rolled back to exactly how it was" in result.stderr
    assert "current" not in script_state(sandbox) and "last" not in script_state(sandbox)


def test_script_ifup_that_adds_then_fails_is_undone(sandbox):
    """ifup puts the address up and still reports failure: the rollback removes it."""
    run_with_failing_ifup(
        sandbox, f"#!/bin/sh\nip addr add {VIPS[0]}/32 dev lo label lo:1\nexit 1\n", VIPS[0])


def test_script_ifup_that_does_nothing_fails_verification(sandbox):
    result = run_with_failing_ifup(sandbox, "#!/bin/sh\nexit 0\n", *VIPS)
    assert "[FAIL] 203.0.113.10 is not on lo as /32" in result.stdout
    assert "verification failed" in result.stderr


def test_script_changes_the_vip_set_and_rolls_that_back(sandbox):
    """A VIP set that drops a VIP of ours is refused unless --remove-others says so in
    plain words; then it retires that VIP (ifdown --force, as the engine does) and keeps
    the others; --rollback goes back to the first set."""
    prepare(sandbox, "ifupdown")
    first = export_script(sandbox, *VIPS, name="first.sh")
    assert run_script(sandbox, first).returncode == 0
    after_first = snapshot(sandbox)
    second = export_script(sandbox, VIPS[1], "203.0.113.12", name="second.sh")
    refused = run_script(sandbox, second)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "take VIP(s) 203.0.113.10 out of service" in refused.stderr
    assert "--remove-others" in refused.stderr
    assert snapshot(sandbox) == after_first
    result = run_script(sandbox, second, "--remove-others")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ifdown --force lo:1" in result.stdout
    lo = sandbox.lo_addresses()
    assert {"203.0.113.11/32", "203.0.113.12/32", PRE_EXISTING} <= lo
    assert "203.0.113.10/32" not in lo
    back = run_script(sandbox, second, "--rollback")
    assert back.returncode == 0, back.stdout + back.stderr
    assert snapshot(sandbox) == after_first


def test_script_refuses_a_vip_a_foreign_file_configures(sandbox):
    prepare(sandbox, "ifupdown")
    sandbox.write("/etc/network/interfaces.d/admin",
                  f"auto lo:7\niface lo:7 inet static\n    address {VIPS[0]}\n"
                  "    netmask 255.255.255.255\n")
    before = snapshot(sandbox)
    result = run_script(sandbox, export_script(sandbox, *VIPS))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{VIPS[0]} is already configured in /etc/network/interfaces.d/admin" in result.stderr
    assert "Nothing was changed" in result.stderr
    assert snapshot(sandbox) == before


def test_script_adds_the_source_line_when_interfaces_does_not_read_the_dropins(sandbox):
    prepare(sandbox, "ifupdown")
    sandbox.write("/etc/network/interfaces", "auto lo\niface lo inet loopback\n")
    before = snapshot(sandbox)
    plan = json.loads(sandbox.wizard("plan", "--vip", VIPS[0], "--json").stdout)
    script = export_script(sandbox, VIPS[0])
    result = run_script(sandbox, script)
    assert result.returncode == 0, result.stdout + result.stderr
    # the same bytes as the engine's plan for this host
    for change in plan["files"]:
        assert sandbox.read(change["path"]).decode() == change["after"]
    assert "/etc/network/interfaces" in [c["path"] for c in plan["files"]]
    assert run_script(sandbox, script, "--rollback").returncode == 0
    assert snapshot(sandbox) == before


def test_script_interrupted_run_is_finished_by_rollback(sandbox):
    """A run killed after writing (simulated: the state says a run is in progress) blocks
    the next apply until --rollback puts the host back."""
    prepare(sandbox, "ifupdown")
    before = snapshot(sandbox)
    script = export_script(sandbox, *VIPS)
    # ifup hangs up the run: the test kills it at that point
    sandbox.add_tool("ifup", "#!/bin/sh\nkill -9 $PPID\nexit 1\n")
    killed = run_script(sandbox, script)
    assert killed.returncode != 0
    assert "current" in script_state(sandbox)
    os.unlink(sandbox.dir / "bin" / "ifup")
    blocked = run_script(sandbox, script)
    assert blocked.returncode == 2 and "--rollback" in blocked.stderr
    back = run_script(sandbox, script, "--rollback")
    assert back.returncode == 0, back.stdout + back.stderr
    assert snapshot(sandbox) == before
    assert run_script(sandbox, script).returncode == 0  # and a new run goes through


def _leftovers(sb) -> str:
    return sb.sh("find /etc/network -name '.clb-wizard.*'").stdout


def test_script_leaves_no_temp_files(sandbox):
    prepare(sandbox, "ifupdown")
    script = export_script(sandbox, *VIPS)
    assert run_script(sandbox, script).returncode == 0
    assert _leftovers(sandbox) == ""
    assert not [p for p in script_state(sandbox) if re.search(r"\.work\.", p)]


# -- the Ansible playbook --------------------------------------------------------------------
def export_playbook(sb, *vips, extra=()):
    args = ["export", "--format", "ansible", "--output", str(sb.dir / "play"), *extra]
    for vip in vips:
        args += ["--vip", vip]
    result = sb.wizard(*args)
    assert result.returncode == 0, result.stderr
    return str(sb.dir / "play" / "clb-wizard-lo.yml")


def run_playbook(sb, playbook, *extra):
    require("ansible-playbook")
    return sb.run(["ansible-playbook", "-c", "local", "-i", "localhost,",
                   "-e", "ansible_python_interpreter=/usr/bin/python3", *extra, playbook],
                  env={"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
                       "ANSIBLE_LOCAL_TEMP": str(sb.dir / "ansible-tmp")}, timeout=600)


def recap(result) -> dict[str, int]:
    line = next(line for line in result.stdout.splitlines() if line.startswith("localhost"))
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def task_lines(result, name: str) -> str:
    """The output of the tasks whose title starts with `name`."""
    blocks = re.split(r"\nTASK \[", result.stdout)
    return "\n".join(b for b in blocks if b.startswith(name))


def test_playbook_applies_verifies_and_second_run_changes_nothing(sandbox):
    prepare(sandbox, "ifupdown")
    plan = json.loads(sandbox.wizard("plan", "--vip", VIPS[0], "--vip", VIPS[1],
                                     "--json").stdout)
    playbook = export_playbook(sandbox, *VIPS)
    assert sandbox.run(["ansible-playbook", "--syntax-check", "-i", "localhost,",
                        playbook]).returncode == 0

    first = run_playbook(sandbox, playbook)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    counts = recap(first)
    assert counts["failed"] == 0 and counts["rescued"] == 0 and counts["changed"] > 0
    assert "method ifupdown (ifupdown)" in first.stdout
    for check in ("Verify: each VIP is on lo as /32", "Verify: the kernel routes each VIP",
                  "Verify: the config re-reads to exactly the VIPs"):
        out = task_lines(first, check)
        assert "ok: [localhost]" in out and "failed" not in out, out
    lo = sandbox.lo_addresses()
    assert {f"{v}/32" for v in VIPS} | {PRE_EXISTING, "127.0.0.1/8"} <= lo
    assert all(route_type(sandbox, v) == "local" for v in VIPS)
    for change in plan["files"]:  # the engine's bytes and mode
        assert sandbox.read(change["path"]).decode() == change["after"]
    digest = files_digest(sandbox)
    assert digest["/etc/network/interfaces.d/clb-wizard-lo"].startswith("644 0 0 ")
    # the wizard sees its own configuration: verify passes, a plan changes nothing
    verified = sandbox.wizard("verify", "--vip", VIPS[0], "--vip", VIPS[1], "--json")
    assert verified.returncode == 0, verified.stdout
    replan = json.loads(sandbox.wizard("plan", "--vip", VIPS[0], "--vip", VIPS[1],
                                       "--json").stdout)
    assert replan["changed"] is False

    applied = snapshot(sandbox)
    second = run_playbook(sandbox, playbook)
    assert second.returncode == 0, second.stdout[-4000:]
    assert recap(second)["changed"] == 0
    assert "No change needed" in second.stdout
    assert "ok: [localhost]" in task_lines(second, "Verify: each VIP is on lo as /32")
    assert snapshot(sandbox) == applied


def test_playbook_failing_ifup_rescue_restores_byte_exact(sandbox):
    prepare(sandbox, "ifupdown")
    # a host whose interfaces file does not read the drop-ins: the play changes two files
    sandbox.write("/etc/network/interfaces", "auto lo\niface lo inet loopback\n")
    before = snapshot(sandbox)
    playbook = export_playbook(sandbox, *VIPS)
    sandbox.add_tool("ifup", "#!/bin/sh\necho 'ifup: simulated failure' >&2\nexit 1\n")
    result = run_playbook(sandbox, playbook)
    assert result.returncode != 0, result.stdout[-4000:]
    counts = recap(result)
    assert counts["rescued"] == 1 and counts["failed"] == 1
    assert "Roll back: restore every file byte-exact" in result.stdout
    assert "The host was rolled back to exactly how it was" in result.stdout
    assert "ok: [localhost]" in task_lines(result, "Roll back: check the host is exactly")
    assert snapshot(sandbox) == before
    # the backups the rescue restored from are kept
    backups = list((sandbox.dir / "varlib" / "clb-wizard" / "ansible").glob(
        "*/before/etc/network/interfaces"))
    assert backups and backups[0].read_text() == "auto lo\niface lo inet loopback\n"


def test_playbook_ifup_that_does_nothing_fails_an_assert_and_rolls_back(sandbox):
    prepare(sandbox, "ifupdown")
    before = snapshot(sandbox)
    playbook = export_playbook(sandbox, VIPS[0])
    sandbox.add_tool("ifup", "#!/bin/sh\nexit 0\n")
    result = run_playbook(sandbox, playbook)
    assert result.returncode != 0
    assert f"{VIPS[0]} is not on lo as /32" in result.stdout
    assert recap(result)["rescued"] == 1
    assert snapshot(sandbox) == before


def test_playbook_pinned_to_another_os_refuses_before_any_change(sandbox):
    prepare(sandbox, "ifupdown")
    before = snapshot(sandbox)
    playbook = export_playbook(sandbox, VIPS[0], extra=("--os", "ubuntu-22.04"))
    result = run_playbook(sandbox, playbook)
    assert result.returncode != 0
    assert "This host needs method ifupdown" in result.stdout
    assert "Nothing was changed" in result.stdout
    assert recap(result)["changed"] == 0
    assert snapshot(sandbox) == before


# -- the other real managers the sandbox runs ------------------------------------------------
@pytest.mark.parametrize("method", ["netplan", "networkd", "networkmanager"])
def test_script_and_playbook_with_networkd_and_networkmanager(sandbox, method):
    """The same round trip, activated by systemd-networkd (netplan generate + networkctl
    reconfigure lo; or our own .network file, as on Amazon Linux 2023), or a real
    NetworkManager (nmcli connection load/up). Each reads the config back with the
    tool: the generated file, `networkctl status lo`, nmcli."""
    prepare(sandbox, method)
    before = snapshot(sandbox)
    os_id = {"netplan": OS_ID, "networkd": "amzn-2023", "networkmanager": "rocky-9"}[method]
    args = ["export", "--format", "script", "--os", os_id, "--method", method,
            "--output", str(sandbox.dir / "s.sh"), "--vip", VIPS[0], "--vip", VIPS[1]]
    assert sandbox.wizard(*args).returncode == 0
    script = str(sandbox.dir / "s.sh")
    first = run_script(sandbox, script)
    assert first.returncode == 0, first.stdout + first.stderr
    reread = {"netplan": "networkd", "networkd": "networkctl", "networkmanager": "nmcli"}[method]
    assert f"[ok] {reread} reads back: 203.0.113.10 203.0.113.11" in first.stdout
    assert {f"{v}/32" for v in VIPS} | {PRE_EXISTING} <= sandbox.lo_addresses()
    applied = snapshot(sandbox)
    assert "No change needed" in run_script(sandbox, script).stdout
    assert snapshot(sandbox) == applied
    assert run_script(sandbox, script, "--rollback").returncode == 0
    assert snapshot(sandbox) == before

    playbook = export_playbook(sandbox, *VIPS, extra=("--method", method))
    played = run_playbook(sandbox, playbook)
    assert played.returncode == 0, played.stdout[-4000:]
    assert f"method {method}" in played.stdout
    assert {f"{v}/32" for v in VIPS} | {PRE_EXISTING} <= sandbox.lo_addresses()
    assert recap(run_playbook(sandbox, playbook))["changed"] == 0


# -- parity with the wizard: lock, explicit removal, ARP sysctls ------------------------------
ARP = ("net.ipv4.conf.all.arp_ignore", "net.ipv4.conf.all.arp_announce")


def arp_values(sb) -> list[str]:
    """The sandbox's own ARP sysctls (per network namespace: never the machine's)."""
    return sb.run(["sysctl", "-n", *ARP], check=True).stdout.split()


def test_playbook_skips_a_host_whose_lock_the_wizard_holds(sandbox):
    """The wizard's lock file, held as the wizard holds it (flock): the host fails with a
    clear message and nothing changes."""
    prepare(sandbox, "ifupdown")
    before = snapshot(sandbox)
    playbook = export_playbook(sandbox, *VIPS)
    sandbox.run(["mkdir", "-p", "/var/lib/clb-wizard"], check=True)
    holder = sandbox.popen(["flock", "/var/lib/clb-wizard/lock", "sleep", "300"])
    while sandbox.run(["flock", "-n", "/var/lib/clb-wizard/lock", "true"]).returncode == 0:
        time.sleep(0.1)  # until the holder has it
    try:
        result = run_playbook(sandbox, playbook)
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode != 0
    assert "holds /var/lib/clb-wizard/lock and is changing this host" in result.stdout
    assert recap(result)["changed"] == 0
    assert snapshot(sandbox) == before


def test_wizard_refuses_while_the_playbook_holds_the_lock(sandbox):
    """The other way round: while the playbook is activating (an ifup held up until the
    test lets it go), `clb-wizard apply` refuses; then the playbook finishes."""
    prepare(sandbox, "ifupdown")
    flag = sandbox.dir / "go"
    sandbox.add_tool("ifup", f"#!/bin/sh\ntouch {flag}.waiting\n"
                             f"while [ ! -e {flag} ]; do sleep 0.2; done\nexec /sbin/ifup \"$@\"\n")
    playbook = export_playbook(sandbox, VIPS[0])
    play = sandbox.popen(["ansible-playbook", "-c", "local", "-i", "localhost,", "-e",
                          "ansible_python_interpreter=/usr/bin/python3", playbook],
                         env={"ANSIBLE_NOCOLOR": "1",
                              "ANSIBLE_LOCAL_TEMP": str(sandbox.dir / "ansible-tmp")},
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        while not Path(f"{flag}.waiting").exists() and play.poll() is None:
            assert time.monotonic() < deadline, "the playbook never reached ifup"
            time.sleep(0.2)
        wizard = sandbox.wizard("apply", "--vip", VIPS[1], "--yes")
        assert wizard.returncode != 0
        assert "is changing this host" in wizard.stdout + wizard.stderr
    finally:
        flag.touch()
        out, _ = play.communicate(timeout=600)
    assert play.returncode == 0, out[-4000:]
    assert f"{VIPS[0]}/32" in sandbox.lo_addresses()
    assert f"{VIPS[1]}/32" not in sandbox.lo_addresses()


def test_playbook_removes_vips_only_when_asked(sandbox):
    prepare(sandbox, "ifupdown")
    assert run_playbook(sandbox, export_playbook(sandbox, *VIPS)).returncode == 0
    applied = snapshot(sandbox)
    smaller = export_playbook(sandbox, VIPS[1])
    refused = run_playbook(sandbox, smaller)
    assert refused.returncode != 0
    assert f"This would take {VIPS[0]} out of service" in refused.stdout
    assert "-e clb_remove_others=true" in refused.stdout
    assert recap(refused)["changed"] == 0 and snapshot(sandbox) == applied
    removed = run_playbook(sandbox, smaller, "-e", "clb_remove_others=true")
    assert removed.returncode == 0, removed.stdout[-4000:]
    lo = sandbox.lo_addresses()
    assert f"{VIPS[1]}/32" in lo and f"{VIPS[0]}/32" not in lo and PRE_EXISTING in lo


def test_playbook_arp_sysctls_in_the_same_change_and_rescue(sandbox):
    prepare(sandbox, "ifupdown")
    sandbox.run(["sysctl", "-q", "-w", f"{ARP[0]}=0", f"{ARP[1]}=0"], check=True)
    before = snapshot(sandbox)
    playbook = export_playbook(sandbox, *VIPS)
    # activation fails: the files and the sysctls go back
    sandbox.add_tool("ifup", "#!/bin/sh\necho 'ifup: simulated failure' >&2\nexit 1\n")
    failed = run_playbook(sandbox, playbook, "-e", "clb_arp_sysctls=true")
    assert recap(failed)["rescued"] == 1, failed.stdout[-4000:]
    assert "Roll back: put the ARP sysctls back" in failed.stdout
    assert arp_values(sandbox) == ["0", "0"] and snapshot(sandbox) == before
    (sandbox.dir / "bin" / "ifup").unlink()
    done = run_playbook(sandbox, playbook, "-e", "clb_arp_sysctls=true")
    assert done.returncode == 0, done.stdout[-4000:]
    assert arp_values(sandbox) == ["1", "2"]
    assert "ok: [localhost]" in task_lines(done, "Verify: the ARP sysctls")
    conf = sandbox.read("/etc/sysctl.d/90-clb-wizard-arp.conf").decode()
    assert "net.ipv4.conf.all.arp_ignore = 1" in conf
    again = run_playbook(sandbox, playbook, "-e", "clb_arp_sysctls=true")
    assert recap(again)["changed"] == 0


def test_script_arp_sysctls_and_rollback(sandbox):
    prepare(sandbox, "ifupdown")
    sandbox.run(["sysctl", "-q", "-w", f"{ARP[0]}=0", f"{ARP[1]}=0"], check=True)
    before = snapshot(sandbox)
    script = export_script(sandbox, *VIPS)
    result = run_script(sandbox, script, "--arp-sysctls")
    assert result.returncode == 0, result.stdout + result.stderr
    assert arp_values(sandbox) == ["1", "2"]
    assert "[ok] ARP sysctls" in result.stdout
    back = run_script(sandbox, script, "--rollback")
    assert back.returncode == 0, back.stdout + back.stderr
    assert arp_values(sandbox) == ["0", "0"] and snapshot(sandbox) == before


def test_the_wizard_verifies_and_rolls_back_a_playbook_change(sandbox):
    """The play leaves clb-wizard's own record: `verify` (no --vip) and `report` know the
    change, and `clb-wizard rollback` puts the host back, sysctls included."""
    prepare(sandbox, "ifupdown")
    sandbox.run(["sysctl", "-q", "-w", f"{ARP[0]}=0", f"{ARP[1]}=0"], check=True)
    before = snapshot(sandbox)
    done = run_playbook(sandbox, export_playbook(sandbox, *VIPS), "-e", "clb_arp_sysctls=true")
    assert done.returncode == 0, done.stdout[-4000:]
    verified = sandbox.wizard("verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    for vip in VIPS:
        assert vip in verified.stdout
    last = json.loads(sandbox.wizard("report", "--json").stdout)["journal"]["last"]
    assert last["id"].endswith("-ansible") and sorted(last["vips"]) == sorted(VIPS)
    assert last["method"] == "ifupdown" and last["state"] == "committed"
    back = sandbox.wizard("rollback")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "Rolled back" in back.stdout
    assert arp_values(sandbox) == ["0", "0"] and snapshot(sandbox) == before
