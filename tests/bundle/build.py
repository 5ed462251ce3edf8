"""The bundle's files for the tests (the fleet tests too): built by packaging/build-bundle
once per test run and reused while its inputs are unchanged.

    from tests.bundle.build import run_file, tarball, unpacked
    run_file()   # dist/clb-wizard-VERSION-linux-ARCH.run, built if missing or stale

The key is a hash of everything the build reads from the checkout (packaging/, the
project's sources and metadata); the Debian packages and wheels it downloads are cached by
build-bundle itself, outside the checkout. Processes share one build (a lock in dist/).
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import platform
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "dist"
ARCH = platform.machine()
# what packaging/build-bundle reads from the checkout
INPUTS = ("pyproject.toml", "README.md", "packaging", "wizard", "screens", "assets")


def version() -> str:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def base_name(arch: str = ARCH) -> str:
    return f"clb-wizard-{version()}-linux-{arch}"


def inputs_key(arch: str = ARCH) -> str:
    digest = hashlib.sha256(arch.encode())
    for top in INPUTS:
        path = REPO / top
        files = [path] if path.is_file() else sorted(
            p for p in path.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
        for file in files:
            digest.update(f"\0{file.relative_to(REPO)}\0".encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


class BuildError(RuntimeError):
    pass


@cache
def built(arch: str = ARCH) -> Path:
    """dist/, holding this checkout's bundle for `arch` (built now if missing or stale)."""
    key = inputs_key(arch)
    stamp = DIST / f".{base_name(arch)}.key"
    outputs = [DIST / f"{base_name(arch)}{ext}" for ext in
               (".run", ".run.sha256", ".tar.xz", ".tar.xz.sha256")]
    DIST.mkdir(exist_ok=True)
    with open(DIST / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text() == key and all(p.exists() for p in outputs):
            return DIST
        stamp.unlink(missing_ok=True)
        log = DIST / f".{base_name(arch)}.log"
        with log.open("w") as out:
            result = subprocess.run(["bash", str(REPO / "packaging/build-bundle"), "--arch", arch,
                                     "--out", str(DIST)], stdout=out, stderr=subprocess.STDOUT,
                                    timeout=1800)
        if result.returncode != 0:
            tail = "".join(log.read_text(errors="replace").splitlines(True)[-25:])
            raise BuildError(f"packaging/build-bundle failed ({result.returncode}); {log}:\n{tail}")
        stamp.write_text(key)
    return DIST


def run_file(arch: str = ARCH) -> Path:
    """The self-extracting clb-wizard-VERSION-linux-ARCH.run."""
    return built(arch) / f"{base_name(arch)}.run"


def tarball(arch: str = ARCH) -> Path:
    return built(arch) / f"{base_name(arch)}.tar.xz"


@cache
def unpacked(arch: str = ARCH) -> Path:
    """The tarball's folder clb-wizard-VERSION/, unpacked once per process into a fresh
    root-owned folder outside the checkout (removed at exit): as root the launcher refuses
    a bundle under a folder another user owns, and a CI checkout may well sit in one.
    Tests that change files work on a copy of it."""
    where = Path(tempfile.mkdtemp(prefix=f"clb-bundle-{arch}."))
    where.chmod(0o755)
    atexit.register(shutil.rmtree, where, ignore_errors=True)
    subprocess.run(["tar", "-xJf", str(tarball(arch)), "-C", str(where)], check=True)
    return where / f"clb-wizard-{version()}"
