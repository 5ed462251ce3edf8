"""The one place with side effects: commands, file reads and writes under a root.

Dry-run, tests and the real host share this code path: in dry-run, changes (commands
that alter the system, file writes and removals) are recorded and reported but not
carried out, while reads and read-only queries still happen so the plan is real.
Commands are always argv lists, never shell strings, so no user text reaches a shell.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from clb_wizard.errors import InputError
from clb_wizard.files import FileRefused, atomic_write, read_regular, read_xattrs, resolve_in_root

# Parsable, untranslated output from every tool we run.
_TOOL_ENV = {"LC_ALL": "C", "LANG": "C"}
# What a child command inherits from our environment: an allow-list, so the cloud keys
# (UCLOUD_PRIVATE_KEY) and whatever else the admin exported never reach a child.
_ENV_KEEP = ("PATH", "TZ", "DBUS_SYSTEM_BUS_ADDRESS", "NO_COLOR")
_ENV_KEEP_PREFIXES = ("SYSTEMD_",)
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def child_env(extra: Optional[dict] = None) -> dict[str, str]:
    """The clean environment of every child: allow-listed names, and a PATH of absolute
    directories only (a relative entry would find tools in whatever the cwd is), ending
    with the system's own directories: the tools we run live in sbin, which a PATH from
    `su` or a user's login may lack."""
    env = {k: v for k, v in os.environ.items()
           if k in _ENV_KEEP or k.startswith(_ENV_KEEP_PREFIXES)}
    env["PATH"] = tool_path(env.get("PATH"))
    return {**env, **_TOOL_ENV, **(extra or {})}


def tool_path(path: Optional[str] = None) -> str:
    """Where commands are looked up: PATH's absolute directories, then DEFAULT_PATH's."""
    given = (os.environ.get("PATH", "") if path is None else path).split(":")
    dirs = [p for p in given if p.startswith("/")]
    return ":".join(dict.fromkeys(dirs + DEFAULT_PATH.split(":")))


def find_tool(name: str) -> Optional[str]:
    """The command `name` as a child would find it (None: not installed)."""
    return shutil.which(name, path=tool_path())


class RunnerError(InputError):
    """A command or file operation failed; the message names what and why."""


@dataclass(frozen=True)
class FileState:
    """A file as it is on disk: content None means it does not exist."""

    content: Optional[bytes]
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    link: Optional[str] = None  # the path is a symlink with this target (we write through it)
    xattrs: dict[str, bytes] = field(default_factory=dict, compare=False)  # ACLs among them

    @property
    def exists(self) -> bool:
        return self.content is not None

    @property
    def text(self) -> Optional[str]:
        """The content as text; bytes that are not UTF-8 survive an edit (surrogateescape)."""
        return None if self.content is None else self.content.decode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str = ""
    stderr: str = ""
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self) -> str:
        detail = (self.stderr or self.stdout).strip().splitlines()
        tail = f": {detail[-1]}" if detail else ""
        return f"`{' '.join(self.argv)}` exited {self.returncode}{tail}"


@dataclass(frozen=True)
class Event:
    """One thing the runner did (or, in dry-run, would have done)."""

    kind: str  # "run", "query", "write", "remove", "mkdir", "spawn", "kill"
    detail: str
    ok: bool = True
    dry_run: bool = False
    missing_tool: bool = False  # a command not installed, or not executable


