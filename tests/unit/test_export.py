"""The exports (wizard/export/script.py, wizard/export/ansible.py), without a host:
shellcheck on the script for every Linux OS id, the files byte-identical to the engine's
plan, the run-time conditions equal to what method.transition decides, the playbook's
Jinja choice of method equal to platform.choose_method on every combination, its stack
probes equal to detect_stack's, and `ansible-playbook --syntax-check`.

Running the exports for real: tests/live/test_export_live.py."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest
import yaml

from clb_wizard.cli import main
from clb_wizard.export.ansible import (
    CHOOSE_VARIANT,
    DIFFERENCES,
    STACK_PROBES,
    UnsafeLoader,
    choose_method,
    playbook_data,
    profiles_for,
    render_playbook,
)
from clb_wizard.export.ansible_plan import probe_and_choose
from clb_wizard.export.profile import ExportError, build_profile, pairs_of
from clb_wizard.export.script import render_script_text
from clb_wizard.export.shell import LIBRARY, library_file
from clb_wizard.methods import LINUX_METHODS, choose, get_method
from clb_wizard.methods.base import RenderInput, TransitionInput
from clb_wizard.platform import (
    KNOWN_RELEASES,
    NetworkStack,
    PlatformError,
    Release,
    detect,
    detect_stack,
    release_of,
    with_method,
)
from clb_wizard.runner import Runner
from clb_wizard.service import Options, prepare_plan
from clb_wizard.sysctls import PATH as SYSCTL_PATH
from tests.fixtures.roots import LINUX_OS_KEYS, VIP1, VIP2, VIP3, make_root, read, write

VIPS = (VIP1, VIP2, VIP3)
# wicked keeps the VIPs in a block of the ifcfg-lo the OS ships: the script edits that
# block, the playbook refuses those hosts
SHARED_FILE_KEYS = ("sles-15", "opensuse-leap-15")
EXPORT_KEYS = LINUX_OS_KEYS
PLAYBOOK_KEYS = tuple(k for k in LINUX_OS_KEYS if k not in SHARED_FILE_KEYS)
NOWHERE = Path("/nonexistent")
_CONTENT = re.compile(
    r"^clb_content_(?P<n>\d+)\(\) \{\n    cat <<'(?P<eof>\w+)'\n(?P<body>.*?)^(?P=eof)\n",
    re.M | re.S)
_FILE_ROWS = re.compile(r"^clb_file_table\(\) \{\n    cat <<'CLB_TABLE'\n(?P<rows>.*?)^CLB_TABLE\n",
                        re.M | re.S)


def stock(key: str):
    return detect(Runner(root=NOWHERE), key)


def script_for(key: str, vips=VIPS) -> str:
    return render_script_text(build_profile(stock(key), vips))


def script_files(script: str) -> dict[str, tuple[str, int]]:
    """The files the script writes: its file table (N MODE PATH) and clb_content_N."""
    bodies = {m["n"]: m["body"] for m in _CONTENT.finditer(script)}
    rows = [row.split() for row in _FILE_ROWS.search(script)["rows"].splitlines()
            if not row.startswith("#")]
    return {path: (bodies[n], int(mode, 8)) for n, mode, path in rows}


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is missing: run `sudo bash tests/setup-system.sh`")
    return path


# -- the script ------------------------------------------------------------------------------
@pytest.mark.parametrize("key", EXPORT_KEYS)
def test_script_is_shellcheck_clean_for_every_linux_os(tmp_path, key):
    script = tmp_path / "clb-wizard-lo.sh"
    script.write_text(script_for(key))
    result = subprocess.run([need("shellcheck"), "-s", "sh", str(script)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    for shell in ("sh", "dash"):
        if shutil.which(shell):
            assert subprocess.run([shell, "-n", str(script)]).returncode == 0
    text = script.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert not re.search(r"^\s*local\s", text, re.M), "local is not POSIX"
    assert not re.search(r"(^|\s)\[\[ ", text), "[[ is not POSIX"


@pytest.mark.parametrize("name", ("prelude.sh", *LIBRARY))
def test_each_library_file_is_shellcheck_clean_on_its_own(tmp_path, name):
    path = tmp_path / name
    path.write_text(library_file(name))
    result = subprocess.run([need("shellcheck"), "-s", "sh", str(path)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout
    assert subprocess.run([need("dash"), "-n", str(path)]).returncode == 0


@pytest.mark.parametrize("key", ["debian-12", "centos-7", "ubuntu-22.04", "rocky-9"])
def test_script_is_data_then_the_library_as_shipped(key):
    """No string surgery: every library file appears in the script byte for byte, after
    the data section, in LIBRARY's order."""
    script = script_for(key)
    data_end = script.index(library_file(LIBRARY[0]))
    positions = [script.index(library_file(name)) for name in LIBRARY]
    assert positions == sorted(positions)
    assert "clb_step_table() {" in script[:data_end]
    assert script.endswith('clb_main "$@"\n')


