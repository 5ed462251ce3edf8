"""Run one command chrooted into a root folder, in a private mount namespace; optionally as
on an old kernel.

    python -m tests.bundle.jail ROOT [--old-kernel] [--bind SRC:DEST[:ro]]... \
        [--syscalls-only] [--env NAME=VALUE]... -- ARGV...

The root gets the host's /dev (bound) and a fresh /proc; each --bind puts a host folder at
DEST inside (read-only with :ro). The command gets exactly the --env variables. Mounts live
and die with the command (their namespace is private: the host sees none of them).

--old-kernel simulates Linux 3.10 (CentOS 7's kernel) for the command and its children,
as far as a newer kernel allows:
- a seccomp filter answers ENOSYS for every system call newer than 3.10 (x86_64: number
  314, sched_setattr of 3.14, and up; aarch64: 274), as the old kernel would; and
- the UNAME26 personality makes uname() report 2.6.x, an old kernel: OpenSSL 3 reads
  uname() to decide whether it may fall back from getrandom() (ENOSYS here) to
  /dev/urandom, and refuses on a kernel that says it is 4.8 or newer. A real 3.10 says
  "3.10.0"; 2.6 is what a newer kernel can be made to say, and it takes the same path.
A prctl-installed filter is inherited across fork and exec and cannot be removed.
--syscalls-only installs the filter but leaves uname() alone (the control that shows the
uname part matters). The command gets its own System V IPC namespace: OpenSSL remembers in
a shared memory segment that /dev/random was seeded once, and a segment left by an earlier
run would hide what a fresh host does.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import subprocess
import sys
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
UNAME26 = 0x0020000
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
ENOSYS = 38

# machine -> (AUDIT_ARCH_*, the first system call number Linux 3.10 did not have)
OLD_KERNEL = {"x86_64": (0xC000003E, 314), "aarch64": (0xC00000B7, 274)}

# classic BPF
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JGE_K = 0x35
BPF_RET_K = 0x06
SECCOMP_DATA_NR, SECCOMP_DATA_ARCH = 0, 4


class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint32)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]


LIBC = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result == -1:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def old_kernel_filter(machine: str = platform.machine()) -> list[tuple[int, int, int, int]]:
    """ENOSYS for system calls >= the first one 3.10 lacked (and for any other ABI)."""
    audit_arch, first_new = OLD_KERNEL[machine]
    enosys = SECCOMP_RET_ERRNO | ENOSYS
    return [
        (BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_ARCH),
        (BPF_JEQ_K, 0, 3, audit_arch),       # another ABI (x32, i386): -> ENOSYS
        (BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_NR),
        (BPF_JGE_K, 1, 0, first_new),        # newer than 3.10: -> ENOSYS
        (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
        (BPF_RET_K, 0, 0, enosys),
    ]


def become_old_kernel(uname: bool = True) -> None:
    if uname:
        current = LIBC.personality(0xFFFFFFFF)
        _check(current, "personality")
        _check(LIBC.personality(current | UNAME26), "personality(UNAME26)")
    program = (SockFilter * 6)(*(SockFilter(*ins) for ins in old_kernel_filter()))
    prog = SockFprog(len(program), program)
    _check(LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    _check(LIBC.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0),
           "prctl(SECCOMP)")


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def enter(root: Path, binds: list[str]) -> None:
    _check(LIBC.unshare(CLONE_NEWNS | CLONE_NEWIPC), "unshare")
    _mount("--make-rprivate", "/")
    for sub in ("dev", "proc"):
        (root / sub).mkdir(exist_ok=True)
    _mount("--rbind", "/dev", str(root / "dev"))
    _mount("-t", "proc", "proc", str(root / "proc"))
    for spec in binds:
        source, dest, *flags = spec.split(":")
        target = root / dest.lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        _mount("--bind", source, str(target))
        if flags == ["ro"]:
            _mount("-o", "remount,bind,ro", str(target))
    os.chroot(root)
    os.chdir("/")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--old-kernel", action="store_true")
    parser.add_argument("--syscalls-only", action="store_true")
    parser.add_argument("--bind", action="append", default=[], metavar="SRC:DEST[:ro]")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args(argv)
    env = dict(item.split("=", 1) for item in args.env)
    enter(args.root.resolve(), args.bind)
    if args.old_kernel or args.syscalls_only:
        become_old_kernel(uname=not args.syscalls_only)
    os.execvpe(args.command[0], args.command, env)  # PATH: the inside one
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
