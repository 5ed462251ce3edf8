"""The bundle for Arm hosts: the same recipe with Debian's arm64 packages and the arm64
wheels (`build-bundle --arch aarch64`, apt's arm64 lists kept in the build cache), run
here under qemu user emulation: qemu-aarch64-static from Debian's qemu-user-static,
unpacked by tests/setup-system.sh. No binfmt_misc handler is registered (that would change
the whole machine), so a copy of the bundle gets qemu put in front of its loader in both
launchers, and the bare root holds that qemu as well (static, like its sh)."""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from tests.bundle import build, elf
from tests.bundle.conftest import Bare, Bundle, helper_env, make_bare_root
from tests.bundle.test_bare_root import PLAN, pip_wizard, same
from tests.fixtures.roots import make_root
from tests.ui.term import Terminal
from tests.ui.test_binary import walk_to_done

QEMU = build.REPO / ".cache/qemu-user/usr/bin/qemu-aarch64-static"
EXEC = 'exec "$clb_home/lib/'


@pytest.fixture(scope="module")
def arm(bundle: Bundle) -> Bundle:
    if platform.machine() != "x86_64":
        pytest.skip("on an arm64 host the other bundle tests run the arm64 bundle natively")
    if not QEMU.exists():
        pytest.fail(f"missing {QEMU}: run `sudo bash tests/setup-system.sh`")
    return Bundle(build.run_file("aarch64"), build.tarball("aarch64"),
                  build.unpacked("aarch64"))


@pytest.fixture
def arm_bare(arm: Bundle, tmp_path: Path) -> Bare:
    """A bare root with qemu at /qemu-aarch64-static and a copy of the arm64 bundle whose
    launchers run their loader through it."""
    copy = tmp_path / "copy" / arm.name
    shutil.copytree(arm.folder, copy, symlinks=True)
    for launcher in (copy / "clb-wizard", copy / "bin/python3"):
        text = launcher.read_text()
        assert text.count(EXEC) == 1
        launcher.write_text(text.replace(EXEC, 'exec /qemu-aarch64-static "$clb_home/lib/'))
    root = make_bare_root(tmp_path / "bare")
    shutil.copy2(QEMU, root / "qemu-aarch64-static")
    return Bare(root, Bundle(arm.run, arm.tarball, copy))


def test_arm64_files_size_and_every_elf_inside(arm: Bundle) -> None:
    for path in (arm.run, arm.tarball):
        digest, _ = path.with_name(path.name + ".sha256").read_text().split()
        assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert arm.run.stat().st_size <= 20 * 1000 * 1000, arm.run.stat().st_size
    manifest = json.loads((arm.folder / "clb-wizard-bundle.json").read_text())
    assert manifest["arch"] == "aarch64"
    assert {d["architecture"] for d in manifest["debian"]} == {"arm64"}
    machines = set()
    for path in elf.elf_files(arm.folder):
        with path.open("rb") as fh:
            machines.add(ELFFile(fh)["e_machine"])
    assert machines == {"EM_AARCH64"}
    assert elf.audit(arm.folder) == []
    assert elf.links_out(arm.folder) == []


def test_arm64_cli_under_qemu_answers_as_the_pip_install(arm_bare: Bare) -> None:
    bare = arm_bare
    make_root(bare.root, "centos-7", name="preview")
    for args in (["--help"], list(PLAN), ["detect", "--root", "/preview"]):
        host_args = [str(bare.path(a)) if a == "/preview" else a for a in args]
        same(bare.run(bare.launcher, *args), pip_wizard(*host_args, cwd=bare.root))
    shown = bare.run(bare.launcher, "--version").stdout.splitlines()
    assert shown[1].startswith("portable bundle for linux-aarch64, built ")
    assert shown[2].startswith("Python 3.11.") and shown[3].startswith("C library glibc 2.36")
    names = [p.name.split(".")[0]
             for p in (bare.bundle.folder / "lib/python3.11/lib-dynload").glob("*.so")]
    loaded = bare.run(f"/{bare.bundle.name}/bin/python3", "-c",
                      "import importlib, sys, ssl, yaml._yaml, charset_normalizer.md\n"
                      "for n in sys.argv[1:]: importlib.import_module(n)\n"
                      "print(len(ssl.RAND_bytes(8)), yaml._yaml.__name__)", *names)
    assert loaded.stdout == "8 yaml._yaml\n", loaded.stderr


def test_arm64_tui_under_qemu_walks_a_dry_run_to_done(arm_bare: Bare) -> None:
    make_root(arm_bare.root, "ubuntu-22.04", name="preview")
    term = Terminal(arm_bare.argv([arm_bare.launcher, "--root", "/preview", "--os",
                                   "ubuntu-22.04"]), helper_env())
    try:
        walk_to_done(term)
        assert term.finish() == 0
    finally:
        term.close()


def test_arm64_run_file_installs_and_uninstalls(arm_bare: Bare) -> None:
    """The .run's own part is the host's sh (any architecture); the wizard it installs
    would start only on an Arm host, so here it is installed and removed, not started."""
    bare = arm_bare
    run = bare.put_run_file()
    before = bare.listing()
    installed = bare.run("/bin/sh", run, "--install-only")
    assert installed.returncode == 0, installed.stderr
    assert bare.path("/usr/local/sbin/clb-wizard").readlink().parts[1:3] == ("opt",
                                                                             "clb-wizard")
    assert bare.run("/bin/sh", run, "--uninstall").returncode == 0
    assert bare.listing() == before
