"""Back to the journal's before-state: the rollback itself (files byte-exact, lo's
addresses, sysctls, then a check), `clb-wizard rollback` of the last kept change, and
`clb-wizard recover` of a transaction a crash (or an expired confirm window) left
unfinished: fully back to old, or, when it was already verified, fully forward to new.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from clb_wizard.errors import ExitCode, Status
from clb_wizard.facts import read_addresses
from clb_wizard.files import terminal_safe
from clb_wizard.methods import get_method
from clb_wizard.methods.base import Command, TransitionInput
from clb_wizard.runner import Runner, RunnerError
from clb_wizard.sysctls import revert_commands
from clb_wizard.transaction import journal as J
from clb_wizard.transaction.confirm import WATCHDOG_GRACE
from clb_wizard.transaction.journal import FileRecord, Journal
from clb_wizard.transaction.records import platform_from_json
from clb_wizard.transaction.steps import (
    Outcome,
    Steps,
    TransactionError,
    add_command,
    addr_key,
    as_text,
)
from clb_wizard.verify import Fact, Verification, verify


def link_moved(runner: Runner, record: FileRecord) -> Optional[str]:
    """Why `record` cannot be written through its link as it was, or None. clb-wizard
    writes through a symlinked config file and leaves the link alone, so at rollback the
    link is still there; if it is not, a rollback never makes one (it would write
    wherever the link says) and the admin restores the file by hand."""
    if record.before_link is None or runner.link_of(record.path) == record.before_link:
        return None
    return (f"{record.path} was a symbolic link to {terminal_safe(record.before_link)} when "
            "clb-wizard changed it, and it is not now: clb-wizard does not make links. Put "
            "the link back (or restore the file) by hand.")


class Rollback:
    def __init__(self, steps: Steps) -> None:
        self.steps = steps

    def run(self, journal: Journal) -> Verification:
        """Back to the journal's before-state; best effort through every step, then check."""
        steps, runner = self.steps, self.steps.runner
        try:
            steps.store.save(journal, J.ROLLING_BACK)
        except RunnerError as exc:  # a full state dir must not stop the rollback itself
            steps.say(f"cannot record the rollback: {exc}", False)
        platform = platform_from_json(journal.platform)
        method = get_method(journal.method)
        before = {r.path: as_text(r.before) for r in journal.files}
        after = {r.path: as_text(r.after) for r in journal.files}
        preserve = {a.address for a in journal.live_before}
        try:
            live = read_addresses(runner).lo_v4()
        except RunnerError:
            live = set(journal.vips)
        undo = method.transition(TransitionInput(after, before, platform, live, preserve))
        for command in undo.prepare:
            steps.run(command)
        for record in reversed(journal.files):
            steps.advance(f"restore {record.path}")
            try:
                moved = link_moved(runner, record)
                if moved:  # never made by a rollback: it would write where the link says
                    raise RunnerError(moved)
                steps.put_file(record.path, record.before, record.before_mode,
                               record.before_uid, record.before_gid, record.before_xattrs)
            except RunnerError as exc:
                steps.say(str(exc), False)
        for command in (*undo.activate, *revert_commands(tuple(journal.sysctls))):
            steps.run(command)
        self._reconcile_lo(journal)
        self.sweep_temp_files(journal)
        result = self._check_restored(journal)
        try:
            steps.store.finish(journal, J.ROLLED_BACK if result.ok else J.ROLLBACK_FAILED)
        except RunnerError as exc:  # the journal on disk still says unfinished: recover
            steps.say(f"cannot record the end of the rollback: {exc}", False)
        steps.say("rollback verified: the host is as it was" if result.ok
                  else "rollback incomplete: " + result.summary(), result.ok)
        return result

    def _reconcile_lo(self, journal: Journal) -> None:
        """Kernel level: remove the VIPs this transaction added, put back what it removed
        (a renderer may drop lo's own addresses when it stops managing lo)."""
        try:
            now = read_addresses(self.steps.runner).lo
        except RunnerError as exc:
            self.steps.say(str(exc), False)
            return
        before = {addr_key(a): a for a in journal.live_before}
        current = {addr_key(a): a for a in now}
        for key, addr in current.items():
            if key not in before and addr.family == "inet" and addr.address in journal.vips:
                self.steps.run(Command(("ip", "addr", "del", addr.cidr, "dev", "lo"),
                                       f"remove {addr.address}, added by this transaction"))
        for key, addr in before.items():
            if key not in current:
                self.steps.run(add_command(addr, f"put back {addr.cidr}, which was on lo before"))

    def sweep_temp_files(self, journal: Journal) -> None:
        """A crash between creating a temp file and renaming it leaves `.clb-wizard.*`."""
        runner = self.steps.runner
        for directory in sorted({str(Path(r.path).parent) for r in journal.files}):
            for name in runner.list_dir(directory):
                if name.startswith(".clb-wizard."):
                    runner.remove_file(f"{directory}/{name}")

    def _check_restored(self, journal: Journal) -> Verification:
        runner = self.steps.runner
        facts = []
        for record in journal.files:
            try:
                state = runner.file_state(record.path)
            except RunnerError as exc:
                facts.append(Fact(f"{record.path} restored", False, str(exc)))
                continue
            same = state.content == record.before and state.link == record.before_link and (
                record.before is None or (state.mode, state.uid, state.gid) ==
                (record.before_mode, record.before_uid, record.before_gid))
            facts.append(Fact(f"{record.path} restored", same,
                              "byte-exact as before" if same else "differs from the backup"))
        try:
            now = {addr_key(a) for a in read_addresses(runner).lo}
            was = {addr_key(a) for a in journal.live_before}
            extra = sorted(f"{a}/{p}" for a, p, _ in now - was)
            lost = sorted(f"{a}/{p}" for a, p, _ in was - now)
            facts.append(Fact("lo addresses as before", not extra and not lost,
                              "same as before" if not extra and not lost else
                              f"still there: {extra or '-'}; missing: {lost or '-'}"))
        except RunnerError as exc:
            facts.append(Fact("lo addresses as before", False, str(exc)))
        return Verification(tuple(facts))

    def manual_steps(self, journal: Journal) -> list[str]:
        """What an admin runs by hand when the automatic rollback could not finish."""
        store = self.steps.store
        steps = []
        for record in journal.files:
            if record.before is None:
                steps.append(f"rm -f {record.path}")
            else:
                steps.append(f"cp -p {store.backup_path(journal.id, record.path)} "
                             f"{record.path}")
        was = {a.address for a in journal.live_before}
        steps += [f"ip addr del {vip}/32 dev lo" for vip in journal.vips if vip not in was]
        steps.append(f"rm -f {store.journal_path}   # once the host is back as it was")
        return steps

    def _outcome(self, journal: Journal, result: Verification, status: Status,
                 message: str) -> Outcome:
        """The outcome of a rollback `result` of `journal`: `status`/`message` if it worked."""
        code = ExitCode.OK if result.ok else ExitCode.ROLLBACK_FAILED
        return Outcome(code, status if result.ok else Status.ROLLBACK_FAILED,
                       message if result.ok else "The rollback failed: " + result.summary(),
                       journal.id, rollback_verification=result,
                       manual_steps=[] if result.ok else self.manual_steps(journal),
                       log_path=self.steps.store.write_log(journal, self.steps.log),
                       log=self.steps.log)

    def rollback_last(self) -> Outcome:
        """Undo the last kept change (`clb-wizard rollback`)."""
        steps, store = self.steps, self.steps.store
        steps.require_root()
        store.lock()
        try:
            if store.active() is not None:
                raise TransactionError("an interrupted transaction is pending: run "
                                       "`clb-wizard recover` first.")
            last = store.last()
            if last is None:
                return Outcome(ExitCode.OK, Status.NOTHING_TO_DO, "Nothing to roll back: no change "
                               "made by clb-wizard is recorded on this host.")
            for record in last.files:
                moved = link_moved(steps.runner, record)
                if moved:
                    raise TransactionError(moved)
                now = steps.runner.file_state(record.path).content
                if now != record.after:
                    raise TransactionError(
                        f"{record.path} was changed after clb-wizard wrote it; rolling back "
                        "would lose that edit. Restore it by hand from "
                        f"{store.backup_path(last.id, record.path)}."
                    )
            steps.total = 2 + 2 * len(last.files)
            steps.say(f"rolling back transaction {last.id}")
            return self._outcome(last, self.run(last), Status.ROLLED_BACK,
                                 "Rolled back: the host is as it was before.")
        finally:
            store.unlock()

    def recover(self, expired_id: Optional[str] = None, wait: bool = False) -> Outcome:
        """Finish an interrupted transaction: fully back to old, or fully forward to new.

        With `expired_id` (the watchdog), act only on that transaction if it is still
        awaiting confirmation, once its deadline has passed.
        """
        steps, store = self.steps, self.steps.store
        steps.require_root()
        if wait and expired_id:
            journal = store.active()
            if journal and journal.confirm_deadline:
                time.sleep(max(0.0, journal.confirm_deadline + WATCHDOG_GRACE - time.time()))
        store.lock(wait=120 if expired_id else 0)
        try:
            store.history()  # damaged or refused: said now, before anything is undone
            journal = store.active()
            if journal is None or (expired_id and (journal.id != expired_id
                                                   or journal.state != J.AWAITING_CONFIRM)):
                return Outcome(ExitCode.OK, Status.NOTHING_TO_DO, "No interrupted transaction.")
            if expired_id and time.time() < (journal.confirm_deadline or 0):
                return Outcome(ExitCode.OK, Status.NOTHING_TO_DO,
                               "Still within the confirm window.")
            steps.total = 3 + 2 * len(journal.files)
            steps.say(f"recovering transaction {journal.id} (stopped at {journal.state})")
            if journal.state == J.COMMITTED:  # kept; only its record was not finished
                store.finish(journal, J.COMMITTED)
                return Outcome(ExitCode.OK, Status.RECOVERED_FORWARD, "The interrupted change "
                               "had been kept: its record is complete now.", journal.id,
                               log=steps.log)
            if journal.state == J.VERIFIED:
                verification = verify(steps.runner, platform_from_json(journal.platform),
                                      journal.vips, foreign=journal.foreign)
                if verification.ok:
                    self.sweep_temp_files(journal)
                    store.finish(journal, J.COMMITTED)
                    return Outcome(ExitCode.OK, Status.RECOVERED_FORWARD,
                                   "The interrupted change had been verified and still is: "
                                   "kept.", journal.id, verification, log=steps.log)
            if journal.state == J.ROLLBACK_FAILED:  # keep the first reason on record
                reason = f"retried the rollback that failed: {terminal_safe(journal.error)}"
            else:
                reason = ("not confirmed in time" if journal.state == J.AWAITING_CONFIRM
                          else f"interrupted at {journal.state}")
                journal.error = reason
            return self._outcome(journal, self.run(journal), Status.RECOVERED_BACK,
                                 f"Rolled back ({reason}): the host is as it was before.")
        finally:
            store.unlock()
