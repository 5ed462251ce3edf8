"""Step 7: each verification fact as a check, pass/fail/warn and its one-line reason; after
a rollback, the checks that the host is back as it was. With a CLB fetched from the cloud,
the load balancer's own view (its backend health) is one more check."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll

from clb_wizard.errors import Status

from .base import StepScreen
from .controls import FactLine, fact_lines
from .widgets import Note, Spinner

HEALTH_TIMEOUT = 120.0
HEALTH_INTERVAL = 5.0


class VerifyScreen(StepScreen):
    STEP = "Verify"
    HELP = ("What clb-wizard checked on the host itself, not just exit codes. [FAIL] stops "
            "the change; [WARN] is worth a look. Up/Down scroll, Enter goes on.")

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
            out += fact_lines(outcome.verification.facts)
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

    def go_next(self) -> None:
        from .done import DoneScreen

        self.app.push_screen(DoneScreen())
