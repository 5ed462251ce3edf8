"""Boot a cached Debian root with systemd as PID 1, look inside, power it off, boot again.

A `Machine` is an overlay on a cached root (the root itself never changes): write files
into `machine.merged` while it is off, `boot()` it (systemd-nspawn with a private network
namespace: the container has only `lo`, or one veth on a `Bridge`), run commands in it
through nsenter into its PID 1, `reboot()` (a real poweroff and a new boot on the same
overlay), `close()` (power off, unmount, remove). The recipes' gotchas are handled here:
nspawn needs `--register=no --keep-unit` without machined; on a host whose PID 1 is not
systemd the container gets its own cgroup (never the host's root group); systemd 252
sometimes stalls mid-shutdown until something talks to it, so the poweroff wait pokes it.

A `Bridge` is a network namespace holding a bridge with a documentation address; machines
booted with `bridge=` get one veth end on it (`host0` inside) so several booted hosts and
a client (run through `bridge.run`) talk to each other and to nothing else.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Optional, Union

BOOT_TIMEOUT = 120.0
POWEROFF_TIMEOUT = 60.0
_serial = itertools.count(1)
_CGROUP_HIERARCHIES = ("/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup")

Argv = Union[str, Sequence[str]]


class BootError(RuntimeError):
    pass


def _argv(command: Argv) -> list[str]:
    return ["sh", "-c", command] if isinstance(command, str) else list(command)


def _own_cgroups(name: str) -> list[Path]:
    """Per-container cgroups when the host is not run by systemd (systemd-nspawn would
    otherwise put the container's payload in the host's root cgroup and fail)."""
    if os.path.isdir("/run/systemd/system"):
        return []
    dirs = []
    for hierarchy in _CGROUP_HIERARCHIES:
        fstype = subprocess.run(["stat", "-f", "-c", "%T", hierarchy], capture_output=True,
                                text=True).stdout.strip()
        if fstype in ("cgroup2fs", "cgroupfs"):
            dirs.append(Path(hierarchy) / f"clb-boot.{os.getpid()}.{name}")
    return dirs


def _remove_cgroups(dirs: Sequence[Path]) -> None:
    for top in dirs:
        if top.is_dir():
            for sub in sorted((p for p in top.rglob("*") if p.is_dir()), reverse=True):
                with contextlib.suppress(OSError):
                    sub.rmdir()
            with contextlib.suppress(OSError):
                top.rmdir()


class Bridge:
    """`ip netns add NAME`, a bridge `br0` in it with `address` (documentation range)."""

    def __init__(self, name: str = "", address: str = "198.51.100.1/24") -> None:
        self.name = name or f"clbbr{os.getpid()}x{next(_serial)}"
        self.address = address
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        try:
            self.run(["ip", "link", "add", "br0", "type", "bridge"], check=True)
            self.run(["ip", "addr", "add", address, "dev", "br0"], check=True)
            self.run(["ip", "link", "set", "br0", "up"], check=True)
            self.run(["ip", "link", "set", "lo", "up"], check=True)
        except BaseException:
            self.close()
            raise

    def wrap(self, argv: Sequence[str]) -> list[str]:
        # only the network namespace: `ip netns exec` would also remount /sys, hiding the
        # cgroup hierarchies systemd-nspawn needs
        return ["nsenter", f"--net=/run/netns/{self.name}", *argv]

    def run(self, command: Argv, check: bool = False, timeout: float = 120,
            **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(self.wrap(_argv(command)), check=check, timeout=timeout,
                              capture_output=True, text=True, **kwargs)

    def close(self) -> None:
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True)


class Machine:
    """One bootable overlay on a cached root. `binds` are (host_path, container_path)
    mounted read-only at every boot."""

    def __init__(self, root: Path, workdir: Path, name: str = "",
                 binds: Sequence[tuple[str, str]] = (), bridge: Optional[Bridge] = None) -> None:
        self.root = root
        self.name = name or f"clb{next(_serial)}"
        self.dir = workdir / self.name
        self.binds = list(binds)
        self.bridge = bridge
        self.merged = self.dir / "merged"
        self.console = self.dir / "console.log"
        self.process: Optional[subprocess.Popen] = None
        self.leader: Optional[int] = None
        self.boots = 0
        self.timings: list[dict[str, float]] = []  # per boot: up, down (seconds)
        self._cgroups = _own_cgroups(self.name)
        for sub in ("upper", "work", "merged"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["mount", "-t", "overlay", f"clb-{self.name}", "-o",
             f"lowerdir={root},upperdir={self.dir / 'upper'},workdir={self.dir / 'work'}",
             str(self.merged)], check=True)

    # -- files, while it is off (or on: the overlay is the container's root) ------------------
    def path(self, inside: str) -> Path:
        return self.merged / inside.lstrip("/")

    def write(self, inside: str, text: str, mode: int = 0o644) -> None:
        target = self.path(inside)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        target.chmod(mode)

    def enable(self, *units: str, verb: str = "enable") -> None:
        """`systemctl enable` (or `verb`) on the overlay, as an installer would; while off."""
        subprocess.run(["systemctl", f"--root={self.merged}", verb, *units], check=True,
                       capture_output=True)

    # -- boot and power off ---------------------------------------------------------------------
    def boot(self) -> str:
        """Start systemd as PID 1; return `systemctl is-system-running --wait`."""
        if self.process is not None:
            raise BootError(f"{self.name} is already running")
        started = time.monotonic()
        net = ["--network-bridge=br0"] if self.bridge else ["--private-network"]
        argv = ["systemd-nspawn", "-D", str(self.merged), "-M", self.name, "-b", *net,
                "--register=no", "--keep-unit", "--console=pipe",
                *(f"--bind-ro={host}:{inside}" for host, inside in self.binds)]
        if self.bridge:
            argv = self.bridge.wrap(argv)
        cgroups = self._cgroups

        def enter_cgroups() -> None:
            for group in cgroups:
                group.mkdir(exist_ok=True)
                (group / "cgroup.procs").write_text(str(os.getpid()))

        with self.console.open("a") as log:
            log.write(f"\n==== boot {self.boots + 1}\n")
            log.flush()
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, preexec_fn=enter_cgroups)
        self.leader = self._find_leader()
        self.boots += 1
        socket = Path(f"/proc/{self.leader}/root/run/systemd/private")
        self._wait(socket.exists, 30, "systemd's private socket")
        state = self.run(["systemctl", "is-system-running", "--wait"],
                         timeout=BOOT_TIMEOUT).stdout.strip()
        self.timings.append({"up": time.monotonic() - started})
        return state

    def _find_leader(self) -> int:
        """The container's PID 1: nspawn's child named systemd, in another PID namespace."""
        assert self.process is not None
        own = os.readlink("/proc/self/ns/pid")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            for pid in _children(self.process.pid):
                with contextlib.suppress(OSError):
                    if (Path(f"/proc/{pid}/comm").read_text().strip() == "systemd"
                            and os.readlink(f"/proc/{pid}/ns/pid") != own):
                        return pid
            time.sleep(0.05)
        self._stop_process()
        raise BootError(f"{self.name} did not start; console:\n{self.console_tail()}")

    def _wait(self, predicate, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise BootError(f"{self.name}: no {what} after {timeout:g} s")
            time.sleep(0.05)

    def poweroff(self) -> None:
        if self.process is None:
            return
        started = time.monotonic()
        self.run(["systemctl", "poweroff", "--no-block"], timeout=30)
        deadline = time.monotonic() + POWEROFF_TIMEOUT
        poked = time.monotonic()
        while self.process.poll() is None and time.monotonic() < deadline:
            if time.monotonic() - poked > 1.0:  # wake a stalled systemd 252 (see module doc)
                self.run(["systemctl", "list-jobs", "--no-pager"], timeout=5)
                poked = time.monotonic()
            time.sleep(0.05)
        clean = self.process.poll() is not None
        self._stop_process()
        if self.timings:
            self.timings[-1]["down"] = time.monotonic() - started
        if not clean:
            raise BootError(f"{self.name} did not power off in {POWEROFF_TIMEOUT:g} s")

    def reboot(self) -> str:
        self.poweroff()
        return self.boot()

    def _stop_process(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None and self.leader:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.leader, 9)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        self.leader = None
        _remove_cgroups(self._cgroups)

    def close(self) -> None:
        try:
            with contextlib.suppress(BootError, subprocess.TimeoutExpired):
                self.poweroff()
        finally:
            self._stop_process()
            subprocess.run(["umount", str(self.merged)], capture_output=True)
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- inside ---------------------------------------------------------------------------------
    def wrap(self, argv: Sequence[str]) -> list[str]:
        if self.leader is None:
            raise BootError(f"{self.name} is not running")
        return ["nsenter", "-t", str(self.leader), "-a", "env", "-i",
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG=C.UTF-8", *argv]

    def run(self, command: Argv, check: bool = False, timeout: float = 120,
            **kwargs) -> subprocess.CompletedProcess:
        """Run in the container (its namespaces and root, a clean environment)."""
        result = subprocess.run(self.wrap(_argv(command)), capture_output=True, text=True,
                                timeout=timeout, **kwargs)
        if check and result.returncode != 0:
            raise AssertionError(f"{self.name}: {shlex.join(_argv(command))} -> "
                                 f"{result.returncode}\n{result.stdout}{result.stderr}")
        return result

    def popen(self, command: Argv, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(self.wrap(_argv(command)), **kwargs)

    def console_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "".join(self.console.read_text(errors="replace").splitlines(True)[-lines:])
        return ""


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    with contextlib.suppress(OSError):
        return [int(p) for p in path.read_text().split()]
    return []


def require_boot_tools() -> list[str]:
    """The host tools a boot needs that are missing (tests/setup-system.sh installs them)."""
    missing = [t for t in ("systemd-nspawn", "debootstrap", "nsenter", "chroot")
               if shutil.which(t) is None]
    if "overlay" not in Path("/proc/filesystems").read_text():
        subprocess.run(["modprobe", "overlay"], capture_output=True)
        if "overlay" not in Path("/proc/filesystems").read_text():
            missing.append("overlayfs")
    return missing
