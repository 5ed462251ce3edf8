"""Step 7: each verification fact as a check, pass/fail/warn and its one-line reason; after
a rollback, the checks that the host is back as it was. With CLBs fetched from the cloud,
each load balancer's own view (its backend health) is one more check. When the ARP sysctls
are the only thing left to fix, A sets them here, as a small change of its own. The status
code at the end sums it up in a dozen characters to read to support."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Optional

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll

from clb_wizard.errors import ClbWizardError, Status

from .base import StepScreen
from .controls import FactLine, fact_lines
from .widgets import Note, Spinner

if TYPE_CHECKING:
    from textual.widget import Widget

    from clb_wizard.service import Fact, Options, Outcome

    from .state import CloudChoice, WizardState

HEALTH_TIMEOUT = 120.0
HEALTH_INTERVAL = 5.0
ARP_FACT = "ARP sysctls"
ARP_FIX = ("Press A to set arp_ignore=1 and arp_announce=2 now, persistently: a small "
           "change of its own, verified like the first, undone with it by U on the next step.")


def status_line(state: WizardState) -> Optional[str]:
    """The status code of what this run verified, and how to use it; None before any
    apply. (clb_wizard.statuscode: OS, method, VIP count, sysctls, verdict, check digit.)"""
    from clb_wizard.statuscode import status_code

    results = state.results
    outcome, plan = results.outcome, results.plan
    if outcome is None or plan is None:
        return None
    verification = outcome.verification
    if results.arp_fix is not None:
        verification = results.arp_fix.verification
    if outcome.status == Status.DRY_RUN or results.unconfirmed is not None:
        verification = None  # nothing on the host was verified and kept
    code = status_code(plan.platform, plan.vips, verification)
    return f"Status code: {code} (read it to support)"


UNDONE = (Status.ROLLED_BACK, Status.ROLLBACK_FAILED)


def rollback_facts(facts: Iterable[Fact], root: Path) -> list[Fact]:
    """A rollback's facts with each file's in plain words: a file the change had created
    (it is not there now) was "removed again", not "restored byte-exact" (wording.py)."""
    from clb_wizard.wording import restored

    worded = []
    for fact in facts:
        if fact.name.endswith(" restored"):
            path = fact.name[:-len(" restored")]
            existed = os.path.lexists(root / path.lstrip("/")) if fact.ok else None
            fact = replace(fact, name=path, detail=restored(fact.detail, fact.ok, existed))
        worded.append(fact)
    return worded


class VerifyScreen(StepScreen):
    DEFAULT_CSS = """
    VerifyScreen #facts {
        height: 1fr;
    }
    VerifyScreen .status-code {
        margin-top: 1;
        text-style: bold;
    }
    """
    STEP = "Verify"
    HELP = ("What clb-wizard checked on the host itself, not just exit codes. [FAIL] stops "
            "the change; [WARN] is worth a look. Up/Down scroll, Enter goes on.")
    BINDINGS: ClassVar[list] = [
        Binding("a", "fix_arp", "Set ARP sysctls", key_display="A"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.fixing = False
        self.health_left = 0  # CLBs whose health check is still being asked

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="facts"):
            yield from self.fact_widgets()

    def fact_widgets(self) -> list[Widget]:
        state = self.state
        results = state.results
        outcome = results.outcome
        out: list[Widget] = []
        if outcome is None:
            return [Note("Nothing was applied, so there is nothing to check.", classes="hint")]
        undone = outcome.status in UNDONE
        if outcome.verification is not None and results.unconfirmed is not None:
            out.append(Note("Before it was rolled back, every check of the change passed: "
                            "it worked, it was just not kept.", classes="section"))
        elif outcome.verification is not None and undone:
            # only why it was undone, in the past: an "[ OK ] VIP on lo" here would read
            # as if the VIP were still up
            failed = [f for f in outcome.verification.facts if not f.ok]
            if failed:
                out.append(Note("Why it was rolled back (checked before the rollback):",
                                classes="section"))
                out += fact_lines(failed)
            else:
                out.append(Note(outcome.message, classes="-error"))
        elif outcome.verification is not None:
            title = ("After the change:" if outcome.status != Status.NO_CHANGE
                     else "The host as it is:")
            out.append(Note(title, classes="section"))
            out += fact_lines(outcome.verification.facts)
            if self.arp_fix_offered():
                out.append(Note(ARP_FIX, classes="hint", id="arp-fix"))
        elif outcome.status == Status.DRY_RUN:
            out.append(Note("Dry run: nothing was changed, so nothing was checked. A real run "
                            "checks:", classes="section"))
            for check in results.plan.checks if results.plan is not None else ():
                out.append(FactLine("info", "", check.description))
        else:
            out.append(Note(outcome.message, classes="-error"))
        if outcome.rollback_verification is not None:
            out.append(Note("After the rollback:", classes="section"))
            out += fact_lines(rollback_facts(outcome.rollback_verification.facts,
                                             self.engine.root))
        for n, ulb_id in enumerate(self.health_clbs()):
            out.append(Spinner(f"CLB {ulb_id}: waiting for its health check to reach this "
                               "backend...", id=f"health-{n}"))
        out.append(Note(status_line(state) or "", classes="status-code"))
        return out

    def arp_fix_offered(self) -> bool:
        state = self.state
        outcome = state.results.outcome
        if (outcome is None or outcome.status not in (Status.APPLIED, Status.NO_CHANGE)
                or outcome.verification is None or state.choices.dry_run or self.fixing
                or state.results.arp_fix is not None):
            return False
        return any(f.name == ARP_FACT and not f.ok for f in outcome.verification.facts)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> Optional[bool]:
        if action == "fix_arp":
            return self.arp_fix_offered()
        return True

    # -- the ARP sysctls, as their own small transaction ----------------------------------
    def action_fix_arp(self) -> None:
        if not self.arp_fix_offered():
            return
        self.fixing = True
        self.state.results.applying = True
        self.refresh_bindings()
        self.query_one("#arp-fix", Note).update("Setting the ARP sysctls...")
        self.fix_arp(self.state.options())

    @work(thread=True, exclusive=True, group="arp", exit_on_error=False)
    def fix_arp(self, options: Options) -> None:
        try:  # planned and applied under the lock, as any change
            outcome = self.engine.apply(replace(options, arp_sysctls=True, force=True))
        except ClbWizardError as exc:
            self.app.call_from_thread(self.show_arp_fix, None, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - never leave the step waiting forever
            self.app.call_from_thread(self.show_arp_fix, None, f"unexpected error: "
                                      f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self.show_arp_fix, outcome, None)

    def show_arp_fix(self, outcome: Optional[Outcome], error: Optional[str]) -> None:
        results = self.state.results
        self.fixing = False
        results.applying = False
        self.app.clear_notifications()
        if outcome is None or outcome.exit_code != 0:
            reason = error or outcome.message
            self.query_one("#arp-fix", Note).update(f"The ARP sysctls were not set: {reason}")
            self.refresh_bindings()
            return
        results.arp_fix = outcome
        results.kept.append(outcome)
        self.state.choices.arp_sysctls = True
        self.state.host.arp_set = True
        box = self.query_one("#facts", VerticalScroll)
        box.remove_children()
        box.mount_all([Note("ARP sysctls set and kept (arp_ignore=1, arp_announce=2).",
                            classes="-ok"),
                       Note("After that change:", classes="section"),
                       *fact_lines(outcome.verification.facts),
                       Note(status_line(self.state) or "", classes="status-code")])
        self.refresh_bindings()

    # -- the CLBs' own view ----------------------------------------------------------------
    def health_clbs(self) -> tuple[str, ...]:
        """The CLBs to ask for their health check of this backend: every one the VIPs were
        fetched from, once the change is applied."""
        state = self.state
        outcome = state.results.outcome
        if state.choices.cloud is None or outcome is None or outcome.status != Status.APPLIED:
            return ()
        return tuple(state.choices.cloud.ulb_ids)

    def on_mount(self) -> None:
        self.query_one("#facts").focus()
        clbs = self.health_clbs()
        self.health_left = len(clbs)
        for n, ulb_id in enumerate(clbs):
            self.poll_health(self.state.choices.cloud, ulb_id, n)

    @work(thread=True, exit_on_error=False)
    def poll_health(self, choice: CloudChoice, ulb_id: str, n: int) -> None:
        fact = self.engine.health_fact(choice.creds, ulb_id, choice.host,
                                       internal=choice.internal, timeout=HEALTH_TIMEOUT,
                                       interval=HEALTH_INTERVAL)
        self.app.call_from_thread(self.show_health, n, fact)

    def show_health(self, n: int, fact: Fact) -> None:
        if not self.is_attached:
            return
        self.health_left -= 1
        for spinner in self.query(f"#health-{n}"):
            facts = self.query_one("#facts", VerticalScroll)
            facts.mount(*fact_lines([fact]), before=spinner)
            spinner.remove()

    def next_refused(self) -> Optional[str]:
        if self.fixing:
            return "Setting the ARP sysctls: wait until it finishes."
        return None

    def back_refused(self) -> Optional[str]:
        return self.next_refused()
