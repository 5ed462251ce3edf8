"""The bundle in a root that holds nothing but it and a static /bin/sh (no C library, no
Python, no /usr), with today's kernel and under the old-kernel simulation (Linux 3.10's
system calls, an old uname): the CLI answers byte for byte as the pip install does, the
TUI walks a dry run to its end on a Linux console, and the .run file installs, runs and
uninstalls itself."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from elftools.elf.elffile import ELFFile

from tests.bundle.conftest import Bare, helper_env, inside_env
from tests.bundle.elf import is_elf
from tests.fixtures.roots import make_root
from tests.ui.conftest import CONSOLE_GLYPHS
from tests.ui.term import Terminal, installed_wizard
from tests.ui.test_binary import walk_to_done

PLAN = ("plan", "--os", "centos-7", "--vip", "192.0.2.10")


def pip_wizard(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The pip install's `clb-wizard` (this checkout in .venv), with the same environment."""
    env = inside_env({"PATH": f"{Path(installed_wizard()[0]).parent}:{inside_env()['PATH']}"})
    return subprocess.run([*installed_wizard(), *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def same(bundled: subprocess.CompletedProcess, pip: subprocess.CompletedProcess) -> None:
    assert (bundled.returncode, bundled.stdout, bundled.stderr) == \
        (pip.returncode, pip.stdout, pip.stderr)


def test_the_root_has_no_c_library_and_no_python(bare: Bare) -> None:
    elfs = [p for p in bare.root.rglob("*") if is_elf(p)]
    assert [p.relative_to(bare.root) for p in elfs] == [Path("bin/busybox")]
    with elfs[0].open("rb") as fh:
        elf = ELFFile(fh)
        assert not any(s.header.p_type == "PT_INTERP" for s in elf.iter_segments())
        assert elf.get_section_by_name(".dynamic") is None  # static: no libc to load
    assert not list(bare.root.rglob("*python*"))
    listed = bare.sh("ls /; ls /lib /usr /lib64 2>&1; command -v python3 || echo no python3")
    assert "No such file or directory" in listed.stdout and "no python3" in listed.stdout
    assert bare.bundle.name in listed.stdout.split()


def test_help_plan_detect_answer_as_the_pip_install(bare: Bare) -> None:
    make_root(bare.root, "centos-7", name="preview")
    for args in (["--help"], list(PLAN), ["plan", "--help"], ["detect", "--root", "/preview"],
                 ["detect"]):
        host_args = [str(bare.path(a)) if a == "/preview" else a for a in args]
        if args == ["detect"]:  # the bare root itself: no os-release, the same refusal
            host_args = ["detect", "--root", str(bare.root)]
        bundled = bare.run(bare.launcher, *args)
        pip = pip_wizard(*host_args, cwd=bare.root)
        if args == ["detect"]:
            pip.stderr = pip.stderr.replace(str(bare.root), "")
            assert "Cannot tell the OS" in bundled.stderr
        same(bundled, pip)


def test_version_names_the_bundled_runtime(bare: Bare) -> None:
    shown = bare.run(bare.launcher, "--version")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == pip_wizard("--version", cwd=bare.root).stdout.strip()
    assert lines[1].startswith("portable bundle for linux-") and f"/{bare.bundle.name}" in lines[1]
    assert lines[2].startswith("Python 3.11.") and "(Debian python3.11-minimal 3.11." in lines[2]
    assert lines[3].startswith("C library glibc 2.36 (Debian libc6 2.36-")
    assert lines[4].startswith("OpenSSL 3.0.") and "(Debian libssl3 3.0." in lines[4]


def test_bin_python3_takes_python_arguments_and_the_c_library_its_files(bare: Bare) -> None:
    """As the fleet's Ansible uses it (-c, a script, - for stdin), and NSS through the
    bundled glibc's built-in files and dns modules (the root's own /etc)."""
    python = f"/{bare.bundle.name}/bin/python3"
    (bare.root / "etc").mkdir()
    (bare.root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (bare.root / "etc/group").write_text("root:x:0:\n")
    (bare.root / "etc/hosts").write_text("192.0.2.7 api.example.test\n")
    (bare.root / "etc/nsswitch.conf").write_text("passwd: files\ngroup: files\nhosts: files dns\n")
    (bare.root / "script.py").write_text("import sys\nprint('script', sys.argv[1:])\n")
    probe = ("import grp, pwd, socket\n"
             "print(pwd.getpwuid(0).pw_name, grp.getgrgid(0).gr_name,"
             " socket.gethostbyname('api.example.test'))\n")
    assert bare.run(python, "-c", probe).stdout == "root root 192.0.2.7\n"
    assert bare.run(python, "/script.py", "a", "b").stdout == "script ['a', 'b']\n"
    assert bare.run(python, "-", input=probe).stdout == "root root 192.0.2.7\n"


def test_the_tui_walks_a_dry_run_to_done_on_a_linux_console(bare: Bare) -> None:
    make_root(bare.root, "ubuntu-22.04", name="preview")
    argv = bare.argv([bare.launcher, "--root", "/preview", "--os", "ubuntu-22.04"])
    term = Terminal(argv, helper_env())
    try:
        walk_to_done(term)
        assert term.finish() == 0
    finally:
        term.close()
    # what stays on the terminal after quitting, as from a pip install (test_binary)
    assert term.printed_after_exit[0] == "Dry run finished: nothing was changed."
    unknown = {ch for screen in term.screens for ch in screen.replace("\n", "")}
    assert unknown - CONSOLE_GLYPHS == set()


def test_run_file_installs_runs_and_uninstalls(bare: Bare) -> None:
    run = bare.put_run_file()
    before = bare.listing()

    installed = bare.run("/bin/sh", run, "--install-only")
    assert installed.returncode == 0, installed.stderr
    version = bare.bundle.name.removeprefix("clb-wizard-")
    target = bare.path(f"/opt/clb-wizard/{version}")
    assert (bare.path("/usr/local/sbin/clb-wizard").readlink()
            == Path(f"/opt/clb-wizard/{version}/clb-wizard"))
    for path in [target, *target.rglob("*")]:
        st = path.lstat()
        assert (st.st_uid, st.st_gid) == (0, 0), path
        assert path.is_symlink() or st.st_mode & 0o022 == 0, path
    assert oct(target.stat().st_mode & 0o7777) == "0o755"

    through_link = bare.run("clb-wizard", *PLAN)
    same(through_link, pip_wizard(*PLAN, cwd=bare.root))
    # a copy of the .run file is kept beside the install, and the playbook export made by
    # the installed wizard puts it beside the play without being told where it is
    kept = bare.path(f"/opt/clb-wizard/{bare.bundle.run.name}")
    assert kept.read_bytes() == bare.bundle.run.read_bytes()
    assert kept.stat().st_mode & 0o7777 == 0o644 and kept.stat().st_uid == 0
    bare.path("/play").mkdir(mode=0o700)
    exported = bare.run("clb-wizard", "export", "--format", "ansible", "--vip", "192.0.2.10",
                        "--output", "/play")
    assert exported.returncode == 0, exported.stderr
    assert bare.path(f"/play/{bare.bundle.run.name}").read_bytes() == kept.read_bytes()
    for name in [p.name for p in bare.path("/play").iterdir()]:
        bare.path(f"/play/{name}").unlink()
    bare.path("/play").rmdir()
    installed_state = bare.listing()
    again = bare.run("/bin/sh", run, "--install-only")
    assert again.returncode == 0 and "already installed and intact" in again.stderr, again.stderr
    assert bare.listing() == installed_state  # nothing touched

    # without an option: installs (already there) and starts the wizard with the arguments
    same(bare.run("/bin/sh", run, *PLAN), pip_wizard(*PLAN, cwd=bare.root))

    removed = bare.run("/bin/sh", run, "--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert bare.listing() == before  # exactly what it installed, folders it made included


def test_a_damaged_install_is_replaced(bare_today: Bare) -> None:
    bare = bare_today
    run = bare.put_run_file()
    assert bare.run("/bin/sh", run, "--install-only").returncode == 0
    version = bare.bundle.name.removeprefix("clb-wizard-")
    victim = bare.path(f"/opt/clb-wizard/{version}/lib/python3/dist-packages/clb_wizard/vips.py")
    victim.write_text(victim.read_text() + "\nraise SystemExit('tampered')\n")
    repaired = bare.run("/bin/sh", run, "--install-only")
    assert repaired.returncode == 0 and "changed or damaged: replacing it" in repaired.stderr
    assert "tampered" not in victim.read_text()
    checked = bare.sh(f"cd /opt/clb-wizard/{version} && sha256sum -c SHA256SUMS >/dev/null")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert not list(bare.path("/opt/clb-wizard").glob(".install-*"))


def test_a_damaged_run_file_is_refused_and_installs_nothing(bare_today: Bare) -> None:
    data = bare_today.bundle.run.read_bytes()
    flipped = bytearray(data)
    flipped[-1000] ^= 0xFF
    for name, content, said in (("truncated.run", data[:-4096], "incomplete"),
                                ("flipped.run", bytes(flipped), "damaged")):
        run = bare_today.put_run_file(content, name)
        result = bare_today.refuses("/bin/sh", run, "--install-only", said=said)
        assert "download it again" in result.stderr


def test_a_foreign_file_at_the_link_stops_the_install(bare_today: Bare) -> None:
    run = bare_today.put_run_file()
    admin = bare_today.path("/usr/local/sbin/clb-wizard")
    admin.parent.mkdir(parents=True)
    admin.write_text("#!/bin/sh\necho the admin's own\n")
    bare_today.refuses("/bin/sh", run, "--install-only", said="move it away")


def test_uninstall_waits_for_an_unfinished_change(bare_today: Bare) -> None:
    run = bare_today.put_run_file()
    assert bare_today.run("/bin/sh", run, "--install-only").returncode == 0
    journal = bare_today.path("/var/lib/clb-wizard/journal.json")
    journal.parent.mkdir(parents=True)
    journal.write_text("{}")
    bare_today.refuses("/bin/sh", run, "--uninstall", said="a change is unfinished")


def test_with_busybox_tools_root_refuses_an_installed_bundle_others_can_change(
        bare_today: Bare) -> None:
    """The ownership check with busybox's find and ls (test_trust.py: with coreutils)."""
    run = bare_today.put_run_file()
    assert bare_today.run("/bin/sh", run, "--install-only").returncode == 0
    bare_today.path("/opt").chmod(0o777)
    version = bare_today.bundle.name.removeprefix("clb-wizard-")
    owned = bare_today.path(f"/opt/clb-wizard/{version}/lib/python3.11/os.py")
    os.chown(owned, 65534, 65534)
    result = bare_today.run("clb-wizard", "--version")
    assert result.returncode == 2 and result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert [line.split()[-1] for line in lines[1:3]] == [
        "/opt", f"/opt/clb-wizard/{version}/lib/python3.11/os.py"], result.stderr
    assert "chown -R root:root /opt/clb-wizard/" in lines[-1]