@dataclass
class Runner:
    root: Path = Path("/")
    dry_run: bool = False
    on_event: Optional[Callable[[Event], None]] = None
    command_timeout: float = 60.0
    events: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    @property
    def is_live_root(self) -> bool:
        """True when the root is this host's own /, so its kernel state is relevant."""
        return self.root.resolve() == Path("/")

    def host_path(self, path: str) -> Path:
        """Map a target path such as /etc/netplan/x.yaml to where it really is under the
        root, every symlink resolved inside the root (never out of it)."""
        try:
            return resolve_in_root(self.root, path)
        except FileRefused as exc:
            raise RunnerError(str(exc)) from None

    def _located(self, path: str) -> Path:
        """Like host_path, but the last component itself is not followed."""
        parent, name = os.path.split(path.rstrip("/") or "/")
        return self.host_path(parent) / name if name else self.host_path(path)

    def link_of(self, path: str) -> Optional[str]:
        """The target of `path` if it is a symlink, else None."""
        try:
            return os.readlink(self._located(path))
        except OSError:
            return None

    def _emit(self, event: Event) -> None:
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    # -- reads: always real ------------------------------------------------------
    def file_state(self, path: str) -> FileState:
        """The file at `path` (through a symlink). A FIFO, device or dangling symlink is a
        RunnerError that says what to do, never a hang or a silent "does not exist"."""
        link = self.link_of(path)
        target = self.host_path(path)
        try:
            found = read_regular(target)
        except FileRefused as exc:
            raise RunnerError(f"{path} {exc}: clb-wizard only reads and edits regular files. "
                              f"Move it out of {os.path.dirname(path)}, then run it again."
                              ) from None
        except OSError as exc:
            raise RunnerError(f"cannot read {path}: {exc.strerror}") from None
        if found is None:
            if link is not None:
                raise RunnerError(
                    f"{path} is a symbolic link to {link}, which does not exist: point it at "
                    "a file or remove it, then run clb-wizard again.")
            return FileState(None)
        data, st = found
        return FileState(data, st.st_mode & 0o7777, st.st_uid, st.st_gid, link,
                         read_xattrs(target))

    def read_text(self, path: str) -> Optional[str]:
        return self.file_state(path).text

    def exists(self, path: str) -> bool:
        return self.host_path(path).exists()

    def is_dir(self, path: str) -> bool:
        return self.host_path(path).is_dir()

    def list_dir(self, path: str) -> list[str]:
        """The names in the directory, [] when there is none; one that cannot be listed
        is a RunnerError, like a file that cannot be read."""
        try:
            return sorted(os.listdir(self.host_path(path)))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise RunnerError(f"cannot list {path}: {exc.strerror}") from None

    def query(
        self, argv: Sequence[str], timeout: Optional[float] = None, input: Optional[str] = None
    ) -> CommandResult:
        """A read-only command: runs even in dry-run. A missing tool gives rc 127."""
        return self._execute(argv, "query", timeout, dry_run=False, input=input)

    # -- changes: recorded in dry-run --------------------------------------------
    def run(self, argv: Sequence[str], timeout: Optional[float] = None) -> CommandResult:
        return self._execute(argv, "run", timeout, dry_run=self.dry_run)

    def _execute(
        self,
        argv: Sequence[str],
        kind: str,
        timeout: Optional[float],
        dry_run: bool,
        input: Optional[str] = None,
    ) -> CommandResult:
        args = tuple(str(a) for a in argv)
        missing = False
        if dry_run:
            result = CommandResult(args, 0, dry_run=True)
        else:
            env = child_env()
            try:
                proc = subprocess.run(
                    args,
                    capture_output=True,
                    text=True,
                    timeout=timeout or self.command_timeout,
                    env=env,
                    **({"input": input} if input is not None else {"stdin": subprocess.DEVNULL}),
                )
                result = CommandResult(args, proc.returncode, proc.stdout, proc.stderr)
            except FileNotFoundError:
                result = CommandResult(args, 127, stderr=f"{args[0]}: command not found")
                missing = True
            except PermissionError:
                result = CommandResult(args, 126, stderr=f"{args[0]}: permission denied")
                missing = True
            except subprocess.TimeoutExpired:
                result = CommandResult(
                    args, 124, stderr=f"timed out after {timeout or self.command_timeout:g} s")
        if kind == "run" or not result.ok:
            self._emit(Event(kind, " ".join(args), result.ok, result.dry_run,
                             missing_tool=missing))
        return result

    def spawn(self, argv: Sequence[str], env: Optional[dict] = None) -> int:
        """Start a detached process (own session, no terminal, cwd /, clean environment)
        that outlives us; its pid."""
        self._emit(Event("spawn", " ".join(argv), dry_run=self.dry_run))
        if self.dry_run:
            return 0
        proc = subprocess.Popen(
            list(argv),
            env=child_env(env),
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        return proc.pid

    def kill(self, pid: int) -> None:
        self._emit(Event("kill", str(pid), dry_run=self.dry_run))
        if not self.dry_run and pid > 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 15)

    def write_file(self, path: str, data: bytes, mode: int, uid: int = 0, gid: int = 0,
                   xattrs: Optional[dict[str, bytes]] = None) -> None:
        """Atomic replace (files.atomic_write): a crash leaves either the old file or the
        new one; the temp file name starts with ".clb-wizard." so recovery can sweep it.

        A symlink at `path` is written through (the link stays as the admin made it, like
        dpkg does for conffiles) when it leads to a regular file inside the root.
        """
        self._emit(Event("write", f"{path} (mode {mode:04o})", dry_run=self.dry_run))
        if self.dry_run:
            return
        target = self._located(path)
        link = self.link_of(path)
        if link is not None:
            target = self.host_path(path)
            if not target.is_file() or target.is_symlink():
                raise RunnerError(f"{path} is a symbolic link to {link}, which is not a regular "
                                  "file: point it at one or remove it, then run it again.")
        try:
            atomic_write(target, data, mode, uid=uid, gid=gid, xattrs=xattrs)
        except FileRefused as exc:
            raise RunnerError(str(exc)) from None
        except OSError as exc:
            raise RunnerError(f"cannot write {path}: {exc.strerror}") from None

    def remove_file(self, path: str) -> None:
        self._emit(Event("remove", path, dry_run=self.dry_run))
        if self.dry_run:
            return
        target = self._located(path)
        # (a leftover temp link of an older version's link restore may go)
        if self.link_of(path) is not None and not target.name.startswith(".clb-wizard."):
            raise RunnerError(f"{path} is a symbolic link: clb-wizard does not remove links it "
                              "did not make. Remove it by hand if it should go.")
        try:
            target.unlink(missing_ok=True)
        except OSError as exc:
            raise RunnerError(f"cannot remove {path}: {exc.strerror}") from None
        _fsync_dir(target.parent)

    def remove_tree(self, path: str) -> None:
        """Remove a directory of ours and everything in it (symlinks in it are removed,
        never followed: shutil.rmtree works through directory fds here)."""
        self._emit(Event("remove", f"{path}/", dry_run=self.dry_run))
        if self.dry_run:
            return
        target = self._located(path)
        if os.path.islink(target):
            raise RunnerError(f"{path} is a symbolic link: clb-wizard does not remove links it "
                              "did not make. Remove it by hand if it should go.")
        try:
            shutil.rmtree(target)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise RunnerError(f"cannot remove {path}: {exc.strerror}") from None

    def make_dir(self, path: str, mode: int = 0o755) -> None:
        if self.is_dir(path):
            return
        self._emit(Event("mkdir", path, dry_run=self.dry_run))
        if not self.dry_run:
            try:
                self.host_path(path).mkdir(mode=mode, parents=True, exist_ok=True)
            except OSError as exc:
                raise RunnerError(f"cannot create {path}: {exc.strerror}") from None

    def writable_dir(self, path: str) -> Optional[str]:
        """Why `path` (or its nearest existing parent) cannot take new files, or None."""
        target = self.host_path(path)
        while not target.exists() and target != target.parent:
            target = target.parent
        probe = None
        try:
            fd, probe = tempfile.mkstemp(prefix=".clb-wizard.probe.", dir=target)
            os.close(fd)
        except OSError as exc:
            return f"{path} is not writable: {exc.strerror}"
        finally:
            if probe:
                Path(probe).unlink(missing_ok=True)
        return None


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
