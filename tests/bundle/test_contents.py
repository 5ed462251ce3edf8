"""What packaging/build-bundle writes: the files and their checksums, the size limit, one
folder with the launcher at its root, a manifest with every Debian package and wheel at
its exact version, the licences, what is left out, bytecode for every module, shell that
passes shellcheck, and the same file list from a second build of the same inputs."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement

from tests.bundle import build
from tests.bundle.conftest import Bare, Bundle

PACKAGING = build.REPO / "packaging" / "bundle"
MAX_RUN_BYTES = 20 * 1000 * 1000


def manifest(bundle: Bundle) -> dict:
    return json.loads((bundle.folder / "clb-wizard-bundle.json").read_text())


def pinned() -> dict[str, str]:
    """name -> version from packaging/bundle/requirements.txt."""
    text = (PACKAGING / "requirements.txt").read_text()
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M))


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_files_their_checksums_and_the_size_limit(bundle: Bundle) -> None:
    for path in (bundle.run, bundle.tarball):
        digest, name = path.with_name(path.name + ".sha256").read_text().split()
        assert name == path.name
        assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert bundle.run.stat().st_size <= MAX_RUN_BYTES, bundle.run.stat().st_size
    with tarfile.open(bundle.tarball) as tar:
        members = tar.getmembers()
    assert {m.name.split("/")[0] for m in members} == {bundle.name}
    launcher = next(m for m in members if m.name == f"{bundle.name}/clb-wizard")
    assert launcher.isfile() and launcher.mode == 0o755
    assert {(m.uid, m.gid) for m in members} == {(0, 0)}
    assert not any(m.mode & 0o022 for m in members if not m.issym())


def test_the_manifest_names_every_package_and_wheel_at_its_version(bundle: Bundle) -> None:
    found = manifest(bundle)
    listed = [w for line in (PACKAGING / "debian-packages").read_text().splitlines()
              for w in line.split("#")[0].split()]
    assert [d["package"] for d in found["debian"]] == sorted(listed)
    for deb in found["debian"]:
        assert re.fullmatch(r"[0-9a-f]{64}", deb["sha256"])
        assert deb["version"] and deb["source"] and deb["source_version"], deb
    python = next(d for d in found["debian"] if d["package"] == "python3.11-minimal")
    assert found["runtime"]["python"] == python["version"].split("-")[0]
    assert found["runtime"]["glibc"] == "2.36"
    # every wheel pinned in the repository is in the bundle at that version, and only they
    dists = {}
    for dist in (bundle.folder / "lib/python3/dist-packages").glob("*.dist-info"):
        name, version = dist.name.removesuffix(".dist-info").rsplit("-", 1)
        dists[canonical(name)] = version
    assert dists == {**pinned(), "clb-wizard": build.version()}
    assert len(found["wheels"]) == len(pinned())


def test_the_pins_satisfy_the_projects_dependencies() -> None:
    pins = pinned()
    for line in tomllib.loads((build.REPO / "pyproject.toml").read_text())[
            "project"]["dependencies"]:
        requirement = Requirement(line)
        name = canonical(requirement.name)
        assert name in pins, f"{line}: not pinned (run packaging/bundle/lock.py)"
        assert requirement.specifier.contains(pins[name], prereleases=True), (line, pins[name])


def test_licences_and_the_source_of_every_debian_binary(bundle: Bundle) -> None:
    licences = bundle.folder / "LICENSES"
    sources = (licences / "SOURCES.txt").read_text()
    for deb in manifest(bundle)["debian"]:
        assert (licences / "debian" / deb["package"] / "copyright").stat().st_size > 0
        assert re.search(rf"^{re.escape(deb['package'])}\s+{re.escape(deb['version'])}\s+"
                         rf"{re.escape(deb['source'])} {re.escape(deb['source_version'])}$",
                         sources, re.M), deb
    assert "LGPL" in (licences / "debian/libc6/copyright").read_text()
    assert "snapshot.debian.org" in sources
    for name, version in {**pinned(), "clb-wizard": build.version()}.items():
        folder = next(p for p in (licences / "python").iterdir()
                      if canonical(p.name.rsplit("-", 1)[0]) == name)
        assert folder.name.endswith(f"-{version}") and any(folder.iterdir()), folder
    assert "Apache License" in (licences / f"python/clb-wizard-{build.version()}/LICENSE"
                                ).read_text()


LEFT_OUT = ("readline", "_gdbm", "_dbm", "_curses", "_sqlite3", "_tkinter", "nis")


def test_left_out_modules_and_libraries(bundle: Bundle, bare_today: Bare) -> None:
    folder = bundle.folder
    names = {p.name for p in folder.rglob("*")}
    for module in LEFT_OUT:
        assert not [n for n in names if n.startswith(f"{module}.cpython")], module
    for package in ("test", "idlelib", "tkinter", "ensurepip", "lib2to3", "curses", "sqlite3"):
        assert not (folder / "lib/python3.11" / package).exists(), package
    for library in ("libreadline", "libgdbm", "libdb-", "libncurses", "libsqlite3", "libtinfo"):
        assert not [n for n in names if n.startswith(library)], library
    services = folder / "lib/python3/dist-packages/ucloud/services"
    assert [p.name for p in services.glob("*/")] == ["__pycache__"]
    assert (folder / "lib/python3/dist-packages/netaddr/eui/oui.txt").stat().st_size == 0
    tried = bare_today.run(f"/{bundle.name}/bin/python3", "-c", """
