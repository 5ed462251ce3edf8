"""The on-disk journal of a transaction, its history, backups and the lock.

Layout of the state directory (default /var/lib/clb-wizard, or $CLB_WIZARD_STATE_DIR;
mode 0700, every file 0600, all written atomically: temp file, fsync, rename):
  lock                   flock()ed while a run plans and changes: two runs never interleave
  journal.json           the unresolved transaction, if any: unfinished (a crash, or the
                         confirm window open) or rollback-failed. `recover` finishes it;
                         `apply` and `rollback` refuse while it exists.
  history/<id>.json      every kept (committed) change, newest last; `rollback` undoes the
                         newest and removes its entry, so repeated rollbacks walk back
  last.json              a copy of the newest history entry (older readers use it)
  backups/<id>/<path>    byte-exact copies of the files a transaction changed
  log/<id>.log           what the transaction did, step by step
The journal is written before anything else changes, and it carries the old content of
every file inline, so a crash at any point leaves enough on disk to put the host back.
A change is kept once its history entry exists: a journal still in "verified",
"awaiting-confirm" or "committed" whose id is in history/ is finished, not pending.

Format of journal.json, history/<id>.json and last.json (one JSON object, indent 1):
  format        2 (1: written before checksums; read, never written)
  id            "YYYYmmdd-HHMMSS-<6 hex>"
  state         one of STATES below
  platform      the detected platform (Platform.to_json); method: the method's name
  vips          ["203.0.113.10", ...]; foreign: VIPs a file not ours already configured
  files         [{path, before, after (base64 or null: absent), before_mode, after_mode
                  (ints), before_uid, before_gid, before_link (a symlink's target text,
                  written through), before_xattrs ({name: base64})}]
  live_before   lo's addresses before: [{address, prefixlen, family, label}]
  sysctls       [{name, before, after}]
  confirm_deadline (unix time or null), watchdog ({kind: systemd|process, ...} or null)
  error         why it rolled back, or null; history: [[state, unix time], ...]
  checksum      "sha256:" + hex of the canonical JSON (sort_keys, no spaces) of every
                other key. A file that fails to parse, misses a key, has an unknown state
                or a wrong checksum is reported as damaged (StateError), never ignored.
A tool that makes the same change by other means (the exported script or playbook) can
leave a history entry in this format so that report, verify and rollback see it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from clb_wizard.errors import InputError
from clb_wizard.methods.base import LoAddress
from clb_wizard.runner import Runner, RunnerError
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
STATES = (*UNFINISHED, COMMITTED, ROLLED_BACK, ROLLBACK_FAILED)
# A journal in these states blocks any other change (the wizard's, the exported script's,
# the playbook's) until `clb-wizard recover` resolves it: the host may be half changed.
UNRESOLVED = (*UNFINISHED, ROLLBACK_FAILED)
# Kept once its history entry exists (the journal is removed just after).
_COMMITTING = (VERIFIED, AWAITING_CONFIRM, COMMITTED)
FORMAT = 2


# Test-only fault injection: SIGKILL this process right after the named checkpoint, to
# prove that `recover` copes with a crash at that point (tests/live/test_faults.py).
_FAILPOINT_ENV = "CLB_WIZARD_FAILPOINT"


def failpoint(name: str) -> None:
    if os.environ.get(_FAILPOINT_ENV) == name:
        os.kill(os.getpid(), 9)


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
    before_link: Optional[str] = None  # the path was a symlink to this: written through
    before_xattrs: dict[str, bytes] = field(default_factory=dict)  # ACLs among them

    def to_json(self) -> dict:
        data = asdict(self)
        data["before"], data["after"] = _b64(self.before), _b64(self.after)
        data["before_xattrs"] = {k: _b64(v) for k, v in self.before_xattrs.items()}
        return data

    @classmethod
    def from_json(cls, data: dict) -> FileRecord:
        xattrs = {k: _unb64(v) for k, v in data.get("before_xattrs", {}).items()}
        return cls(**{**data, "before": _unb64(data["before"]), "after": _unb64(data["after"]),
                      "before_xattrs": xattrs})


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
        """The JSON object, with its checksum (see the module docstring)."""
        data = self._body()
        return {**data, "checksum": checksum(data)}

    def _body(self) -> dict:
        return {
            "format": FORMAT,
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
        """Raises KeyError, TypeError or ValueError on a malformed object."""
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


def checksum(body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


class StateError(RunnerError):
    """A state file is damaged: the message says what to do (exit 2, nothing changed)."""


def parse_journal(path: str, text: str) -> Journal:
    """Validate and load a state file (schema and checksum); StateError if damaged."""
    try:
        if not text.strip():
            raise ValueError("it is empty")
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("it is not a JSON object")
        if data.get("format") not in (1, FORMAT):
            raise ValueError(f"unknown format {data.get('format')!r}")
        if data.get("format") == FORMAT:
            body = {k: v for k, v in data.items() if k != "checksum"}
            if data.get("checksum") != checksum(body):
                raise ValueError("its checksum does not match its content")
        if data.get("state") not in STATES:
            raise ValueError(f"unknown state {data.get('state')!r}")
        journal = Journal.from_json(data)
        if not (isinstance(journal.id, str) and isinstance(journal.vips, list)
                and all(isinstance(r.path, str) for r in journal.files)):
            raise ValueError("a field has the wrong type")
        return journal
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        why = str(exc) if isinstance(exc, ValueError) else f"bad or missing field {exc}"
        raise StateError(
            f"{path} is damaged ({why}). It may be the only record of an unfinished change, "
            f"so clb-wizard stops here. Keep a copy (cp -p {path} /root/), check the host "
            f"with `clb-wizard report`, put it right by hand, then move the file aside "
            f"(mv {path} {path}.damaged) and run clb-wizard again."
        ) from None


class LockBusy(InputError):
    """Another clb-wizard run holds the lock."""


class Store:
    """The state directory, read and written through the runner."""

    def __init__(self, runner: Runner, directory: Optional[Path] = None) -> None:
        self.runner = runner
        self.dir = Path(directory or state_dir())
        self._lock_fd: Optional[int] = None
        self._depth = 0  # lock() nests: the CLI takes it before planning, apply again

    @property
    def journal_path(self) -> str:
        return str(self.dir / "journal.json")

    @property
    def last_path(self) -> str:
        return str(self.dir / "last.json")

    def history_path(self, tx_id: str) -> str:
        return str(self.dir / "history" / f"{tx_id}.json")

    def backup_path(self, tx_id: str, path: str) -> str:
        return str(self.dir / "backups" / tx_id / path.lstrip("/"))

    def log_path(self, tx_id: str) -> str:
        return str(self.dir / "log" / f"{tx_id}.log")

    # -- lock -------------------------------------------------------------------------
    def lock(self, wait: float = 0.0) -> None:
        """flock the state dir; LockBusy if another run holds it after `wait` s,
        StateError if the directory cannot hold the lock (read-only, full)."""
        if self._depth:
            self._depth += 1
            return
        try:
            self.runner.make_dir(str(self.dir), 0o700)
            fd = os.open(self.dir / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW,
                         0o600)
        except (OSError, RunnerError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else str(exc)
            raise StateError(
                f"cannot take the lock in {self.dir}: {why}. clb-wizard keeps its records "
                "there: make it writable (free some space, or remount it read-write), then "
                "try again. Nothing was changed.") from None
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
        with contextlib.suppress(OSError):  # the pid is only a hint (a full disk may refuse)
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd, self._depth = fd, 1

    def unlock(self) -> None:
        if self._depth > 1:
            self._depth -= 1
            return
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
        self._lock_fd, self._depth = None, 0

    @contextlib.contextmanager
    def released(self, wait: float = 60.0) -> Iterator[None]:
        """Let other runs in for a while (`clb-wizard confirm` during the confirm wait),
        then take the lock back, as deeply as it was held."""
        depth = self._depth
        self._depth = min(depth, 1)
        self.unlock()
        try:
            yield
        finally:
            self.lock(wait=wait)
            self._depth = depth

    # -- reading ----------------------------------------------------------------------
    def _read(self, path: str) -> Optional[Journal]:
        state = self.runner.file_state(path)  # a FIFO or dangling link: RunnerError
        if not state.exists:
            return None
        return parse_journal(path, state.content.decode("utf-8", "replace"))

    def active(self) -> Optional[Journal]:
        """The unresolved transaction: unfinished (a crash, an open confirm window) or its
        rollback failed. StateError if journal.json is damaged."""
        journal = self._read(self.journal_path)
        if journal is None or journal.state == ROLLED_BACK:
            return None  # (rolled back: only removing the journal was interrupted)
        if journal.state in _COMMITTING and self.runner.exists(self.history_path(journal.id)):
            return None  # kept: only removing the journal was interrupted
        return journal

    def history(self) -> list[Journal]:
        """Every kept change, oldest first (with last.json alone for older installs)."""
        entries = []
        for name in self.runner.list_dir(str(self.dir / "history")):
            if name.endswith(".json") and not name.startswith("."):
                entries.append(self._read(str(self.dir / "history" / name)))
        if not entries:
            last = self._read(self.last_path)
            return [last] if last is not None else []
        return sorted((e for e in entries if e is not None), key=_kept_at)

    def last(self) -> Optional[Journal]:
        """The newest kept change (what `rollback` undoes next)."""
        history = self.history()
        return history[-1] if history else None

    # -- writing ----------------------------------------------------------------------
    def _write_json(self, path: str, journal: Journal) -> None:
        self.runner.make_dir(str(Path(path).parent), 0o700)
        data = json.dumps(journal.to_json(), indent=1).encode()
        self.runner.write_file(path, data, 0o600)

    def save(self, journal: Journal, state: Optional[str] = None) -> None:
        _move(journal, state)
        self._write_json(self.journal_path, journal)

    def finish(self, journal: Journal, state: str) -> None:
        """Record the final state. Kept: its history entry (and last.json) first, then the
        journal goes, so a crash in between loses nothing. Rolled back: it leaves the
        history. Rollback failed: the journal stays, for `recover` and the admin."""
        _move(journal, state)
        if state == COMMITTED:
            older = self.history()  # before history/ existed, last.json alone: keep it
            if len(older) == 1 and not self.runner.exists(self.history_path(older[0].id)):
                self._write_json(self.history_path(older[0].id), older[0])
            self._write_json(self.history_path(journal.id), journal)
            failpoint("kept")
            self._write_json(self.last_path, journal)
        elif state == ROLLED_BACK:
            if self.runner.exists(self.history_path(journal.id)):
                self.runner.remove_file(self.history_path(journal.id))
            last = self._read(self.last_path)
            if last is not None and last.id == journal.id:
                self.runner.remove_file(self.last_path)  # first: history() falls back on it
                newest = self.last()
                if newest is not None:
                    self._write_json(self.last_path, newest)
        else:  # ROLLBACK_FAILED
            self._write_json(self.journal_path, journal)
            return
        self.runner.remove_file(self.journal_path)

    def discard(self, journal: Journal) -> None:
        """Forget a journal that never got to change anything (its backups failed)."""
        self.runner.remove_file(self.journal_path)

    def write_backups(self, journal: Journal) -> None:
        for record in journal.files:
            if record.before is not None:
                path = self.backup_path(journal.id, record.path)
                self.runner.make_dir(str(Path(path).parent), 0o700)
                self.runner.write_file(path, record.before, record.before_mode)

    def write_log(self, journal: Journal, lines: list[str]) -> Optional[str]:
        """Append to the transaction's log (a later rollback adds to the apply's log);
        None if the state directory cannot take it (full): the outcome still stands."""
        path = self.log_path(journal.id)
        try:
            self.runner.make_dir(str(Path(path).parent), 0o700)
            earlier = self.runner.file_state(path).content or b""
            self.runner.write_file(path, earlier + ("\n".join(lines) + "\n").encode(), 0o600)
        except RunnerError:
            return None
        return path


def _move(journal: Journal, state: Optional[str]) -> None:
    if state is not None and state != journal.state:
        journal.state = state
        journal.history.append([state, time.time()])


def _kept_at(journal: Journal) -> tuple:
    times = [t for s, t in journal.history if s == COMMITTED] or [0.0]
    return (times[-1], journal.id)
