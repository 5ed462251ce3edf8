"""The installed `clb-wizard`, run as a user runs it (a subprocess), for what issue 23 asked
of the CLI: --os near misses and assumed minors, the old-host hand-off, `decode`, fetch
naming what is missing and saying what it waits for, `--keys-file`, and `replay` refusing
what is not a report. The cloud API is the fake (tests/fakes/ucloud_api.py) on this
host's loopback: the real one cannot be reached from here."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from clb_wizard import handoff
from tests.fakes.ucloud_api import FETCH_FAILED, FakeUCloudAPI, free_closed_port, sample_clbs
from tests.fixtures.roots import VIP1, VIP2, make_root, tree_digest

PROGRAM = Path(sys.executable).parent / "clb-wizard"
PUBLIC, PRIVATE = "fake-public-key", "PRIVATE-KEY-zz-never-in-any-file"


def run(*argv: str, env=None, stdin=subprocess.DEVNULL) -> subprocess.CompletedProcess:
    assert PROGRAM.exists(), "pip install -e '.[test]' creates the clb-wizard entry point"
    base = {k: v for k, v in os.environ.items() if not k.startswith("UCLOUD_")}
    return subprocess.run([str(PROGRAM), *argv], capture_output=True, text=True, timeout=120,
                          env={**base, **(env or {})}, stdin=stdin)


# -- --os ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "meant"), [("centos7", "Did you mean centos-7?"),
                                              ("Rocky9.4", "Did you mean rocky-9.4?"),
                                              ("ubuntu-22.4", "ubuntu-22.04"),
                                              ("debain-12", "debian-12")])
def test_a_near_miss_os_gets_did_you_mean_and_a_list_that_fits(tmp_path, typed, meant):
    root = make_root(tmp_path, "debian-12")
    before = tree_digest(root)
    result = run("plan", "--root", str(root), "--os", typed, "--vip", VIP1,
                 env={"COLUMNS": "80"})
    assert result.returncode == 2 and result.stdout == ""
    assert meant in result.stderr
    listed = result.stderr.split("Supported:\n", 1)[1].splitlines()
    assert len(listed) > 5 and all(len(line) <= 80 for line in listed)
    assert any("centos-7" in line and "ubuntu-22.04" in line or "centos-7" in line
               for line in listed)
    assert tree_digest(root) == before


def test_the_wizard_checks_its_os_before_it_needs_a_terminal():
    result = run("--os", "centos7")
    assert result.returncode == 2 and "Did you mean centos-7?" in result.stderr


def test_rocky_9_says_which_minor_it_assumed_and_how_to_choose():
    result = run("plan", "--os", "rocky-9", "--vip", VIP1)
    assert result.returncode == 0, result.stderr
    assert "assumed 9.2 or later" in result.stderr and "--os rocky-9.0" in result.stderr
    assert "9.0, 9.1 get systemd-unit instead" in result.stderr
    older = run("plan", "--os", "rocky-9.1", "--vip", VIP1, "--json")
    assert older.returncode == 0 and "assumed" not in older.stderr
    assert json.loads(older.stdout)["method"] == "systemd-unit"
    assert "assumed" not in run("plan", "--os", "centos-9", "--vip", VIP1).stderr


# -- the wizard on an old host ------------------------------------------------------------------
@pytest.mark.parametrize("os_arg", ["centos-7", "ubuntu-18.04"])
def test_plan_for_an_old_os_says_how_to_run_the_wizard_there(os_arg):
    result = run("plan", "--os", os_arg, "--vip", VIP1, "--vip", VIP2)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    tail = out[out.index("The wizard on that host:"):]
    name = handoff.bundle_name()
    assert f"sh {name}" in tail and "python3 -m http.server" in tail
    unwrapped = re.sub(r" \\\n\s+", " ", tail)  # lines broken with " \" read as one
    assert f"clb-wizard userdata --os {os_arg} --vip {VIP1} --vip {VIP2}" in unwrapped
    assert "scp" not in tail.replace("no scp", "") and "ssh " not in tail
    assert all(len(line) <= 80 for line in tail.splitlines())
    data = json.loads(run("plan", "--os", os_arg, "--vip", VIP1, "--json").stdout)
    assert data["old_host"]["file"] == name and data["old_host"]["python"] in ("3.6",)
    assert "old_host" not in json.loads(run("plan", "--os", "debian-12", "--vip", VIP1,
                                            "--json").stdout)


# -- decode --------------------------------------------------------------------------------------
def test_decode_reads_a_code_back_and_catches_a_misheard_one():
    good = run("decode", "rk9.4 nm 2 s1 ok 2")
    assert good.returncode == 0, good.stderr
    assert "Rocky Linux 9 (9.4)" in good.stdout and "Method:      networkmanager" in good.stdout
    assert "set (arp_ignore=1, arp_announce=2)" in good.stdout
    data = json.loads(run("decode", "RK9.4-NM-2-S1-OK-2", "--json").stdout)
    assert data == [{"code": "RK9.4-NM-2-S1-OK-2", "os_id": "rocky", "version": "9.4",
                     "method": "networkmanager", "vips": 2, "arp_sysctls": True,
                     "verdict": "OK"}]
    bad = run("decode", "RK9.4-NM-3-S1-OK-2")
    assert bad.returncode == 2 and "check digit does not match" in bad.stderr


# -- fetch: what is missing, and what it is doing ---------------------------------------------
def offline(**more):
    """No metadata service (a closed port on loopback): not a UCloud host."""
    return {"CLB_WIZARD_METADATA_URL": f"http://127.0.0.1:{free_closed_port()}/meta-data",
            "NO_PROXY": "*", **more}


def test_fetch_names_the_missing_key():
    result = run("fetch", env=offline(UCLOUD_PUBLIC_KEY=PUBLIC, UCLOUD_REGION="cn-bj2"))
    assert result.returncode == 2
    assert "no cloud API key: UCLOUD_PRIVATE_KEY is not set" in result.stderr
    result = run("fetch", env=offline())
    assert "UCLOUD_PUBLIC_KEY and UCLOUD_PRIVATE_KEY are not set" in result.stderr


def test_fetch_with_keys_but_no_region_says_region_not_keys():
    result = run("fetch", env=offline(UCLOUD_PUBLIC_KEY=PUBLIC, UCLOUD_PRIVATE_KEY=PRIVATE))
    assert result.returncode == 2
    assert "no region: the API keys are there" in result.stderr
    assert "--region" in result.stderr and "no cloud API key" not in result.stderr
    assert "Reading this host's instance metadata" in result.stderr  # said while it looked


@pytest.fixture
def api():
    with FakeUCloudAPI(keys={PUBLIC: PRIVATE}, clbs=sample_clbs()) as fake:
        yield fake


def keys_file(tmp_path, mode=0o600, region="cn-bj2"):
    path = tmp_path / "ucloud-keys"
    path.write_text(f"# the console's API keys\nUCLOUD_PUBLIC_KEY={PUBLIC}\n"
                    f"UCLOUD_PRIVATE_KEY='{PRIVATE}'\nUCLOUD_REGION={region}\n")
    path.chmod(mode)
    return str(path)


def test_fetch_with_a_keys_file_and_busy_answers_says_what_it_is_waiting_for(api, tmp_path):
    api.fail_next(*FETCH_FAILED, times=3)  # retried after 0.5, 1 and 2 s: 3.5 s at least
    result = run("fetch", "--ulb-id", "ulb-inner01", "--keys-file", keys_file(tmp_path),
                 env=offline(CLB_WIZARD_API_URL=api.url))
    assert result.returncode == 0, result.stderr
    assert "10.9.0.100" in result.stdout
    err = result.stderr
    assert f"Asking the UCloud API at {api.url}" in err and "for CLB ulb-inner01" in err
    assert "region cn-bj2 (from UCLOUD_REGION)" in err
    assert "still waiting (" in err and "busy answers are retried" in err
    assert PRIVATE not in result.stdout + err


def test_a_keys_file_others_can_read_is_refused_with_the_fix(api, tmp_path):
    path = keys_file(tmp_path, 0o644)
    result = run("fetch", "--keys-file", path, env=offline(CLB_WIZARD_API_URL=api.url))
    assert result.returncode == 2 and f"chmod 600 {path}" in result.stderr
    assert api.requests == []  # nothing was sent with keys others could read
    wizard = run("--keys-file", path)
    assert wizard.returncode == 2 and f"chmod 600 {path}" in wizard.stderr


# -- replay refuses what is not a report --------------------------------------------------------
@pytest.mark.parametrize(("bad", "says"), [
    ("not json", "is not JSON"),
    (json.dumps({"format": 1}), "not a clb-wizard report"),
    (json.dumps({"format": 1, "platform": {"method": "ifupdown"},
                 "files": [{"path": "/etc/../../x", "exists": True, "content": "x"}]}),
     "unusable path"),
])
def test_replay_refuses_what_is_not_a_usable_report(tmp_path, bad, says):
    path = tmp_path / "r.json"
    path.write_text(bad)
    result = run("replay", str(path), "--vip", VIP1, "--into", str(tmp_path / "x"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("clb-wizard: ") and says in result.stderr
    assert not (tmp_path / "x").exists() or not any(
        p.name == "x" for p in (tmp_path / "x").rglob("*") if p.is_file())


def test_the_wizard_asks_which_minor_before_it_opens():
    from clb_wizard.cli.os_choice import ask_minor

    asked: list[str] = []

    def answers(*typed):
        replies = iter(typed)

        def ask(question: str) -> str:
            asked.append(question)
            return next(replies)
        return ask

    assert ask_minor("rocky-9", answers("")) == "rocky-9"  # Enter: 9.2 or later
    assert "Enter for 9.2 or later" in asked[-1] and "9.0, 9.1 get systemd-unit" in asked[-1]
    assert ask_minor("rocky-9", answers("1")) == "rocky-9.1"
    assert ask_minor("almalinux-9", answers("9.x", "9.0")) == "almalinux-9.0"
    assert "not a 9.x version" in asked[-1]
    asked.clear()
    assert ask_minor("rocky-9.4", answers()) == "rocky-9.4" and asked == []
    assert ask_minor("ubuntu-22.04", answers()) == "ubuntu-22.04" and asked == []


def test_replay_opens_the_wizard_on_the_customers_system(tmp_path):
    """In a terminal, `replay` opens the wizard itself on the rebuilt root (a preview)."""
    from tests.ui.term import Terminal, terminal_env

    customer = make_root(tmp_path / "customer", "rocky-9")
    before = tree_digest(customer)
    report = run("report", "--root", str(customer), "--json")
    assert report.returncode == 0, report.stderr
    (tmp_path / "report.json").write_text(report.stdout)
    into = tmp_path / "replayed"
    term = Terminal([str(PROGRAM), "replay", str(tmp_path / "report.json"), "--into",
                     str(into)], terminal_env(), cwd=tmp_path)
    try:
        screen = term.wait_for("The system under", "Rocky Linux 9.4", "networkmanager")
    finally:
        term.close()
    assert "Step 1 of" in screen
    # a long temp path wraps inside a word at 80 columns: look for it with the breaks taken out
    assert f"Thesystemunder{into}" in "".join(screen.split())
    assert (into / "etc/os-release").exists()
    assert tree_digest(customer) == before  # a report only reads
