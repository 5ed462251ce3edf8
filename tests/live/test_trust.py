"""Issue 21 (an outside audit, round two): what another user could have written, and what a
state record may name. Each case as root in a namespace sandbox, the attacker a local
unprivileged user (uid 65534) where there is one; each refusal is exit 2 with a message
that says what to do, and nothing outside clb-wizard's own files changes."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clb_wizard.transaction.journal import checksum
from tests.live.attacker import as_attacker, as_attacker_in
from tests.live.hosts import files_digest, prepare

pytestmark = pytest.mark.live

VIP, VIP2 = "203.0.113.10", "203.0.113.11"
STATE = "/var/lib/clb-wizard"
DROPIN = "/etc/network/interfaces.d/clb-wizard-lo"
CRON = "/etc/cron.d/clb-pwn"  # where the audit's attacker wrote, through root's rollback
CRON_LINE = b"* * * * * root touch /run/pwned\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def sealed(record: dict, **changes) -> str:
    """`record` changed and given a checksum that matches: as root could write it."""
    body = {k: v for k, v in {**record, **changes}.items() if k != "checksum"}
    return json.dumps({**body, "checksum": checksum(body)}, indent=1)


def kept_record(sb) -> dict:
    """The one history entry of the sandbox (after one apply)."""
    history = sb.dir / "varlib/clb-wizard/history"
    (entry,) = history.iterdir()
    return json.loads(entry.read_text())


def host_state(sb) -> tuple:
    return files_digest(sb), sb.lo_addresses(), sb.read(CRON), sb.read("/etc/clb-victim")


def refused(result, *words: str) -> None:
    text = result.stdout + result.stderr
    assert result.returncode == 2, text
    assert "Traceback" not in text and "\x1b" not in text, text
    for word in words:
        assert word in result.stderr, result.stderr


# -- 1. --output through a directory another user can change ----------------------------------
def test_output_goes_only_where_no_other_user_can_replace_it(sandbox, shared_dir):
    prepare(sandbox, "ifupdown")
    theirs, root_only, open_dir = shared_dir / "theirs", shared_dir / "root-only", \
        shared_dir / "open"
    root_only.mkdir(mode=0o755)
    open_dir.mkdir()
    open_dir.chmod(0o777)  # root's, but anyone may rename what is in it (no sticky bit)
    as_attacker(f"mkdir {theirs} && ln -s {root_only} {shared_dir}/link")
    for target, why in ((theirs / "report.json", "belongs to user nobody"),
                        (theirs / "new" / "report.json", "belongs to user nobody"),
                        (shared_dir / "link" / "report.json", "symbolic link that belongs"),
                        (open_dir / "report.json", "can be written by other users")):
        result = sandbox.wizard("report", "--json", "--output", str(target))
        refused(result, why, "Nothing was written")
    assert [os.listdir(d) for d in (theirs, root_only, open_dir)] == [[], [], []]
    # a sticky directory (like /tmp), and a directory root makes in it, stay fine
    made = sandbox.wizard("report", "--json", "--output", str(shared_dir / "mine" / "r.json"))
    assert made.returncode == 0, made.stderr
    st, dir_st = os.lstat(shared_dir / "mine" / "r.json"), os.lstat(shared_dir / "mine")
    assert (st.st_uid, st.st_mode & 0o777, dir_st.st_uid) == (0, 0o600, 0)



def test_export_goes_only_where_no_other_user_can_replace_it(sandbox, shared_dir):
    """The playbook and the .run file root runs later on every host: never into a folder
    another user could change (the bundle here is a stand-in: export only copies it)."""
    prepare(sandbox, "ifupdown")
    kept, theirs, open_dir = shared_dir / "kept", shared_dir / "theirs", shared_dir / "open"
    kept.mkdir(mode=0o755)
    bundle = kept / "clb-wizard-0.1.0-linux-x86_64.run"
    bundle.write_bytes(b"#!/bin/sh\nexit 0\n")
    open_dir.mkdir()
    open_dir.chmod(0o777)
    as_attacker(f"mkdir {theirs}")
    for target, why in ((theirs, "belongs to user nobody"),
                        (open_dir, "can be written by other users")):
        for form in (["--format", "ansible", "--vip", "203.0.113.10"], ["--format", "script"]):
            result = sandbox.wizard("export", *form, "--bundle", str(bundle),
                                    "--output", str(target))
            refused(result, why, "Nothing was written")
    assert [os.listdir(d) for d in (theirs, open_dir)] == [[], []]
    made = sandbox.wizard("export", "--format", "ansible", "--vip", "203.0.113.10",
                          "--bundle", str(bundle), "--output", str(shared_dir / "fleet"))
    assert made.returncode == 0, made.stderr
    assert (shared_dir / "fleet" / bundle.name).read_bytes() == bundle.read_bytes()

# -- 3. a state directory another user could write -----------------------------------------
def _planted(record: dict, sb) -> dict:
    """Format 1 (no checksum) and newest: root's next rollback would restore these bytes."""
    now = sb.read(DROPIN)
    files = [{**record["files"][0], "path": DROPIN, "after": b64(now),
              "before": b64(b"auto lo:7\niface lo:7 inet static\n    address 203.0.113.66\n"
                            b"    up touch /run/pwned\n")},
             {**record["files"][0], "path": CRON, "before": b64(CRON_LINE), "after": None}]
    evil = {**record, "format": 1, "id": "20991231-235959-0bad00", "files": files,
            "history": [["committed", time.time() + 3600]]}
    evil.pop("checksum")
    return evil


