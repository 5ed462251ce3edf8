"""Step 8: what changed, how to undo it (`clb-wizard rollback`), where the log is."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll

from clb_wizard.errors import Status

from .base import StepScreen
from .widgets import Note

HEADLINES = {
    Status.APPLIED: ("The VIPs are on lo, verified, and will stay there after a reboot.", "-ok"),
    Status.NO_CHANGE: ("Nothing needed changing: the host already had this configuration.", "-ok"),
    Status.DRY_RUN: ("Dry run finished: nothing was changed.", "-ok"),
    Status.ROLLED_BACK: ("Nothing was changed: the change failed and was rolled back.", "-error"),
    Status.ROLLBACK_FAILED: ("The rollback could not finish: put the host back by hand, as the "
                        "Apply step shows.", "-error"),
}


def summary_lines(state: Any) -> list[tuple[str, str]]:
    """(text, class) lines saying what happened: on this screen and, after the app has
    closed, on the terminal."""
    outcome, plan = state.outcome, state.plan
    if outcome is None:
        return [("Nothing was changed.", "")]
    headline, kind = HEADLINES.get(outcome.status, (outcome.message, ""))
    lines = [(headline, kind)]
    if outcome.status == Status.APPLIED and plan is not None:
        lines.append(("What changed:", "section"))
        lines.append((f"VIPs on lo: {', '.join(plan.vips)} (method {plan.method})", "indent"))
        for change in plan.files:
            lines.append((f"{change.action} {change.path}", "code indent"))
        for sysctl in plan.sysctls:
            lines.append((f"set {sysctl.name} = {sysctl.after}", "code indent"))
        lines.append(("Undo it all: sudo clb-wizard rollback", "undo"))
        lines.append(("Check it again later: clb-wizard verify", "hint"))
    elif outcome.status == Status.DRY_RUN:
        lines.append(("Run clb-wizard again as root, without --dry-run, --root or --os, "
                      "to apply it.", "hint"))
    elif outcome.status == Status.ROLLED_BACK:
        lines.append((outcome.message, "-error"))
    if outcome.tx_id:
        lines.append((f"Transaction: {outcome.tx_id}", "hint"))
    if outcome.log_path:
        lines.append((f"Log: {outcome.log_path}", "hint"))
    return lines


class DoneScreen(StepScreen):
    STEP = "Done"
    HELP = "That is all. Enter quits; Esc goes back to look at the checks again."
    NEXT_LABEL = "Quit"

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="summary"):
            for text, kind in summary_lines(self.state):
                yield Note(text, classes=kind)

    def on_mount(self) -> None:
        self.query_one("#next").focus()

    def go_next(self) -> None:
        self.wizard.finish()
