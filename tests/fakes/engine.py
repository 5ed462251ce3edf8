"""Stand-ins for the few engine objects a Pilot test cannot have for real, and a clock
the tests advance by hand.

Pilot runs the app inside the pytest process, which cannot enter a network namespace, and
a real apply needs one (and root). So where a test needs an apply that fails, waits for
confirmation, or is refused, a scripted transaction stands in for wizard.transaction's:
it reports progress and returns an Outcome of the engine's own types, the way the real
one does. Everything else (detection, VIP checks, planning) is the real engine on a
fixture root. The real failure path runs in tests/ui/test_live.py, through a pty.

`ManualClock` drives the wizard's countdowns (screens/clock.py) one tick per `advance()`,
so no test depends on how fast a loaded machine counts seconds.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

from clb_wizard.screens.clock import Clock
from clb_wizard.service import Service
from clb_wizard.transaction import Outcome, Progress, TransactionError
from clb_wizard.transaction.journal import Journal
from clb_wizard.verify import Fact, Verification
from clb_wizard.vips import VipReport

VIP = "203.0.113.10"


def applied_facts(vip: str = VIP) -> Verification:
    return Verification((
        Fact(f"{vip} on lo", True, f"{vip}/32 on lo (label lo:0)"),
        Fact(f"{vip} routed locally", True, f"ip route get {vip}: local"),
        Fact("config re-reads", True, f"ifupdown: {vip}"),
        Fact("ARP sysctls", False, "arp_ignore=0 arp_announce=0: the backend may answer ARP "
             "for the VIP; set 1 and 2 (--arp-sysctls)", fatal=False),
    ))


def arp_fixed_facts(vip: str = VIP) -> Verification:
    return Verification((*applied_facts(vip).facts[:3],
                         Fact("ARP sysctls", True, "arp_ignore=1 arp_announce=2")))


def failed_facts(vip: str = VIP) -> Verification:
    return Verification((
        Fact(f"{vip} on lo", False, "not an address of lo"),
        Fact(f"{vip} routed locally", False, f"ip route get {vip}: unicast"),
    ))


def restored_facts() -> Verification:
    return Verification((
        Fact("/etc/network/interfaces.d/clb-wizard-lo restored", True, "byte-exact as before"),
        Fact("lo addresses as before", True, "same as before"),
    ))


class ScriptedTransaction:
    """Reports the steps of an apply, then ends as told: "applied", "rolled-back",
    "refused"; with a confirm timeout it polls `confirm` like the engine (every 0.01 s
    here) and keeps or reverts on the answer."""

    def __init__(self, on_progress: Callable[[Progress], None], ending: str = "applied",
                 release: Optional[threading.Event] = None) -> None:
        self.on_progress = on_progress
        self.ending = ending
        self.release = release
        self.polls: list[float] = []
        self.held = 0  # how many times Service took the (here imaginary) lock
        self.applied: list[Any] = []  # the plans handed to apply

    @contextlib.contextmanager
    def hold(self):  # noqa: ANN201 - the real one takes the lock; nothing to take here
        self.held += 1
        yield

    def apply(self, plan: Any, *, confirm_timeout: Optional[float] = None,
              confirm: Optional[Callable[[float], Optional[bool]]] = None,
              ports: tuple = ()) -> Outcome:
        self.applied.append(plan)
        if plan is not None and getattr(plan, "sysctls", ()):  # the Verify step's ARP fix
            if self.on_progress is not None:
                self.on_progress(Progress(1, 1, "sysctl -q -w ...", True))
            return Outcome(0, "applied", "Applied and verified.", "20240101-000001-a4b5c6",
                           arp_fixed_facts(), log=["12:00:01 [ok] sysctl -q -w ..."])
        if self.ending == "refused":
            raise TransactionError("Changing the network configuration needs root: run it "
                                   "again with sudo (`plan` and `--dry-run` work without root).")
        total = 4
        say = self.on_progress
        say(Progress(1, total, "journal and backups in /var/lib/clb-wizard"))
        say(Progress(2, total, "write /etc/network/interfaces.d/clb-wizard-lo"))
        if self.release is not None:
            self.release.wait(30)
        say(Progress(3, total, "ifup lo:0  (bring the VIP up)"))
        if self.ending == "rollback-failed":
            say(Progress(3, total, "`ifup lo:0` exited 1: ifup: simulated failure", False))
            say(Progress(4, total, "rollback incomplete: lo addresses as before: still there",
                         False))
            return Outcome(4, "rollback-failed", "ifup lo:0 failed. The rollback failed too: "
                           "lo addresses as before: still there: ['203.0.113.10/32']",
                           "tx-2", failed_facts(), failed_facts(),
                           manual_steps=[f"ip addr del {VIP}/32 dev lo",
                                         "rm -f /var/lib/clb-wizard/journal.json   # once the "
                                         "host is back as it was"],
                           log_path="/var/lib/clb-wizard/log/tx-2.log")
        if self.ending == "rolled-back":
            say(Progress(3, total, "`ifup lo:0` exited 1: ifup: simulated failure", False))
            say(Progress(3, total, "ifup lo:0 failed: rolling back", False))
            say(Progress(4, total, "rollback verified: the host is as it was", True))
            return Outcome(3, "rolled-back", "ifup lo:0 failed. The host was rolled back to "
                           "exactly how it was.", "20240101-000000-abcdef", failed_facts(),
                           restored_facts(), log_path="/var/lib/clb-wizard/log/test.log")
        say(Progress(3, total, "ifup lo:0", True))
        say(Progress(4, total, "verify"))
        arp = applied_facts().facts[3]  # logged as a warning, like the engine does
        say(Progress(4, total, f"{arp.name}: {arp.detail}", True, warning=True))
        if confirm_timeout:
            answer = None
            deadline = time.monotonic() + 30  # a bound for the test, not the real timer
            while answer is None and time.monotonic() < deadline:
                left = confirm_timeout - 0.01 * len(self.polls)
                self.polls.append(left)
                answer = confirm(left) if confirm else None
                if answer is None:
                    time.sleep(0.01)
            if not answer:
                say(Progress(4, total, f"not confirmed within {confirm_timeout:g} s: rolling "
                             "back", False))
                return Outcome(3, "rolled-back", f"not confirmed within {confirm_timeout:g} s. "
                               "The host was rolled back to exactly how it was.", "tx-1",
                               applied_facts(), restored_facts())
        say(Progress(total, total, "kept: the change is applied and verified", True))
        return Outcome(0, "applied", "Applied and verified.", "20240101-000000-abcdef",
                       applied_facts(), log_path="/var/lib/clb-wizard/log/test.log",
                       log=["12:00:00 [..] journal and backups in /var/lib/clb-wizard",
                            "12:00:00 [ok] ifup lo:0",
                            "12:00:01 [ok] kept: the change is applied and verified"])


class ManualTicker:
    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.running = True

    def stop(self) -> None:
        self.running = False


class ManualClock(Clock):
    """A clock that ticks only when the test says so (`advance`)."""

    def __init__(self) -> None:
        super().__init__(tick=1.0)
        self.tickers: list[ManualTicker] = []

    def every(self, owner, callback):  # noqa: ANN001, ANN201
        ticker = ManualTicker(callback)
        self.tickers.append(ticker)
        return ticker

    def advance(self, ticks: int = 1) -> None:
        """Call every running ticker's callback `ticks` times (on the app's thread: the
        test's coroutine runs in the app's event loop)."""
        for _ in range(ticks):
            for ticker in [t for t in self.tickers if t.running]:
                ticker.callback()


class FakeEngine(Service):
    """The real engine on a fixture root, with the transaction (and, when given, the
    journal, the recovery and the VIP report) scripted."""

    def __init__(self, root: Path, *, ending: str = "applied", is_root: bool = True,
                 pending: Optional[Journal] = None, recover_outcome: Optional[Outcome] = None,
                 release: Optional[threading.Event] = None,
                 vip_report: Optional[Callable[[list[str]], VipReport]] = None,
                 last_change: Optional[Journal] = None,
                 arp_set: Optional[bool] = None) -> None:
        super().__init__(str(root), is_root=is_root)
        self._last_change = last_change
        self._arp_set = arp_set
        self.ending = ending
        self.release = release
        self._pending = pending
        self.recover_outcome = recover_outcome
        self.vip_report = vip_report
        self.transactions: list[ScriptedTransaction] = []
        self.rollbacks = 0

    def transaction(self, dry_run, on_progress=None):  # noqa: ANN001, ANN201
        if dry_run:  # a dry run changes nothing: the real one runs, on the fixture root
            return super().transaction(dry_run, on_progress)
        tx = ScriptedTransaction(on_progress, self.ending, self.release)
        self.transactions.append(tx)
        return tx

    def pending(self) -> Optional[Journal]:
        return self._pending

    def last_change(self) -> Optional[Journal]:
        return self._last_change

    def arp_sysctls_set(self) -> Optional[bool]:
        return self._arp_set

    def rollback_last(self, on_progress):  # noqa: ANN001, ANN201
        self.rollbacks += 1
        on_progress(Progress(1, 2, "rolling back transaction 20240101-000000-abcdef"))
        on_progress(Progress(2, 2, "rollback verified: the host is as it was", True))
        return Outcome(0, "rolled-back", "Rolled back: the host is as it was before.",
                       "20240101-000000-abcdef", rollback_verification=restored_facts(),
                       log=["12:01:00 [ok] rollback verified: the host is as it was"])

    def recover(self, on_progress):  # noqa: ANN001, ANN201
        on_progress(Progress(1, 2, f"recovering transaction {self._pending.id}"))
        on_progress(Progress(2, 2, "rollback verified: the host is as it was", True))
        self._pending = None
        return self.recover_outcome

    def check_vips(self, options, addresses=None):  # noqa: ANN001, ANN201
        if self.vip_report is not None:
            return self.vip_report(list(options.vips))
        return super().check_vips(options, addresses)


def interrupted_journal() -> Journal:
    return Journal(id="20240101-000000-feed01", state="written", platform={}, method="ifupdown",
                   vips=[VIP])