@pytest.mark.parametrize("key", EXPORT_KEYS)
def test_script_files_are_the_engines_plan_byte_for_byte(tmp_path, key):
    """The files the script writes are those `clb-wizard plan` writes on a stock host."""
    root = make_root(tmp_path, key)
    plan = prepare_plan(Runner(root=root), Options(vips=VIPS))
    planned = {c.path: (c.after, c.mode) for c in plan.files if c.path != SYSCTL_PATH}
    profile = build_profile(stock(key), VIPS)
    if profile.source_main in planned:  # the admin's file: the script appends the line
        main_after, _ = planned.pop(profile.source_main)
        assert main_after == read(root, profile.source_main) + profile.source_append
    if profile.block_path:  # the admin's file: the script puts our block at its end
        block_after, _ = planned.pop(profile.block_path)
        assert block_after == read(root, profile.block_path) + profile.block_text
    assert script_files(script_for(key)) == planned


def test_script_adds_the_engines_source_line(tmp_path):
    root = make_root(tmp_path, "debian-12")
    write(root, "/etc/network/interfaces", "auto lo\niface lo inet loopback")  # no newline
    plan = prepare_plan(Runner(root=root), Options(vips=VIPS))
    main_after = next(c.after for c in plan.files if c.path == "/etc/network/interfaces")
    profile = build_profile(stock("debian-12"), VIPS)
    # the script writes: old content + a newline when it lacks one + the engine's lines
    assert main_after == "auto lo\niface lo inet loopback\n" + profile.source_append


def stock_and_after(platform):
    """A stock host's files (as the exports assume them) and the engine's for VIPS."""
    method = get_method(platform.method)
    base = dict(method.stock_files(release_of(platform)))
    return base, {**base, **method.render(RenderInput(VIPS, base, platform)).files}


NEW_FAMILIES = ["amzn-2023", "alpine-3", "arch", "openeuler-22", "sles-16"]


@pytest.mark.parametrize("key", ["debian-12", "ubuntu-22.04", "ubuntu-18.04", "rocky-9",
                                 "rocky-9.1", "centos-7", "rocky-8", *NEW_FAMILIES])
def test_run_time_conditions_select_the_engines_commands(key):
    """For every set of live VIPs, with or without a file change, the steps the script and
    playbook run are exactly the commands method.transition returns."""
    platform = stock(key)
    method = get_method(platform.method)
    profile = build_profile(platform, VIPS)
    base, after = stock_and_after(platform)
    for changed in (False, True):
        for n in range(len(VIPS) + 1):
            for live in itertools.combinations(VIPS, n):
                before = base if changed else after
                engine = method.transition(TransitionInput(before, after, platform, set(live)))
                chosen = [s.argv for s in profile.activate
                          if s.always or (s.on_change and changed)
                          or any(v not in live for v in s.vips)]
                assert chosen == [c.argv for c in engine.activate], (changed, live)
                assert [s.argv for s in profile.prepare if not s.always] == [
                    c.argv for c in engine.prepare]


@pytest.mark.parametrize("key", ["debian-12", "rocky-9.1", "centos-7", "ubuntu-22.04",
                                 "rocky-9", *NEW_FAMILIES])
def test_undo_keeps_a_vip_that_was_there_before(key):
    platform = stock(key)
    method = get_method(platform.method)
    profile = build_profile(platform, VIPS)
    base, after = stock_and_after(platform)
    for kept in VIPS:
        engine = method.transition(TransitionInput(after, base, platform, set(VIPS), {kept}))
        chosen = [s.argv for s in profile.undo_prepare + profile.undo_activate
                  if not s.vips or any(v != kept for v in s.vips)]
        assert chosen == [c.argv for c in engine.prepare + engine.activate]


@pytest.mark.parametrize("key", ["debian-12", "rocky-9.1", "centos-7", "ubuntu-22.04",
                                 "rocky-9", *NEW_FAMILIES])
