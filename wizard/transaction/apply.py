"""Apply a plan as one transaction: preflight (nothing changes when it fails), then the
journal and backups, prepare, write, activate, verify (waiting for facts to settle), and
on any failure after the first change, the rollback. A confirm timeout hands the
verified change to `confirm.Confirmation` before it is kept.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Callable, Optional

from clb_wizard import motd
from clb_wizard.errors import ExitCode, Status
from clb_wizard.facts import read_addresses
from clb_wizard.files import terminal_safe
from clb_wizard.methods import get_method
from clb_wizard.methods.base import LoAddress
from clb_wizard.plan import Plan, gather
from clb_wizard.runner import RunnerError, find_tool
from clb_wizard.transaction import journal as J
from clb_wizard.transaction.confirm import Confirmation
from clb_wizard.transaction.journal import FileRecord, Journal
from clb_wizard.transaction.rollback import Rollback
from clb_wizard.transaction.steps import (
    Outcome,
    StepFailed,
    Steps,
    TransactionError,
    add_command,
    addr_key,
    as_text,
    encode,
)
from clb_wizard.verify import Verification, verify

# How long verification waits for facts to come true after activation.
SETTLE_SECONDS = 3.0

ConfirmPoll = Callable[[float], Optional[bool]]


class Apply:
    def __init__(self, steps: Steps) -> None:
        self.steps = steps

    def run(self, plan: Plan, *, confirm_timeout: Optional[float] = None,
            confirm: Optional[ConfirmPoll] = None, ports: tuple[int, ...] = ()) -> Outcome:
        """Apply `plan`. Raises TransactionError (nothing changed), LockBusy or StateError."""
        steps, store = self.steps, self.steps.store
        self._refuse_early(plan)
        steps.total = 3 + len(plan.commands) + len(plan.files) + (1 if confirm_timeout else 0)
        if steps.runner.dry_run:
            return self._dry_run(plan)
        store.lock()  # before the checks, so no other run changes what they saw
        try:
            self.refuse_pending()
            self._preflight(plan)
            if not plan.changed:
                verification = verify(steps.runner, plan.platform, plan.vips, ports=ports,
                                      foreign=_foreign(plan))
                code = ExitCode.OK if verification.ok else ExitCode.ROLLED_BACK
                msg = ("No change needed: the host already has this configuration." if
                       verification.ok else "Nothing to change, but verification fails: "
                       + verification.summary())
                return Outcome(code, Status.NO_CHANGE, msg, verification=verification,
                               log=steps.log)
            return self._apply_locked(plan, confirm_timeout, confirm, ports)
        finally:
            store.unlock()

    # -- preconditions (nothing changes when they fail) --------------------------------------
    def _refuse_early(self, plan: Plan) -> None:
        runner = self.steps.runner
        if plan.platform.family == "windows":
            raise TransactionError(
                "This plan is for Windows: copy its script to the Windows host and run it there "
                "(clb-wizard plan --os windows shows it)."
            )
        if runner.dry_run:
            return
        if os.geteuid() != 0:
            raise TransactionError(
                "Changing the network configuration needs root: run it again with sudo "
                "(`plan` and `--dry-run` work without root)."
            )
        if not runner.is_live_root:
            raise TransactionError(
                f"--root {runner.root} is for previews: commands would act on this host "
                "but files land under the root. Add --dry-run, or apply on the host itself."
            )

    def refuse_pending(self) -> None:
        """TransactionError while an unresolved change is on record; StateError when a
        record is damaged or refused (found now, not when the change is to be kept)."""
        self._refuse_script_pending()
        self.steps.store.history()
        pending = self.steps.store.active()
        if pending is None:
            return
        if pending.state == J.ROLLBACK_FAILED:
            steps = "\n  ".join(Rollback(self.steps).manual_steps(pending))
            why = terminal_safe(pending.error) or "see its log"
            raise TransactionError(
                f"transaction {pending.id}: its rollback failed ({why}), so this host may be "
                "half changed. Run `clb-wizard recover` to retry it, or put the host back by "
                f"hand:\n  {steps}")
        raise TransactionError(
            f"transaction {pending.id} was interrupted ({pending.state}): run "
            "`clb-wizard recover` first."
        )

    def _refuse_script_pending(self) -> None:
        """The exported script keeps `script/current` while its change is in flight and
        after its own rollback failed; it refuses the wizard's unresolved journal, and
        the wizard refuses this, so neither changes a half-changed host."""
        where = self.steps.store.dir / "script"
        run = self.steps.runner.read_text(str(where / "current"))
        if run and run.strip():
            raise TransactionError(
                f"the exported script's change {run.strip()} on this host did not finish, "
                f"or its rollback failed ({where}/{run.strip()}): the host may be half "
                "changed. Run that script with --rollback first.")

    def _preflight(self, plan: Plan) -> None:
        runner, store = self.steps.runner, self.steps.store
        tools = {c.argv[0] for c in plan.commands} | {"ip"}
        missing = sorted(t for t in tools if find_tool(t) is None)
        missing += self._missing_readers(plan)
        if missing:
            raise TransactionError(
                f"Missing tool(s): {', '.join(missing)}. Install the package that provides "
                "them, then run clb-wizard again."
            )
        for change in plan.files:
            problem = runner.writable_dir(str(Path(change.path).parent))
            if problem:
                raise TransactionError(f"{problem}. Nothing was changed.")
        problem = runner.writable_dir(str(store.dir))
        if problem:
            raise TransactionError(f"the state directory: {problem}. Nothing was changed.")
        current = gather(runner, plan.method)
        for change in plan.files:
            now = current.get(change.path)
            if (now.text if now else None) != change.before:
                raise TransactionError(
                    f"{change.path} changed since the plan was made: plan again, then apply."
                )

    def _missing_readers(self, plan: Plan) -> list[str]:
        """The tools verification reads the config back with, when missing: found now
        (a read-only query, "command not found" is rc 127), not after the change."""
        runner = self.steps.runner
        after = {c.path: c.after for c in plan.files}
        seen = len(runner.events)
        get_method(plan.method).reread(runner, after)
        return sorted({e.detail.split(" ", 1)[0] for e in runner.events[seen:]
                       if e.kind == "query" and e.missing_tool})

    def _dry_run(self, plan: Plan) -> Outcome:
        """Every step said as it would run ("would ..."): nothing claims to have run."""
        steps = self.steps
        for command in plan.prepare:
            steps.would_run(command)
        for change in plan.files:
            steps.advance(f"would {change.action} {change.path}")
            if change.after is None:
                steps.runner.remove_file(change.path)
            else:
                steps.runner.write_file(change.path, encode(change.after), change.mode)
        for command in plan.activate:
            steps.would_run(command)
        return Outcome(ExitCode.OK, Status.DRY_RUN, "Dry run: nothing was changed.", log=steps.log)

    def _new_journal(self, plan: Plan) -> Journal:
        runner = self.steps.runner
        records = []
        for change in plan.files:
            state = plan.snapshot.get(change.path) or runner.file_state(change.path)
            records.append(FileRecord(
                path=change.path, before=state.content, before_mode=state.mode,
                before_uid=state.uid, before_gid=state.gid,
                after=None if change.after is None else encode(change.after),
                after_mode=state.mode if state.exists else change.mode,
                before_link=state.link, before_xattrs=dict(state.xattrs),
            ))
        return Journal.new(
            platform=plan.platform.to_json(), method=plan.method, vips=list(plan.vips),
            foreign=_foreign(plan), files=records,
            live_before=list(read_addresses(runner).lo), sysctls=list(plan.sysctls),
        )

    # -- the change ----------------------------------------------------------------------------
    def _apply_locked(self, plan: Plan, confirm_timeout: Optional[float],
                      confirm: Optional[ConfirmPoll], ports: tuple[int, ...]) -> Outcome:
        steps, store = self.steps, self.steps.store
        journal = self._new_journal(plan)
        steps.advance(f"journal {journal.id} and backups in {store.dir}")
        try:
            store.save(journal)
            store.write_backups(journal)
        except RunnerError as exc:
            with contextlib.suppress(RunnerError):
                store.discard(journal)
            raise TransactionError(f"the state directory: {exc}. Nothing was changed.") from None
        steps.checkpoint(J.STARTED)
        try:
            verification = self._change(plan, journal, ports)
        except (StepFailed, RunnerError) as exc:
            return self._fail(journal, str(exc), None)
        if confirm_timeout:
            decision = Confirmation(steps).await_answer(journal, confirm_timeout, confirm)
            if decision == "declined":  # on purpose: no login note, not "not confirmed"
                outcome = self._fail(journal, "declined at the confirmation prompt",
                                     verification)
                outcome.declined = True
                return outcome
            if decision == "revert":
                return motd.after_unconfirmed(steps.runner, journal, self._fail(
                    journal, f"not confirmed within {confirm_timeout:g} s", verification))
            if decision == "reverted-elsewhere":
                return Outcome(ExitCode.ROLLED_BACK, Status.ROLLED_BACK, "Not confirmed in time: "
                               "the watchdog rolled the change back.", journal.id, verification,
                               log=steps.log)
            if decision == "kept-elsewhere":
                steps.say("confirmed from another session", True)
                return Outcome(ExitCode.OK, Status.APPLIED, "Applied, verified and confirmed.",
                               journal.id, verification, log=steps.log)
        store.finish(journal, J.COMMITTED)
        motd.clear_note(steps.runner)  # a note of an earlier unconfirmed change is moot now
        steps.step = steps.total
        steps.say("kept: the change is applied and verified", True)
        return Outcome(ExitCode.OK, Status.APPLIED, "Applied and verified.", journal.id,
                       verification, log_path=store.write_log(journal, steps.log), log=steps.log)

    def _change(self, plan: Plan, journal: Journal, ports: tuple[int, ...]) -> Verification:
        """Prepare, write, activate and verify; raises StepFailed or RunnerError."""
        steps, store = self.steps, self.steps.store
        for command in plan.prepare:
            if not steps.run(command).ok and command.check:
                raise StepFailed(f"{command.shell()} failed")
        store.save(journal, J.PREPARED)
        steps.checkpoint(J.PREPARED)
        for n, record in enumerate(journal.files):
            steps.advance(f"write {record.path}" if record.after is not None
                          else f"remove {record.path}")
            keep = record.before is not None  # an edited file keeps owner, mode, ACLs
            steps.put_file(record.path, record.after, record.after_mode,
                           record.before_uid if keep else 0, record.before_gid if keep else 0,
                           record.before_xattrs if keep else None)
            steps.checkpoint(f"file-{n}")
        store.save(journal, J.WRITTEN)
        steps.checkpoint(J.WRITTEN)
        for command in plan.activate:
            if not steps.run(command).ok and command.check:
                raise StepFailed(f"{command.shell()} failed")
        self._put_back_dropped(journal, _kept(journal))
        store.save(journal, J.ACTIVATED)
        steps.checkpoint(J.ACTIVATED)
        steps.advance("verify")
        verification = self._verify_settled(plan, journal, ports)
        for fact in verification.facts:
            steps.say(f"{fact.name}: {fact.detail}", fact.ok or not fact.fatal,
                      warning=not fact.ok and not fact.fatal)
        if not verification.ok:
            raise StepFailed("verification failed: " + verification.summary())
        store.save(journal, J.VERIFIED)
        steps.checkpoint(J.VERIFIED)
        return verification

    def _fail(self, journal: Journal, reason: str,
              verification: Optional[Verification]) -> Outcome:
        steps = self.steps
        steps.say(f"{reason}: rolling back", False)
        journal.error = reason
        rollback = Rollback(steps)
        restored = rollback.run(journal)
        if restored.ok:
            message = f"{reason}. The host was rolled back to exactly how it was."
            code, status = ExitCode.ROLLED_BACK, Status.ROLLED_BACK
        else:
            message = f"{reason}. The rollback failed too: {restored.summary()}"
            code, status = ExitCode.ROLLBACK_FAILED, Status.ROLLBACK_FAILED
        return Outcome(code, status, message, journal.id, verification, restored,
                       manual_steps=[] if restored.ok else rollback.manual_steps(journal),
                       log_path=steps.store.write_log(journal, steps.log), log=steps.log)

    def _verify_settled(self, plan: Plan, journal: Journal, ports) -> Verification:
        """Verify; a manager may finish its work just after its command returned
        (networkctl reconfigure does), so failing facts get SETTLE_SECONDS to come true."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            verification = verify(self.steps.runner, plan.platform, plan.vips, ports=ports,
                                  foreign=journal.foreign, keep=_kept(journal),
                                  gone=sorted(_dropped(journal)))
            if verification.ok or time.monotonic() >= deadline:
                return verification
            time.sleep(0.1)

    def _put_back_dropped(self, journal: Journal, keep: list[LoAddress]) -> None:
        """A renderer taking over lo may flush addresses it does not know (NetworkManager
        does): put back, right away, every address that was there and should stay."""
        now = {addr_key(a) for a in read_addresses(self.steps.runner).lo}
        for addr in keep:
            if addr_key(addr) not in now:
                self.steps.run(add_command(addr, f"put back {addr.cidr}: {journal.method} "
                                                 "dropped it"))


def _dropped(journal: Journal) -> set[str]:
    """The VIPs this change removes on purpose (ours before, no longer wanted)."""
    method = get_method(journal.method)
    old = set(method.configured_vips({r.path: as_text(r.before) for r in journal.files}))
    return old - set(journal.vips)


def _kept(journal: Journal) -> list[LoAddress]:
    """lo's addresses before the change, less the VIPs the change removes on purpose."""
    dropped = _dropped(journal)
    return [a for a in journal.live_before if a.address not in dropped]


def _foreign(plan: Plan) -> list[str]:
    return [v for v in plan.vips if v in plan.foreign]
