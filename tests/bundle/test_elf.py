"""Closure and symbol-version audit over every ELF file of the bundle (tests/bundle/elf.py),
with controls that show the audit catches a missing library and a glibc version the bundle
lacks; and every compiled module loads in a root with no C library but the bundle's."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.bundle import elf
from tests.bundle.conftest import Bare, Bundle


def test_every_elf_finds_its_libraries_and_versions_inside(bundle: Bundle) -> None:
    files = elf.elf_files(bundle.folder)
    assert len(files) > 40  # the interpreter, glibc, OpenSSL, the extension modules
    assert elf.audit(bundle.folder) == []
    libc = elf.Elf.read(elf.library_dir(bundle.folder) / "libc.so.6")
    assert "GLIBC_2.36" in libc.defines and "GLIBC_2.37" not in libc.defines


def test_no_link_leads_out_of_the_bundle(bundle: Bundle) -> None:
    assert elf.links_out(bundle.folder) == []


def copy_of(bundle: Bundle, tmp_path: Path) -> Path:
    copy = tmp_path / bundle.name
    shutil.copytree(bundle.folder, copy, symlinks=True)
    return copy


def test_control_the_audit_sees_a_missing_library(bundle: Bundle, tmp_path: Path) -> None:
    copy = copy_of(bundle, tmp_path)
    for lib in elf.library_dir(copy).glob("libffi.so*"):
        lib.unlink()
    problems = elf.audit(copy)
    assert problems and all("needs libffi.so.8, which is not in the bundle" in p
                            for p in problems), problems
    assert any("_ctypes" in p for p in problems)


def test_control_the_audit_sees_a_glibc_version_the_bundle_lacks(bundle: Bundle,
                                                                 tmp_path: Path) -> None:
    copy = copy_of(bundle, tmp_path)
    module = next((copy / "lib/python3.11/lib-dynload").glob("_uuid.*.so"))
    data = module.read_bytes()
    assert data.count(b"GLIBC_2.2.5\0") == 1
    module.write_bytes(data.replace(b"GLIBC_2.2.5\0", b"GLIBC_9.9.9\0"))  # as if built newer
    assert elf.audit(copy) == [f"{module.relative_to(copy)}: asks libc.so.6 for GLIBC_9.9.9, "
                               "which the bundled libc.so.6 does not define"]


def test_every_compiled_module_loads_with_only_the_bundle(bundle: Bundle, bare_today: Bare) -> None:
    """The loader's view, not only the audit's: each extension module imported by name in
    a root with no other C library."""
    names = []
    for so in bundle.folder.joinpath("lib").rglob("*.cpython-311-*.so"):
        parts = so.relative_to(bundle.folder / "lib").parts
        parts = parts[2:] if parts[1] in ("lib-dynload", "dist-packages") else parts[1:]
        names.append(".".join([*parts[:-1], parts[-1].split(".")[0]]))
    assert "_ssl" in names and "yaml._yaml" in names
    loaded = bare_today.run(f"/{bundle.name}/bin/python3", "-c",
                            "import importlib, sys\nfor n in sys.argv[1:]: "
                            "importlib.import_module(n)\nprint('loaded', len(sys.argv) - 1)",
                            *sorted(names))
    assert loaded.stdout.strip() == f"loaded {len(names)}", loaded.stderr
