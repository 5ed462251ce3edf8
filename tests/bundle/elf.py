"""The closure and symbol-version audit of a bundle folder (pyelftools reads the ELF files).

The bundle's loader runs with `--library-path lib/<multiarch> --inhibit-cache`, so each
library an ELF file needs (DT_NEEDED) must be found there, or in the file's own RUNPATH /
RPATH inside the bundle (manylinux wheels use $ORIGIN), never on the host. Each symbol
version a file asks of a library (GLIBC_2.34, OPENSSL_3.0.0...) must be one that library,
as bundled, defines: otherwise the loader refuses the file at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerDefSection, GNUVerNeedSection

# Loaded by glibc itself with dlopen, so no file names them in DT_NEEDED.
DLOPENED = ("libgcc_s.so.1",)


@dataclass
class Elf:
    path: Path
    soname: Optional[str] = None
    needed: list[str] = field(default_factory=list)
    search: list[str] = field(default_factory=list)  # RUNPATH / RPATH, $ORIGIN expanded
    wants: dict[str, set[str]] = field(default_factory=dict)  # library -> versions
    defines: set[str] = field(default_factory=set)

    @classmethod
    def read(cls, path: Path) -> Elf:
        elf = cls(path)
        with path.open("rb") as fh:
            reader = ELFFile(fh)
            for section in reader.iter_sections():
                if isinstance(section, DynamicSection):
                    for tag in section.iter_tags():
                        if tag.entry.d_tag == "DT_NEEDED":
                            elf.needed.append(tag.needed)
                        elif tag.entry.d_tag == "DT_SONAME":
                            elf.soname = tag.soname
                        elif tag.entry.d_tag in ("DT_RUNPATH", "DT_RPATH"):
                            paths = getattr(tag, "runpath", None) or tag.rpath
                            elf.search += [p.replace("$ORIGIN", str(path.parent))
                                           .replace("${ORIGIN}", str(path.parent))
                                           for p in paths.split(":") if p]
                elif isinstance(section, GNUVerNeedSection):
                    for need, auxes in section.iter_versions():
                        elf.wants.setdefault(need.name, set()).update(a.name for a in auxes)
                elif isinstance(section, GNUVerDefSection):
                    for definition, auxes in section.iter_versions():
                        if not definition["vd_flags"] & 0x1:  # VER_FLG_BASE: the file's name
                            elf.defines.update(a.name for a in auxes)
        return elf


def is_elf(path: Path) -> bool:
    if path.is_symlink() or not path.is_file():
        return False
    with path.open("rb") as fh:
        return fh.read(4) == b"\x7fELF"


def elf_files(bundle: Path) -> list[Path]:
    return sorted(p for p in bundle.rglob("*") if is_elf(p))


def library_dir(bundle: Path) -> Path:
    found = [p for p in (bundle / "lib").iterdir() if p.name.endswith("-linux-gnu")]
    assert len(found) == 1, found
    return found[0]


def resolve(name: str, elf: Elf, libs: Path, bundle: Path) -> Optional[Path]:
    """Where the bundle's loader finds `name` for `elf`, if inside the bundle."""
    for folder in [*elf.search, str(libs)]:
        candidate = Path(folder) / name
        if candidate.exists():
            real = candidate.resolve()
            return real if bundle.resolve() in real.parents else None
    return None


def audit(bundle: Path) -> list[str]:
    """Every problem found; [] when each ELF file's needs are met inside the bundle."""
    libs = library_dir(bundle)
    problems = []
    parsed: dict[Path, Elf] = {}

    def elf_at(path: Path) -> Elf:
        if path not in parsed:
            parsed[path] = Elf.read(path)
        return parsed[path]

    for path in elf_files(bundle):
        elf = elf_at(path)
        where = path.relative_to(bundle)
        found: dict[str, Elf] = {}
        for name in elf.needed:
            target = resolve(name, elf, libs, bundle)
            if target is None:
                problems.append(f"{where}: needs {name}, which is not in the bundle")
            else:
                found[name] = elf_at(target)
        for library, versions in sorted(elf.wants.items()):
            if library not in found:
                continue  # already reported as missing
            missing = versions - found[library].defines
            if missing:
                problems.append(f"{where}: asks {library} for {', '.join(sorted(missing))}, "
                                f"which the bundled {library} does not define")
    for name in DLOPENED:
        if not (libs / name).exists():
            problems.append(f"{libs.relative_to(bundle)}/{name}: missing (glibc loads it)")
    return problems


def links_out(bundle: Path) -> list[str]:
    """Symlinks that are absolute or lead out of the bundle (they would use the host)."""
    bad = []
    root = bundle.resolve()
    for path in bundle.rglob("*"):
        if path.is_symlink():
            target = path.readlink()
            if target.is_absolute() or root not in (path.parent / target).resolve().parents:
                bad.append(f"{path.relative_to(bundle)} -> {target}")
    return bad
