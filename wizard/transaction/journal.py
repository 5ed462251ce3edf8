"""The on-disk journal of a transaction, its backups and the lock.

Layout of the state directory (default /var/lib/clb-wizard, or $CLB_WIZARD_STATE_DIR):
  lock                   flock()ed while a transaction runs: two runs never interleave
  journal.json           the unfinished transaction, if any (recover reads it)
  last.json              the last transaction that was kept (rollback and verify read it)
  backups/<id>/<path>    byte-exact copies of the files a transaction changed
  log/<id>.log           what the transaction did, step by step
The journal is written (atomically, through the runner) before anything else changes,
and it carries the old content of every file inline, so a crash at any point leaves
enough on disk to put the host back.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from clb_wizard.errors import InputError
from clb_wizard.methods.base import LoAddress
from clb_wizard.runner import Runner
from clb_wizard.sysctls import SysctlChange

# Journal states, in the order a transaction moves through them.
STARTED = "started"  # journal + backups written, nothing else changed yet
PREPARED = "prepared"  # pre-write commands ran
WRITTEN = "written"  # every file is in place
ACTIVATED = "activated"  # activation commands ran
VERIFIED = "verified"  # the facts match
AWAITING_CONFIRM = "awaiting-confirm"  # kept only if the user confirms before the deadline
COMMITTED = "committed"
ROLLING_BACK = "rolling-back"
ROLLED_BACK = "rolled-back"
ROLLBACK_FAILED = "rollback-failed"
UNFINISHED = (STARTED, PREPARED, WRITTEN, ACTIVATED, VERIFIED, AWAITING_CONFIRM, ROLLING_BACK)


def state_dir() -> Path:
    return Path(os.environ.get("CLB_WIZARD_STATE_DIR", "/var/lib/clb-wizard"))


def _b64(data: Optional[bytes]) -> Optional[str]:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _unb64(text: Optional[str]) -> Optional[bytes]:
    return None if text is None else base64.b64decode(text)


@dataclass
class FileRecord:
    path: str
    before: Optional[bytes]  # None: did not exist
    before_mode: int
    before_uid: int
    before_gid: int
    after: Optional[bytes]  # None: removed by the transaction
    after_mode: int

    def to_json(self) -> dict:
        data = asdict(self)
        data["before"], data["after"] = _b64(self.before), _b64(self.after)
        return data

    @classmethod
    def from_json(cls, data: dict) -> FileRecord:
        return cls(**{**data, "before": _unb64(data["before"]), "after": _unb64(data["after"])})


@dataclass
class Journal:
    id: str
    state: str
    platform: dict
    method: str
    vips: list[str]
    foreign: list[str] = field(default_factory=list)
    files: list[FileRecord] = field(default_factory=list)
    live_before: list[LoAddress] = field(default_factory=list)
    sysctls: list[SysctlChange] = field(default_factory=list)
    confirm_deadline: Optional[float] = None
    watchdog: Optional[dict] = None
    error: Optional[str] = None
    history: list[list] = field(default_factory=list)  # [state, unix time]

    @classmethod
    def new(cls, **kwargs) -> Journal:
        tx_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
        return cls(id=tx_id, state=STARTED, history=[[STARTED, time.time()]], **kwargs)

    def to_json(self) -> dict:
        return {
            "format": 1,
            "id": self.id,
            "state": self.state,
            "platform": self.platform,
            "method": self.method,
            "vips": self.vips,
            "foreign": self.foreign,
            "files": [f.to_json() for f in self.files],
            "live_before": [asdict(a) for a in self.live_before],
            "sysctls": [s.to_json() for s in self.sysctls],
            "confirm_deadline": self.confirm_deadline,
            "watchdog": self.watchdog,
            "error": self.error,
            "history": self.history,
        }

    @classmethod
    def from_json(cls, data: dict) -> Journal:
        return cls(
            id=data["id"],
            state=data["state"],
            platform=data["platform"],
            method=data["method"],
            vips=list(data["vips"]),
            foreign=list(data.get("foreign", [])),
            files=[FileRecord.from_json(f) for f in data["files"]],
            live_before=[LoAddress(**a) for a in data["live_before"]],
            sysctls=[SysctlChange(**s) for s in data.get("sysctls", [])],
            confirm_deadline=data.get("confirm_deadline"),
            watchdog=data.get("watchdog"),
            error=data.get("error"),
            history=data.get("history", []),
        )


class LockBusy(InputError):
    """Another clb-wizard run holds the lock."""


class Store:
    """The state directory, read and written through the runner."""

    def __init__(self, runner: Runner, directory: Optional[Path] = None) -> None:
        self.runner = runner
        self.dir = Path(directory or state_dir())
        self._lock_fd: Optional[int] = None

    @property
    def journal_path(self) -> str:
        return str(self.dir / "journal.json")

    @property
    def last_path(self) -> str:
        return str(self.dir / "last.json")

    def backup_path(self, tx_id: str, path: str) -> str:
        return str(self.dir / "backups" / tx_id / path.lstrip("/"))

    def log_path(self, tx_id: str) -> str:
        return str(self.dir / "log" / f"{tx_id}.log")

    # -- lock -------------------------------------------------------------------------
    def lock(self, wait: float = 0.0) -> None:
        """flock the state dir; raise LockBusy if another run holds it after `wait` s."""
        self.runner.make_dir(str(self.dir), 0o700)
        fd = os.open(self.dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
                    os.close(fd)
                    raise LockBusy(
                        f"another clb-wizard run (pid {holder or '?'}) is changing this host; "
                        "wait for it to finish, then try again."
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    # -- journal ----------------------------------------------------------------------
    def _read(self, path: str) -> Optional[Journal]:
        text = self.runner.read_text(path)
        return Journal.from_json(json.loads(text)) if text else None

    def active(self) -> Optional[Journal]:
        """The unfinished transaction, if a run was interrupted."""
        journal = self._read(self.journal_path)
        return journal if journal and journal.state in UNFINISHED else None

    def last(self) -> Optional[Journal]:
        return self._read(self.last_path)

    def save(self, journal: Journal, state: Optional[str] = None) -> None:
        if state is not None and state != journal.state:
            journal.state = state
            journal.history.append([state, time.time()])
        self.runner.make_dir(str(self.dir), 0o700)
        data = json.dumps(journal.to_json(), indent=1).encode()
        self.runner.write_file(self.journal_path, data, 0o600)

    def finish(self, journal: Journal, state: str) -> None:
        """Record the final state; a kept change becomes `last`, and the journal goes."""
        self.save(journal, state)
        if state == COMMITTED:
            data = json.dumps(journal.to_json(), indent=1).encode()
            self.runner.write_file(self.last_path, data, 0o600)
        elif state == ROLLED_BACK:
            last = self.last()
            if last is not None and last.id == journal.id:  # `rollback` of the last change
                self.runner.remove_file(self.last_path)
        if state != ROLLBACK_FAILED:  # keep it for the admin (and recover) otherwise
            self.runner.remove_file(self.journal_path)

    def write_backups(self, journal: Journal) -> None:
        for record in journal.files:
            if record.before is not None:
                path = self.backup_path(journal.id, record.path)
                self.runner.make_dir(str(Path(path).parent), 0o700)
                self.runner.write_file(path, record.before, record.before_mode)

    def write_log(self, journal: Journal, lines: list[str]) -> str:
        """Append to the transaction's log (a later rollback adds to the apply's log)."""
        path = self.log_path(journal.id)
        self.runner.make_dir(str(Path(path).parent), 0o700)
        earlier = self.runner.file_state(path).content or b""
        self.runner.write_file(path, earlier + ("\n".join(lines) + "\n").encode(), 0o600)
        return path
