"""What every part of a transaction shares: its result types and errors, and `Steps`, the
context one run acts through (the runner, the state store, the step log and progress
events, fault-injection checkpoints).

Every side effect of apply, confirm and rollback goes through `Steps.runner`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from clb_wizard.errors import ExitCode, Status, TransactionError
from clb_wizard.methods.base import Command, LoAddress
from clb_wizard.runner import CommandResult, Runner
from clb_wizard.transaction.journal import Store, failpoint
from clb_wizard.verify import Verification


class StepFailed(Exception):
    """A step of an apply failed; the transaction rolls back."""


@dataclass(frozen=True)
class Progress:
    """One step of a transaction, for progress bars and logs."""

    step: int
    total: int
    message: str
    ok: Optional[bool] = None  # None: starting
    warning: bool = False  # a check that failed without stopping the change


@dataclass
class Outcome:
    exit_code: ExitCode
    status: Status
    message: str
    tx_id: Optional[str] = None
    verification: Optional[Verification] = None
    rollback_verification: Optional[Verification] = None
    manual_steps: list[str] = field(default_factory=list)
    log_path: Optional[str] = None
    log: list[str] = field(default_factory=list)
    declined: bool = False  # rolled back because the user answered no at the confirmation

    def to_json(self) -> dict:
        return {
            "ok": self.exit_code == ExitCode.OK,
            "exit_code": int(self.exit_code),
            "status": str(self.status),
            "message": self.message,
            "transaction": self.tx_id,
            "verification": self.verification.to_json() if self.verification else None,
            "rollback_verification": (
                self.rollback_verification.to_json() if self.rollback_verification else None
            ),
            "manual_steps": self.manual_steps,
            "log_path": self.log_path,
            "log": self.log,
            "declined": self.declined,
        }


class Steps:
    """One run's context: what it acts through and what it has said so far."""

    def __init__(self, runner: Runner, store: Store,
                 on_progress: Optional[Callable[[Progress], None]] = None) -> None:
        self.runner = runner
        self.store = store
        self.on_progress = on_progress
        self.log: list[str] = []
        self.step = 0
        self.total = 0

    def say(self, message: str, ok: Optional[bool] = None, warning: bool = False) -> None:
        stamp = time.strftime("%H:%M:%S")
        mark = "WARNING" if warning else {None: "..", True: "ok", False: "FAILED"}[ok]
        self.log.append(f"{stamp} [{mark}] {message}")
        if self.on_progress is not None:
            self.on_progress(Progress(self.step, self.total, message, ok, warning))

    def advance(self, message: str) -> None:
        self.step += 1
        self.say(message)

    @staticmethod
    def checkpoint(name: str) -> None:
        failpoint(name)

    def would_run(self, command: Command) -> None:
        """A dry run's step: said as it would run; the dry-run runner records it only."""
        self.advance(f"would run: {command.shell()}  ({command.why})")
        self.runner.run(command.argv)

    def run(self, command: Command) -> CommandResult:
        self.advance(f"{command.shell()}  ({command.why})")
        result = self.runner.run(command.argv)
        self.say(command.shell() if result.ok else result.describe(), result.ok)
        return result

    def put_file(self, path: str, content: Optional[bytes], mode: int, uid: int = 0,
                 gid: int = 0, xattrs: Optional[dict[str, bytes]] = None) -> None:
        if content is None:
            self.runner.remove_file(path)
        else:
            self.runner.make_dir(str(Path(path).parent))
            self.runner.write_file(path, content, mode, uid, gid, xattrs)

    @staticmethod
    def require_root() -> None:
        if os.geteuid() != 0:
            raise TransactionError("This needs root: run it again with sudo.")


def addr_key(a: LoAddress) -> tuple:
    return (a.address, a.prefixlen, a.family)


def add_command(addr: LoAddress, why: str) -> Command:
    argv = ["ip"] + (["-6"] if addr.family == "inet6" else [])
    argv += ["addr", "add", addr.cidr, "dev", "lo"]
    if addr.family == "inet" and addr.label not in ("", "lo"):
        argv += ["label", addr.label]
    return Command(tuple(argv), why)


def as_text(data: Optional[bytes]) -> Optional[str]:
    """Bytes to text and back (`encode`) without loss: non-UTF-8 bytes survive an edit."""
    return None if data is None else data.decode("utf-8", "surrogateescape")


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")