import importlib
for name in ("readline", "dbm.gnu", "dbm.ndbm", "curses", "sqlite3", "tkinter"):
    try:
        importlib.import_module(name)
        print("imported", name)
    except ImportError:
        pass
import netaddr
try:
    netaddr.EUI("00-1B-77-49-54-FD").oui.registration()
except netaddr.NotRegisteredError:
    print("no OUI data")
import dbm.dumb, decimal, ctypes, uuid, lzma, bz2, crypt, hashlib, ssl
print("ok", decimal.Decimal(1) / 3, hashlib.sha256(b"").hexdigest()[:8])
""")
    third = "0." + "3" * 28
    assert tried.stdout.split("\n")[:2] == ["no OUI data", f"ok {third} e3b0c442"], \
        tried.stdout + tried.stderr


def test_every_module_has_bytecode_valid_wherever_it_lands(bundle: Bundle) -> None:
    """unchecked-hash pycs (flags 0b01): never compared with the source's mtime, so nothing
    is recompiled, or written, at run time."""
    missing, wrong = [], []
    for source in bundle.folder.joinpath("lib").rglob("*.py"):
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-311.pyc"
        if not pyc.exists():
            missing.append(str(source.relative_to(bundle.folder)))
        elif int.from_bytes(pyc.read_bytes()[4:8], "little") != 0b01:
            wrong.append(str(pyc.relative_to(bundle.folder)))
    assert missing == [] and wrong == []


def test_the_shell_parts_pass_shellcheck(bundle: Bundle, tmp_path: Path) -> None:
    if shutil.which("shellcheck") is None:
        pytest.fail("shellcheck missing: run `sudo bash tests/setup-system.sh`")
    data = bundle.run.read_bytes()
    offset = int(re.search(rb"^PAYLOAD_OFFSET=(\d+)$", data[:65536], re.M).group(1))
    header = tmp_path / "run-header.sh"
    header.write_bytes(data[:offset - 1])
    assert header.read_text().rstrip().endswith("exit 2")
    checked = subprocess.run(["shellcheck", "-s", "sh", str(header),
                              str(bundle.folder / "clb-wizard"),
                              str(bundle.folder / "bin/python3")],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout


def test_the_same_inputs_give_the_same_file_list(bundle: Bundle, tmp_path: Path) -> None:
    """A second build (its folder only) from the same inputs (cached: nothing downloaded)."""
    result = subprocess.run(["bash", str(build.REPO / "packaging/build-bundle"),
                             "--stage-only", str(tmp_path)], capture_output=True, text=True,
                            timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "downloading" not in result.stderr

    def listing(folder: Path) -> list[tuple[str, str]]:
        return sorted((str(p.relative_to(folder)),
                       "link" if p.is_symlink() else "dir" if p.is_dir() else "file")
                      for p in folder.rglob("*"))

    again = tmp_path / bundle.name
    assert listing(again) == listing(bundle.folder)
    # and the same bytes, but for what carries the build date
    sums = {line.split("  ", 1)[1]: line.split("  ", 1)[0]
            for line in (again / "SHA256SUMS").read_text().splitlines()}
    first = {line.split("  ", 1)[1]: line.split("  ", 1)[0]
             for line in (bundle.folder / "SHA256SUMS").read_text().splitlines()}
    assert {k for k in sums if sums[k] != first[k]} <= {"clb-wizard-bundle.json"}
