"""A root tool people can trust: run as root, the launcher refuses a bundle that another
user owns or can change (and a folder above it that they can), naming what and saying how
to fix it; no LD_*, PYTHON* or GLIBC_TUNABLES variable reaches the bundle's Python or any
program it runs; Python is isolated (-I: no cwd, no PYTHONPATH, no user site); nothing is
ever written into the bundle; and a user without root can run it from anywhere."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bundle.conftest import Bundle, inside_env
from tests.ui.term import installed_wizard

NOBODY = 65534
PLAN = ("plan", "--os", "centos-7", "--vip", "192.0.2.10")
# Host libraries by these would show in the bundle's Python's memory map; the others would
# change what Python does. (Only what the host's own sh and tools, which see them first,
# take without a word.)
HOST_LIBS = f"/lib/{os.uname().machine}-linux-gnu"
HOSTILE_ENV = {
    "LD_PRELOAD": f"{HOST_LIBS}/libz.so.1", "LD_LIBRARY_PATH": f"{HOST_LIBS}:/usr{HOST_LIBS}",
    "LD_BIND_NOT": "1", "GLIBC_TUNABLES": "glibc.malloc.check=3",
    "PYTHONPATH": "/nonexistent", "PYTHONHOME": "/nonexistent",
    "PYTHONSTARTUP": "/nonexistent/startup.py", "PYTHONINSPECT": "1", "PYTHONWARNINGS": "error",
    "CLB_TEST_KEPT": "yes",
}


def copy_of(bundle: Bundle, where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    copy = where / bundle.name
    shutil.copytree(bundle.folder, copy, symlinks=True)
    return copy


def run(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
        **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, env=inside_env(env),
                          cwd=cwd or "/", timeout=120, **kwargs)


def tree(folder: Path) -> dict[str, tuple]:
    return {str(p.relative_to(folder)): (p.lstat().st_mode, p.lstat().st_size,
                                          p.lstat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


TAMPERED: dict[str, Callable[[Path], list[Path]]] = {
    "a file another user owns": lambda b: [_chown(b / "lib/python3.11/os.py")],
    "a group-writable library": lambda b: [_chmod(next(b.glob("lib/*-linux-gnu/libc.so.6")),
                                                  0o775)],
    "a world-writable folder": lambda b: [_chmod(b / "lib/python3/dist-packages/clb_wizard",
                                                 0o777)],
    "a FIFO": lambda b: [_fifo(b / "lib/python3/dist-packages/clb_wizard/pipe")],
    "a folder above it, writable by all": lambda b: [_chmod(b.parent, 0o777)],
    "a folder above it, another user's": lambda b: [_chown(b.parent)],
    "a folder above and a file inside": lambda b: [_chmod(b.parent, 0o777),
                                                   _chown(b / "libexec/python3.11")],
}


def _chown(path: Path) -> Path:
    os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
    return path


def _chmod(path: Path, mode: int) -> Path:
    path.chmod(mode)
    return path


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("how", TAMPERED)
def test_root_refuses_a_bundle_others_can_change(how: str, bundle: Bundle,
                                                 tmp_path: Path) -> None:
    copy = copy_of(bundle, tmp_path / "opt")
    culprits = TAMPERED[how](copy)
    link = tmp_path / "sbin" / "clb-wizard"  # and through a link, as /usr/local/sbin's
    link.parent.mkdir()
    link.symlink_to(copy / "clb-wizard")
    for launcher in (copy / "clb-wizard", copy / "bin/python3", link):
        result = run([str(launcher), *(["-c", "print('ran')"] if "python" in launcher.name
                                       else PLAN)])
        assert result.returncode == 2, (launcher, result.stdout, result.stderr)
        assert result.stdout == ""  # nothing of the bundle ran
        assert "refusing to run as root" in result.stderr
        for culprit in culprits:  # each named, on its own line, as ls -ldn shows it
            assert f" {culprit}\n" in result.stderr, result.stderr
        assert f"chown -R root:root {copy}" in result.stderr


def test_root_runs_it_under_a_sticky_folder_all_can_write(bundle: Bundle, tmp_path: Path) -> None:
    shared = tmp_path / "tmp"  # like /tmp: root's, 1777
    shared.mkdir()
    shared.chmod(0o1777)
    copy = copy_of(bundle, shared / "root-s")
    result = run([str(copy / "clb-wizard"), *PLAN])
    assert result.returncode == 0 and result.stdout.startswith("Host: CentOS 7"), result.stderr


def test_no_loader_or_python_variable_reaches_python_or_its_programs(bundle: Bundle,
                                                                     tmp_path: Path) -> None:
    probe = ("import json, os, sys\n"
             "maps = {l.split()[-1] for l in open('/proc/self/maps') if '.so' in l}\n"
             "print(json.dumps({'env': dict(os.environ), 'maps': sorted(maps),"
             " 'isolated': sys.flags.isolated, 'no_bytecode': sys.flags.dont_write_bytecode,"
             " 'path': sys.path, 'executable': sys.executable}))")
    result = run([str(bundle.folder / "bin/python3"), "-c", probe], HOSTILE_ENV)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert not [k for k in seen["env"] if k.startswith(("LD_", "PYTHON", "GLIBC_"))], seen["env"]
    assert seen["env"]["CLB_TEST_KEPT"] == "yes"
    folder = str(bundle.folder)
    assert seen["maps"] and all(m.startswith(folder + "/") for m in seen["maps"]), seen["maps"]
    assert (seen["isolated"], seen["no_bytecode"]) == (1, 1)
    assert all(p.startswith(folder + "/") for p in seen["path"]), seen["path"]
    assert seen["executable"] == f"{folder}/bin/python3"

    # the programs the wizard runs (detect asks networkctl, nmcli, systemctl...)
    shims = tmp_path / "shims"
    shims.mkdir()
    for tool in ("ip", "networkctl", "nmcli", "systemctl", "ifquery", "netplan"):
        shim = shims / tool
        shim.write_text(f"#!/bin/sh\nenv > {tmp_path}/env.{tool}\nexit 1\n")
        shim.chmod(0o755)
    env = {**HOSTILE_ENV, "PATH": f"{shims}:{inside_env()['PATH']}"}
    run([str(bundle.folder / "clb-wizard"), "detect"], env)
    dumps = list(tmp_path.glob("env.*"))
    assert dumps, "detect ran none of the shimmed tools"
    for dump in dumps:
        names = [line.split("=", 1)[0] for line in dump.read_text().splitlines()]
        assert not [n for n in names if n.startswith(("LD_", "PYTHON", "GLIBC_"))], dump


def test_planted_modules_in_the_cwd_and_on_pythonpath_are_never_imported(bundle: Bundle,
                                                                          tmp_path: Path) -> None:
    planted = tmp_path / "planted"
    planted.mkdir()
    marker = tmp_path / "imported"
    for module in ("json", "argparse", "textual", "clb_wizard", "sitecustomize",
                   "usercustomize", "encodings"):
        (planted / f"{module}.py").write_text(
            f"open({str(marker)!r}, 'a').write({module!r} + '\\n')\n")
    for args in (["--version"], list(PLAN), ["--help"]):
        result = run([str(bundle.folder / "clb-wizard"), *args],
                     {"PYTHONPATH": str(planted), "PYTHONUSERBASE": str(planted)}, cwd=planted)
        assert result.returncode == 0, result.stderr
    assert not marker.exists(), marker.read_text()


def test_nothing_is_written_into_the_bundle(bundle: Bundle, tmp_path: Path) -> None:
    """Run from a writable copy (not the read-only bind of the bare roots): every command
    and an import of every module of clb_wizard and Textual leave it as it was."""
    copy = copy_of(bundle, tmp_path / "opt")
    before = tree(copy)
    for args in (["--help"], ["--version"], list(PLAN), ["detect"],
                 ["userdata", "--os", "ubuntu-22.04", "--vip", "192.0.2.10"]):
        run([str(copy / "clb-wizard"), *args])
    imported = run([str(copy / "bin/python3"), "-c",
                    "import pkgutil, importlib, clb_wizard\n"
                    "for m in pkgutil.walk_packages(clb_wizard.__path__, 'clb_wizard.'):\n"
                    "    if not m.name.endswith('__main__'): importlib.import_module(m.name)\n"
                    "import textual.app, rich.syntax, rich.traceback, yaml, netaddr, distro\n"
                    "import pexpect, requests, ucloud.core.client, pygments.lexers.diff\n"
                    "print('ok')"])
    assert imported.stdout.strip() == "ok", imported.stderr[-2000:]
    assert tree(copy) == before


def test_a_user_without_root_runs_it_from_a_folder_of_their_own(bundle: Bundle) -> None:
    home = Path(tempfile.mkdtemp(prefix="clb-bundle-user."))  # where a user may write
    try:
        home.chmod(0o1777)
        as_nobody = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                     "--"]
        with bundle.tarball.open("rb") as archive:  # (the checkout may be root's only)
            unpacked = run([*as_nobody, "tar", "-xJf", "-", "-C", str(home)], stdin=archive)
        assert unpacked.returncode == 0, unpacked.stderr
        folder = home / bundle.name
        assert folder.stat().st_uid == NOBODY
        result = run([*as_nobody, str(folder / "clb-wizard"), *PLAN])
        pip = run([*installed_wizard(), *PLAN])
        assert result.returncode == 0, result.stderr
        assert (result.stdout, result.stderr) == (pip.stdout, pip.stderr)
        refused = run([str(folder / "clb-wizard"), *PLAN])  # and root will not run their copy
        assert refused.returncode == 2 and "refusing to run as root" in refused.stderr
    finally:
        shutil.rmtree(home, ignore_errors=True)
