"""Step 8: what changed, where the log is; undo it right here (U, after a confirmation
that names what goes back), or see the log (L). A preview of a system the wizard cannot
run on (its Python is too old) ends with the exported script and UserData instead."""

from __future__ import annotations

from typing import Any, ClassVar, Optional

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Button

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
    if getattr(state, "undo", None) is not None:
        return undo_lines(state.undo)
    headline, kind = HEADLINES.get(outcome.status, (outcome.message, ""))
    lines = [(headline, kind)]
    if outcome.status == Status.APPLIED and plan is not None:
        lines.append(("What changed:", "section"))
        lines.append((f"VIPs on lo: {', '.join(plan.vips)} (method {plan.method})", "indent"))
        if plan.removed:
            lines.append((f"Taken out of service: {', '.join(plan.removed)}", "indent"))
        for change in plan.files:
            lines.append((f"{change.action} {change.path}", "code indent"))
        for sysctl in plan.sysctls:
            lines.append((f"set {sysctl.name} = {sysctl.after}", "code indent"))
        if getattr(state, "arp_fix", None) is not None:
            lines.append(("Then, a change of its own: the ARP sysctls set (arp_ignore=1, "
                          "arp_announce=2).", "indent"))
        lines.append(("Undo it all: sudo clb-wizard rollback", "undo"))
        lines.append(("Check it again later: clb-wizard verify", "hint"))
    elif outcome.status == Status.DRY_RUN and plan is not None:
        lines += after_dry_run(state, plan)
    elif outcome.status == Status.ROLLED_BACK:
        lines.append((outcome.message, "-error"))
    if outcome.tx_id:
        lines.append((f"Transaction: {outcome.tx_id}", "hint"))
    if outcome.log_path:
        lines.append((f"Log: {outcome.log_path}", "hint"))
    return lines


def after_dry_run(state: Any, plan: Any) -> list[tuple[str, str]]:
    """How to make the change for real: run the wizard as root on the host, or, where it
    cannot run, carry the exported script (or UserData) over."""
    from clb_wizard.service import export_commands, old_python

    python = old_python(plan.platform)
    if python is None:
        return [("Run clb-wizard again as root, without --dry-run, --root or --os, to apply "
                 "it.", "hint")]
    commands = export_commands(plan.platform, plan.vips, plan.clb_type)
    return [
        (f"{plan.platform.name} ships Python {python}; clb-wizard needs 3.9. Make the same "
         "change with the exported sh script (same steps, checks and rollback): write it "
         "here, copy it over (HOST: the server), run it there as root:", "hint"),
        (commands["script"], "code indent"),
        (commands["copy"], "code indent"),
        (commands["run"], "code indent"),
        ("For a new server, paste this UserData when you create it:", "hint"),
        (commands["userdata"], "code indent"),
    ]


def undo_lines(undo: Any) -> list[tuple[str, str]]:
    lines = [(undo.message, "-ok" if undo.exit_code == 0 else "-error")]
    lines += [(step, "code indent") for step in undo.manual_steps]
    if undo.log_path:
        lines.append((f"Log: {undo.log_path}", "hint"))
    return lines