def test_a_state_directory_another_user_could_write_is_never_used(sandbox, shared_dir):
    prepare(sandbox, "ifupdown")
    assert sandbox.wizard("apply", "--vip", VIP, "--yes").returncode == 0
    evil = json.dumps(_planted(kept_record(sandbox), sandbox))
    before = host_state(sandbox)
    # a world-writable state directory: the attacker plants a history entry in it
    sandbox.sh(f"chmod 0777 {STATE} {STATE}/history")
    as_attacker_in(sandbox, f"cat > {STATE}/history/20991231-235959-0bad00.json <<'EOF'\n"
                            f"{evil}\nEOF")
    for command in (["rollback"], ["apply", "--vip", VIP2, "--yes"], ["history"],
                    ["recover"]):
        refused(sandbox.wizard(*command), "can be written by other users", "Nothing was changed")
    assert host_state(sandbox) == before
    # root's again, but the attacker's file is still in it
    sandbox.sh(f"chmod 0700 {STATE} {STATE}/history")
    refused(sandbox.wizard("rollback"), "belongs to uid 65534", "Nothing was changed")
    assert host_state(sandbox) == before
    # $CLB_WIZARD_STATE_DIR naming a directory the attacker made
    theirs = shared_dir / "state"
    as_attacker(f"mkdir -p {theirs}/history && cat > "
                f"{theirs}/history/20991231-235959-0bad00.json <<'EOF'\n{evil}\nEOF")
    env = {"CLB_WIZARD_STATE_DIR": str(theirs)}
    for command in (["rollback"], ["apply", "--vip", VIP2, "--yes"]):
        refused(sandbox.wizard(*command, env=env), "belongs to user nobody")
    assert host_state(sandbox) == before
    assert sorted(os.listdir(theirs)) == ["history"]  # no lock, journal or backup of root's


