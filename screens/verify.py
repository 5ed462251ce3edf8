"""Step 7: each verification fact as a check, pass/fail/warn and its one-line reason; after
a rollback, the checks that the host is back as it was. With a CLB fetched from the cloud,
the load balancer's own view (its backend health) is one more check. When the ARP sysctls
are the only thing left to fix, A sets them here, as a small change of its own."""

from __future__ import annotations

from typing import Any, ClassVar, Optional

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll

from clb_wizard.errors import Status

from .base import StepScreen
from .controls import FactLine, fact_lines
from .widgets import Note, Spinner

HEALTH_TIMEOUT = 120.0
HEALTH_INTERVAL = 5.0
ARP_FACT = "ARP sysctls"
ARP_FIX = ("Press A to set arp_ignore=1 and arp_announce=2 now, persistently: a small "
           "change of its own, verified like the first, undone by Roll back on the next step.")


def wizard_words(facts: Any) -> list[FactLine]:
    """Fact lines worded for the wizard: the ARP fix is a key here, not a CLI flag."""
    lines = fact_lines(facts)
    for line, fact in zip(lines, facts):
        if fact.name == ARP_FACT and not fact.ok:
            line.update(f"{FactLine.MARKS[line.kind]} {fact.name}: "
                        + fact.detail.replace(" (--arp-sysctls)", ""))
    return lines


class VerifyScreen(StepScreen):
    STEP = "Verify"
    HELP = ("What clb-wizard checked on the host itself, not just exit codes. [FAIL] stops "
            "the change; [WARN] is worth a look. Up/Down scroll, Enter goes on.")
    BINDINGS: ClassVar[list] = [
        Binding("a", "fix_arp", "Set ARP sysctls", key_display="A"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.fixing = False

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="facts"):
            yield from self.fact_widgets()

    def fact_widgets(self) -> list[Any]:
        state = self.state
        outcome = state.outcome
        out: list[Any] = []
        if outcome is None:
            return [Note("Nothing was applied, so there is nothing to check.", classes="hint")]
        if outcome.verification is not None:
            title = ("After the change:" if outcome.status != Status.NO_CHANGE
                     else "The host as it is:")
            out.append(Note(title, classes="section"))
            out += wizard_words(outcome.verification.facts)
            if self.arp_fix_offered():
                out.append(Note(ARP_FIX, classes="hint", id="arp-fix"))
        elif outcome.status == Status.DRY_RUN:
            out.append(Note("Dry run: nothing was changed, so nothing was checked. A real run "
                            "checks:", classes="section"))
            for check in state.plan.checks if state.plan is not None else ():
                out.append(FactLine("info", "", check.description))
        else:
            out.append(Note(outcome.message, classes="-error"))
        if outcome.rollback_verification is not None:
            out.append(Note("After the rollback:", classes="section"))
            out += fact_lines(outcome.rollback_verification.facts)
        if self.wants_health():
            out.append(Spinner(f"CLB {state.cloud.ulb_id}: waiting for its health check to "
                               "reach this backend...", id="health"))
        return out

    def arp_fix_offered(self) -> bool:
        outcome = self.state.outcome
        if (outcome is None or outcome.status not in (Status.APPLIED, Status.NO_CHANGE)
                or outcome.verification is None or self.state.dry_run or self.fixing
                or self.state.arp_fix is not None):
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
        self.state.applying = True
        self.refresh_bindings()
        self.query_one("#arp-fix", Note).update("Setting the ARP sysctls...")
        self.fix_arp(self.state.options())

    @work(thread=True, exclusive=True, group="arp", exit_on_error=False)
    def fix_arp(self, options: Any) -> None:
        from dataclasses import replace

        from clb_wizard.methods.base import MethodError
        from clb_wizard.platform import PlatformError
        from clb_wizard.runner import RunnerError
        from clb_wizard.transaction import TransactionError
        from clb_wizard.transaction.journal import LockBusy
        from clb_wizard.vips import VipError

        state = self.state
        try:
            plan = self.engine.plan(replace(options, arp_sysctls=True, force=True),
                                    state.platform)
            outcome = self.engine.transaction(False).apply(plan)
        except (VipError, PlatformError, MethodError, RunnerError, TransactionError,
                LockBusy) as exc:
            self.app.call_from_thread(self.show_arp_fix, None, None, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - never leave the step waiting forever
            self.app.call_from_thread(self.show_arp_fix, None, None, f"unexpected error: "
                                      f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self.show_arp_fix, plan, outcome, None)

    def show_arp_fix(self, plan: Any, outcome: Any, error: Optional[str]) -> None:
        self.fixing = False
        self.state.applying = False
        self.app.clear_notifications()
        box = self.query_one("#facts", VerticalScroll)
        if outcome is None or outcome.exit_code != 0:
            reason = error or outcome.message
            self.query_one("#arp-fix", Note).update(f"The ARP sysctls were not set: {reason}")
            self.refresh_bindings()
            return
        self.state.arp_fix = outcome
        self.state.arp_sysctls = True
        box.remove_children()
        box.mount_all([Note("ARP sysctls set and kept (arp_ignore=1, arp_announce=2).",
                            classes="-ok"),
                       Note("After that change:", classes="section"),
                       *wizard_words(outcome.verification.facts)])
        self.refresh_bindings()

    def wants_health(self) -> bool:
        outcome = self.state.outcome
        return (self.state.cloud is not None and outcome is not None
                and outcome.status == Status.APPLIED)

    def on_mount(self) -> None:
        self.query_one("#facts").focus()
        if self.wants_health():
            self.poll_health(self.state.cloud)

    @work(thread=True, exclusive=True, group="health", exit_on_error=False)
    def poll_health(self, choice: Any) -> None:
        fact = self.engine.cloud().health_fact(
            choice.creds, choice.ulb_id, list(choice.host_ips), host=choice.host,
            internal=choice.internal, timeout=HEALTH_TIMEOUT, interval=HEALTH_INTERVAL)
        self.app.call_from_thread(self.show_health, fact)

    def show_health(self, fact: Any) -> None:
        if not self.is_attached:
            return
        spinner = self.query("#health")
        if spinner:
            spinner.first().remove()
        self.query_one("#facts", VerticalScroll).mount(*fact_lines([fact]))

    def next_refused(self) -> Optional[str]:
        if self.fixing:
            return "Setting the ARP sysctls: wait until it finishes."
        return None

    def back_refused(self) -> Optional[str]:
        return self.next_refused()

    def go_next(self) -> None:
        from .done import DoneScreen

        self.app.push_screen(DoneScreen())