def test_pairs_awk_reads_our_files_as_pairs_of(tmp_path, key):
    profile = build_profile(stock(key), VIPS)
    paths = []
    for n, f in enumerate(profile.files):
        paths.append(tmp_path / f"f{n}")
        paths[-1].write_text(f.content)
    out = subprocess.run([need("awk"), library_file("pairs.awk"), *map(str, paths)],
                         capture_output=True, text=True, check=True).stdout
    assert [tuple(line.split()) for line in out.splitlines()] == list(profile.pairs)
    assert [vip for _, vip in profile.pairs] == list(VIPS)
    if profile.method in ("ifupdown", "ifcfg", "systemd-unit"):
        assert [label for label, _ in profile.pairs] == ["1", "2", "3"]


def test_retiring_comes_from_the_engine():
    ifupdown = build_profile(stock("debian-12"), VIPS)
    assert [t.argv for t in ifupdown.retire] == [("ifdown", "--force", "lo:{label}")]
    netplan = build_profile(stock("ubuntu-22.04"), VIPS)
    assert [t.argv for t in netplan.retire] == [("ip", "addr", "del", "{vip}/32", "dev", "lo")]
    ifcfg = build_profile(stock("centos-7"), VIPS)
    assert ifcfg.stale_glob == "/etc/sysconfig/network-scripts/ifcfg-lo:*"
    # a VIP equal to the stand-in still works
    odd = build_profile(stock("debian-12"), ("192.0.2.254",))
    assert [t.argv for t in odd.retire] == [("ifdown", "--force", "lo:{label}")]


def test_pairs_of_skips_loopback_and_netmask():
    text = "address 127.0.0.1\nnetmask 255.255.255.255\niface lo:4 inet static\naddress 10.1.2.3\n"
    assert pairs_of([text]) == [("4", "10.1.2.3")]


def test_windows_has_no_script():
    with pytest.raises(ExportError):
        build_profile(stock("windows"), VIPS)


# -- the playbook ----------------------------------------------------------------------------
def _jinja_choose(release: str, family: str, stack: dict) -> str:
    return _CHOOSE.render(clb_release=release, clb_family=family, clb_stack=stack)


_CHOOSE = jinja2.Environment().from_string(choose_method())
_FLAGS = ("netplan", "netplan_configured", "ifupdown", "ifupdown_ng", "wicked",
          "network_scripts", "systemd", "networkd_enabled")


@pytest.mark.parametrize("key", ["centos-7", "rocky-8", "rocky-9", "rocky-10", "openeuler-22",
                                 "amzn-2023", "debian-12", "ubuntu-22.04", "sles-15",
                                 "alpine-3", "arch", "", "unlisted-suse", "unlisted-linux"])
def test_playbook_chooses_the_method_as_the_engine_on_every_combination(key):
    """Every combination of the stack facts the play reads, on known releases and on
    releases the table lacks (clb_release ''), as the engine's own chooser."""
    if key.startswith("unlisted-") or not key:
        family = key.removeprefix("unlisted-") or "rhel"
        release = ""
    else:
        family, release = KNOWN_RELEASES[key].family, key
    checked = 0
    for values in itertools.product((False, True), repeat=len(_FLAGS)):
        for nm in (None, "1.40.0", "1.48.10"):
            stack = dict(zip(_FLAGS, values))
            renderer = "networkd" if stack["netplan_configured"] else None
            engine_stack = NetworkStack(**stack, networkmanager=nm is not None,
                                        nm_version=nm, netplan_renderer=renderer)
            engine_release = KNOWN_RELEASES[release] if release else Release(
                "unlisted", "unlisted", family,
                installable=("network-scripts",) if stack["network_scripts"] else ())
            try:
                expected = choose(engine_release, engine_stack).method
            except PlatformError:
                expected = "none"
            nm_ok = nm is not None and nm >= "1.42"
            assert _jinja_choose(release, family, {**stack, "nm_ok": nm_ok}) == expected, (
                key, stack, nm)
            checked += 1
    assert checked == 2 ** len(_FLAGS) * 3


def test_playbook_chooses_the_variant_as_the_engine_for_every_release_and_method():
    """The play's variant (generated from Method.variant) against the engine's own
    platforms: every stock release, with each Linux method it accepts (--method)."""
    template = jinja2.Environment().from_string(CHOOSE_VARIANT)
    seen = set()
    for key in PLAYBOOK_KEYS:
        for name in LINUX_METHODS:
            try:
                platform = with_method(stock(key), name)
            except PlatformError:
                continue
            stack = platform.stack
            jinja_stack = {"network_scripts": stack.network_scripts,
                           "networkd_reconfigure": (stack.networkd_version or 0) >= 244}
            expected = get_method(name).variant(platform)
            assert template.render(clb_method=name, clb_stack=jinja_stack) == expected, (
                key, name)
            seen.add(expected)
    assert {"ifcfg", "ifcfg-install", "netplan", "netplan-legacy", "networkd",
            "networkd-legacy", "networkmanager", "ifupdown"} <= seen


