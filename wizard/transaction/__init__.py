"""Apply a plan as one transaction: it fully works and is verified, or the host is put
back exactly as it was.

Modelled on nmstate (apply, compare live facts with the desired state, roll back on any
difference) and on `netplan try` / commit-confirmed (with a confirm timeout, the change
is kept only when the user confirms in time; a watchdog reverts it otherwise, even if
the terminal is gone). Every side effect goes through the runner.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from clb_wizard.facts import HostAddresses, read_addresses
from clb_wizard.methods import get_method
from clb_wizard.methods.base import Command, LoAddress
from clb_wizard.plan import Plan, gather
from clb_wizard.platform import NetworkStack, Platform
from clb_wizard.runner import CommandResult, Runner, RunnerError
from clb_wizard.sysctls import revert_commands
from clb_wizard.transaction import journal as J
from clb_wizard.transaction.journal import FileRecord, Journal, LockBusy, Store
from clb_wizard.verify import Fact, Verification, verify

EXIT_OK, EXIT_INVALID, EXIT_ROLLED_BACK, EXIT_ROLLBACK_FAILED = 0, 2, 3, 4

# The watchdog acts this long after the deadline, so a live session reverts by itself
# first and the watchdog only covers a session that is gone.
WATCHDOG_GRACE = 5.0

# How long verification waits for facts to come true after activation.
SETTLE_SECONDS = 3.0

# Test-only fault injection: SIGKILL this process right after the named checkpoint, to
# prove that `recover` copes with a crash at that point (tests/live/test_crash.py).
_FAILPOINT_ENV = "CLB_WIZARD_FAILPOINT"


class TransactionError(Exception):
    """The transaction refused to start (exit 2): nothing was changed."""


class StepFailed(Exception):
    """A step of an apply failed; the transaction rolls back."""


@dataclass(frozen=True)
class Progress:
    """One step of a transaction, for progress bars and logs."""

    step: int
    total: int
    message: str
    ok: Optional[bool] = None  # None: starting


@dataclass
class Outcome:
    exit_code: int
    status: str  # applied, no-change, dry-run, rolled-back, rollback-failed, nothing-to-do, ...
    message: str
    tx_id: Optional[str] = None
    verification: Optional[Verification] = None
    rollback_verification: Optional[Verification] = None
    manual_steps: list[str] = field(default_factory=list)
    log_path: Optional[str] = None
    log: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "ok": self.exit_code == EXIT_OK,
            "exit_code": self.exit_code,
            "status": self.status,
            "message": self.message,
            "transaction": self.tx_id,
            "verification": self.verification.to_json() if self.verification else None,
            "rollback_verification": (
                self.rollback_verification.to_json() if self.rollback_verification else None
            ),
            "manual_steps": self.manual_steps,
            "log_path": self.log_path,
            "log": self.log,
        }


def platform_from_json(data: dict) -> Platform:
    return Platform(
        os_id=data["os_id"], version=data["version"], name=data["name"], family=data["family"],
        release=data["release"], stack=NetworkStack(**data["stack"]), method=data["method"],
        reasons=tuple(data.get("reasons", ())), packages=tuple(data.get("packages", ())),
        detected=data.get("detected", True),
    )


def _addr_key(a: LoAddress) -> tuple:
    return (a.address, a.prefixlen, a.family)


def _vip_set(addresses: HostAddresses) -> set[str]:
    return addresses.lo_v4()


class Transaction:
    def __init__(
        self,
        runner: Runner,
        store: Optional[Store] = None,
        on_progress: Optional[Callable[[Progress], None]] = None,
    ) -> None:
        self.runner = runner
        self.store = store or Store(runner)
        self.on_progress = on_progress
        self.log: list[str] = []
        self._step = 0
        self._total = 0

    # -- reporting --------------------------------------------------------------------------
    def _say(self, message: str, ok: Optional[bool] = None) -> None:
        stamp = time.strftime("%H:%M:%S")
        mark = {None: "..", True: "ok", False: "FAILED"}[ok]
        self.log.append(f"{stamp} [{mark}] {message}")
        if self.on_progress is not None:
            self.on_progress(Progress(self._step, self._total, message, ok))

    def _advance(self, message: str) -> None:
        self._step += 1
        self._say(message)

    def _checkpoint(self, name: str) -> None:
        if os.environ.get(_FAILPOINT_ENV) == name:
            os.kill(os.getpid(), 9)

    # -- preconditions (nothing changes when they fail) --------------------------------------
    def _preflight(self, plan: Plan) -> None:
        if plan.platform.family == "windows":
            raise TransactionError(
                "This plan is for Windows: copy its script to the Windows host and run it there "
                "(clb-wizard plan --os windows shows it)."
            )
        if self.runner.dry_run:
            return
        if os.geteuid() != 0:
            raise TransactionError(
                "Changing the network configuration needs root: run it again with sudo "
                "(`plan` and `--dry-run` work without root)."
            )
        if not self.runner.is_live_root:
            raise TransactionError(
                f"--root {self.runner.root} is for previews: commands would act on this host "
                "but files land under the root. Add --dry-run, or apply on the host itself."
            )
        missing = sorted({c.argv[0] for c in plan.commands if shutil.which(c.argv[0]) is None})
        missing += [t for t in ("ip",) if shutil.which(t) is None]
        if missing:
            raise TransactionError(
                f"Missing tool(s): {', '.join(missing)}. Install the package that provides "
                "them, then run clb-wizard again."
            )
        for change in plan.files:
            problem = self.runner.writable_dir(str(Path(change.path).parent))
            if problem:
                raise TransactionError(f"{problem}. Nothing was changed.")
        problem = self.runner.writable_dir(str(self.store.dir))
        if problem:
            raise TransactionError(f"the state directory: {problem}. Nothing was changed.")
        current = gather(self.runner, plan.method)
        for change in plan.files:
            now = current.get(change.path)
            if (now.text if now else None) != change.before:
                raise TransactionError(
                    f"{change.path} changed since the plan was made: plan again, then apply."
                )

    def _run(self, command: Command) -> CommandResult:
        self._advance(f"{command.shell()}  ({command.why})")
        result = self.runner.run(command.argv)
        self._say(command.shell() if result.ok else result.describe(), result.ok)
        return result

    # -- apply --------------------------------------------------------------------------------
    def apply(
        self,
        plan: Plan,
        *,
        confirm_timeout: Optional[float] = None,
        confirm: Optional[Callable[[float], Optional[bool]]] = None,
        ports: tuple[int, ...] = (),
    ) -> Outcome:
        """Apply `plan`. Raises TransactionError (nothing changed) or LockBusy."""
        self._preflight(plan)
        self._total = 3 + len(plan.commands) + len(plan.files) + (1 if confirm_timeout else 0)
        if self.runner.dry_run:
            return self._dry_run(plan)
        self.store.lock()
        try:
            pending = self.store.active()
            if pending is not None:
                raise TransactionError(
                    f"transaction {pending.id} was interrupted ({pending.state}): run "
                    "`clb-wizard recover` first."
                )
            if not plan.changed:
                verification = verify(self.runner, plan.platform, plan.vips, ports=ports,
                                      foreign=_foreign(plan))
                code = EXIT_OK if verification.ok else EXIT_ROLLED_BACK
                msg = ("No change needed: the host already has this configuration." if
                       verification.ok else "Nothing to change, but verification fails: "
                       + verification.summary())
                return Outcome(code, "no-change", msg, verification=verification, log=self.log)
            return self._apply_locked(plan, confirm_timeout, confirm, ports)
        finally:
            self.store.unlock()

    def _dry_run(self, plan: Plan) -> Outcome:
        for command in plan.prepare:
            self._run(command)
        for change in plan.files:
            self._advance(f"{change.action} {change.path}")
            if change.after is None:
                self.runner.remove_file(change.path)
            else:
                self.runner.write_file(change.path, change.after.encode(), change.mode)
        for command in plan.activate:
            self._run(command)
        return Outcome(EXIT_OK, "dry-run", "Dry run: nothing was changed.", log=self.log)

    def _new_journal(self, plan: Plan) -> Journal:
        records = []
        for change in plan.files:
            state = plan.snapshot.get(change.path) or self.runner.file_state(change.path)
            records.append(FileRecord(
                path=change.path, before=state.content, before_mode=state.mode,
                before_uid=state.uid, before_gid=state.gid,
                after=None if change.after is None else change.after.encode(),
                after_mode=change.mode,
            ))
        return Journal.new(
            platform=plan.platform.to_json(), method=plan.method, vips=list(plan.vips),
            foreign=_foreign(plan), files=records,
            live_before=list(read_addresses(self.runner).lo), sysctls=list(plan.sysctls),
        )

    def _apply_locked(self, plan, confirm_timeout, confirm, ports) -> Outcome:
        journal = self._new_journal(plan)
        self._advance(f"journal {journal.id} and backups in {self.store.dir}")
        self.store.save(journal)
        self.store.write_backups(journal)
        self._checkpoint(J.STARTED)
        try:
            for command in plan.prepare:
                if not self._run(command).ok and command.check:
                    raise StepFailed(f"{command.shell()} failed")
            self.store.save(journal, J.PREPARED)
            self._checkpoint(J.PREPARED)
            for n, record in enumerate(journal.files):
                self._advance(f"write {record.path}" if record.after is not None
                              else f"remove {record.path}")
                self._put_file(record.path, record.after, record.after_mode)
                self._checkpoint(f"file-{n}")
            self.store.save(journal, J.WRITTEN)
            self._checkpoint(J.WRITTEN)
            for command in plan.activate:
                if not self._run(command).ok and command.check:
                    raise StepFailed(f"{command.shell()} failed")
            self._put_back_dropped(journal, self._kept(journal))
            self.store.save(journal, J.ACTIVATED)
            self._checkpoint(J.ACTIVATED)
            self._advance("verify")
            verification = self._verify_settled(plan, journal, ports)
            for fact in verification.facts:
                warn = "" if fact.ok or fact.fatal else "warning: "
                self._say(f"{warn}{fact.name}: {fact.detail}", fact.ok or not fact.fatal)
            if not verification.ok:
                raise StepFailed("verification failed: " + verification.summary())
            self.store.save(journal, J.VERIFIED)
            self._checkpoint(J.VERIFIED)
        except (StepFailed, RunnerError) as exc:
            return self._fail(journal, str(exc), None)
        if confirm_timeout:
            decision = self._await_confirmation(journal, confirm_timeout, confirm)
            if decision == "revert":
                return self._fail(journal, f"not confirmed within {confirm_timeout:g} s",
                                  verification)
            if decision == "reverted-elsewhere":
                return Outcome(EXIT_ROLLED_BACK, "rolled-back", "Not confirmed in time: the "
                               "watchdog rolled the change back.", journal.id, verification,
                               log=self.log)
            if decision == "kept-elsewhere":
                self._say("confirmed from another session", True)
                return Outcome(EXIT_OK, "applied", "Applied, verified and confirmed.",
                               journal.id, verification, log=self.log)
        self.store.finish(journal, J.COMMITTED)
        self._step = self._total
        self._say("kept: the change is applied and verified", True)
        return Outcome(EXIT_OK, "applied", "Applied and verified.", journal.id, verification,
                       log_path=self.store.write_log(journal, self.log), log=self.log)

    def _put_file(self, path: str, content: Optional[bytes], mode: int,
                  uid: int = 0, gid: int = 0) -> None:
        if content is None:
            self.runner.remove_file(path)
        else:
            self.runner.make_dir(str(Path(path).parent))
            self.runner.write_file(path, content, mode, uid, gid)

    def _fail(self, journal: Journal, reason: str, verification: Optional[Verification]) -> Outcome:
        self._say(f"{reason}: rolling back", False)
        journal.error = reason
        restored = self._rollback(journal)
        if restored.ok:
            message = f"{reason}. The host was rolled back to exactly how it was."
            code, status = EXIT_ROLLED_BACK, "rolled-back"
        else:
            message = f"{reason}. The rollback failed too: {restored.summary()}"
            code, status = EXIT_ROLLBACK_FAILED, "rollback-failed"
        return Outcome(code, status, message, journal.id, verification, restored,
                       manual_steps=[] if restored.ok else self.manual_steps(journal),
                       log_path=self.store.write_log(journal, self.log), log=self.log)

    # -- confirm or revert ----------------------------------------------------------------
    def _await_confirmation(self, journal: Journal, timeout: float,
                            confirm: Optional[Callable[[float], Optional[bool]]]) -> str:
        """"keep", "revert", or "kept-elsewhere"/"reverted-elsewhere" when `clb-wizard
        confirm` or the watchdog settled it. `confirm(seconds_left)` is polled: it returns
        True (keep), False (revert) or None (not answered yet)."""
        journal.confirm_deadline = time.time() + timeout
        journal.watchdog = self._arm_watchdog(journal, timeout)
        self.store.save(journal, J.AWAITING_CONFIRM)
        self._advance(f"waiting up to {timeout:g} s for confirmation")
        answer: Optional[bool] = None
        self.store.unlock()  # so that `clb-wizard confirm` from another session can act
        try:
            while answer is None and time.time() < journal.confirm_deadline:
                answer = confirm(journal.confirm_deadline - time.time()) if confirm else None
                active = self.store.active()
                if active is None or active.id != journal.id:
                    break
                if answer is None:
                    time.sleep(0.1)
        finally:
            self.store.lock(wait=60)
        active = self.store.active()
        if active is None or active.id != journal.id:
            last = self.store.last()
            return "kept-elsewhere" if last and last.id == journal.id else "reverted-elsewhere"
        self._disarm_watchdog(journal)
        in_time = time.time() <= journal.confirm_deadline
        if answer and not in_time:
            self._say("confirmed too late", False)
        return "keep" if answer and in_time else "revert"

    def _arm_watchdog(self, journal: Journal, timeout: float) -> dict:
        """Revert at the deadline even if this process or its terminal dies."""
        recover = [sys.executable, "-m", "clb_wizard", "recover", "--expired", journal.id]
        env = {"CLB_WIZARD_STATE_DIR": str(self.store.dir)}
        if os.path.isdir("/run/systemd/system") and shutil.which("systemd-run"):
            unit = f"clb-wizard-revert-{journal.id}"
            result = self.runner.run([
                "systemd-run", f"--unit={unit}", f"--on-active={int(timeout + WATCHDOG_GRACE)}s",
                "--timer-property=AccuracySec=1s",
                *(f"--setenv={k}={v}" for k, v in env.items()), *recover,
            ])
            if result.ok:
                self._say(f"armed a systemd timer ({unit}) that reverts after {timeout:g} s")
                return {"kind": "systemd", "unit": unit}
        pid = self.runner.spawn([*recover, "--wait"], env=env)
        self._say(f"armed a background watchdog (pid {pid}) that reverts after {timeout:g} s")
        return {"kind": "process", "pid": pid}

    def _disarm_watchdog(self, journal: Journal) -> None:
        watchdog = journal.watchdog or {}
        if watchdog.get("kind") == "systemd":
            self.runner.run(["systemctl", "stop", f"{watchdog['unit']}.timer"])
        elif watchdog.get("kind") == "process":
            self.runner.kill(watchdog["pid"])

    # -- rollback ---------------------------------------------------------------------------
    def _rollback(self, journal: Journal) -> Verification:
        """Back to the journal's before-state; best effort through every step, then check."""
        self.store.save(journal, J.ROLLING_BACK)
        platform = platform_from_json(journal.platform)
        method = get_method(journal.method)
        before = {r.path: _text(r.before) for r in journal.files}
        after = {r.path: _text(r.after) for r in journal.files}
        preserve = {a.address for a in journal.live_before}
        try:
            live = _vip_set(read_addresses(self.runner))
        except RunnerError:
            live = set(journal.vips)
        undo = method.transition(after, before, platform, live=live, preserve=preserve)
        for command in undo.prepare:
            self._run(command)
        for record in reversed(journal.files):
            self._advance(f"restore {record.path}")
            try:
                self._put_file(record.path, record.before, record.before_mode,
                               record.before_uid, record.before_gid)
            except RunnerError as exc:
                self._say(str(exc), False)
        for command in (*undo.activate, *revert_commands(tuple(journal.sysctls))):
            self._run(command)
        self._reconcile_lo(journal)
        self._sweep_temp_files(journal)
        result = self._check_restored(journal)
        self.store.finish(journal, J.ROLLED_BACK if result.ok else J.ROLLBACK_FAILED)
        self._say("rollback verified: the host is as it was" if result.ok
                  else "rollback incomplete: " + result.summary(), result.ok)
        return result

    @staticmethod
    def _dropped(journal: Journal) -> set[str]:
        """The VIPs this change removes on purpose (ours before, no longer wanted)."""
        method = get_method(journal.method)
        old = set(method.configured_vips({r.path: _text(r.before) for r in journal.files}))
        return old - set(journal.vips)

    def _kept(self, journal: Journal) -> list[LoAddress]:
        """lo's addresses before the change, less the VIPs the change removes on purpose."""
        dropped = self._dropped(journal)
        return [a for a in journal.live_before if a.address not in dropped]

    def _verify_settled(self, plan: Plan, journal: Journal, ports) -> Verification:
        """Verify; a manager may finish its work just after its command returned
        (networkctl reconfigure does), so failing facts get SETTLE_SECONDS to come true."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            verification = verify(self.runner, plan.platform, plan.vips, ports=ports,
                                  foreign=journal.foreign, keep=self._kept(journal),
                                  gone=sorted(self._dropped(journal)))
            if verification.ok or time.monotonic() >= deadline:
                return verification
            time.sleep(0.1)

    def _put_back_dropped(self, journal: Journal, keep: list[LoAddress]) -> None:
        """A renderer taking over lo may flush addresses it does not know (NetworkManager
        does): put back, right away, every address that was there and should stay."""
        now = {_addr_key(a) for a in read_addresses(self.runner).lo}
        for addr in keep:
            if _addr_key(addr) not in now:
                self._run(_add_command(addr, f"put back {addr.cidr}: {journal.method} dropped it"))

    def _reconcile_lo(self, journal: Journal) -> None:
        """Kernel level: remove the VIPs this transaction added, put back what it removed
        (a renderer may drop lo's own addresses when it stops managing lo)."""
        try:
            now = read_addresses(self.runner).lo
        except RunnerError as exc:
            self._say(str(exc), False)
            return
        before = {_addr_key(a): a for a in journal.live_before}
        current = {_addr_key(a): a for a in now}
        for key, addr in current.items():
            if key not in before and addr.family == "inet" and addr.address in journal.vips:
                self._run(Command(("ip", "addr", "del", addr.cidr, "dev", "lo"),
                                  f"remove {addr.address}, added by this transaction"))
        for key, addr in before.items():
            if key not in current:
                self._run(_add_command(addr, f"put back {addr.cidr}, which was on lo before"))

    def _sweep_temp_files(self, journal: Journal) -> None:
        """A crash between creating a temp file and renaming it leaves `.clb-wizard.*`."""
        for directory in sorted({str(Path(r.path).parent) for r in journal.files}):
            for name in self.runner.list_dir(directory):
                if name.startswith(".clb-wizard."):
                    self.runner.remove_file(f"{directory}/{name}")

    def _check_restored(self, journal: Journal) -> Verification:
        facts = []
        for record in journal.files:
            state = self.runner.file_state(record.path)
            same = state.content == record.before and (
                record.before is None or state.mode == record.before_mode)
            facts.append(Fact(f"{record.path} restored", same,
                              "byte-exact as before" if same else "differs from the backup"))
        try:
            now = {_addr_key(a) for a in read_addresses(self.runner).lo}
            was = {_addr_key(a) for a in journal.live_before}
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
        steps = []
        for record in journal.files:
            if record.before is None:
                steps.append(f"rm -f {record.path}")
            else:
                steps.append(f"cp -p {self.store.backup_path(journal.id, record.path)} "
                             f"{record.path}")
        was = {a.address for a in journal.live_before}
        steps += [f"ip addr del {vip}/32 dev lo" for vip in journal.vips if vip not in was]
        steps.append(f"rm -f {self.store.journal_path}   # once the host is back as it was")
        return steps

    # -- the other entry points ---------------------------------------------------------------
    def rollback_last(self) -> Outcome:
        """Undo the last kept change (`clb-wizard rollback`)."""
        self._require_root()
        self.store.lock()
        try:
            if self.store.active() is not None:
                raise TransactionError("an interrupted transaction is pending: run "
                                       "`clb-wizard recover` first.")
            last = self.store.last()
            if last is None:
                return Outcome(EXIT_OK, "nothing-to-do", "Nothing to roll back: no change "
                               "made by clb-wizard is recorded on this host.")
            for record in last.files:
                now = self.runner.file_state(record.path).content
                if now != record.after:
                    raise TransactionError(
                        f"{record.path} was changed after clb-wizard wrote it; rolling back "
                        "would lose that edit. Restore it by hand from "
                        f"{self.store.backup_path(last.id, record.path)}."
                    )
            self._total = 2 + 2 * len(last.files)
            self._say(f"rolling back transaction {last.id}")
            result = self._rollback(last)
            code = EXIT_OK if result.ok else EXIT_ROLLBACK_FAILED
            return Outcome(code, "rolled-back" if result.ok else "rollback-failed",
                           "Rolled back: the host is as it was before." if result.ok
                           else "The rollback failed: " + result.summary(), last.id,
                           rollback_verification=result,
                           manual_steps=[] if result.ok else self.manual_steps(last),
                           log_path=self.store.write_log(last, self.log), log=self.log)
        finally:
            self.store.unlock()

    def recover(self, expired_id: Optional[str] = None, wait: bool = False) -> Outcome:
        """Finish an interrupted transaction: fully back to old, or fully forward to new.

        With `expired_id` (the watchdog), act only on that transaction if it is still
        awaiting confirmation, once its deadline has passed.
        """
        self._require_root()
        if wait and expired_id:
            journal = self.store.active()
            if journal and journal.confirm_deadline:
                time.sleep(max(0.0, journal.confirm_deadline + WATCHDOG_GRACE - time.time()))
        self.store.lock(wait=120 if expired_id else 0)
        try:
            journal = self.store.active()
            if journal is None or (expired_id and (journal.id != expired_id
                                                   or journal.state != J.AWAITING_CONFIRM)):
                return Outcome(EXIT_OK, "nothing-to-do", "No interrupted transaction.")
            if expired_id and time.time() < (journal.confirm_deadline or 0):
                return Outcome(EXIT_OK, "nothing-to-do", "Still within the confirm window.")
            self._total = 3 + 2 * len(journal.files)
            self._say(f"recovering transaction {journal.id} (stopped at {journal.state})")
            if journal.state == J.VERIFIED:
                verification = verify(self.runner, platform_from_json(journal.platform),
                                      journal.vips, foreign=journal.foreign)
                if verification.ok:
                    self._sweep_temp_files(journal)
                    self.store.finish(journal, J.COMMITTED)
                    return Outcome(EXIT_OK, "recovered-forward",
                                   "The interrupted change had been verified and still is: "
                                   "kept.", journal.id, verification, log=self.log)
            reason = ("not confirmed in time" if journal.state == J.AWAITING_CONFIRM
                      else f"interrupted at {journal.state}")
            journal.error = reason
            result = self._rollback(journal)
            code = EXIT_OK if result.ok else EXIT_ROLLBACK_FAILED
            return Outcome(code, "recovered-back" if result.ok else "rollback-failed",
                           f"Rolled back ({reason}): the host is as it was before."
                           if result.ok else "The rollback failed: " + result.summary(),
                           journal.id, rollback_verification=result,
                           manual_steps=[] if result.ok else self.manual_steps(journal),
                           log_path=self.store.write_log(journal, self.log), log=self.log)
        finally:
            self.store.unlock()

    def confirm_pending(self) -> Outcome:
        """`clb-wizard confirm`: keep a change that is waiting for confirmation."""
        self._require_root()
        self.store.lock(wait=10)
        try:
            journal = self.store.active()
            if journal is None or journal.state != J.AWAITING_CONFIRM:
                return Outcome(EXIT_INVALID, "nothing-to-do", "No change is waiting for "
                               "confirmation.")
            if time.time() > (journal.confirm_deadline or 0):
                return Outcome(EXIT_INVALID, "too-late", "Too late: the confirm window has "
                               "passed; the change is being reverted.")
            self._disarm_watchdog(journal)
            self.store.finish(journal, J.COMMITTED)
            return Outcome(EXIT_OK, "applied", "Confirmed: the change is kept.", journal.id)
        finally:
            self.store.unlock()

    def _require_root(self) -> None:
        if os.geteuid() != 0:
            raise TransactionError("This needs root: run it again with sudo.")


def _add_command(addr: LoAddress, why: str) -> Command:
    argv = ["ip"] + (["-6"] if addr.family == "inet6" else [])
    argv += ["addr", "add", addr.cidr, "dev", "lo"]
    if addr.family == "inet" and addr.label not in ("", "lo"):
        argv += ["label", addr.label]
    return Command(tuple(argv), why)


def _text(data: Optional[bytes]) -> Optional[str]:
    return None if data is None else data.decode("utf-8", "replace")


def _foreign(plan: Plan) -> list[str]:
    return [v for v in plan.vips if v in plan.foreign]


__all__ = ["LockBusy", "Outcome", "Progress", "Transaction", "TransactionError"]
