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
- `open_trusted_dir` / `write_output`: a directory reached from / one component at a
  time, refused when another user could change what is in it (owned by them, writable
  by them without the sticky bit, or reached through a symbolic link they own), so a
  file root writes there stays root's (`export`/`report --output`, the state directory).
- `terminal_safe`: text from outside (API answers, state records) made safe to print.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pwd
import secrets
import stat
import unicodedata
from pathlib import Path
from typing import Any, Optional

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
                 prefix: str = ".clb-wizard.", dir_fd: Optional[int] = None) -> None:
    """Replace `path` with `data` atomically (see the module docstring); `dir_fd`: the
    directory of `path`, already opened (and checked) by the caller.

    Raises FileRefused when `path` is a symlink or not a regular file, OSError otherwise.
    """
    own_fd = dir_fd is None
    if dir_fd is None:
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
        if own_fd:
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


# -- directories another user cannot change ------------------------------------------------
def _owner(uid: int) -> str:
    try:
        return f"user {pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _trusted_uid(uid: int) -> bool:
    return uid in (0, os.geteuid())


def dir_problem(st: os.stat_result, shown: str, *, shared_ok: bool) -> Optional[str]:
    """Why another user could change what is in the directory `st` describes, or None.

    Trusted: owned by root or by us, and writable by nobody else, except (`shared_ok`)
    with the sticky bit, as /tmp is: there others may add names but not touch ours."""
    if not _trusted_uid(st.st_uid):
        return f"{shown} belongs to {_owner(st.st_uid)}, who could replace what is in it"
    others_write = st.st_mode & 0o002 or (st.st_mode & 0o020 and st.st_gid != 0)
    if others_write and not (shared_ok and st.st_mode & stat.S_ISVTX):
        return (f"{shown} can be written by other users (mode {stat.S_IMODE(st.st_mode):04o}), "
                "who could replace what is in it")
    return None


def open_trusted_dir(path: str, *, create: bool = False, shared_final: bool = True) -> int:
    """An O_DIRECTORY fd of `path`, walked from / without following anything another user
    could have changed: every directory on the way passes `dir_problem` (ancestors may be
    sticky and world-writable like /tmp; the directory itself only when `shared_final`),
    and a symbolic link on the way is followed only when root (or we) own it. Missing
    directories are created when `create` (mode 0777 less the umask, as mkdir -p does).

    Raises FileRefused (the message names the directory and why), FileNotFoundError
    (missing, without `create`), or OSError."""
    pending = [p for p in os.path.abspath(path).split("/") if p]
    stack = [(os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC), "/")]
    links = 0
    try:
        problem = dir_problem(os.fstat(stack[0][0]), "/", shared_ok=True)
        if problem:  # / itself, the first directory on every way
            raise FileRefused(problem)
        while pending:
            name = pending.pop(0)
            fd, shown = stack[-1]
            if name == "..":
                if len(stack) > 1:
                    os.close(stack.pop()[0])
                continue
            if name == ".":
                continue
            here = os.path.join(shown, name)
            st = _lstat_or_create(fd, name, create)
            if stat.S_ISLNK(st.st_mode):
                if not _trusted_uid(st.st_uid):
                    raise FileRefused(f"{here} is a symbolic link that belongs to "
                                      f"{_owner(st.st_uid)}, who could point it elsewhere")
                links += 1
                if links > _MAX_LINKS:
                    raise FileRefused(f"{path}: too many levels of symbolic links")
                target = os.readlink(name, dir_fd=fd)
                if target.startswith("/"):
                    for opened, _ in stack[1:]:
                        os.close(opened)
                    del stack[1:]
                pending = [p for p in target.split("/") if p] + pending
                continue
            if not stat.S_ISDIR(st.st_mode):
                raise FileRefused(f"{here} is a {kind_of(st.st_mode)}, not a directory")
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                            dir_fd=fd)
            stack.append((child, here))
            problem = dir_problem(os.fstat(child), here,
                                  shared_ok=shared_final or bool(pending))
            if problem:
                raise FileRefused(problem)
        return stack.pop()[0]
    finally:
        for opened, _ in stack:
            os.close(opened)


def _lstat_or_create(dir_fd: int, name: str, create: bool) -> os.stat_result:
    try:
        return os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        if not create:
            raise
    with contextlib.suppress(FileExistsError):  # made meanwhile (by whom: the caller checks)
        os.mkdir(name, 0o777, dir_fd=dir_fd)
    return os.lstat(name, dir_fd=dir_fd)


def write_output(output: str, data: bytes, mode: int, default_name: str) -> Path:
    """`export`/`report --output`: write `data` to OUTPUT, a file path or a directory
    (one that exists, ends with "/" or has no suffix: `default_name` inside it, created if
    needed). The directory must be one no other user can change (`open_trusted_dir`; a
    sticky one like /tmp is fine), and the file is written as `atomic_write` does.

    Raises FileRefused with a message that says what to do, or OSError."""
    target = Path(os.path.abspath(output))
    if os.path.islink(target):  # to a directory or a file: either way, not followed
        raise FileRefused(f"{target} is a symbolic link: refusing to write through it or "
                          "replace it. Remove it, or choose another name.")
    if target.is_dir() or output.endswith("/") or not target.suffix:
        directory, name = target, default_name
    else:
        directory, name = target.parent, target.name
    try:
        dir_fd = open_trusted_dir(str(directory), create=True)
    except FileRefused as exc:
        raise FileRefused(f"{exc}: clb-wizard does not write there. Choose a directory "
                          "only root can change (for example /root), or a sticky one such "
                          "as /tmp. Nothing was written.") from None
    try:
        atomic_write(directory / name, data, mode, prefix=f".{name}.", dir_fd=dir_fd)
    finally:
        os.close(dir_fd)
    return directory / name


# -- text from outside, for a terminal -------------------------------------------------------
# Invisible characters that reorder or hide text (Trojan Source, CVE-2021-42574).
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(value: Any, keep: str = "") -> str:
    """``value`` as text with every control character (C0, DEL, C1: ESC, CSI, BEL, CR, ...)
    and bidi control written as a visible escape (``\\x1b``), so it prints as itself;
    the characters in `keep` (say "\\n\\t" for a multi-line text) stay as they are."""
    text = "" if value is None else str(value)
    if text.isprintable() and not _BIDI.intersection(text):
        return text
    return "".join(
        _escape(ch) if ch not in keep and (unicodedata.category(ch) in ("Cc", "Cf")
                                           and ch != "\u200d" or ch in _BIDI) else ch
        for ch in text
    )
