"""The one error tree, the exit codes and the outcome statuses, each defined once.

Every error clb-wizard raises on purpose is a `ClbWizardError`: the CLI prints its message
and exits with its `exit_code`; the TUI shows the message. `InputError` (and what derives
from it: bad VIPs, an OS or stack the wizard refuses, a broken config file, a transaction
that cannot start) means nothing on the host was changed (exit 2). Cloud errors say what
went wrong while asking the cloud API (also exit 2: nothing was changed).
"""

from __future__ import annotations

from enum import Enum, IntEnum


class ExitCode(IntEnum):
    """What the CLI returns (and the TUI when it closes)."""

    OK = 0  # success, or nothing to change
    CHECK_FAILED = 1  # `verify` found a failing fact
    INVALID = 2  # refused: bad input or host state; nothing was changed
    ROLLED_BACK = 3  # activation or verification failed; the host was rolled back
    ROLLBACK_FAILED = 4  # the rollback itself failed; the manual steps are printed


class Status(str, Enum):
    """How a transaction (or a verify) ended; faces compare these, never strings."""

    APPLIED = "applied"
    NO_CHANGE = "no-change"
    DRY_RUN = "dry-run"
    ROLLED_BACK = "rolled-back"
    ROLLBACK_FAILED = "rollback-failed"
    NOTHING_TO_DO = "nothing-to-do"
    TOO_LATE = "too-late"
    RECOVERED_FORWARD = "recovered-forward"
    RECOVERED_BACK = "recovered-back"
    VERIFIED = "verified"
    FAILED = "failed"

    def __str__(self) -> str:  # the value in messages and JSON, on every Python version
        return self.value

    # Equal to its string, so hashed like it (Enum hashes the member's name): a mapping
    # keyed by Status finds a plain "applied" too.
    __hash__ = str.__hash__


class ClbWizardError(Exception):
    """Root of every error clb-wizard raises on purpose; the message says what to do."""

    exit_code: ExitCode = ExitCode.INVALID


class InputError(ClbWizardError):
    """Refused before changing anything: bad input, or a host state the wizard will not
    change (exit 2)."""

    exit_code = ExitCode.INVALID


class PlatformError(InputError):
    """The OS or network stack is not one clb-wizard can configure."""


class UsageError(InputError):
    """Invalid input a face finds itself (a flag, a missing key, a question it could not
    ask): exit 2, nothing changed."""


class TransactionError(InputError):
    """The transaction refused to start (exit 2): nothing was changed."""


class PlanChanged(TransactionError):
    """The host changed between the plan a user approved and the apply: the plan made again
    under the lock differs, so nothing is applied (exit 2)."""