class DoneScreen(StepScreen):
    STEP = "Done"
    HELP = ("That is all. Enter quits; Esc goes back to look at the checks again. After a "
            "change, U rolls it back (you are asked first) and L shows the log.")
    NEXT_LABEL = "Quit"
    BINDINGS: ClassVar[list] = [
        Binding("u", "rollback", "Roll back", key_display="U"),
        Binding("l", "show_log", "Log", key_display="L"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.undoing = False

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="summary"):
            yield from self.summary_widgets()

    def summary_widgets(self) -> list[Note]:
        from .controls import command_text

        return [Note(command_text(text) if "code" in kind.split() else text, classes=kind)
                for text, kind in summary_lines(self.state)]

    def compose_buttons(self) -> ComposeResult:
        yield Button("Roll back (U)", id="rollback", compact=True,
                     disabled=not self.can_roll_back())
        yield Button("Log (L)", id="show-log", compact=True, disabled=not self.log_lines())

    def on_mount(self) -> None:
        self.query_one("#next").focus()

    def can_roll_back(self) -> bool:
        outcome = self.state.outcome
        return (outcome is not None and outcome.status == Status.APPLIED and not self.undoing
                and getattr(self.state, "undo", None) is None)

    def log_lines(self) -> list[str]:
        state = self.state
        shown = state.undo if state.undo is not None else state.outcome
        return list(shown.log) if shown is not None else []

    def check_action(self, action: str, parameters: tuple[object, ...]) -> Optional[bool]:
        if action == "rollback":
            return self.can_roll_back()
        if action == "show_log":
            return bool(self.log_lines())
        return True

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "rollback":
            event.stop()
            self.action_rollback()
        elif event.button.id == "show-log":
            event.stop()
            self.action_show_log()
        else:
            super().on_button_pressed(event)

    # -- the log -------------------------------------------------------------------------------
    def action_show_log(self) -> None:
        from .dialogs import LogDialog

        state = self.state
        shown = state.undo if state.undo is not None else state.outcome
        if shown is not None and shown.log:
            self.app.push_screen(LogDialog(shown.log, shown.log_path))

    # -- undo ------------------------------------------------------------------------------------
    def action_rollback(self) -> None:
        if not self.can_roll_back():
            return
        from .dialogs import QuestionDialog

        def answered(yes: Optional[bool]) -> None:
            if yes:
                self.start_rollback()
            else:
                self.notify("Not rolled back: the change stays.", timeout=5)

        self.app.push_screen(QuestionDialog(
            "Roll this change back?", rollback_lines(self.state), "Roll back", "Keep it",
            warn=True, default=False), answered)

    def start_rollback(self) -> None:
        self.undoing = True
        self.state.applying = True  # quitting half way is refused, as during an apply
        self.query_one("#rollback", Button).disabled = True
        box = self.query_one("#summary", VerticalScroll)
        box.remove_children()
        box.mount(Note("Rolling back...", classes="hint"))
        self.roll_back()

    @work(thread=True, exclusive=True, group="undo", exit_on_error=False)
    def roll_back(self) -> None:
        from clb_wizard.transaction import TransactionError
        from clb_wizard.transaction.journal import LockBusy

        def progress(p: Any) -> None:
            self.app.call_from_thread(self.show_step, p.message)

        try:
            outcome = self.engine.rollback_last(progress)
        except (TransactionError, LockBusy) as exc:
            self.app.call_from_thread(self.show_undo, None, str(exc))
            return
        self.app.call_from_thread(self.show_undo, outcome, None)

    def show_step(self, message: str) -> None:
        self.query_one("#summary", VerticalScroll).mount(Note(message, classes="hint indent"))

    def show_undo(self, outcome: Any, error: Optional[str]) -> None:
        self.undoing = False
        self.state.applying = False
        self.app.clear_notifications()
        box = self.query_one("#summary", VerticalScroll)
        box.remove_children()
        if outcome is None:
            box.mount_all([Note(f"Not rolled back: {error}", classes="-error"),
                           *self.summary_widgets()])
            self.query_one("#rollback", Button).disabled = False
        else:
            self.state.undo = outcome
            box.mount_all(self.summary_widgets())
        self.query_one("#show-log", Button).disabled = not self.log_lines()
        self.refresh_bindings()
        self.query_one("#next").focus()

    def go_next(self) -> None:
        if self.undoing:
            self.notify("Rolling back: wait until it finishes.", severity="warning")
            return
        self.wizard.finish()


def rollback_lines(state: Any) -> list[str]:
    """What a rollback of this run's change puts back, in plain words."""
    plan = state.plan
    if state.arp_fix is not None:  # the last change: rollback undoes that one
        return ["The ARP sysctls go back to their old values: they were the last change, "
                "the one a rollback undoes. The VIPs stay on lo."]
    lines = []
    added = [v for v in plan.vips if v not in state.managed]
    if added:
        lines.append(f"{', '.join(added)} leave service: they are taken off lo.")
    if plan.removed:
        lines.append(f"{', '.join(plan.removed)} come back on lo.")
    for change in plan.files:
        what = "removed again" if change.before is None else "put back as it was"
        lines.append(f"{change.path}: {what}.")
    if plan.sysctls:
        lines.append("The ARP sysctls go back to their old values.")
    return lines
