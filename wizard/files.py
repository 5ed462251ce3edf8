"""File primitives a root tool can trust, used by the runner (every file the engine
touches) and by `export`/`report --output`:

- `resolve_in_root`: a path under `--root DIR` with every symlink resolved inside DIR,
  as chroot would (an absolute link target starts again at DIR, `..` stops at DIR), so a
  link can never lead out of DIR to the machine running the tool.
- `read_regular`: the bytes of a regular file; a FIFO, socket or device is refused
  without blocking (it is never opened for reading).
- `atomic_write`: a new file under a random name created with O_EXCL|O_NOFOLLOW in the
  target directory, owner, mode and extended attributes (ACLs) set before any content
  is written, fsync, then rename over the final name, which is never followed if it is
  a symlink. Another user can neither redirect the write nor own or edit the result.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path
from typing import Optional

_MAX_LINKS = 40  # like the kernel's ELOOP limit


class FileRefused(Exception):
    """The path is not something we may read or write (the message says what to do)."""


def kind_of(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "named pipe (FIFO)"),
                       (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISLNK, "symbolic link")):
        if test(mode):
            return name
    return "regular file" if stat.S_ISREG(mode) else "special file"


def resolve_in_root(root: Path, path: str) -> Path:
    """Where `path` (absolute, as seen from inside `root`) really is under `root`."""
    if str(root) == "/":
        return Path(os.path.realpath(path))
    pending = [p for p in path.split("/") if p]
    parts: list[str] = []
    links = 0
    while pending:
        name = pending.pop(0)
        if name == ".":
            continue
        if name == "..":
            if parts:
                parts.pop()
            continue
        candidate = root.joinpath(*parts, name)
        try:
            target = os.readlink(candidate)
        except OSError:  # not a link, or does not exist (yet)
            parts.append(name)
            continue
        links += 1
        if links > _MAX_LINKS:
            raise FileRefused(f"{path}: too many levels of symbolic links")
        if target.startswith("/"):
            parts = []
        pending = [p for p in target.split("/") if p] + pending
    return root.joinpath(*parts)


def read_regular(path: Path) -> Optional[tuple[bytes, os.stat_result]]:
    """(content, stat) of a regular file, None if it does not exist; FileRefused for
    anything else. Follows symlinks (callers resolve them first)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise FileRefused(f"is a {kind_of(st.st_mode)}, not a regular file")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        st = os.fstat(fd)  # what we opened, not what was there a moment ago
        if not stat.S_ISREG(st.st_mode):
            raise FileRefused(f"is a {kind_of(st.st_mode)}, not a regular file")
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks), st
    finally:
        os.close(fd)


def read_xattrs(path: Path) -> dict[str, bytes]:
    """Extended attributes (POSIX ACLs are system.posix_acl_*), {} where unsupported."""
    try:
        return {name: os.getxattr(path, name) for name in os.listxattr(path)}
    except OSError:
        return {}


def atomic_write(path: Path, data: bytes, mode: int, *, uid: Optional[int] = None,
                 gid: Optional[int] = None, xattrs: Optional[dict[str, bytes]] = None,
                 prefix: str = ".clb-wizard.") -> None:
    """Replace `path` with `data` atomically (see the module docstring).

    Raises FileRefused when `path` is a symlink or not a regular file, OSError otherwise.
    """
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _check_final_name(dir_fd, path)
        tmp = f"{prefix}{secrets.token_hex(8)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=dir_fd)
        try:
            if os.geteuid() == 0 and uid is not None:
                os.fchown(fd, uid, gid if gid is not None else -1)
            os.fchmod(fd, mode)  # after chown, which clears set-id bits
            for name, value in (xattrs or {}).items():
                _set_xattr(fd, name, value)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            os.unlink(tmp, dir_fd=dir_fd)
            raise
        os.close(fd)
        try:
            _check_final_name(dir_fd, path)  # planted while we were writing?
            os.rename(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            os.unlink(tmp, dir_fd=dir_fd)
            raise
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _check_final_name(dir_fd: int, path: Path) -> None:
    try:
        st = os.lstat(path.name, dir_fd=dir_fd)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise FileRefused(f"{path} is a symbolic link: refusing to write through it or "
                          "replace it. Remove it, or choose another name.")
    if not stat.S_ISREG(st.st_mode):
        raise FileRefused(f"{path} is a {kind_of(st.st_mode)}, not a regular file: move it "
                          "away, or choose another name.")


def _set_xattr(fd: int, name: str, value: bytes) -> None:
    try:
        os.setxattr(fd, name, value)
    except OSError as exc:
        if exc.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP):  # the target fs has none
            raise


def printable(text: str) -> str:
    """Text kept lossless with surrogateescape, made safe to print (U+FFFD for bytes that
    are not UTF-8): for diffs and reports, never for what gets written."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
