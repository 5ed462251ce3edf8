"""The one place with side effects: commands, file reads and writes under a root.

Dry-run, tests and the real host share this code path: in dry-run, changes (commands
that alter the system, file writes and removals) are recorded and reported but not
carried out, while reads and read-only queries still happen so the plan is real.
Commands are always argv lists, never shell strings, so no user text reaches a shell.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from clb_wizard.errors import InputError

# Parsable, untranslated output from every tool we run.
_TOOL_ENV = {"LC_ALL": "C", "LANG": "C"}


class RunnerError(InputError):
    """A command or file operation failed; the message names what and why."""


@dataclass(frozen=True)
class FileState:
    """A file as it is on disk: content None means it does not exist."""

    content: Optional[bytes]
    mode: int = 0o644
    uid: int = 0
    gid: int = 0

    @property
    def exists(self) -> bool:
        return self.content is not None

    @property
    def text(self) -> Optional[str]:
        return None if self.content is None else self.content.decode("utf-8", "replace")


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
        """Map a target path such as /etc/netplan/x.yaml to where it is under the root."""
        return self.root / path.lstrip("/")

    def _emit(self, event: Event) -> None:
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    # -- reads: always real ------------------------------------------------------
    def file_state(self, path: str) -> FileState:
        target = self.host_path(path)
        try:
            st = target.stat()
            data = target.read_bytes()
        except FileNotFoundError:
            return FileState(None)
        except IsADirectoryError:
            raise RunnerError(f"{path} is a directory, expected a file") from None
        except OSError as exc:
            raise RunnerError(f"cannot read {path}: {exc.strerror}") from None
        return FileState(data, st.st_mode & 0o7777, st.st_uid, st.st_gid)

    def read_text(self, path: str) -> Optional[str]:
        return self.file_state(path).text

    def exists(self, path: str) -> bool:
        return self.host_path(path).exists()

    def is_dir(self, path: str) -> bool:
        return self.host_path(path).is_dir()

    def list_dir(self, path: str) -> list[str]:
        try:
            return sorted(os.listdir(self.host_path(path)))
        except (FileNotFoundError, NotADirectoryError):
            return []

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
        if dry_run:
            result = CommandResult(args, 0, dry_run=True)
        else:
            env = {**os.environ, **_TOOL_ENV}
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
            except PermissionError:
                result = CommandResult(args, 126, stderr=f"{args[0]}: permission denied")
            except subprocess.TimeoutExpired:
                result = CommandResult(args, 124, stderr=f"timed out after {timeout}s")
        if kind == "run" or not result.ok:
            self._emit(Event(kind, " ".join(args), result.ok, result.dry_run))
        return result

    def spawn(self, argv: Sequence[str], env: Optional[dict] = None) -> int:
        """Start a detached process (own session, no terminal) that outlives us; its pid."""
        self._emit(Event("spawn", " ".join(argv), dry_run=self.dry_run))
        if self.dry_run:
            return 0
        proc = subprocess.Popen(
            list(argv),
            env={**os.environ, **_TOOL_ENV, **(env or {})},
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

    def write_file(self, path: str, data: bytes, mode: int, uid: int = 0, gid: int = 0) -> None:
        """Atomic replace: temp file in the same directory, fsync, rename, fsync the dir.

        A crash leaves either the old file or the new one, never a half-written one;
        the temp file name starts with ".clb-wizard." so recovery can sweep leftovers.
        """
        self._emit(Event("write", f"{path} (mode {mode:04o})", dry_run=self.dry_run))
        if self.dry_run:
            return
        target = self.host_path(path)
        try:
            fd, tmp = tempfile.mkstemp(prefix=".clb-wizard.", dir=target.parent)
        except OSError as exc:
            raise RunnerError(f"cannot write in {Path(path).parent}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fchmod(fh.fileno(), mode)
                if os.geteuid() == 0:
                    os.fchown(fh.fileno(), uid, gid)
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise RunnerError(f"cannot write {path}: {exc.strerror}") from None
        _fsync_dir(target.parent)

    def remove_file(self, path: str) -> None:
        self._emit(Event("remove", path, dry_run=self.dry_run))
        if self.dry_run:
            return
        target = self.host_path(path)
        try:
            target.unlink(missing_ok=True)
        except OSError as exc:
            raise RunnerError(f"cannot remove {path}: {exc.strerror}") from None
        _fsync_dir(target.parent)

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
