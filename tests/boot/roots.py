"""Small Debian root file systems for the boot tests, built once and cached.

One `debootstrap --variant=minbase` per suite gives the base root (systemd, dbus, iproute2,
python3, openssh-server and sudo: the fleet tests log in over SSH); each network stack is
then that base copied plus `apt-get install --no-install-recommends` of its packages, so a
suite costs one debootstrap; the "nopython" root (no python3 at all, for the portable
bundle) is a second one of the oldest suite, from the packages the base left in the cache.
Roots live in `/var/cache/clb-wizard-tests/boot/roots/
<suite>-<variant>-<key>/` (outside the clone, so a fresh clone on a machine that ran the
tests before reuses them; `CLB_BOOT_CACHE` moves it),
where the key hashes everything that goes into the root (suite, package lists, mirror
independent steps): change a package list and the next run builds a new root. The cached
roots are never booted directly; every boot gets an overlay on top (harness.py).

    python -m tests.boot.roots [SUITE-VARIANT ...]    # build (or check) roots; prints paths
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Outside the checkout: every clone on this machine (CI's fresh ones too) shares the roots.
CACHE = Path(os.environ.get("CLB_BOOT_CACHE", "/var/cache/clb-wizard-tests/boot"))

# suite -> the python3 minor version it ships (the project's wheel is installed for it)
ALL_SUITES = {"bullseye": "3.9", "bookworm": "3.11", "trixie": "3.13"}
# CLB_BOOT_SUITES=bookworm,trixie narrows a local run; CI runs them all
SUITES = {s: p for s, p in ALL_SUITES.items()
          if s in os.environ.get("CLB_BOOT_SUITES", ",".join(ALL_SUITES)).split(",")}
# where the tests that need one suite only run
ONE_SUITE = "bookworm" if "bookworm" in SUITES else next(iter(SUITES), "bookworm")

# Debian releases minbase + what every root needs: systemd as PID 1 (libpam-systemd gives
# the logind polkitd needs for NetworkManager), dbus, ip, the interpreter for the project,
# and sshd + sudo for the fleet tests.
BASE_PACKAGES = ("systemd", "systemd-sysv", "libpam-systemd", "dbus", "iproute2", "python3",
                 "openssh-server", "sudo")

# variant -> packages added to the base root
VARIANTS = {
    "base": (),
    "ifupdown": ("ifupdown",),
    "netplan": ("netplan.io",),
    "nm": ("network-manager",),
}

# Roots debootstrapped on their own (not copied from their suite's base), with exactly
# these packages: "nopython" has no python3 at all (minbase, systemd, ifupdown, sshd,
# sudo): a host without Python, where the portable bundle runs (tests/boot/test_bundle.py).
STANDALONE = {"nopython": tuple(p for p in BASE_PACKAGES if p != "python3") + ("ifupdown",)}
# The oldest suite this run boots: closest to the old hosts the bundle is for.
NOPYTHON_SUITE = next((s for s in ("bullseye", "bookworm", "trixie") if s in SUITES), ONE_SUITE)

# Bump when the build steps below change in a way the package lists do not show.
BUILD_STEPS = 1


@dataclass(frozen=True)
class Root:
    suite: str
    variant: str

    @property
    def name(self) -> str:
        return f"{self.suite}-{self.variant}"

    @property
    def standalone(self) -> bool:
        return self.variant in STANDALONE

    @property
    def packages(self) -> tuple[str, ...]:
        if self.standalone:
            return STANDALONE[self.variant]
        return BASE_PACKAGES + VARIANTS[self.variant]

    @property
    def key(self) -> str:
        if self.standalone:
            spec = {"suite": self.suite, "standalone": sorted(self.packages),
                    "steps": BUILD_STEPS}
        else:
            spec = {"suite": self.suite, "base": sorted(BASE_PACKAGES),
                    "packages": sorted(VARIANTS[self.variant]), "steps": BUILD_STEPS}
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]

    @property
    def path(self) -> Path:
        return CACHE / "roots" / f"{self.name}-{self.key}"

    @property
    def python(self) -> str:
        return ALL_SUITES[self.suite]

    def ready(self) -> bool:
        return (self.path / ".complete").exists()


def all_roots(suites: Iterable[str] = SUITES) -> list[Root]:
    suites = list(suites)
    return [*(Root(s, v) for s in suites for v in VARIANTS),
            *(Root(NOPYTHON_SUITE, v) for v in STANDALONE if NOPYTHON_SUITE in suites)]


class BuildError(RuntimeError):
    pass


def debian_mirror() -> str:
    """The Debian archive URI apt already uses on this machine (deb822 or one-line)."""
    if os.environ.get("CLB_BOOT_MIRROR"):
        return os.environ["CLB_BOOT_MIRROR"]
    sources = sorted(Path("/etc/apt").glob("sources.list.d/*.sources"))
    for path in sources:
        for uri in re.findall(r"^URIs:\s*(.+)$", path.read_text(), re.M):
            for word in uri.split():
                if re.search(r"/debian/?$", word):
                    return word
    lists = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt").glob("sources.list.d/*.list"))]
    for path in lists:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            words = [w for w in line.split() if not w.startswith("[")]
            if words[:1] == ["deb"] and len(words) > 1 and re.search(r"/debian/?$", words[1]):
                return words[1]
    return "http://deb.debian.org/debian"  # apt uses none (e.g. Ubuntu): Debian's own CDN


def _log(message: str) -> None:
    print(f"[boot-roots {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _run(argv: list[str], log: Path, **kwargs) -> None:
    with log.open("a") as out:
        out.write(f"+ {' '.join(argv)}\n")
        out.flush()
        result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, **kwargs)
    if result.returncode != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(True)[-15:])
        raise BuildError(f"{' '.join(argv[:3])}... failed ({result.returncode}); {log}:\n{tail}")


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    """One builder per root at a time, across processes sharing the cache."""
    (CACHE / "roots").mkdir(parents=True, exist_ok=True)
    with open(CACHE / "roots" / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@contextlib.contextmanager
def _chroot_mounts(root: Path) -> Iterator[None]:
    """/proc for maintainer scripts, and no daemon started by them (policy-rc.d)."""
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(root / "proc")], check=False)
        policy.unlink()


def _finish(tmp: Path, root: Root, log: Path) -> None:
    _run(["chroot", str(tmp), "apt-get", "clean"], log)
    if root.variant != "base":  # the base keeps debootstrap's package lists for its variants
        for item in (tmp / "var/lib/apt/lists").glob("*"):
            if item.is_file():
                item.unlink()
    (tmp / "etc/hostname").write_text(f"{root.suite}-{root.variant}\n")
    if root.variant == "netplan":
        # Like Ubuntu and Debian cloud images: netplan's renderer, systemd-networkd, runs
        # (Debian ships it disabled; the tests that need it off disable it per boot).
        _run(["systemctl", f"--root={tmp}", "enable", "systemd-networkd.service"], log)
    (tmp / ".complete").write_text(json.dumps({"packages": root.packages}) + "\n")


def _debootstrap(root: Root, tmp: Path, log: Path) -> None:
    debs = CACHE / "debs" / root.suite  # .deb cache across rebuilds of this suite
    debs.mkdir(parents=True, exist_ok=True)
    # dpkg's fsyncs only slow a throw-away root down
    (tmp / "etc/dpkg/dpkg.cfg.d").mkdir(parents=True)
    (tmp / "etc/dpkg/dpkg.cfg.d/unsafe-io").write_text("force-unsafe-io\n")
    _run(["debootstrap", "--variant=minbase", f"--cache-dir={debs}",
          f"--include={','.join(root.packages)}", root.suite, str(tmp), debian_mirror()], log)


def _derive(root: Root, base: Root, tmp: Path, log: Path) -> None:
    _run(["cp", "-a", "--reflink=auto", str(base.path), str(tmp)], log)
    (tmp / ".complete").unlink()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
    with _chroot_mounts(tmp):
        if not any((tmp / "var/lib/apt/lists").glob("*_Packages*")):
            _run(["chroot", str(tmp), "apt-get", "-q", "-o", "Acquire::Languages=none",
                  "update"], log, env=env)
        _run(["chroot", str(tmp), "apt-get", "-q", "-y", "install", "--no-install-recommends",
              *VARIANTS[root.variant]], log, env=env)


def build(root: Root) -> Path:
    """The root's directory, built if missing (base roots by debootstrap, others from base)."""
    if root.ready():
        return root.path
    base = Root(root.suite, "base")
    if root.variant != "base":  # a standalone root too: its debootstrap then finds the
        build(base)             # suite's packages in the cache the base filled
    with _locked(root.name):
        if root.ready():
            return root.path
        started = time.monotonic()
        tmp = root.path.with_name(root.path.name + ".tmp")
        log = CACHE / "roots" / f"{root.name}.log"
        shutil.rmtree(tmp, ignore_errors=True)
        log.write_text("")
        tmp.mkdir(parents=True)
        if root.variant == "base" or root.standalone:
            _debootstrap(root, tmp, log)
        else:
            tmp.rmdir()
            _derive(root, base, tmp, log)
        _finish(tmp, root, log)
        tmp.rename(root.path)
        _log(f"built {root.name} in {time.monotonic() - started:.0f} s")
    return root.path


def build_all(roots: Iterable[Root]) -> dict[Root, Path]:
    """Build the missing roots in parallel (one debootstrap per suite, then its variants)."""
    roots = list(roots)
    missing = [r for r in roots if not r.ready()]
    if not missing:
        return {r: r.path for r in roots}
    for tool in ("debootstrap", "chroot"):
        if shutil.which(tool) is None:
            raise BuildError(f"{tool} missing: run `sudo bash tests/setup-system.sh`")
    _log(f"building {', '.join(r.name for r in missing)} under {CACHE / 'roots'}")
    started = time.monotonic()
    # a variant waits for its suite's base (build() takes the base's lock), so the three
    # debootstraps run side by side and each suite's variants follow as soon as it is done
    with ThreadPoolExecutor(max_workers=len(missing)) as pool:
        list(pool.map(build, missing))
    _log(f"roots ready in {time.monotonic() - started:.0f} s")
    return {r: r.path for r in roots}


def main(argv: list[str]) -> int:
    wanted = [Root(*name.split("-", 1)) for name in argv] or all_roots()
    for root, path in build_all(wanted).items():
        print(f"{root.name}\t{path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
