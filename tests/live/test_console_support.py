"""The CLI as a console user and a support engineer meet it after the first screen (issue
23), on real hosts in namespaces: not root once the wizard has run, a confirm timer that
runs out (in the session and by the watchdog) and the login note it leaves, the report on
one screen with its status code, and `replay` rebuilding a customer's Preview from their
report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from clb_wizard.statuscode import decode
from tests.live.hosts import files_digest, prepare, wait_for

VIP, VIP2 = "203.0.113.10", "203.0.113.11"
AS_NOBODY = [sys.executable, "-m", "tests.live.as_nobody"]
NOTE = "/run/motd.d/clb-wizard"


def applied(sb, *vips: str, extra=()):
    args = [a for v in vips for a in ("--vip", v)]
    result = sb.wizard("apply", *args, "--method", "ifupdown", "--yes", *extra)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_not_root_after_a_real_apply(sandbox):
    """plan and verify work, history and report say what root would see, no traceback."""
    prepare(sandbox, "ifupdown")
    applied(sandbox, VIP)
    applied(sandbox, VIP, VIP2)  # two kept changes in the history
    before = files_digest(sandbox)

    plan = sandbox.run([*AS_NOBODY, "plan", "--vip", VIP, "--vip", VIP2, "--vip",
                        "198.51.100.7"])
    assert plan.returncode == 0, plan.stderr
    assert "+auto lo:3" in plan.stdout or "198.51.100.7" in plan.stdout
    assert "not root, so no check for an interrupted change" in plan.stderr
    assert "Permission denied" not in plan.stderr

    verified = sandbox.run([*AS_NOBODY, "verify"])
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "All checks passed." in verified.stdout
    assert f"[  ok] {VIP} on lo" in verified.stdout and f"[  ok] {VIP2} on lo" in verified.stdout
    assert f"clb-wizard's files configure ({VIP}, {VIP2})" in verified.stderr

    history = sandbox.run([*AS_NOBODY, "history"])
    assert history.returncode == 2
    assert "Traceback" not in history.stderr and "root's only" in history.stderr
    assert "history" in history.stderr.splitlines()[-1]  # the command to run as root

    report = sandbox.run([*AS_NOBODY, "report"])
    assert report.returncode == 0, report.stderr
    assert "No transaction recorded" not in report.stdout
    assert "Transactions: not read" in report.stdout and "root's only" in report.stdout
    data = json.loads(sandbox.run([*AS_NOBODY, "report", "--json"]).stdout)
    assert data["journal"]["readable"] is False and data["errors"] == []
    assert data["verification"]["source"] == "configured" and data["verification"]["ok"]
    # as root the same report names the two changes
    root_report = sandbox.wizard("report")
    assert "Last transaction" in root_report.stdout and "not read" not in root_report.stdout
    assert files_digest(sandbox) == before


def test_report_short_fits_one_console_screen(sandbox):
    prepare(sandbox, "ifupdown")
    applied(sandbox, VIP)
    result = sandbox.wizard("report", "--short")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) <= 22 and all(len(line) <= 79 for line in lines)
    assert lines[0].startswith("clb-wizard: all checks passed")
    assert lines[1].startswith("Status code: ")
    code = lines[1].split()[2]
    facts = decode(code)
    assert (facts.os_id, facts.method, facts.vip_count, facts.verdict) == \
        ("debian", "ifupdown", 1, "OK")
    assert facts.arp_sysctls is False  # the sandbox's ARP sysctls are the kernel's defaults
    assert any(line.startswith("Last change: ") and "1 file" in line for line in lines)
    full = json.loads(sandbox.wizard("report", "--json").stdout)
    assert full["status_code"] == code
    decoded = subprocess.run([sys.executable, "-m", "clb_wizard", "decode", code.lower()],
                             capture_output=True, text=True)
    assert decoded.returncode == 0 and "Verdict:     all checks passed" in decoded.stdout


def journal_state(sb):
    try:
        return json.loads((sb.dir / "varlib/clb-wizard/journal.json").read_text())["state"]
    except (OSError, ValueError):
        return None


def note(sb) -> str | None:
    path = sb.dir / "run" / "motd.d" / "clb-wizard"
    return path.read_text() if path.exists() else None


def test_an_expired_confirm_timer_is_not_called_a_failure(sandbox):
    prepare(sandbox, "ifupdown")
    before = (files_digest(sandbox), sandbox.lo_addresses())
    result = sandbox.wizard("apply", "--vip", VIP, "--method", "ifupdown", "--yes",
                            "--confirm-timeout", "1.5")
    assert result.returncode == 3, result.stdout + result.stderr
    out = result.stdout
    tail = out[out.index("Not confirmed in time"):]
    assert tail.startswith("Not confirmed in time: rolled back; apply again and confirm.")
    assert "apply it again and confirm within 1.5 s" in tail
    assert f"[  ok] {VIP} on lo" not in tail  # nothing says the VIP is still up
    assert "After the rollback:" in tail
    assert ("/etc/network/interfaces.d/clb-wizard-lo: removed again (it did not exist "
            "before the change)") in tail
    assert "byte-exact" not in tail and "FAILED" not in out and "[!!]" not in out
    assert result.stderr.strip().endswith("Not confirmed in time: rolled back; apply again "
                                          "and confirm.")
    assert (files_digest(sandbox), sandbox.lo_addresses()) == before
    # the user, whose session the change may have cut, learns it at the next login
    text = note(sandbox)
    assert text and text.startswith("clb-wizard note: ") and f"(VIPs {VIP})" in text
    assert text.count("\n") == 1
    as_json = sandbox.wizard("apply", "--vip", VIP, "--method", "ifupdown", "--yes",
                             "--confirm-timeout", "1.5", "--json")
    assert json.loads(as_json.stdout)["not_confirmed"] is True


def test_the_watchdogs_revert_leaves_a_login_note_that_the_next_change_removes(sandbox):
    prepare(sandbox, "ifupdown")
    argv = [sys.executable, "-m", "clb_wizard", "apply", "--vip", VIP, "--method", "ifupdown",
            "--yes", "--confirm-timeout", "2"]
    proc = sandbox.popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: journal_state(sandbox) == "awaiting-confirm")
        os.kill(proc.pid, signal.SIGKILL)  # the session is gone: only the watchdog is left
        proc.wait(timeout=10)
    finally:
        proc.kill()
    assert note(sandbox) is None
    assert wait_for(lambda: journal_state(sandbox) is None, timeout=30)
    assert wait_for(lambda: note(sandbox) is not None, timeout=10)
    assert f"{VIP}/32" not in sandbox.lo_addresses()
    text = note(sandbox)
    assert "was not confirmed in time and was rolled back" in text and VIP in text
    assert "Apply it again and confirm it in time." in text
    # the next successful change takes the note away
    applied(sandbox, VIP)
    assert note(sandbox) is None
    assert f"{VIP}/32" in sandbox.lo_addresses()


def test_replay_shows_the_customers_preview(sandbox, tmp_path):
    """A customer's report, replayed on support's machine (outside the customer's
    namespaces), gives the Preview the customer's own `plan` gives."""
    prepare(sandbox, "ifupdown")
    sandbox.write("/etc/network/interfaces", "auto lo\niface lo inet loopback\n\n"
                  "auto eth9\niface eth9 inet static\n    address 198.51.100.5/24\n"
                  "    wpa-psk s3cr3t-passphrase\n\nsource /etc/network/interfaces.d/*\n")
    applied(sandbox, VIP)
    report = sandbox.wizard("report", "--json")
    assert report.returncode == 0, report.stderr
    assert "s3cr3t-passphrase" not in report.stdout  # redacted
    path = tmp_path / "customer-report.json"
    path.write_text(report.stdout)
    customer = json.loads(sandbox.wizard("plan", "--vip", VIP, "--vip", VIP2, "--method",
                                         "ifupdown", "--json").stdout)
    into = tmp_path / "replayed"
    result = subprocess.run([sys.executable, "-m", "clb_wizard", "replay", str(path),
                             "--vip", VIP, "--vip", VIP2, "--json", "--into", str(into)],
                            capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    replayed = json.loads(result.stdout)
    assert replayed["method"] == customer["method"] == "ifupdown"
    assert [(f["path"], f["action"], f["diff"]) for f in replayed["files"]] == \
        [(f["path"], f["action"], f["diff"]) for f in customer["files"]]
    assert replayed["commands"] == customer["commands"]
    assert "Replaying the report of" in result.stderr and "lo on that host:" in result.stderr
    interfaces = (into / "etc/network/interfaces").read_text()
    assert "wpa-psk <redacted>" in interfaces and "address 198.51.100.5/24" in interfaces
    assert (into / "etc/os-release").read_text().count("ID=") >= 1
    # the wizard itself opens on the same root (in a terminal): same detection
    detect = subprocess.run([sys.executable, "-m", "clb_wizard", "detect", "--root",
                             str(into), "--json"], capture_output=True, text=True)
    assert json.loads(detect.stdout)["method"] == "ifupdown"


def test_an_interrupted_change_is_named_in_plain_words(sandbox):
    prepare(sandbox, "ifupdown")
    killed = sandbox.wizard("apply", "--vip", VIP, "--method", "ifupdown", "--yes",
                            env={"CLB_WIZARD_FAILPOINT": "written"})
    assert killed.returncode == -signal.SIGKILL
    plan = sandbox.wizard("plan", "--vip", VIP)
    assert plan.returncode == 0, plan.stderr
    assert ("was interrupted: it stopped after writing the files, before activating them; "
            "run `clb-wizard recover`") in plan.stderr
    assert "(written)" not in plan.stderr
    recovered = sandbox.wizard("recover")
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "After the rollback:" in recovered.stdout
    assert "removed again (it did not exist before the change)" in recovered.stdout