@pytest.mark.parametrize("group", sorted(STACK_PROBES))
def test_stack_probes_are_the_paths_detect_stack_reads(tmp_path, group):
    attribute = {"netplan": "netplan", "network_scripts": "network_scripts",
                 "networkmanager": "networkmanager", "networkd": "systemd",
                 "systemd": "systemd", "ifup": "ifupdown", "interfaces": "ifupdown",
                 "networkd_enabled": "networkd_enabled", "ifupdown_ng": "ifupdown_ng",
                 "wicked": "wicked", "wicked_enabled": "wicked"}[group]
    needs = {"networkd_enabled": "networkd", "ifupdown_ng": "interfaces",
             "wicked": "wicked_enabled", "wicked_enabled": "wicked"}  # only both count
    for n, path in enumerate(STACK_PROBES[group]):
        root = tmp_path / f"{group}-{n}"
        write(root, path, "#!/bin/sh\n", 0o755)
        if attribute == "ifupdown":  # needs both ifup and the interfaces file
            other = "interfaces" if group == "ifup" else "ifup"
            write(root, STACK_PROBES[other][0], "#!/bin/sh\n", 0o755)
        if group in needs:
            write(root, STACK_PROBES[needs[group]][0], "#!/bin/sh\n", 0o755)
        assert getattr(detect_stack(Runner(root=root)), attribute) is True, path
    empty = tmp_path / "empty"
    empty.mkdir()
    assert getattr(detect_stack(Runner(root=empty)), attribute) is False


def load(text: str):
    return yaml.load(text, Loader=UnsafeLoader)


