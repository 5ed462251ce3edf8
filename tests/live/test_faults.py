"""Faults: failing tools, tools that lie, a crash at every journal step, read-only
targets, no root, a missing tool, a concurrent run. Each ends with the host either
byte-exact as before, or (only after verification passed) fully as planned."""

from __future__ import annotations

import fcntl
import json
import os

import pytest

from tests.live.hosts import files_digest, prepare

pytestmark = pytest.mark.live  # needs root and namespaces (CI runs as root)

VIP = "203.0.113.10"


def snapshot(sb):
    return files_digest(sb), sb.lo_addresses()


def apply(sb, *extra, env=None):
    return sb.wizard("apply", "--vip", VIP, "--method", "ifupdown", "--yes", *extra, env=env)


def test_failing_ifup_rolls_back_byte_exact(sandbox):
    prepare(sandbox, "ifupdown")
    before = snapshot(sandbox)
    sandbox.add_tool("ifup", "#!/bin/sh\necho 'ifup: simulated failure' >&2\nexit 1\n")
    result = apply(sandbox, "--json")
    assert result.returncode == 3, result.stdout + result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "rolled-back"
    assert outcome["rollback_verification"]["ok"]
    assert "ifup" in outcome["message"]
    assert snapshot(sandbox) == before


def test_ifup_that_does_nothing_fails_verification_and_rolls_back(sandbox):
    prepare(sandbox, "ifupdown")
    before = snapshot(sandbox)
    sandbox.add_tool("ifup", "#!/bin/sh\nexit 0\n")
    result = apply(sandbox, "--json")
    assert result.returncode == 3, result.stdout
    outcome = json.loads(result.stdout)
    assert "verification failed" in outcome["message"]
    assert f"{VIP} on lo" in outcome["message"]
    assert snapshot(sandbox) == before


def test_failing_rollback_exits_4_with_manual_steps(sandbox):
    prepare(sandbox, "ifupdown")
    # ifup adds the address but reports failure; ifdown cannot remove anything and the
    # kernel refuses deletes, so the automatic rollback cannot finish.
    sandbox.add_tool("ifup", "#!/bin/sh\nip addr add 203.0.113.10/32 dev lo\nexit 1\n")
    sandbox.add_tool("ifdown", "#!/bin/sh\nexit 1\n")
    sandbox.add_tool("ip", '#!/bin/sh\ncase "$*" in *" del "*) exit 2;; esac\nexec /sbin/ip "$@"\n')
    result = apply(sandbox, "--json")
    assert result.returncode == 4, result.stdout + result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "rollback-failed"
    assert any(step.startswith("ip addr del 203.0.113.10/32") for step in outcome["manual_steps"])
    assert any("clb-wizard-lo" in step for step in outcome["manual_steps"])


CHECKPOINTS = ["started", "prepared", "file-0", "written", "activated", "verified"]


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_sigkill_at_each_step_then_recover(sandbox, checkpoint):
    prepare(sandbox, "ifupdown")
    before = snapshot(sandbox)
    killed = apply(sandbox, env={"CLB_WIZARD_FAILPOINT": checkpoint})
    assert killed.returncode == -9, killed.stdout + killed.stderr
    # The next run refuses to start a new change until the old one is finished.
    blocked = apply(sandbox)
    assert blocked.returncode == 2 and "recover" in blocked.stderr
    # what a kill between mkstemp() and rename() leaves behind
    sandbox.write("/etc/network/interfaces.d/.clb-wizard.k1ll3d", "half a file")
    recovered = sandbox.wizard("recover", "--json")
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    status = json.loads(recovered.stdout)["status"]
    leftovers = sandbox.sh("find /etc/network -name '.clb-wizard.*'").stdout
    assert leftovers == ""
    if checkpoint == "verified":  # verified before the crash: fully forward
        assert status == "recovered-forward"
        assert f"{VIP}/32" in sandbox.lo_addresses()
        assert sandbox.wizard("verify").returncode == 0
    else:  # fully back
        assert status == "recovered-back"
        assert snapshot(sandbox) == before
    assert sandbox.wizard("recover", "--json").returncode == 0  # nothing left to do
    assert apply(sandbox).returncode == 0  # and a new change goes through


def test_read_only_target_directory(sandbox):
    prepare(sandbox, "ifupdown")
    sandbox.sh("mount --bind /etc/network/interfaces.d /etc/network/interfaces.d && "
               "mount -o remount,ro,bind /etc/network/interfaces.d")
    before = snapshot(sandbox)
    result = apply(sandbox)
    assert result.returncode == 2
    assert "/etc/network/interfaces.d is not writable" in result.stderr
    assert snapshot(sandbox) == before
    assert not (sandbox.dir / "varlib" / "clb-wizard" / "journal.json").exists()


def test_without_root_apply_refuses_but_plan_and_dry_run_work(sandbox):
    prepare(sandbox, "ifupdown")
    before = snapshot(sandbox)
    # imported as root, then uid/gid 65534: passes from a checkout nobody can read
    wizard = [os.sys.executable, "-m", "tests.live.as_nobody"]
    result = sandbox.run([*wizard, "apply", "--vip", VIP, "--yes"])
    assert result.returncode == 2 and "needs root" in result.stderr
    assert sandbox.run([*wizard, "plan", "--vip", VIP]).returncode == 0
    dry = sandbox.run([*wizard, "apply", "--vip", VIP, "--dry-run"])
    assert dry.returncode == 0 and "nothing was changed" in dry.stdout
    assert sandbox.run([*wizard, "rollback"]).returncode == 2
    assert snapshot(sandbox) == before


def test_missing_tool_is_a_clear_error(sandbox):
    prepare(sandbox, "ifupdown")
    before = snapshot(sandbox)
    path = f"{sandbox.dir / 'bin'}:{os.path.dirname(os.sys.executable)}:/usr/bin:/bin"
    result = apply(sandbox, env={"PATH": path})  # /sbin and /usr/sbin (ifup) left out
    assert result.returncode == 2
    assert "Missing tool(s): ifup" in result.stderr
    assert snapshot(sandbox) == before


def test_two_runs_never_interleave(sandbox):
    prepare(sandbox, "ifupdown")
    state = sandbox.dir / "varlib" / "clb-wizard"
    state.mkdir(mode=0o700)
    with open(state / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lock.write("4242")
        lock.flush()
        before = snapshot(sandbox)
        result = apply(sandbox)
    assert result.returncode == 2 and "another clb-wizard run (pid 4242)" in result.stderr
    assert snapshot(sandbox) == before
