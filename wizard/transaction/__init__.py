"""Apply a plan as one transaction: it fully works and is verified, or the host is put
back exactly as it was.

Modelled on nmstate (apply, compare live facts with the desired state, roll back on any
difference) and on `netplan try` / commit-confirmed (with a confirm timeout, the change
is kept only when the user confirms in time; a watchdog reverts it otherwise, even if
the terminal is gone). Every side effect goes through the runner.

The parts, over the one journal (journal.py, which documents the on-disk format):
  steps.py     result types, errors, and the context one run acts through
  apply.py     preflight, prepare/write/activate/verify, failure -> rollback
  confirm.py   confirm-or-revert and its watchdog, `clb-wizard confirm`
  rollback.py  the rollback, `clb-wizard rollback` and `clb-wizard recover`
`Transaction` is the one entry point; both faces reach it through clb_wizard.service.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Callable, Optional

from clb_wizard.plan import Plan
from clb_wizard.runner import Runner
from clb_wizard.transaction.apply import Apply, ConfirmPoll
from clb_wizard.transaction.confirm import Confirmation
from clb_wizard.transaction.journal import LockBusy, Store
from clb_wizard.transaction.records import platform_from_json
from clb_wizard.transaction.rollback import Rollback
from clb_wizard.transaction.steps import (
    Outcome,
    Progress,
    Steps,
    TransactionError,
)


class Transaction:
    """apply / rollback_last / recover / confirm_pending over one runner and state store."""

    def __init__(
        self,
        runner: Runner,
        store: Optional[Store] = None,
        on_progress: Optional[Callable[[Progress], None]] = None,
    ) -> None:
        self.steps = Steps(runner, store or Store(runner), on_progress)

    def apply(self, plan: Plan, *, confirm_timeout: Optional[float] = None,
              confirm: Optional[ConfirmPoll] = None, ports: tuple[int, ...] = ()) -> Outcome:
        """Apply `plan`. Raises TransactionError (nothing changed) or LockBusy."""
        return Apply(self.steps).run(plan, confirm_timeout=confirm_timeout, confirm=confirm,
                                     ports=ports)

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """The lock, held from before a plan is made until the block ends (apply takes it
        again, nested), so no other run changes the host between the plan and its apply.
        Refuses first (TransactionError, exit 2) while an unresolved change, the wizard's
        or the exported script's, is on record: that is the cause to name, not anything
        the new plan would do. LockBusy while another run holds the lock."""
        store = self.steps.store
        store.lock()
        try:
            Apply(self.steps).refuse_pending()
            yield
        finally:
            store.unlock()

    def rollback_last(self) -> Outcome:
        """Undo the last kept change (`clb-wizard rollback`)."""
        return Rollback(self.steps).rollback_last()

    def recover(self, expired_id: Optional[str] = None, wait: bool = False) -> Outcome:
        """Finish an interrupted transaction (`clb-wizard recover`)."""
        return Rollback(self.steps).recover(expired_id, wait)

    def confirm_pending(self) -> Outcome:
        """`clb-wizard confirm`: keep a change that is waiting for confirmation."""
        return Confirmation(self.steps).confirm_pending()


__all__ = [
    "LockBusy",
    "Outcome", "Progress", "Transaction", "TransactionError", "platform_from_json",
]