def test_playbook_files_are_the_engines_and_it_passes_syntax_check(tmp_path):
    text = render_playbook(VIPS)
    play = load(text)[0]
    profiles = play["vars"]["clb_profiles"]
    assert set(profiles) == {"ifupdown", "netplan", "netplan-legacy", "networkmanager",
                             "systemd-unit", "ifcfg", "ifcfg-install", "networkd",
                             "networkd-legacy", "ifupdown-ng"}
    assert all(profile.key == key for key, profile in profiles_for(VIPS).items())
    for key, profile in profiles_for(VIPS).items():
        written = {f["path"]: (f["content"], f["mode"]) for f in profiles[key]["files"]}
        assert written == {f.path: (f.content, f"{f.mode:04o}") for f in profile.files}
    # file contents and shell programs are never templated by Ansible
    assert "content: !unsafe |" in text and "inspect_sh: !unsafe |" in text
    for difference in DIFFERENCES:
        assert difference.split()[0] in text
    path = tmp_path / "clb-wizard-lo.yml"
    path.write_text(text)
    result = subprocess.run([need("ansible-playbook"), "--syntax-check", "-i", "localhost,",
                             str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_playbook_with_os_carries_one_variant_and_expects_its_method():
    play = playbook_data(VIPS, platform=stock("ubuntu-18.04"))[0]
    assert list(play["vars"]["clb_profiles"]) == ["netplan-legacy"]
    assert play["vars"]["clb_expect_method"] == "netplan"
    assert play["vars"]["clb_pin_method"] == ""
    forced = playbook_data(VIPS, method="systemd-unit")[0]
    assert forced["vars"]["clb_pin_method"] == "systemd-unit"
    assert list(forced["vars"]["clb_profiles"]) == ["systemd-unit"]


def test_playbook_uses_builtin_modules_only():
    def modules(tasks):
        for task in tasks:
            if "block" in task:
                for part in ("block", "rescue", "always"):
                    yield from modules(task.get(part, ()))
                continue
            yield next(k for k in task if k.startswith("ansible."))

    used = set(modules(playbook_data(VIPS)[0]["tasks"]))
    assert used and all(m.startswith("ansible.builtin.") for m in used)
    assert {"ansible.builtin.copy", "ansible.builtin.assert",
            "ansible.builtin.command"} <= used


# -- the CLI ---------------------------------------------------------------------------------
def test_cli_export_script_and_playbook(tmp_path, capsys):
    assert main(["export", "--format", "script", "--os", "centos-7", "--vip", VIP1,
                 "--output", str(tmp_path / "out")]) == 0
    script = tmp_path / "out" / "clb-wizard-lo.sh"
    assert script.stat().st_mode & 0o777 == 0o755
    assert "variant ifcfg" in script.read_text()
    assert main(["export", "--format", "ansible", "--vip", VIP1]) == 0
    assert capsys.readouterr().out.startswith("---\n# clb-wizard:")


@pytest.mark.parametrize("argv,message", [
    (["export", "--format", "script", "--vip", VIP1], "needs --os"),
    (["export", "--format", "script", "--os", "windows", "--vip", VIP1], "PowerShell"),
    (["export", "--format", "ansible"], "No VIP given"),
    (["export", "--format", "ansible", "--vip", "10.0.0.1", "--type", "external"],
     "--force"),
    (["export", "--format", "script", "--os", "plan9-1", "--vip", VIP1], "Unsupported OS"),
])
def test_cli_export_refuses_bad_input(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_playbook_batches_are_options_with_safe_defaults():
    play = playbook_data(VIPS)[0]
    assert play["serial"] == "{{ clb_serial }}"
    assert play["max_fail_percentage"] == "{{ clb_max_fail_percentage }}"
    assert play["vars"]["clb_serial"] == 1 and play["vars"]["clb_max_fail_percentage"] == 0
    assert play["vars"]["clb_remove_others"] is False
    assert play["vars"]["clb_arp_sysctls"] is False
    header = render_playbook(VIPS).split("\n- name:", 1)[0]
    for option in ("clb_serial=N or N%", "clb_max_fail_percentage=P", "clb_remove_others=true",
                   "clb_arp_sysctls=true"):
        assert option in header


def test_decision_leaves_out_facts_that_make_no_difference():
    from clb_wizard.export.choice import by_condition, decision

    tree = decision(("a", "b"), lambda f: "x" if f["a"] else "y", "s")
    assert tree == "{% if s.a %}x{% else %}y{% endif %}"
    both = decision(("a", "b"), lambda f: "x" if f["a"] and f["b"] else "y", "s")
    env = jinja2.Environment()
    for a, b in itertools.product((True, False), repeat=2):
        assert env.from_string(both).render(s={"a": a, "b": b}) == (
            "x" if a and b else "y")
    grouped = by_condition({"k == 'r1'": "x", "k == 'r2'": "x", "k == 'r3'": "y"}, "none")
    assert env.from_string(grouped).render(k="r2") == "x"
    assert env.from_string(grouped).render(k="r3") == "y"
    assert env.from_string(grouped).render(k="other") == "none"


@pytest.mark.parametrize("key", EXPORT_KEYS)
def test_the_file_that_must_source_our_dropin_stays_the_admins(key):
    """ifupdown's and ifupdown-ng's interfaces file gets a source line appended; the
    export never owns it (Alpine's stock file does not read interfaces.d, and an export
    owning it refused every stock Alpine host)."""
    platform = stock(key)
    profile = build_profile(platform, VIPS)
    sourced_by = get_method(platform.method).export_hints(platform).sourced_by
    assert sourced_by not in {f.path for f in profile.files}
    if sourced_by:
        assert profile.source_main == sourced_by and "source " in profile.source_append


@pytest.mark.parametrize("key", SHARED_FILE_KEYS)
def test_the_playbook_refuses_a_block_inside_a_shipped_file(tmp_path, key):
    """The play writes whole files; our block inside the admin's ifcfg-lo (wicked) is the
    script's and the wizard's: refused with what to use instead, nothing written."""
    out = tmp_path / "play"
    result = subprocess.run([sys.executable, "-m", "clb_wizard", "export", "--format",
                             "ansible", "--os", key, "--vip", VIP1, "--output", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"export --format script --os {key}" in result.stderr, result.stderr
    assert not out.exists()
    assert build_profile(stock(key), VIPS).block_path == "/etc/sysconfig/network/ifcfg-lo"


def test_the_play_names_why_it_cannot_carry_a_hosts_method():
    """On a SUSE host with wicked the play stops before any change and says why (not
    "export it for this OS", which would not help)."""
    play = playbook_data(VIPS)[0]
    check = next(t for t in probe_and_choose() if t["name"].startswith(
        "Check that this playbook carries"))
    message = jinja2.Environment().from_string(check["ansible.builtin.assert"]["fail_msg"])
    refused = play["vars"]["clb_refused_variants"]
    assert set(refused) == {"wicked"}
    said = message.render(clb_method="wicked", clb_variant="wicked",
                          clb_refused_variants=refused, clb_profiles=play["vars"]["clb_profiles"])
    assert "a block inside /etc/sysconfig/network/ifcfg-lo" in said
    assert said.endswith("Nothing was changed.")
    other = message.render(clb_method="x", clb_variant="x", clb_refused_variants=refused,
                           clb_profiles={"ifupdown": {}})
    assert "this playbook was exported for ifupdown. Export it without --os" in other
