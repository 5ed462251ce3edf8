"""The on-disk journal of a transaction, its history, backups and the lock.

Layout of the state directory (default /var/lib/clb-wizard, or $CLB_WIZARD_STATE_DIR;
mode 0700, every file 0600, all written atomically: temp file, fsync, rename). clb-wizard
acts on these records as root, so it uses the directory only when no other user could
have written it: owned by root (or the user running clb-wizard), writable by nobody else,
every directory above it likewise (sticky ones such as /tmp pass), and each record file
owned the same way and writable by nobody else (StateError otherwise, nothing changed):
  lock                   flock()ed while a run plans and changes: two runs never interleave
  journal.json           the unresolved transaction, if any: unfinished (a crash, or the
                         confirm window open) or rollback-failed. `recover` finishes it;
                         `apply` and `rollback` refuse while it exists.
  history/<id>.json      every kept (committed) change, newest last; `rollback` undoes the
                         newest and removes its entry, so repeated rollbacks walk back.
                         The newest HISTORY_KEEP are kept: an older entry goes when a change
                         is kept, with the backups and logs of it and of older transactions
  last.json              a copy of the newest history entry (older readers use it)
  backups/<id>/<path>    byte-exact copies of the files a transaction changed
  log/<id>.log           what the transaction did, step by step
The journal is written before anything else changes, and it carries the old content of
every file inline, so a crash at any point leaves enough on disk to put the host back.
A change is kept once its history entry exists: a journal still in "verified",
"awaiting-confirm" or "committed" whose id is in history/ is finished, not pending.

Format of journal.json, history/<id>.json and last.json (one JSON object, indent 1):
  format        2 (1: without the checksum, written by older versions and by the fleet
                playbook; read, never written, under the same rules as format 2: the
                checksum only detects damage, the directory's ownership keeps other
                users' records out, and records.py limits what any record may name)
  id            "YYYYmmdd-HHMMSS-<6 hex>" (records.ID: the playbook's ids too)
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
                or a wrong checksum, or names what records.py refuses (a path the method
                does not own, a sysctl other than the ARP ones, ...) is reported as
                damaged (StateError), never ignored and never acted on.
A tool that makes the same change by other means (the exported script or playbook) can
leave a history entry in this format so that report, verify and rollback see it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import stat
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from clb_wizard.errors import InputError
from clb_wizard.files import (
    FileRefused,
    dir_problem,
    kind_of,
    open_trusted_dir,
    terminal_safe,
)
from clb_wizard.methods.base import LoAddress
from clb_wizard.runner import FileState, Runner, RunnerError
from clb_wizard.sysctls import SysctlChange
from clb_wizard.transaction.records import ID, check_record

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
# Kept once its history entry exists (the journal is removed just after).
_COMMITTING = (VERIFIED, AWAITING_CONFIRM, COMMITTED)
FORMAT = 2
# How many kept changes `history` keeps (and `rollback` can walk back through).
HISTORY_KEEP = 20


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
    return None if text is None else base64.b64decode(text, validate=True)


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
        check_record(data)
        return Journal.from_json(data)
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        why = str(exc) if isinstance(exc, ValueError) else f"bad or missing field {exc}"
        raise parse_error(path, why) from None


def parse_error(path: str, why: str) -> StateError:
    """The StateError of a damaged (or refused) state file."""
    return StateError(
        f"{path} is damaged ({terminal_safe(why)}). It may be the only record of an "
        "unfinished change, so clb-wizard stops here and acts on nothing it says. Keep a "
        f"copy (cp -p {path} /root/), check the host with `clb-wizard report`, put it right "
        f"by hand, then move the file aside (mv {path} {path}.damaged) and run clb-wizard "
        "again.")


class LockBusy(InputError):
    """Another clb-wizard run holds the lock."""


class Store:
    """The state directory, read and written through the runner."""

    def __init__(self, runner: Runner, directory: Optional[Path] = None) -> None:
        self.runner = runner
        self.dir = Path(directory or state_dir())
        self._lock_fd: Optional[int] = None
        self._depth = 0  # lock() nests: Transaction.hold() before the plan, apply again
        self._trusted = False  # the directory passed check_trusted()

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

    # -- trust ------------------------------------------------------------------------
    def check_trusted(self) -> None:
        """StateError unless no other user could have written the state directory (see
        the module docstring); nothing to check while it does not exist."""
        if self._trusted:
            return
        try:
            fd = open_trusted_dir(str(self.runner.host_path(str(self.dir))), shared_final=False)
        except FileRefused as exc:
            raise StateError(self._untrusted(str(exc))) from None
        except OSError:  # missing (nothing to trust yet), or unreadable: reads say so
            return
        try:
            for sub in ("history", "backups", "log", "script", "ansible"):
                try:
                    st = os.lstat(sub, dir_fd=fd)
                except FileNotFoundError:
                    continue
                shown = str(self.dir / sub)
                problem = (f"{shown} is a {kind_of(st.st_mode)}, not a directory"
                           if not stat.S_ISDIR(st.st_mode)
                           else dir_problem(st, shown, shared_ok=False))
                if problem:
                    raise StateError(self._untrusted(problem))
        finally:
            os.close(fd)
        self._trusted = True

    def _untrusted(self, problem: str) -> str:
        return (f"the state directory {self.dir}: {problem}. clb-wizard acts on the records "
                "kept there as root (rollback writes the files they name), so it does not "
                "use them. Nothing was changed. Look at what is in it; then make it and the "
                f"directories above it root's alone (chown root:root, chmod go-w; {self.dir} "
                "itself 0700) or move it aside, and run clb-wizard again.")

    def _check_record_file(self, path: str, state: FileState) -> None:
        """A record file is ours only if no other user could have written it."""
        problem = None
        if state.link is not None:
            problem = f"is a symbolic link to {state.link}, which clb-wizard never makes"
        elif state.uid not in (0, os.geteuid()):
            problem = f"belongs to uid {state.uid}"
        elif state.mode & 0o022:
            problem = f"can be written by other users (mode {state.mode:04o})"
        if problem:
            raise StateError(
                f"{path} {problem}: another user could have written it, so clb-wizard does "
                "not act on it. Nothing was changed. If it is clb-wizard's own record, make "
                f"it root's (chown root:root {path} && chmod 0600 {path}); otherwise move it "
                f"aside (mv {path} {path}.untrusted). Then run clb-wizard again.")

    # -- lock -------------------------------------------------------------------------
    def lock(self, wait: float = 0.0) -> None:
        """flock the state dir; LockBusy if another run holds it after `wait` s,
        StateError if the directory cannot hold the lock (read-only, full, a planted
        `lock`) or another user could have written it."""
        if self._depth:
            self._depth += 1
            return
        self.check_trusted()
        path = self.dir / "lock"
        try:
            self.runner.make_dir(str(self.dir), 0o700)
            self.check_trusted()  # (made just now, or by someone else meanwhile)
            fd = os.open(self.runner.host_path(str(self.dir)) / "lock",
                         os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK,
                         0o600)
        except StateError:
            raise
        except (OSError, RunnerError) as exc:
            raise StateError(_lock_refused(self.dir, exc)) from None
        kind = os.fstat(fd).st_mode
        if not stat.S_ISREG(kind):
            os.close(fd)
            raise StateError(f"cannot take the lock: {path} is a {kind_of(kind)}, not the "
                             "lock file clb-wizard makes. Move it away, then try again. "
                             "Nothing was changed.")
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
        self.check_trusted()
        state = self.runner.file_state(path)  # a FIFO or dangling link: RunnerError
        if not state.exists:
            return None
        self._check_record_file(path, state)
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
        self.check_trusted()
        entries = []
        for name in self.runner.list_dir(str(self.dir / "history")):
            if name.endswith(".json") and not name.startswith("."):
                path = str(self.dir / "history" / name)
                entry = self._read(path)
                if entry is not None and name != f"{entry.id}.json":
                    raise parse_error(path, f"it holds transaction {entry.id}, not "
                                            f"{name[:-5]}")
                entries.append(entry)
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
            self._prune()
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

    def _prune(self) -> None:
        """Keep the newest HISTORY_KEEP kept changes; older entries go, and the backups
        and logs of every transaction older than the oldest one kept. Best effort: the
        change itself is kept whatever happens here."""
        try:
            entries = self.history()
            if len(entries) <= HISTORY_KEEP:
                return
            kept = entries[-HISTORY_KEEP:]
            for entry in entries[:-HISTORY_KEEP]:
                self.runner.remove_file(self.history_path(entry.id))
            ids = {e.id for e in kept}
            cutoff = min(_stamp(e.id) for e in kept)
            for name in self.runner.list_dir(str(self.dir / "backups")):
                if ID.match(name) and name not in ids and _stamp(name) < cutoff:
                    self.runner.remove_tree(str(self.dir / "backups" / name))
            for name in self.runner.list_dir(str(self.dir / "log")):
                tx_id = name[:-len(".log")]
                if (name.endswith(".log") and ID.match(tx_id) and tx_id not in ids
                        and _stamp(tx_id) < cutoff):
                    self.runner.remove_file(self.log_path(tx_id))
        except RunnerError:
            return

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


def _stamp(tx_id: str) -> str:
    """YYYYmmddHHMMSS of a transaction id (both kinds of records.ID)."""
    return "".join(c for c in tx_id[:15] if c.isdigit())


def _lock_refused(directory: Path, exc: Exception) -> str:
    """Why the lock cannot be taken, and what to do, by cause."""
    if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
        return (f"cannot take the lock: {directory}/lock is a symbolic link, which clb-wizard "
                f"never makes. Remove it (rm {directory}/lock), then try again. Nothing was "
                "changed.")
    if isinstance(exc, OSError) and exc.errno == errno.EISDIR:
        return (f"cannot take the lock: {directory}/lock is a directory, not the lock file "
                "clb-wizard makes. Move it away, then try again. Nothing was changed.")
    why = exc.strerror if isinstance(exc, OSError) else str(exc)
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free some space there"
    elif isinstance(exc, OSError) and exc.errno == errno.EROFS:
        fix = "remount it read-write"
    elif isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM):
        fix = "run clb-wizard as root"
    else:
        fix = "make it a writable directory (free some space, or remount it read-write)"
    return (f"cannot take the lock in {directory}: {why}. clb-wizard keeps its records "
            f"there: {fix}, then try again. Nothing was changed.")


def _kept_at(journal: Journal) -> tuple:
    times = [t for s, t in journal.history if s == COMMITTED] or [0.0]
    return (times[-1], journal.id)
