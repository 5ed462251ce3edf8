"""The engine helpers both faces use for console users and support (issue 23): the status
code, the CLI twin and command wrapping, how to run clb-wizard as root here, the old-host
hand-off, the key checksum and keys file, and the login note after a revert."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest

from clb_wizard import handoff, invocation, motd, statuscode
from clb_wizard.cloud import CloudError
from clb_wizard.cloud.credentials import KEYS_FILE_NAMES, key_checksum, load_keys_file
from clb_wizard.errors import InputError
from clb_wizard.methods import METHOD_NAMES
from clb_wizard.platform import KNOWN_RELEASES, detect
from clb_wizard.runner import Runner
from clb_wizard.statuscode import StatusFacts, decode, encode, status_code, status_facts
from clb_wizard.twin import cli_twin, twin_args, wrap_command
from clb_wizard.verify import Fact, Verification
from tests.fixtures.roots import VIP1, VIP2, VIP3

NOWHERE = Runner(root=Path("/nonexistent"))


def preview(os_arg: str):
    return detect(NOWHERE, os_arg)


def verification(*facts: Fact) -> Verification:
    return Verification(tuple(facts))


PASSED = verification(Fact(f"{VIP1} on lo", True, "ok"),
                      Fact("ARP sysctls", True, "arp_ignore=1 arp_announce=2", fatal=False))


# -- status code ------------------------------------------------------------------------------
def test_a_status_code_is_stable_across_versions():
    """Golden: a code read out to support today decodes the same in any later version."""
    facts = StatusFacts("rocky", "9.4", "networkmanager", 2, True, "OK")
    assert encode(facts) == "RK9.4-NM-2-S1-OK-2"
    assert decode("RK9.4-NM-2-S1-OK-2") == facts
    assert encode(StatusFacts("ubuntu", "22.04", "netplan", 1, False, "FAIL")) \
        == "UB22.04-NP-1-S0-FAIL-8"


@pytest.mark.parametrize("key", sorted(k for k in KNOWN_RELEASES))
def test_every_known_release_round_trips(key):
    version = "" if key in ("arch", "windows") else key.rsplit("-", 1)[1]
    platform = preview(key if not version else f"{key.rsplit('-', 1)[0]}-{version}")
    for verdict_facts, verdict in ((None, "NONE"), (PASSED, "OK")):
        code = status_code(platform, [VIP1, VIP2, VIP3], verdict_facts)
        facts = decode(code)
        assert facts.os_id == platform.os_id and facts.version == platform.version
        assert (facts.method, facts.vip_count, facts.verdict) == (platform.method, 3, verdict)
        assert len(code) <= 24 and code.replace("-", "").replace(".", "").isalnum()


def test_every_method_and_os_has_a_code():
    assert set(METHOD_NAMES) <= set(statuscode.METHOD_CODES)
    assert {r.split("-")[0] if r not in ("opensuse-leap-15", "opensuse-leap-16")
            else "opensuse-leap" for r in KNOWN_RELEASES} <= set(statuscode.OS_CODES)
    codes = [*statuscode.OS_CODES.values(), *statuscode.FAMILY_CODES.values()]
    assert len(codes) == len(set(codes))  # one meaning each
    assert len(set(statuscode.METHOD_CODES.values())) == len(statuscode.METHOD_CODES)


def test_decode_forgives_case_blanks_and_missing_dashes():
    code = "UB22.04-NP-1-S0-FAIL-8"
    for typed in (code.lower(), code.replace("-", " "), code.replace("-", ""),
                  "  ub 22.04 np 1 s0 fail 8 ", code.replace("-", " - ")):
        assert decode(typed) == decode(code)


def test_every_mistyped_digit_and_swapped_digits_are_caught():
    code = encode(StatusFacts("ubuntu", "22.04", "netplan", 12, False, "FAIL"))
    caught = 0
    for i, char in enumerate(code):
        if char.isdigit():
            for other in "0123456789":
                if other != char:
                    with pytest.raises(InputError):
                        decode(code[:i] + other + code[i + 1:])
                    caught += 1
        if i + 1 < len(code) and char.isdigit() and code[i + 1].isdigit() \
                and char != code[i + 1]:
            with pytest.raises(InputError, match="check digit"):
                decode(code[:i] + code[i + 1] + char + code[i + 2:])
    assert caught >= 9 * 8  # the check really ran over every digit


def test_a_bad_code_says_what_a_code_looks_like():
    with pytest.raises(InputError, match="RK9.4-NM-2-S1-OK-2"):
        decode("hello")
    with pytest.raises(InputError, match="check digit does not match"):
        decode("RK9.4-NM-2-S1-OK-6")


@pytest.mark.parametrize(("facts", "arp", "verdict"), [
    ((Fact("a on lo", True, ""),), None, "OK"),
    ((Fact("a on lo", True, ""), Fact("ARP sysctls", False, "", fatal=False)), False, "OK"),
    ((Fact("a on lo", True, ""), Fact("ARP sysctls", True, "", fatal=False)), True, "OK"),
    ((Fact("a on lo", True, ""), Fact("port 80", False, "", fatal=False)), None, "WARN"),
    ((Fact("a on lo", False, ""), Fact("ARP sysctls", True, "", fatal=False)), True, "FAIL"),
    ((), None, "NONE"),
])
def test_the_verdict_and_sysctls_come_from_the_facts(facts, arp, verdict):
    result = status_facts(preview("debian-12"), [VIP1], verification(*facts))
    assert (result.arp_sysctls, result.verdict) == (arp, verdict)
    # the report's JSON form gives the same
    assert status_facts(preview("debian-12").to_json(), [VIP1],
                        verification(*facts).to_json()) == result


def test_an_os_without_a_code_is_named_by_its_family():
    data = {**preview("rocky-9").to_json(), "os_id": "someos", "family": "rhel"}
    facts = decode(status_code(data, [VIP1], None))
    assert facts.os_id == "other-rhel"
    assert "another rhel-family OS" in facts.describe()[0]


# -- the CLI twin and wrapping ------------------------------------------------------------------
def test_the_twin_carries_every_choice():
    args = twin_args("replace", [VIP1, VIP2], clb_type="external", force=True,
                     arp_sysctls=True, remove_others=True, confirm_timeout=0, method="ifupdown",
                     ports=[80])
    assert args == ["apply", "--vip", VIP1, "--vip", VIP2, "--type", "external", "--method",
                    "ifupdown", "--force", "--arp-sysctls", "--remove-others",
                    "--confirm-timeout", "0", "--port", "80", "--yes"]
    assert twin_args("add", [VIP3]) == ["add", "--vip", VIP3, "--yes"]
    assert "--remove-others" not in twin_args("remove", [VIP1], remove_others=True)
    with pytest.raises(ValueError):
        twin_args("export", [VIP1])


def test_the_twin_parses_as_the_cli_would():
    from clb_wizard.cli.commands import build_parser

    line = cli_twin("add", [VIP1, VIP2], clb_type="internal", force=True, arp_sysctls=True,
                    confirm_timeout=90)
    words = shlex.split(line)
    args = build_parser().parse_args(words[words.index("add"):])
    assert (args.command, args.vip, args.type, args.force, args.arp_sysctls,
            args.confirm_timeout, args.yes) == ("add", [VIP1, VIP2], "internal", True, True,
                                                90.0, True)


LONG = ["/home/support/venvs/clb/.venv/bin/clb-wizard", "apply", "--vip", VIP1, "--vip", VIP2,
        "--vip", VIP3, "--vip", "198.51.100.21", "--type", "external", "--force",
        "--arp-sysctls", "--remove-others", "--confirm-timeout", "120", "--yes"]


@pytest.mark.parametrize("width", [40, 60, 80])
def test_wrapped_lines_fit_break_between_words_and_keep_flags_with_values(width):
    lines = wrap_command(LONG, width)
    assert len(lines) > 1
    assert all(len(line) <= width for line in lines
               if len(line.removesuffix(" \\").split()) > 1)  # a lone long word may not
    assert all(line.endswith(" \\") for line in lines[:-1])
    assert not lines[-1].endswith("\\")
    for line in lines:
        assert not line.rstrip(" \\").endswith(("--vip", "--type", "--confirm-timeout"))


def test_wrapped_lines_give_the_shell_the_same_words(tmp_path):
    """A real shell reads the wrapped lines as the one command: the same argv."""
    argv = [*LONG, "--port", "80", "a value with spaces", "it's"]
    script = tmp_path / "args.sh"
    script.write_text("printf '%s\\n' " + "\n".join(wrap_command(argv, 50)) + "\n")
    out = subprocess.run(["sh", str(script)], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == argv


def test_wrapping_text_keeps_quotes_and_redirections():
    text = ("clb-wizard userdata --os ubuntu-22.04 --vip 203.0.113.10 --vip 203.0.113.11 "
            "--type external --force > userdata.txt")
    lines = wrap_command(text, 40)
    assert any(line.strip().startswith("> userdata.txt") or line.endswith("> userdata.txt")
               for line in lines)
    assert shlex.split(" ".join(line.removesuffix(" \\") for line in lines)) == shlex.split(text)
    assert wrap_command("clb-wizard verify") == ["clb-wizard verify"]


# -- how to run clb-wizard as root --------------------------------------------------------------
@pytest.fixture
def host(tmp_path):
    """A bin directory with a clb-wizard and a sudo, a venv elsewhere, and a sudoers."""
    bindir, venv = tmp_path / "sbin", tmp_path / "venv" / "bin"
    for d in (bindir, venv):
        d.mkdir(parents=True)
    for exe in (bindir / "sudo", venv / "clb-wizard", venv / "python3"):
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    sudoers = tmp_path / "sudoers"
    sudoers.write_text(f'Defaults\tenv_reset\nDefaults\tsecure_path="{bindir}:/usr/bin"\n')
    return {"bin": bindir, "venv": venv, "sudoers": [str(sudoers)], "tmp": tmp_path}


def test_sudo_needs_the_full_path_when_the_venv_is_not_on_secure_path(host, monkeypatch):
    me = str(host["venv"] / "clb-wizard")
    monkeypatch.setattr("sys.argv", [me])
    env = {"PATH": f"{host['bin']}:{host['venv']}"}
    assert invocation.root_command("verify", is_root=False, env=env,
                                   sudoers=host["sudoers"]) == f"sudo {me} verify"
    # root: its PATH finds this very clb-wizard by name
    assert invocation.root_command("verify", is_root=True, env=env) == "clb-wizard verify"


def test_sudo_by_name_when_secure_path_finds_this_very_program(host, monkeypatch):
    link = host["bin"] / "clb-wizard"
    link.symlink_to(host["venv"] / "clb-wizard")  # as the .run file links /usr/local/sbin
    monkeypatch.setattr("sys.argv", [str(host["venv"] / "clb-wizard")])
    env = {"PATH": str(host["bin"])}
    assert invocation.root_command("plan", "--vip", VIP1, is_root=False, env=env,
                                   sudoers=host["sudoers"]) == f"sudo clb-wizard plan --vip {VIP1}"


def test_another_clb_wizard_on_secure_path_is_not_taken_for_this_one(host, monkeypatch):
    other = host["bin"] / "clb-wizard"
    other.write_text("#!/bin/sh\n")
    other.chmod(0o755)
    me = str(host["venv"] / "clb-wizard")
    monkeypatch.setattr("sys.argv", [me])
    assert invocation.root_command("verify", is_root=False, env={"PATH": str(host["bin"])},
                                   sudoers=host["sudoers"]) == f"sudo {me} verify"


def test_unreadable_sudoers_means_the_paths_every_sudo_keeps(host):
    assert invocation.secure_path([str(host["tmp"] / "missing")]) == \
        invocation.COMMON_SECURE_PATH
    assert invocation.secure_path(host["sudoers"]) == (str(host["bin"]), "/usr/bin")


def test_without_sudo_su_runs_it_and_a_launcher_can_say_what_it_is(host, monkeypatch):
    me = str(host["venv"] / "clb-wizard")
    monkeypatch.setattr("sys.argv", [me])
    monkeypatch.setenv("PATH", str(host["venv"]))
    assert invocation.root_command("verify", is_root=False, env={"PATH": str(host["venv"])}) \
        == f"su -c '{me} verify'"
    env = {"PATH": str(host["bin"]), invocation.ENV_COMMAND: "/opt/clb-wizard/1.0/clb-wizard"}
    assert invocation.root_command("verify", is_root=False, env=env, sudoers=host["sudoers"]) \
        == "sudo /opt/clb-wizard/1.0/clb-wizard verify"


def test_run_as_a_module_the_command_says_so(host, monkeypatch):
    monkeypatch.setattr("sys.argv", ["/x/clb_wizard/__main__.py"])
    monkeypatch.setattr("sys.executable", str(host["tmp"] / "python3"))
    assert invocation.program({}) == [str(host["tmp"] / "python3"), "-m", "clb_wizard"]
    monkeypatch.setattr("sys.executable", str(host["venv"] / "python3"))
    assert invocation.program({}) == [str(host["venv"] / "clb-wizard")]


# -- the old-host hand-off ---------------------------------------------------------------------
@pytest.mark.parametrize("os_arg", ["centos-7", "ubuntu-18.04", "rocky-8", "debian-10"])
def test_old_hosts_get_the_portable_file_without_scp(os_arg):
    platform = preview(os_arg)
    lines = handoff.old_host_steps(platform)
    text = "\n".join(lines)
    assert all(len(line) <= 78 for line in lines)
    assert f"ships Python {handoff.stock_python(platform)}" in lines[0]
    name = handoff.bundle_name()
    assert name.endswith("-linux-x86_64.run") and f"sh {name}" in text
    assert "python3 -m http.server" in text and "clb-wizard userdata" in text
    assert "scp" not in text.replace("no scp", "") and "ssh " not in text


def test_windows_gets_no_linux_file():
    text = "\n".join(handoff.old_host_steps(preview("windows")))
    assert ".run" not in text and "--os windows" in text


def test_a_known_download_url_is_used():
    lines = handoff.old_host_steps(preview("centos-7"),
                                   download_url="https://mirror.example/clb/")
    assert f"curl -fLO https://mirror.example/clb/{handoff.bundle_name()}" in "\n".join(lines)


def test_the_stock_python_is_named_only_where_it_is_too_old():
    assert handoff.stock_python(preview("centos-7")) == "3.6"
    assert handoff.stock_python(preview("rocky-8.9")) == "3.6"
    assert handoff.stock_python(preview("debian-12")) is None


# -- cloud keys: checksum and keys file ----------------------------------------------------------
def test_the_key_checksum_is_what_sha256sum_gives_on_any_machine():
    key = "4E9UU0VhqZ+GHYY3TfmoBvw2BZdTjkWD5K2Fkb0aJg="
    shell = subprocess.run(["sh", "-c", 'printf %s "$1" | sha256sum | cut -c1-6', "_", key],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert key_checksum(key) == shell and len(shell) == 6
    assert key_checksum(f"  {key}\n") == shell  # blanks around a typed key do not count
    assert key_checksum(key[:-1] + "h") != shell


def keys_file(tmp_path, text, mode=0o600):
    path = tmp_path / "keys"
    path.write_text(text)
    path.chmod(mode)
    return str(path)


def test_a_keys_file_reads_as_the_shell_would(tmp_path):
    text = ("# UCloud API keys\nexport UCLOUD_PUBLIC_KEY='pub key'\n"
            "UCLOUD_PRIVATE_KEY=\"priv+/=\"\n\nUCLOUD_REGION=cn-bj2\n")
    path = keys_file(tmp_path, text)
    found = load_keys_file(path)
    assert found == {"UCLOUD_PUBLIC_KEY": "pub key", "UCLOUD_PRIVATE_KEY": "priv+/=",
                     "UCLOUD_REGION": "cn-bj2"}
    shell = subprocess.run(["sh", "-c", f'. {path}; printf "%s|%s|%s" "$UCLOUD_PUBLIC_KEY" '
                            '"$UCLOUD_PRIVATE_KEY" "$UCLOUD_REGION"'],
                           capture_output=True, text=True, check=True).stdout
    assert shell == "|".join(found[n] for n in KEYS_FILE_NAMES[:3])


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o660])
def test_a_keys_file_others_can_read_or_write_is_refused_with_the_fix(tmp_path, mode):
    path = keys_file(tmp_path, "UCLOUD_PUBLIC_KEY=a\n", mode)
    with pytest.raises(CloudError, match=f"chmod 600 {path}"):
        load_keys_file(path)


def test_a_keys_file_must_be_a_regular_file_of_yours(tmp_path):
    path = keys_file(tmp_path, "UCLOUD_PUBLIC_KEY=a\n")
    link = tmp_path / "link"
    link.symlink_to(path)
    with pytest.raises(CloudError, match="symbolic link"):
        load_keys_file(str(link))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(CloudError, match="not a regular file"):
        load_keys_file(str(fifo))  # refused without waiting for a writer
    with pytest.raises(CloudError, match="cannot open"):
        load_keys_file(str(tmp_path / "missing"))
    if os.geteuid() == 0:  # someone else's file (root can make one)
        os.chown(path, 65534, 65534)
        with pytest.raises(CloudError, match="belongs to uid 65534"):
            load_keys_file(path)


@pytest.mark.parametrize(("text", "why"), [
    ("UCLOUD_PUBLICKEY=a\n", "unknown name 'UCLOUD_PUBLICKEY'"),
    ("just a key\n", "line 1 is not NAME=VALUE"),
    ("# nothing\n", "holds none of"),
])
def test_a_keys_file_with_a_mistake_says_which_line(tmp_path, text, why):
    with pytest.raises(CloudError, match=why):
        load_keys_file(keys_file(tmp_path, text))


# -- the login note -----------------------------------------------------------------------------
def pam_root(tmp_path, motd_dir: bool) -> Runner:
    lib = tmp_path / "usr/lib/x86_64-linux-gnu/security"
    lib.mkdir(parents=True)
    (lib / "pam_motd.so").write_bytes(b"\x7fELF...motd_dir=...\0" if motd_dir
                                      else b"\x7fELF...motd=/etc/motd\0")
    (tmp_path / "etc").mkdir()
    return Runner(root=tmp_path)


def test_the_note_goes_to_run_motd_d_where_pam_reads_it(tmp_path):
    runner = pam_root(tmp_path, motd_dir=True)
    admin_motd = b"Welcome. Be nice.\n"
    (tmp_path / "etc/motd").write_bytes(admin_motd)
    assert motd.leave_note(runner, motd.note_text()) is None
    note = (tmp_path / "run/motd.d/clb-wizard").read_text()
    assert note.startswith("clb-wizard note: ") and "not confirmed in time" in note
    assert note.count("\n") == 1
    assert stat.S_IMODE((tmp_path / "run/motd.d/clb-wizard").stat().st_mode) == 0o644
    assert (tmp_path / "etc/motd").read_bytes() == admin_motd
    assert motd.current_note(runner) == note.strip()
    assert motd.clear_note(runner) is None
    assert not (tmp_path / "run/motd.d/clb-wizard").exists()
    assert motd.current_note(runner) is None


@pytest.mark.parametrize("admin", [b"", b"Authorised use only.\n", b"no final newline",
                                   b"line 1\n\nline 3\n"])
def test_without_motd_d_the_note_leads_etc_motd_and_leaves_it_byte_exact(tmp_path, admin):
    runner = pam_root(tmp_path, motd_dir=False)
    (tmp_path / "etc/motd").write_bytes(admin)
    (tmp_path / "etc/motd").chmod(0o640)
    assert motd.leave_note(runner, "first") is None
    assert motd.leave_note(runner, motd.note_text()) is None  # replaces, never piles up
    text = (tmp_path / "etc/motd").read_bytes()
    assert text.startswith(b"clb-wizard note: the change") and text.count(b"clb-wizard") == 1
    assert text.endswith(admin)
    assert motd.clear_note(runner) is None
    assert (tmp_path / "etc/motd").read_bytes() == admin
    assert stat.S_IMODE((tmp_path / "etc/motd").stat().st_mode) == 0o640


def test_a_note_that_cannot_be_written_is_reported_not_raised(tmp_path):
    runner = pam_root(tmp_path, motd_dir=True)
    (tmp_path / "run").mkdir()
    (tmp_path / "run/motd.d").write_text("a file where the directory should be")
    assert "cannot leave the login note" in motd.leave_note(runner, "x")
    assert motd.leave_note(Runner(root=tmp_path, dry_run=True), "x") is None
