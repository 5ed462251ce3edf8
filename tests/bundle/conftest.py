"""Fixtures of the bundle tests (tests/bundle/, marker `bundle`): the portable bundle built
once per run by packaging/build-bundle (tests/bundle/build.py), and bare roots: folders
holding only a static /bin/sh (Debian's busybox-static, with the few tools every host has
linked to it) and the bundle, entered through tests/bundle/jail.py, today's kernel or the
old-kernel simulation. The bundle's folder is bound read-only into them: it must run from a
read-only place.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest

from tests.bundle import build

REPO = build.REPO
BUSYBOX = Path("/bin/busybox")
# What the .run file and the launchers use of the host (POSIX tools every host has).
TOOLS = ("sh", "tar", "gzip", "sha256sum", "find", "id", "readlink", "env", "mkdir", "rm",
         "rmdir", "ln", "mv", "chmod", "chown", "cat", "tail", "head", "wc", "tr", "cut",
         "sed", "ls", "uname")
INSIDE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
KERNELS = ("today", "3.10")  # the host's own kernel, and the old-kernel simulation


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.bundle)


@dataclass(frozen=True)
class Bundle:
    run: Path  # the .run file
    tarball: Path
    folder: Path  # the tarball's clb-wizard-VERSION/, unpacked (never changed by a test)

    @property
    def name(self) -> str:
        return self.folder.name


@pytest.fixture(scope="session")
def bundle() -> Bundle:
    if os.geteuid() != 0:
        pytest.skip("bundle test: building and checking the bundle needs root (CI runs as root)")
    if not BUSYBOX.exists():
        pytest.fail("missing /bin/busybox (busybox-static): run `sudo bash tests/setup-system.sh`")
    return Bundle(build.run_file(), build.tarball(), build.unpacked())


def inside_env(extra: Optional[dict[str, str]] = None) -> dict[str, str]:
    """What a root shell on a console passes to a command."""
    return {"PATH": INSIDE_PATH, "HOME": "/root", "LANG": "C.UTF-8", "COLUMNS": "80",
            "TERM": "linux", **(extra or {})}


@dataclass
class Bare:
    """A root holding only /bin/sh (busybox) and its tools, with the bundle bound
    read-only at /clb-wizard-VERSION. `old_kernel`: every command runs as on Linux 3.10."""

    root: Path
    bundle: Bundle
    old_kernel: bool = False
    binds: list[str] = field(default_factory=list)

    @property
    def launcher(self) -> str:
        return f"/{self.bundle.name}/clb-wizard"

    def path(self, inside: str) -> Path:
        return self.root / inside.lstrip("/")

    def argv(self, command: Sequence[str], env: Optional[dict[str, str]] = None,
             syscalls_only: bool = False) -> list[str]:
        flags = ["--syscalls-only"] if syscalls_only else \
            ["--old-kernel"] if self.old_kernel else []
        binds = [f"--bind={self.bundle.folder}:/{self.bundle.name}:ro", *self.binds]
        return [sys.executable, "-m", "tests.bundle.jail", str(self.root), *flags, *binds,
                *(f"--env={k}={v}" for k, v in inside_env(env).items()), "--", *command]

    def run(self, *command: str, env: Optional[dict[str, str]] = None, timeout: float = 120,
            syscalls_only: bool = False, input: Optional[str] = None,
            ) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(command, env, syscalls_only), capture_output=True,
                              text=True, timeout=timeout, cwd=REPO, env=helper_env(),
                              input=input)

    def sh(self, script: str, **kwargs) -> subprocess.CompletedProcess:
        return self.run("/bin/sh", "-c", script, **kwargs)

    def put_run_file(self, content: Optional[bytes] = None, name: str = "") -> str:
        """The .run file (or `content`) copied into the root; its path inside."""
        name = name or self.bundle.run.name
        (self.root / name).write_bytes(self.bundle.run.read_bytes() if content is None
                                       else content)
        return f"/{name}"

    def refuses(self, *command: str, said: str) -> subprocess.CompletedProcess:
        """`command` exits 2 saying `said`, and the root is as it was."""
        before = self.listing()
        result = self.run(*command)
        assert result.returncode == 2 and said in result.stderr, result.stderr
        assert self.listing() == before
        return result

    def listing(self) -> dict[str, tuple]:
        """path -> (type and mode, owner, size, mtime, link target) of everything in the
        root but its mount points: what an install or uninstall changed."""
        found = {}
        for path in sorted(self.root.rglob("*")):
            rel = str(path.relative_to(self.root))
            if rel.split("/")[0] in ("dev", "proc", self.bundle.name):
                continue
            st = path.lstat()
            found[rel] = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns,
                          os.readlink(path) if path.is_symlink() else None)
        return found


def helper_env() -> dict[str, str]:
    """For tests/bundle/jail.py itself (it passes the command only its --env)."""
    return {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "PYTHONPATH": str(REPO)}


def make_bare_root(where: Path) -> Path:
    (where / "bin").mkdir(parents=True)
    shutil.copy2(BUSYBOX, where / "bin/busybox")
    for tool in TOOLS:
        (where / "bin" / tool).symlink_to("busybox")
    (where / "tmp").mkdir(mode=0o1777)
    (where / "tmp").chmod(0o1777)
    return where


@pytest.fixture(params=KERNELS)
def bare(request, bundle: Bundle, tmp_path: Path) -> Iterator[Bare]:
    """A bare root, run with today's kernel and with the old-kernel simulation."""
    yield Bare(make_bare_root(tmp_path / "bare"), bundle, old_kernel=request.param == "3.10")


@pytest.fixture
def bare_today(bundle: Bundle, tmp_path: Path) -> Bare:
    return Bare(make_bare_root(tmp_path / "bare"), bundle)
