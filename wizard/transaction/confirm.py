"""Confirm or revert (like `netplan try` or a router's commit-confirmed): after a verified
apply, the change is kept only when the user confirms before the deadline. A watchdog,
armed before the wait starts, reverts it even if the session that made it is gone;
`clb-wizard confirm` keeps it from another session.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import Callable, Optional

from clb_wizard import motd
from clb_wizard.errors import ExitCode, Status
from clb_wizard.transaction import journal as J
from clb_wizard.transaction.journal import Journal
from clb_wizard.transaction.steps import Outcome, Steps

# The watchdog acts this long after the deadline, so a live session reverts by itself
# first and the watchdog only covers a session that is gone.
WATCHDOG_GRACE = 5.0


def is_watchdog_of(pid: int, tx_id: str) -> bool:
    """Whether process `pid` is the watchdog of `tx_id` (`recover --expired ID`): the pid
    comes from the journal, and a pid is reused once its process is gone."""
    try:
        with open(f"/proc/{int(pid)}/cmdline", "rb") as f:
            argv = f.read(4096).split(b"\0")
    except (OSError, ValueError):
        return False
    return b"--expired" in argv and tx_id.encode() in argv


class Confirmation:
    def __init__(self, steps: Steps) -> None:
        self.steps = steps

    def await_answer(self, journal: Journal, timeout: float,
                     confirm: Optional[Callable[[float], Optional[bool]]]) -> str:
        """"keep", "revert", or "kept-elsewhere"/"reverted-elsewhere" when `clb-wizard
        confirm` or the watchdog settled it. `confirm(seconds_left)` is polled: it returns
        True (keep), False (revert) or None (not answered yet). Called with the lock held."""
        store = self.steps.store
        journal.confirm_deadline = time.time() + timeout
        journal.watchdog = self.arm_watchdog(journal, timeout)
        store.save(journal, J.AWAITING_CONFIRM)
        self.steps.advance(f"waiting up to {timeout:g} s for confirmation")
        answer: Optional[bool] = None
        with store.released():  # so that `clb-wizard confirm` from another session can act
            while answer is None and time.time() < journal.confirm_deadline:
                answer = confirm(journal.confirm_deadline - time.time()) if confirm else None
                active = store.active()
                if active is None or active.id != journal.id:
                    break
                if answer is None:
                    time.sleep(0.1)
        active = store.active()
        if active is None or active.id != journal.id:
            last = store.last()
            return "kept-elsewhere" if last and last.id == journal.id else "reverted-elsewhere"
        self.disarm_watchdog(journal)
        in_time = time.time() <= journal.confirm_deadline
        if answer and not in_time:
            self.steps.say("confirmed too late", False)
        if answer is False:
            return "declined"  # the user said no: not a timer that ran out
        return "keep" if answer and in_time else "revert"

    def arm_watchdog(self, journal: Journal, timeout: float) -> dict:
        """Revert at the deadline even if this process or its terminal dies.

        The watchdog runs as root later, so it starts isolated: `python -I` (neither the
        cwd, nor PYTHON* variables, nor the user's site-packages on sys.path), cwd /, and
        an allow-listed environment (runner.child_env) without the cloud keys."""
        runner = self.steps.runner
        recover = [sys.executable, "-I", "-m", "clb_wizard", "recover", "--expired",
                   journal.id]
        env = {"CLB_WIZARD_STATE_DIR": str(self.steps.store.dir)}
        if os.path.isdir("/run/systemd/system") and shutil.which("systemd-run"):
            unit = f"clb-wizard-revert-{journal.id}"
            result = runner.run([
                "systemd-run", f"--unit={unit}", f"--on-active={int(timeout + WATCHDOG_GRACE)}s",
                "--timer-property=AccuracySec=1s",
                *(f"--setenv={k}={v}" for k, v in env.items()), *recover,
            ])
            if result.ok:
                self.steps.say(f"armed a systemd timer ({unit}) that reverts after {timeout:g} s")
                return {"kind": "systemd", "unit": unit}
        pid = runner.spawn([*recover, "--wait"], env=env)
        self.steps.say(f"armed a background watchdog (pid {pid}) that reverts after "
                       f"{timeout:g} s")
        return {"kind": "process", "pid": pid}

    def disarm_watchdog(self, journal: Journal) -> None:
        watchdog = journal.watchdog or {}
        if watchdog.get("kind") == "systemd":
            self.steps.runner.run(["systemctl", "stop", f"{watchdog['unit']}.timer"])
        elif watchdog.get("kind") == "process" and is_watchdog_of(watchdog["pid"], journal.id):
            self.steps.runner.kill(watchdog["pid"])

    def confirm_pending(self) -> Outcome:
        """`clb-wizard confirm`: keep a change that is waiting for confirmation."""
        self.steps.require_root()
        store = self.steps.store
        store.lock(wait=10)
        try:
            store.history()  # damaged or refused: said now, not once the change is kept
            journal = store.active()
            if journal is None or journal.state != J.AWAITING_CONFIRM:
                return Outcome(ExitCode.INVALID, Status.NOTHING_TO_DO, "No change is waiting for "
                               "confirmation.")
            if time.time() > (journal.confirm_deadline or 0):
                return Outcome(ExitCode.INVALID, Status.TOO_LATE, "Too late: the confirm window "
                               "has passed; the change is being reverted.")
            self.disarm_watchdog(journal)
            store.finish(journal, J.COMMITTED)
            motd.clear_note(self.steps.runner)
            return Outcome(ExitCode.OK, Status.APPLIED, "Confirmed: the change is kept.",
                           journal.id)
        finally:
            store.unlock()