# -- 4. records that are checksum-valid but name what clb-wizard never does ------------------
HOSTILE = {
    "a path outside the method's files": lambda r: {"files": [
        {**r["files"][0], "path": CRON, "before": b64(CRON_LINE), "after": None}]},
    "a path with ..": lambda r: {"files": [
        {**r["files"][0], "path": "/etc/network/interfaces.d/../../cron.d/clb-pwn",
         "before": b64(CRON_LINE), "after": None}]},
    "a sysctl that is not an ARP one": lambda r: {"sysctls": [
        {"name": "net.ipv4.ip_forward", "before": "1", "after": "0"}]},
    "a VIP with an escape sequence": lambda r: {"vips": ["203.0.113.10\x1b]0;owned\x07"]},
    "a mode that is not a number": lambda r: {"files": [{**r["files"][0],
                                                          "before_mode": "0644"}]},
    "no platform": lambda r: {"platform": {}},
    "a method that does not exist": lambda r: {"method": "../../bin/sh"},
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_checksum_valid_record_naming_what_clb_wizard_never_writes_is_refused(sandbox, case):
    prepare(sandbox, "ifupdown")
    assert sandbox.wizard("apply", "--vip", VIP, "--yes").returncode == 0
    record = kept_record(sandbox)
    path = sandbox.dir / "varlib/clb-wizard/history" / f"{record['id']}.json"
    path.write_text(sealed(record, **HOSTILE[case](record)))
    before = host_state(sandbox), sandbox.run(["sysctl", "-n", "net.ipv4.ip_forward"]).stdout
    for command in (["rollback"], ["history"], ["verify"], ["apply", "--vip", VIP2, "--yes"]):
        refused(sandbox.wizard(*command), "is damaged", "Keep a copy")
    report = sandbox.wizard("report")
    assert report.returncode == 0 and "is damaged" in report.stdout
    assert "\x1b" not in report.stdout and "Traceback" not in report.stderr
    after = host_state(sandbox), sandbox.run(["sysctl", "-n", "net.ipv4.ip_forward"]).stdout
    assert after == before


def test_an_id_with_dot_dot_never_leads_out_of_the_state_directory(sandbox):
    prepare(sandbox, "ifupdown")
    killed = sandbox.wizard("apply", "--vip", VIP, "--yes", env={"CLB_WIZARD_FAILPOINT": "written"})
    assert killed.returncode == -9
    journal = sandbox.dir / "varlib/clb-wizard/journal.json"
    record = json.loads(journal.read_text())
    journal.write_text(sealed(record, id="../../../../etc/cron.d/clb-pwn"))
    before = host_state(sandbox)
    for command in (["recover"], ["rollback"], ["apply", "--vip", VIP, "--yes"]):
        refused(sandbox.wizard(*command), "is damaged")
    assert host_state(sandbox) == before
    assert sandbox.read("/etc/cron.d/clb-pwn.log") is None
    journal.write_text(json.dumps(record))  # the real one: recover puts the host back
    assert sandbox.wizard("recover").returncode == 0


def test_rollback_never_makes_a_link_a_record_names(sandbox):
    prepare(sandbox, "ifupdown")
    sandbox.write("/etc/network/interfaces", "auto lo\niface lo inet loopback\n")  # edited
    sandbox.write("/etc/clb-victim", "precious\n", 0o600)
    assert sandbox.wizard("apply", "--vip", VIP, "--yes").returncode == 0
    record = kept_record(sandbox)
    files = [{**f, "before_link": "/etc/clb-victim"} if f["path"] == "/etc/network/interfaces"
             else f for f in record["files"]]
    assert files != record["files"]
    path = sandbox.dir / "varlib/clb-wizard/history" / f"{record['id']}.json"
    path.write_text(sealed(record, files=files))
    before = host_state(sandbox)
    refused(sandbox.wizard("rollback"), "clb-wizard does not make links", "by hand")
    assert host_state(sandbox) == before
    assert sandbox.sh("test ! -L /etc/network/interfaces").returncode == 0


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_only_the_changes_own_watchdog_is_stopped(sandbox):
    prepare(sandbox, "ifupdown")
    bystander = sandbox.popen(["sleep", "300"])
    try:
        proc = sandbox.popen([sys.executable, "-m", "clb_wizard", "apply", "--vip", VIP, "--yes",
                              "--confirm-timeout", "60"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        journal = sandbox.dir / "varlib/clb-wizard/journal.json"
        deadline = time.monotonic() + 60
        while '"awaiting-confirm"' not in (journal.read_text() if journal.exists() else ""):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        record = json.loads(journal.read_text())
        assert record["watchdog"]["kind"] == "process"  # no systemd in the sandbox
        sleep_pid = next(p for p in sandbox.pids() if _cmdline(p) == b"sleep\x00300\x00")
        fake = journal.with_name("journal.json.new")
        fake.write_text(sealed(record, watchdog={"kind": "process", "pid": sleep_pid}))
        fake.replace(journal)  # atomically: the apply waiting for the answer reads it too
        confirmed = sandbox.wizard("confirm")
        assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
        proc.communicate(timeout=60)
        assert _cmdline(sleep_pid) == b"sleep\x00300\x00", "the record's pid was killed"
    finally:
        bystander.kill()
        bystander.wait()


# -- 8. messages that name the right cause ---------------------------------------------------
def test_after_a_failed_rollback_apply_names_it_not_the_removal(sandbox):
    prepare(sandbox, "ifupdown")
    assert sandbox.wizard("apply", "--vip", VIP, "--yes").returncode == 0
    sandbox.add_tool("ifup", f"#!/bin/sh\nip addr add {VIP2}/32 dev lo\nexit 1\n")
    sandbox.add_tool("ifdown", "#!/bin/sh\nexit 1\n")
    sandbox.add_tool("ip", '#!/bin/sh\ncase "$*" in *" del "*) exit 2;; esac\n'
                     'exec /usr/sbin/ip "$@"\n')
    failed = sandbox.wizard("apply", "--vip", VIP, "--vip", VIP2, "--yes")
    assert failed.returncode == 4, failed.stdout + failed.stderr
    for tool in ("ifup", "ifdown", "ip"):
        (sandbox.dir / "bin" / tool).unlink()
    dropping = sandbox.wizard("apply", "--vip", VIP2, "--yes")  # would take VIP out
    refused(dropping, "its rollback failed", "clb-wizard recover")
    assert "out of service" not in dropping.stderr and "Host:" not in dropping.stdout


def test_a_planted_lock_is_named_for_what_it_is(sandbox):
    prepare(sandbox, "ifupdown")
    sandbox.write("/etc/clb-victim", "precious\n", 0o600)
    sandbox.sh(f"mkdir -m 0700 -p {STATE} && ln -s /etc/clb-victim {STATE}/lock")
    result = sandbox.wizard("apply", "--vip", VIP, "--yes")
    refused(result, "lock is a symbolic link", f"rm {STATE}/lock")
    assert "free some space" not in result.stderr
    assert sandbox.read("/etc/clb-victim") == b"precious\n"
    sandbox.sh(f"rm {STATE}/lock && mkfifo -m 0600 {STATE}/lock")
    refused(sandbox.wizard("apply", "--vip", VIP, "--yes"), "lock is a named pipe")


def test_tools_in_sbin_are_found_under_a_path_without_sbin(sandbox):
    """`su` without `-`, or a user's PATH: the tools are installed, so apply works, and a
    tool is "missing" only when it really is (test_faults)."""
    prepare(sandbox, "ifupdown")
    before = files_digest(sandbox), sandbox.lo_addresses()
    (sandbox.dir / "only-ifup").mkdir()
    wrapper = sandbox.dir / "only-ifup" / "ifup"
    wrapper.write_text('#!/bin/sh\nexec /usr/sbin/ifup "$@"\n')
    wrapper.chmod(0o755)
    for path in ("/usr/bin:/bin", f"{wrapper.parent}:/usr/bin:/bin"):
        applied = sandbox.wizard("apply", "--vip", VIP, "--yes", env={"PATH": path})
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert f"{VIP}/32" in sandbox.lo_addresses()
        back = sandbox.wizard("rollback", env={"PATH": path})
        assert back.returncode == 0, back.stdout + back.stderr
        assert (files_digest(sandbox), sandbox.lo_addresses()) == before
