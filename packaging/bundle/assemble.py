"""Lay out the portable bundle's folder from unpacked Debian packages and wheels, and pack
it (called by packaging/build-bundle, which fetches and checks the inputs).

    assemble.py stage --out DIR --arch ARCH --version V --debs LIST --wheels DIR ...
    assemble.py pack --stage DIR --dist DIR --arch ARCH --version V

The folder (DIR, named clb-wizard-VERSION):
    clb-wizard               the wizard's launcher (packaging/bundle/launcher.sh)
    bin/python3              the same launcher for the bundle's Python (sys.executable)
    libexec/python3.11       Debian 12's interpreter, run only through the bundled loader
    lib/<multiarch>/         glibc (with its loader) and every library the interpreter loads
    lib/python3.11/          the standard library, compiled at build time
    lib/python3/dist-packages/  the wheels and clb_wizard (on Debian's sys.path for prefix)
    LICENSES/                each component's licence, and the source of every Debian binary
    clb-wizard-bundle.json   the manifest: every package and wheel with its exact version
    SHA256SUMS               every file's checksum (the installer's "intact" test)
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = "python3.11"

ARCHES = {  # bundle arch -> Debian arch, multiarch triplet, loader, wheel platform
    "x86_64": ("amd64", "x86_64-linux-gnu", "ld-linux-x86-64.so.2"),
    "aarch64": ("arm64", "aarch64-linux-gnu", "ld-linux-aarch64.so.1"),
}

# What is left out, and why. Paths are relative to the bundle's folder (fnmatch patterns).
LEFT_OUT = {
    # The licence rule and size: no readline (GPL), gdbm (GPL) or BerkeleyDB; and
    # no modules whose libraries are not bundled (curses, sqlite, NIS) or that no part of
    # the wizard or of Ansible's modules uses (Tk, the test suite, IDLE, pip's bootstrap).
    "modules without their libraries": [
        "lib/python3.11/lib-dynload/readline.*", "lib/python3.11/lib-dynload/_gdbm.*",
        "lib/python3.11/lib-dynload/_dbm.*", "lib/python3.11/lib-dynload/_curses*",
        "lib/python3.11/lib-dynload/_sqlite3.*", "lib/python3.11/lib-dynload/nis.*",
        "lib/python3.11/lib-dynload/_tkinter.*", "lib/python3.11/lib-dynload/ossaudiodev.*",
        "lib/python3.11/curses", "lib/python3.11/sqlite3",
    ],
    "tests, IDLE, Tk, pip's bootstrap, docs": [
        "lib/python3.11/lib-dynload/_test*", "lib/python3.11/lib-dynload/_xx*",
        "lib/python3.11/lib-dynload/xx*", "lib/python3.11/lib-dynload/_ctypes_test.*",
        "lib/python3.11/test", "lib/python3.11/idlelib", "lib/python3.11/tkinter",
        "lib/python3.11/turtle.py", "lib/python3.11/turtledemo", "lib/python3.11/ensurepip",
        "lib/python3.11/lib2to3", "lib/python3.11/pydoc_data", "lib/python3.11/venv",
        "lib/python3.11/__phello__", "lib/python3.11/__hello__.py",
    ],
    # Debian's sitecustomize.py links to /etc/python3.11/ outside the bundle.
    "links out of the bundle": ["lib/python3.11/sitecustomize.py"],
    "libraries of left-out modules": [
        "lib/*/libncursesw.*", "lib/*/libtinfo.*", "lib/*/libformw.*", "lib/*/libmenuw.*",
        "lib/*/libpanelw.*", "lib/*/libtic.*", "lib/*/libsqlite3.*", "lib/*/libexpatw.*",
    ],
    # OpenSSL and glibc look for these at their Debian paths, never in the bundle
    # (no config asks for them: iconv and the legacy provider are unused).
    "glibc's libraries that nothing here loads (debugging, profiling, vector maths)": [
        "lib/*/libmvec.*", "lib/*/libmemusage.*", "lib/*/libpcprofile.*",
        "lib/*/libc_malloc_debug.*", "lib/*/libthread_db.*", "lib/*/libBrokenLocale.*",
    ],
    "plug-ins found only at Debian's paths": [
        "lib/*/gconv", "lib/*/engines-3", "lib/*/ossl-modules", "lib/*/audit",
    ],
    # The wizard calls the cloud API through ucloud.core alone (wizard/cloud/client.py);
    # the SDK's per-service clients are 12 MB.
    "the cloud SDK's service clients and test helpers": [
        "lib/python3/dist-packages/ucloud/services/*/", "lib/python3/dist-packages/ucloud/testing",
    ],
    "package tests and scripts": [
        "lib/python3/dist-packages/bin", "lib/python3/dist-packages/netaddr/tests",
        "lib/python3/dist-packages/textual/demo",
        "lib/python3/dist-packages/*.dist-info/direct_url.json",
        "lib/python3/dist-packages/*.dist-info/REQUESTED",
    ],
}

# netaddr's IEEE OUI/IAB registry (9 MB) serves only EUI.oui/EUI.iab lookups, which the
# wizard never makes (it validates IP addresses): the files stay, empty, so a lookup finds
# no registration instead of failing to open them.
EMPTIED = ["lib/python3/dist-packages/netaddr/eui/oui.txt",
           "lib/python3/dist-packages/netaddr/eui/oui.idx",
           "lib/python3/dist-packages/netaddr/eui/iab.txt",
           "lib/python3/dist-packages/netaddr/eui/iab.idx"]

# Pygments' lexers (8 MB) colour source code; the wizard colours only its diffs, and
# Textual its tracebacks (Python). The others go, and so do their entries in the lexer
# table, so asking for one finds none (plain text), as for any unknown language.
PYGMENTS_LEXERS = ("diff", "python", "special", "shell", "data", "configs")

LICENSE_NAMES = ("LICENSE*", "LICENCE*", "COPYING*", "NOTICE*", "AUTHORS*", "COPYRIGHT*")


@dataclass(frozen=True)
class Deb:
    path: Path
    package: str
    version: str
    architecture: str
    source: str
    source_version: str
    sha256: str

    @classmethod
    def read(cls, path: Path) -> Deb:
        fields = subprocess.run(
            ["dpkg-deb", "-f", str(path), "Package", "Version", "Architecture", "Source"],
            check=True, capture_output=True, text=True).stdout
        info = dict(line.split(": ", 1) for line in fields.splitlines() if ": " in line)
        source, _, source_version = info.get("Source", info["Package"]).partition(" ")
        return cls(path, info["Package"], info["Version"], info["Architecture"], source,
                   source_version.strip("()") or info["Version"], sha256_file(path))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def matches(stage: Path, pattern: str) -> Iterator[Path]:
    """A trailing "/" matches folders only (ucloud/services/*/ keeps services/__init__.py)."""
    found = stage.glob(pattern.rstrip("/"))
    yield from (p for p in found if p.is_dir()) if pattern.endswith("/") else found


def is_elf(path: Path) -> bool:
    if path.is_symlink() or not path.is_file():
        return False
    with path.open("rb") as fh:
        return fh.read(4) == b"\x7fELF"


# -- stage --------------------------------------------------------------------------------------
def unpack_debs(debs: list[Deb], root: Path) -> None:
    for deb in debs:
        subprocess.run(["dpkg-deb", "-x", str(deb.path), str(root)], check=True)


def lay_out(root: Path, stage: Path, arch: str) -> None:
    _, triplet, _ = ARCHES[arch]
    libs = stage / "lib" / triplet
    libs.mkdir(parents=True)
    for where in (root / "lib" / triplet, root / "usr/lib" / triplet):
        if where.is_dir():
            for item in sorted(where.iterdir()):
                dest = libs / item.name
                if item.is_dir() and not item.is_symlink():
                    shutil.copytree(item, dest, symlinks=True)
                else:
                    shutil.copy2(item, dest, follow_symlinks=False)
    shutil.copytree(root / "usr/lib" / PYTHON, stage / "lib" / PYTHON, symlinks=True)
    (stage / "libexec").mkdir()
    shutil.copy2(root / "usr/bin" / PYTHON, stage / "libexec" / PYTHON)
    (stage / "lib/python3/dist-packages").mkdir(parents=True)


def install_wheels(stage: Path, arch: str, pip: str, wheels: Path, requirements: Path,
                   project_wheel: Path) -> None:
    target = stage / "lib/python3/dist-packages"
    platform = [a for tag in (f"manylinux2014_{arch}",
                              *(f"manylinux_2_{m}_{arch}" for m in range(17, 37)))
                for a in ("--platform", tag)]
    common = [pip, "-m", "pip", "install", "--isolated", "--no-cache-dir", "--no-index",
              "--disable-pip-version-check", "-q", "--no-compile", "--no-deps",
              "--only-binary", ":all:", "--implementation", "cp", "--abi", "cp311",
              "--python-version", "3.11", *platform, "--target", str(target)]
    subprocess.run([*common, "--find-links", str(wheels), "--require-hashes", "-r",
                    str(requirements)], check=True)
    subprocess.run([*common, "--upgrade", str(project_wheel)], check=True)  # bin/ again


def trim(stage: Path) -> dict[str, list[str]]:
    removed: dict[str, list[str]] = {}
    for reason, patterns in LEFT_OUT.items():
        for pattern in patterns:
            for path in sorted(matches(stage, pattern)):
                removed.setdefault(reason, []).append(str(path.relative_to(stage)))
                remove(path)
    for name in EMPTIED:
        (stage / name).write_bytes(b"")
    removed["Pygments' lexers for languages the wizard never shows"] = trim_pygments(stage)
    prune_records(stage / "lib/python3/dist-packages")
    return removed


def prune_records(site: Path) -> None:
    """Each wheel's RECORD lists what is left of it (not the files taken out, nor pip's
    direct_url.json, which named the wheel's temporary path)."""
    for record in site.glob("*.dist-info/RECORD"):
        lines = record.read_text().splitlines(True)
        kept = [line for line in lines
                if (site / line.split(",", 1)[0]).exists() or line.startswith(record.parent.name
                                                                               + "/RECORD,")]
        record.write_text("".join(kept))


def trim_pygments(stage: Path) -> list[str]:
    lexers = stage / "lib/python3/dist-packages/pygments/lexers"
    table = lexers / "_mapping.py"
    namespace: dict = {}
    exec(compile(table.read_text(), str(table), "exec"), namespace)
    kept = {f"pygments.lexers.{name}" for name in PYGMENTS_LEXERS}
    entries = {k: v for k, v in namespace["LEXERS"].items() if v[0] in kept}
    if {v[0] for v in entries.values()} != kept:
        raise SystemExit(f"pygments has no lexer module among {sorted(kept - set(entries))}")
    table.write_text("# Trimmed by clb-wizard's packaging/bundle/assemble.py: the lexers "
                     "left in the bundle.\n\nLEXERS = {\n"
                     + "".join(f"    {k!r}: {v!r},\n" for k, v in entries.items()) + "}\n")
    removed = []
    for path in sorted(lexers.glob("*.py")):
        if not path.name.startswith("_") and path.stem not in PYGMENTS_LEXERS:
            removed.append(str(path.relative_to(stage)))
            path.unlink()
    return removed


def strip_wheel_elfs(stage: Path, strip: str) -> None:
    """Debian's binaries come stripped; the wheels' extension modules may not."""
    for path in sorted((stage / "lib/python3/dist-packages").rglob("*")):
        if is_elf(path):
            subprocess.run([strip, "--strip-unneeded", str(path)], check=True)


def write_launchers(stage: Path, arch: str, version: str) -> None:
    _, triplet, loader = ARCHES[arch]
    template = (HERE / "launcher.sh").read_text()
    for where, up, entry in (("clb-wizard", ".", "-m clb_wizard"), ("bin/python3", "..", "")):
        text = template
        for key, value in (("NAME", where), ("VERSION", version), ("ARCH", arch),
                           ("UP", up), ("ENTRY", entry), ("MULTIARCH", triplet),
                           ("LOADER", loader)):
            text = text.replace(f"@{key}@", value)
        path = stage / where
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        path.chmod(0o755)


def licences(stage: Path, root: Path, debs: list[Deb], own_licence: Path) -> None:
    """LICENSES/: every Debian binary's copyright file (under its package name) and its
    source package, every wheel's licence files, and clb-wizard's own."""
    out = stage / "LICENSES"
    lines = ["Where each part of this bundle comes from, and its licence text in this folder.",
             "",
             "Debian 12 binary packages (unpacked, not rebuilt). Their sources, at these exact",
             "versions: https://snapshot.debian.org/package/SOURCE/VERSION/ , or",
             "`apt-get source SOURCE=VERSION` on Debian 12. glibc and libgcc are LGPL/GPL with",
             "the GCC runtime exception: the bundle ships them unmodified as shared libraries.",
             "",
             f"{'binary package':<24} {'version':<28} {'source package and version'}"]
    for deb in sorted(debs, key=lambda d: d.package):
        copyright_file = root / "usr/share/doc" / deb.package / "copyright"
        if not copyright_file.exists():  # a link to a package's folder we did not take
            raise SystemExit(f"{deb.package}: no copyright file; add the package that has it "
                             "to packaging/bundle/debian-packages")
        dest = out / "debian" / deb.package / "copyright"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(copyright_file.resolve(), dest)
        lines.append(f"{deb.package:<24} {deb.version:<28} {deb.source} {deb.source_version}")
    lines += ["", "Python packages (wheels from PyPI, pinned by sha256 in the build's",
              "requirements); their licence files are in python/NAME-VERSION/:", ""]
    for dist in sorted((stage / "lib/python3/dist-packages").glob("*.dist-info")):
        meta = email.parser.Parser().parsestr((dist / "METADATA").read_text())
        name, version = meta["Name"], meta["Version"]
        found = [p for pattern in LICENSE_NAMES for p in dist.glob(pattern)]
        found += [p for p in (dist / "licenses").rglob("*") if p.is_file()]
        dest = out / "python" / f"{name}-{version}"
        for path in found:
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest / path.name)
        licence = meta.get("License-Expression") or meta.get("License") or ""
        if name == "clb-wizard":
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(own_licence, dest / "LICENSE")
            found.append(own_licence)
        if not found:
            raise SystemExit(f"{name} {version}: no licence file in its wheel")
        lines.append(f"{name:<24} {version:<28} {licence.splitlines()[0] if licence else ''}")
    (out / "SOURCES.txt").write_text("\n".join(lines) + "\n")


def run_bundled(stage: Path, *args: str) -> str:
    return subprocess.run([str(stage / "bin/python3"), *args], check=True, capture_output=True,
                          text=True, env={"PATH": os.environ["PATH"], "LC_ALL": "C"}).stdout


RUNTIME_PROBE = ("import json, os, ssl, sys; print(json.dumps({'python': sys.version.split()[0], "
                 "'glibc': os.confstr('CS_GNU_LIBC_VERSION').split()[-1], "
                 "'openssl': ssl.OPENSSL_VERSION}))")


def runtime_from_debs(debs: list[Deb]) -> dict[str, str]:
    """For another architecture (not run here): the versions the packages say."""
    version = {d.package: d.version.split(":")[-1].split("-")[0].split("+")[0] for d in debs}
    return {"python": version["python3.11-minimal"], "glibc": version["libc6"],
            "openssl": f"OpenSSL {version['libssl3']}", "from": "package versions"}


def compile_bytecode(stage: Path, native: bool) -> None:
    """Every module compiled now (unchecked-hash: valid wherever the files land, whatever
    their mtimes), so nothing is ever written into the bundle at run time. Without the
    column tables of tracebacks' ^^^ markers (no_debug_ranges): a quarter of the size."""
    python = [str(stage / "bin/python3")] if native else ["/usr/bin/python3.11"]
    for top in ("lib/python3.11", "lib/python3/dist-packages"):
        subprocess.run([*python, "-X", "no_debug_ranges", "-m", "compileall", "-q", "-j", "0",
                        "--invalidation-mode", "unchecked-hash", "-s", str(stage),
                        "-p", "/", str(stage / top)], check=True, env={"PATH": "/usr/bin:/bin"})


def checksums(stage: Path) -> None:
    lines = []
    for path in sorted(stage.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.name != "SHA256SUMS":
            lines.append(f"{sha256_file(path)}  {path.relative_to(stage)}")
    (stage / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def wheel_entries(requirements: Path, wheels: Path) -> list[dict]:
    pinned = {}
    for wheel in sorted(wheels.glob("*.whl")):
        pinned[wheel.name] = sha256_file(wheel)
    wanted = requirements.read_text()
    return [{"file": name, "sha256": digest} for name, digest in pinned.items()
            if digest in wanted]


def stage_command(args: argparse.Namespace) -> int:
    stage = Path(args.out)
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    debs = [Deb.read(Path(line)) for line in Path(args.debs).read_text().split()]
    native = os.uname().machine == args.arch
    with tempfile.TemporaryDirectory(prefix="clb-debs.") as tmp:
        root = Path(tmp)
        unpack_debs(debs, root)
        lay_out(root, stage, args.arch)
        install_wheels(stage, args.arch, args.pip, Path(args.wheels), Path(args.requirements),
                       Path(args.project_wheel))
        removed = trim(stage)
        licences(stage, root, debs, Path(args.own_licence))
    strip_wheel_elfs(stage, args.strip)
    write_launchers(stage, args.arch, args.version)
    compile_bytecode(stage, native)
    runtime = json.loads(run_bundled(stage, "-c", RUNTIME_PROBE)) if native \
        else runtime_from_debs(debs)
    manifest = {
        "name": "clb-wizard", "version": args.version, "arch": args.arch,
        "build_date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(args.build_epoch)),
        "runtime": runtime,
        "debian": [{"package": d.package, "version": d.version, "architecture": d.architecture,
                    "source": d.source, "source_version": d.source_version,
                    "file": d.path.name, "sha256": d.sha256}
                   for d in sorted(debs, key=lambda d: d.package)],
        "wheels": wheel_entries(Path(args.requirements), Path(args.wheels)),
        "project_wheel": {"file": Path(args.project_wheel).name,
                          "sha256": sha256_file(Path(args.project_wheel))},
        "left_out": removed,
        "emptied": EMPTIED,
    }
    (stage / "clb-wizard-bundle.json").write_text(json.dumps(manifest, indent=2) + "\n")
    checksums(stage)
    return 0


# -- pack ---------------------------------------------------------------------------------------
def tar_bytes(stage: Path, epoch: int) -> bytes:
    """The folder as a tar with sorted names, root's, every mtime the build's: the same
    inputs give the same archive."""
    buf = io.BytesIO()

    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mtime = epoch
        if not info.issym():
            info.mode = 0o755 if info.isdir() or info.mode & 0o111 else 0o644
        return info

    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        paths = [stage, *sorted(stage.rglob("*"))]
        for path in paths:
            arcname = str(Path(stage.name) / path.relative_to(stage))
            info = normalise(tar.gettarinfo(str(path), arcname))
            if info.isreg():
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
    return buf.getvalue()


def write_with_sha256(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.with_name(path.name + ".sha256").write_text(
        f"{hashlib.sha256(data).hexdigest()}  {path.name}\n")


def run_file(header_template: str, payload: bytes, version: str, arch: str) -> bytes:
    """The self-extracting file: the sh header, then the tar.gz from PAYLOAD_OFFSET on."""
    text = header_template
    for key, value in (("VERSION", version), ("ARCH", arch),
                       ("PAYLOAD_SHA256", hashlib.sha256(payload).hexdigest()),
                       ("PAYLOAD_SIZE", str(len(payload)))):
        text = text.replace(f"@{key}@", value)
    offset = 0
    while True:  # the offset's own digits are part of the header
        header = text.replace("@PAYLOAD_OFFSET@", str(offset + 1)).encode()
        if len(header) == offset:
            return header + payload
        offset = len(header)


def pack_command(args: argparse.Namespace) -> int:
    stage, dist = Path(args.stage), Path(args.dist)
    dist.mkdir(parents=True, exist_ok=True)
    base = f"clb-wizard-{args.version}-linux-{args.arch}"
    tar = tar_bytes(stage, args.build_epoch)
    # side by side: xz in two blocks (one per core), gzip -9 for the .run (every host has
    # gzip; xz is missing from minimal Debian and others)
    with ThreadPoolExecutor(max_workers=2) as pool:
        xz, gz = pool.map(lambda argv: subprocess.run(argv, input=tar, check=True,
                                                      capture_output=True).stdout,
                          (["xz", "-9", "-T2", "--block-size=32MiB", "-c"], ["gzip", "-9nc"]))
    write_with_sha256(dist / f"{base}.tar.xz", xz)
    write_with_sha256(dist / f"{base}.run",
                      run_file((HERE / "run-header.sh").read_text(), gz, args.version, args.arch))
    for name in (f"{base}.tar.xz", f"{base}.run"):
        print(f"{dist / name}: {(dist / name).stat().st_size / 1e6:.1f} MB")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    stage = sub.add_parser("stage")
    for option in ("out", "arch", "version", "debs", "wheels", "requirements", "project-wheel",
                   "pip", "strip", "own-licence"):
        stage.add_argument(f"--{option}", required=True)
    stage.add_argument("--build-epoch", type=int, required=True)
    pack = sub.add_parser("pack")
    for option in ("stage", "dist", "arch", "version"):
        pack.add_argument(f"--{option}", required=True)
    pack.add_argument("--build-epoch", type=int, required=True)
    args = parser.parse_args(argv)
    return stage_command(args) if args.command == "stage" else pack_command(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
