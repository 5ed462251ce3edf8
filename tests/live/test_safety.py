"""Issue 10 (an outside audit): each defect reproduced as root in a namespace sandbox,
with a local unprivileged attacker (uid 65534) where one is involved."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.roots import make_root
from tests.live.attacker import as_attacker
from tests.live.hosts import files_digest, prepare, wait_for

pytestmark = pytest.mark.live  # root and namespaces

VIP = "203.0.113.10"
SECRET = "sEcReT-private-key-0123456789"
CLI = str(Path(sys.executable).parent / "clb-wizard")  # the console script, as admins run it


def journal(sb) -> dict | None:
    try:
        return json.loads((sb.dir / "varlib/clb-wizard/journal.json").read_text())
    except (OSError, ValueError):
        return None


def _proc(pid: int, what: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/{what}").read_bytes()
    except OSError:
        return b""


# -- 1. the confirm watchdog ------------------------------------------------------------------
def test_watchdog_runs_no_code_from_the_cwd_and_no_child_sees_the_secret(sandbox, shared_dir):
    prepare(sandbox, "ifupdown")
    # The attacker plants a `clb_wizard` package in the directory the admin works in.
    as_attacker(f"mkdir {shared_dir}/clb_wizard && cd {shared_dir}/clb_wizard && "
                "echo 'open(\"/run/pwned\", \"w\").write(\"root ran my code\")' > __init__.py && "
                "echo 'pass' > __main__.py")
    sandbox.add_tool("ifup", '#!/bin/sh\nenv > /run/ifup.env\nexec /usr/sbin/ifup "$@"\n')
    argv = ["sh", "-c", f'cd {shared_dir} && exec "$0" "$@"', CLI, "apply", "--vip", VIP,
            "--method", "ifupdown", "--yes", "--confirm-timeout", "3", "--json"]
    proc = sandbox.popen(argv, env={"UCLOUD_PRIVATE_KEY": SECRET}, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: (journal(sandbox) or {}).get("state") == "awaiting-confirm")
        watchdogs = [p for p in sandbox.pids() if b"--expired" in _proc(p, "cmdline")]
        assert len(watchdogs) == 1
        watchdog = watchdogs[0]
        assert os.readlink(f"/proc/{watchdog}/cwd") == "/"
        assert SECRET.encode() not in _proc(watchdog, "environ")
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 3, out + err  # not confirmed: rolled back by the session
    assert sandbox.read("/run/pwned") is None, "the watchdog imported the planted package"
    ifup_env = sandbox.read("/run/ifup.env")
    assert ifup_env and b"PATH=" in ifup_env and SECRET.encode() not in ifup_env


# -- 2. export/report --output in a directory others can write -------------------------------
def test_output_never_follows_or_reuses_what_another_user_planted(sandbox, shared_dir):
    prepare(sandbox, "ifupdown")
    sandbox.write("/etc/clb-victim", "precious\n", 0o600)
    report, script = shared_dir / "report.json", shared_dir / "vip.sh"
    # the old predictable temp names: a symlink to root's file, and a file the attacker owns
    as_attacker(f"ln -s /etc/clb-victim {shared_dir}/.report.json.tmp && "
                f"touch {shared_dir}/.vip.sh.tmp && chmod 666 {shared_dir}/.vip.sh.tmp")
    made = sandbox.wizard("report", "--json", "--output", str(report))
    assert made.returncode == 0, made.stderr
    bundle = sandbox.dir / "clb-wizard-0.1.0-linux-x86_64.run"  # a stand-in: copied only
    bundle.write_text("#!/bin/sh\nexit 0\n")
    exported = sandbox.wizard("export", "--format", "script", "--os", "debian-12", "--vip", VIP,
                              "--bundle", str(bundle), "--output", str(script))
    assert exported.returncode == 0, exported.stderr
    assert sandbox.read("/etc/clb-victim") == b"precious\n"
    for path, mode in ((report, 0o600), (script, 0o755)):
        st = os.lstat(path)
        assert (st.st_uid, st.st_mode & 0o7777) == (0, mode), path
    assert json.loads(report.read_text())["format"]
    assert script.read_text().startswith("#!/bin/sh")
    # A symlink at the final name is refused, not followed (nor silently replaced).
    as_attacker(f"ln -s /etc/clb-victim {shared_dir}/planted.json")
    refused = sandbox.wizard("report", "--json", "--output", str(shared_dir / "planted.json"))
    assert refused.returncode == 2 and "symbolic link" in refused.stderr
    assert sandbox.read("/etc/clb-victim") == b"precious\n"
    assert os.path.islink(shared_dir / "planted.json")


# -- 3. a failed rollback stays on record -----------------------------------------------------
def _break_rollback(sb) -> None:
    # ifup adds the address but reports failure; ifdown cannot remove anything and the
    # kernel refuses deletes, so the automatic rollback cannot finish.
    sb.add_tool("ifup", f"#!/bin/sh\nip addr add {VIP}/32 dev lo\nexit 1\n")
    sb.add_tool("ifdown", "#!/bin/sh\nexit 1\n")
    sb.add_tool("ip", '#!/bin/sh\ncase "$*" in *" del "*) exit 2;; esac\nexec /usr/sbin/ip "$@"\n')


def _mend_rollback(sb) -> None:
    for tool in ("ifup", "ifdown", "ip"):
        (sb.dir / "bin" / tool).unlink()


def test_a_failed_rollback_is_retried_by_recover_and_blocks_apply(sandbox):
    prepare(sandbox, "ifupdown")
    before = files_digest(sandbox), sandbox.lo_addresses()
    _break_rollback(sandbox)
    failed = sandbox.wizard("apply", "--vip", VIP, "--method", "ifupdown", "--yes", "--json")
    assert failed.returncode == 4, failed.stdout + failed.stderr
    # still broken: recover retries and fails again, and says so
    retried = sandbox.wizard("recover", "--json")
    assert retried.returncode == 4, retried.stdout + retried.stderr
    assert json.loads(retried.stdout)["status"] == "rollback-failed"
    _mend_rollback(sandbox)
    # a new apply refuses until it is resolved, and prints the manual steps
    blocked = sandbox.wizard("apply", "--vip", "203.0.113.77", "--method", "ifupdown", "--yes")
    assert blocked.returncode == 2, blocked.stdout + blocked.stderr
    assert "rollback failed" in blocked.stderr and f"ip addr del {VIP}/32 dev lo" in blocked.stderr
    shown = sandbox.wizard("report", "--json")
    active = json.loads(shown.stdout)["journal"]["active"]
    assert active and active["state"] == "rollback-failed"
    assert "rollback-failed" in sandbox.wizard("report").stdout
    # with the tools mended, recover finishes the rollback
    recovered = sandbox.wizard("recover", "--json")
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert json.loads(recovered.stdout)["status"] == "recovered-back"
    assert (files_digest(sandbox), sandbox.lo_addresses()) == before
    # nothing was kept, so nothing comes back on a rollback
    assert json.loads(sandbox.wizard("rollback", "--json").stdout)["status"] == "nothing-to-do"
    assert sandbox.lo_addresses() == before[1]


# -- 4. the state directory fills up during activation -----------------------------------------
def test_state_dir_full_during_activation_rolls_back_for_real(sandbox):
    prepare(sandbox, "ifupdown")
    before = files_digest(sandbox), sandbox.lo_addresses()
    sandbox.sh("mkdir -p /var/lib/clb-wizard && mount -t tmpfs -o size=256k,mode=0700 tmpfs "
               "/var/lib/clb-wizard")
    sandbox.add_tool("ifup", "#!/bin/sh\ndd if=/dev/zero of=/var/lib/clb-wizard/fill bs=4k "
                     '2>/dev/null\nexec /usr/sbin/ifup "$@"\n')
    result = sandbox.wizard("apply", "--vip", VIP, "--method", "ifupdown", "--yes", "--json")
    assert result.returncode in (3, 4), result.stdout + result.stderr
    outcome = json.loads(result.stdout)
    if result.returncode == 3:
        assert (files_digest(sandbox), sandbox.lo_addresses()) == before
    else:
        assert outcome["manual_steps"]
    assert "No space left" in outcome["message"]


# -- 5. symlinked config files ----------------------------------------------------------------
PLAIN_INTERFACES = "auto lo\niface lo inet loopback\n"  # no source line: apply adds one


def test_a_symlinked_interfaces_is_written_through_and_the_link_restored(sandbox):
    prepare(sandbox, "ifupdown")
    sandbox.write("/etc/network/interfaces.real", PLAIN_INTERFACES)
    sandbox.sh("ln -sf interfaces.real /etc/network/interfaces")
    before = files_digest(sandbox), sandbox.lo_addresses()
    applied = sandbox.wizard("apply", "--vip", VIP, "--method", "ifupdown", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert sandbox.sh("readlink /etc/network/interfaces").stdout == "interfaces.real\n"
    assert b"source /etc/network/interfaces.d/clb-wizard-lo" in sandbox.read(
        "/etc/network/interfaces.real")
    rolled = sandbox.wizard("rollback")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert sandbox.sh("readlink /etc/network/interfaces").stdout == "interfaces.real\n"
    assert (files_digest(sandbox), sandbox.lo_addresses()) == before


def test_a_dangling_symlink_at_our_own_path_is_refused_not_deleted(sandbox):
    prepare(sandbox, "ifupdown")
    sandbox.sh("ln -s /nonexistent /etc/network/interfaces.d/clb-wizard-lo")
    result = sandbox.wizard("apply", "--vip", VIP, "--method", "ifupdown", "--yes")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "symbolic link to /nonexistent, which does not exist" in result.stderr
    assert sandbox.sh("readlink /etc/network/interfaces.d/clb-wizard-lo").stdout == \
        "/nonexistent\n"


# -- 6. mode, owner, ACL and xattrs of the files we edit -------------------------------------
_ACL = "import os,struct,sys; os.setxattr(sys.argv[1], 'system.posix_acl_access', " \
    "struct.pack('<I', 2) + b''.join(struct.pack('<HHI', t, p, i) for t, p, i in " \
    "((1, 6, 0xffffffff), (2, 4, 65534), (4, 4, 0xffffffff), (0x10, 4, 0xffffffff), " \
    "(0x20, 0, 0xffffffff)))); os.setxattr(sys.argv[1], 'user.clb-test', b'keep me')"


def _meta(sb, path):
    return sb.run([sys.executable, "-c", "import os,sys; st=os.stat(sys.argv[1]); print("
                   "oct(st.st_mode & 0o7777), st.st_uid, st.st_gid, sorted((n, os.getxattr("
                   "sys.argv[1], n)) for n in os.listxattr(sys.argv[1])))", path]).stdout


def test_an_edited_file_keeps_its_mode_owner_acl_and_xattrs(sandbox):
    prepare(sandbox, "ifupdown")
    sandbox.write("/etc/network/interfaces", PLAIN_INTERFACES, 0o640)
    sandbox.sh("chgrp 4 /etc/network/interfaces")
    sandbox.run([sys.executable, "-c", _ACL, "/etc/network/interfaces"], check=True)
    meta = _meta(sandbox, "/etc/network/interfaces")
    assert "system.posix_acl_access" in meta and "0o640" in meta
    applied = sandbox.wizard("apply", "--vip", VIP, "--method", "ifupdown", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert b"source " in sandbox.read("/etc/network/interfaces")
    assert _meta(sandbox, "/etc/network/interfaces") == meta
    assert sandbox.wizard("rollback").returncode == 0
    assert _meta(sandbox, "/etc/network/interfaces") == meta
    assert sandbox.read("/etc/network/interfaces") == PLAIN_INTERFACES.encode()


# -- 7. damaged state files -------------------------------------------------------------------
def test_a_damaged_journal_is_a_clear_message_and_never_forgotten(sandbox):
    prepare(sandbox, "ifupdown")
    killed = sandbox.wizard("apply", "--vip", VIP, "--method", "ifupdown", "--yes",
                            env={"CLB_WIZARD_FAILPOINT": "written"})
    assert killed.returncode == -9
    path = sandbox.dir / "varlib/clb-wizard/journal.json"
    good = path.read_bytes()
    for damaged in (good[: len(good) // 2], b"", good.replace(b'"written"', b'"wrtten"'),
                    good.replace(b"203.0.113.10", b"203.0.113.99")):
        path.write_bytes(damaged)
        for command in (["recover"], ["apply", "--vip", VIP, "--yes"], ["plan", "--vip", VIP],
                        ["rollback"]):
            result = sandbox.wizard(*command)
            assert result.returncode == 2, (command, result.stdout + result.stderr)
            assert "journal.json is damaged" in result.stderr, result.stderr
            assert "Traceback" not in result.stderr
        assert path.read_bytes() == damaged  # the evidence stays for the admin
    path.write_bytes(good)
    recovered = sandbox.wizard("recover", "--json")
    assert json.loads(recovered.stdout)["status"] == "recovered-back"


# -- 9. --root never leads out of the root ------------------------------------------------------
def test_report_and_plan_under_a_root_do_not_follow_links_out_of_it(sandbox, tmp_path):
    sandbox.write("/etc/clb-host-secret", "host-only-0600-content\n", 0o600)
    root = make_root(tmp_path, "debian-12")
    (root / "etc/network/interfaces.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/network/interfaces").unlink(missing_ok=True)
    (root / "etc/network/interfaces").symlink_to("/etc/clb-host-secret")
    (root / "etc/network/interfaces.d/eth0").symlink_to("../../../../../../../etc/clb-host-secret")
    # the links' target is missing inside the root: ifupdown does not fit there, and the
    # host's file of that name is never read
    report = sandbox.wizard("report", "--json", "--method", "ifupdown", "--root", str(root))
    assert report.returncode == 0, report.stderr
    assert any("ifupdown does not fit" in e for e in json.loads(report.stdout)["errors"])
    assert "host-only-0600-content" not in report.stdout
    # with the root's own file of that name, both links resolve to it, as under chroot
    stock = "source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n"
    (root / "etc/clb-host-secret").write_text(stock)
    report = sandbox.wizard("report", "--json", "--method", "ifupdown", "--root", str(root))
    assert report.returncode == 0, report.stderr
    files = {f["path"]: f for f in json.loads(report.stdout)["files"]}
    assert files["/etc/network/interfaces"]["content"] == stock
    assert "host-only-0600-content" not in report.stdout
    plan = sandbox.wizard("plan", "--vip", VIP, "--method", "ifupdown", "--root", str(root))
    assert plan.returncode == 0, plan.stderr
    assert "host-only-0600-content" not in plan.stdout + plan.stderr


# -- Low ----------------------------------------------------------------------------------------
def test_a_fifo_in_a_watched_directory_never_hangs(sandbox):
    prepare(sandbox, "ifupdown")
    sandbox.sh("mkfifo /etc/network/interfaces.d/pipe")
    for args in (["plan", "--vip", VIP], ["apply", "--vip", VIP, "--yes"]):
        result = sandbox.wizard(*args, timeout=30)
        assert result.returncode == 2 and "named pipe (FIFO)" in result.stderr, result.stderr
    report = sandbox.wizard("report", "--json", timeout=30)
    assert report.returncode == 0 and "FIFO" in " ".join(json.loads(report.stdout)["errors"])


def test_lock_errors_are_messages_and_the_lock_comes_before_the_plan(sandbox):
    prepare(sandbox, "ifupdown")
    sandbox.sh("mkdir -p /var/lib/clb-wizard && "
               "mount -t tmpfs -o ro,mode=0700 tmpfs /var/lib/clb-wizard")
    result = sandbox.wizard("apply", "--vip", VIP, "--yes")
    assert result.returncode == 2 and "cannot take the lock" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "Host:" not in result.stdout
    sandbox.sh("umount /var/lib/clb-wizard")
    holder = sandbox.popen([sys.executable, "-c", "import fcntl,os,time; os.makedirs("
                            "'/var/lib/clb-wizard', exist_ok=True); f=open('/var/lib/clb-wizard"
                            "/lock','w'); fcntl.flock(f, fcntl.LOCK_EX); print(flush=True); "
                            "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        holder.stdout.readline()
        busy = sandbox.wizard("apply", "--vip", VIP, "--yes")
    finally:
        holder.kill()
        holder.wait()
    assert busy.returncode == 2 and "another clb-wizard run" in busy.stderr
    assert "Host:" not in busy.stdout  # refused before planning, not after


def test_rollback_walks_back_through_the_history(sandbox):
    prepare(sandbox, "ifupdown")
    before = files_digest(sandbox), sandbox.lo_addresses()
    second = "203.0.113.11"
    assert sandbox.wizard("apply", "--vip", VIP, "--yes").returncode == 0
    after_a = files_digest(sandbox), sandbox.lo_addresses()
    assert sandbox.wizard("apply", "--vip", VIP, "--vip", second, "--yes").returncode == 0
    listed = json.loads(sandbox.wizard("history", "--json").stdout)["history"]
    assert [e["vips"] for e in listed] == [[VIP, second], [VIP]]
    assert "rollback` undoes this one next" in sandbox.wizard("history").stdout
    assert sandbox.wizard("rollback").returncode == 0
    assert (files_digest(sandbox), sandbox.lo_addresses()) == after_a
    assert sandbox.wizard("rollback").returncode == 0
    assert (files_digest(sandbox), sandbox.lo_addresses()) == before
    nothing = sandbox.wizard("rollback", "--json")
    assert json.loads(nothing.stdout).get("status") == "nothing-to-do", nothing.stderr


def test_a_kill_between_keeping_and_forgetting_the_journal_loses_nothing(sandbox):
    prepare(sandbox, "ifupdown")
    killed = sandbox.wizard("apply", "--vip", VIP, "--yes", env={"CLB_WIZARD_FAILPOINT": "kept"})
    assert killed.returncode == -9
    assert (sandbox.dir / "varlib/clb-wizard/journal.json").exists()
    assert sandbox.wizard("apply", "--vip", VIP, "--yes").returncode == 0  # not pending
    assert f"{VIP}/32" in sandbox.lo_addresses()
    assert json.loads(sandbox.wizard("history", "--json").stdout)["history"][0]["vips"] == [VIP]
    assert sandbox.wizard("recover").returncode == 0
    assert sandbox.wizard("rollback").returncode == 0
    assert f"{VIP}/32" not in sandbox.lo_addresses()


def test_bytes_that_are_not_utf8_survive_an_edit(sandbox):
    prepare(sandbox, "ifupdown")
    original = b"# caf\xe9 (latin-1)\nauto lo\niface lo inet loopback\n"
    sandbox.sh("printf '# caf\\351 (latin-1)\\nauto lo\\niface lo inet loopback\\n' "
               "> /etc/network/interfaces")
    assert sandbox.read("/etc/network/interfaces") == original
    assert sandbox.wizard("plan", "--vip", VIP).returncode == 0
    applied = sandbox.wizard("apply", "--vip", VIP, "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert sandbox.read("/etc/network/interfaces").startswith(original)
    assert sandbox.wizard("rollback").returncode == 0
    assert sandbox.read("/etc/network/interfaces") == original


def test_plan_takes_arp_sysctls_as_the_readme_says(sandbox):
    prepare(sandbox, "ifupdown")
    result = sandbox.wizard("plan", "--vip", VIP, "--arp-sysctls", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sysctls"]


def test_an_old_exported_scripts_unfinished_change_blocks_the_wizard(sandbox):
    """A host that ran the sh script of clb-wizard 0.1.0 (retired in issue 20) and whose
    change or rollback did not finish keeps `script/current`: the wizard refuses to change
    that host until that script's --rollback clears it. The record is planted as the old
    script left it (the script itself is gone from the project)."""
    prepare(sandbox, "ifupdown")
    before = files_digest(sandbox), sandbox.lo_addresses()
    record = sandbox.dir / "varlib/clb-wizard/script"
    (record / "20250101-000000-1a2b3c").mkdir(parents=True)
    (record / "20250101-000000-1a2b3c/vips").write_text(f"{VIP}\n")
    (record / "current").write_text("20250101-000000-1a2b3c\n")
    blocked = sandbox.wizard("apply", "--vip", "203.0.113.77", "--method", "ifupdown", "--yes")
    assert blocked.returncode == 2, blocked.stdout + blocked.stderr
    assert "exported script's change" in blocked.stderr and "--rollback" in blocked.stderr
    assert (files_digest(sandbox), sandbox.lo_addresses()) == before
    (record / "current").unlink()  # what the old script's --rollback does when it is done
    applied = sandbox.wizard("apply", "--vip", "203.0.113.77", "--method", "ifupdown", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
