"""Step 8: what changed, the status code, the CLI twin and how to check or undo it; undo
it right here (U, after a confirmation that names what goes back), see the log (L), or go
back to the VIPs for another change (V). A preview of a system the wizard cannot run on
(its Python is too old) ends with how to run it there (the portable file).

`summary_lines` is also what stays on the terminal after the wizard closes
(`print_summary`): plain lines, commands broken only between words so they can be typed
or pasted."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, ClassVar, Optional

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Button

from clb_wizard.errors import ClbWizardError, Status

from .apply import UNCONFIRMED
from .base import StepScreen
from .controls import command_lines, root_command, twin_command
from .verify import status_line
from .widgets import Note

if TYPE_CHECKING:
    from clb_wizard.service import Outcome, Plan, Progress

    from .state import WizardState

HEADLINES = {
    Status.APPLIED: ("The VIPs are on lo, verified, and will stay there after a reboot.", "-ok"),
    Status.NO_CHANGE: ("Nothing needed changing: the host already had this configuration.", "-ok"),
    Status.DRY_RUN: ("Dry run finished: nothing was changed.", "-ok"),
    Status.ROLLED_BACK: ("Nothing was changed: the change failed and was rolled back.", "-error"),
    Status.ROLLBACK_FAILED: ("The rollback could not finish: put the host back by hand, as the "
                             "Apply step shows.", "-error"),
}
# Kinds of summary line: "code" is one command (laid out by twin.wrap_command for the
# width it is shown at), "pre" a line already laid out; the rest are prose.


def summary_lines(state: WizardState) -> list[tuple[str, str]]:
    """(text, kind) lines saying what happened: on the Done step and, after the app has
    closed, on the terminal."""
    results = state.results
    outcome, plan = results.outcome, results.plan
    if results.undo:
        return undo_lines(state)
    if results.refused is not None:
        return [(f"Nothing was changed: {results.refused}", "-error")]
    if outcome is None:
        return [("Nothing was changed.", "")]
    if results.unconfirmed is not None:
        headline, kind = UNCONFIRMED[results.unconfirmed][0], "-warn"
    else:
        headline, kind = HEADLINES.get(outcome.status, (outcome.message, ""))
    lines = [(headline, kind)]
    if outcome.status == Status.APPLIED and plan is not None:
        lines += applied_lines(state, plan)
    elif outcome.status == Status.DRY_RUN and plan is not None:
        lines += after_dry_run(state, plan)
    elif outcome.status == Status.ROLLED_BACK and results.unconfirmed is None:
        lines.append((outcome.message, "-error"))
    if outcome.tx_id:
        lines.append((f"Transaction: {outcome.tx_id}", "hint"))
    if outcome.log_path:
        lines.append((f"Log: {outcome.log_path}", "hint"))
    code = status_line(state)
    if code:
        lines.append((code, "status"))
    return lines


def applied_lines(state: WizardState, plan: Plan) -> list[tuple[str, str]]:
    results = state.results
    lines = [("What changed:", "section"),
             (f"VIPs on lo: {', '.join(plan.vips)} (method {plan.method})", "indent")]
    if plan.removed:
        lines.append((f"Taken out of service: {', '.join(plan.removed)}", "indent"))
    lines += [(f"{change.action} {change.path}", "pre indent") for change in plan.files]
    lines += [(f"set {s.name} = {s.after}", "pre indent") for s in plan.sysctls]
    if results.arp_fix is not None:
        lines.append(("Then, a change of its own: the ARP sysctls set (arp_ignore=1, "
                      "arp_announce=2).", "indent"))
    lines.append(("The same change from the command line:", "section"))
    lines.append((twin_command(state, plan), "code"))
    n = len(results.kept)
    if n == 1:
        lines.append(("Undo it (what this run changed, nothing older):", "undo"))
    else:
        lines.append((f"Undo all {n} changes of this run (run it {n} times: each undoes the "
                      "newest change, nothing older):", "undo"))
    lines.append((root_command(state, "rollback"), "code"))
    if state.host.last_change is not None or state.host.managed_at_start:
        lines.append(("Changes clb-wizard made before this run stay; "
                      f"`{root_command(state, 'history')}` lists them.", "hint"))
    lines.append(("Check it again later:", "hint"))
    lines.append((root_command(state, "verify"), "code"))
    return lines


def after_dry_run(state: WizardState, plan: Plan) -> list[tuple[str, str]]:
    """How to make the change for real: the wizard as root, its command-line twin, or,
    where the wizard cannot run (an old Python), the portable file (handoff)."""
    from clb_wizard.handoff import old_host_steps, stock_python

    if stock_python(plan.platform) is None:
        how = ("on that host, as root" if state.launch.preview else
               f"as root: {root_command(state)} (the wizard), or")
        return [(f"To make this change for real, {how} the command line:", "hint"),
                (twin_command(state, plan), "code")]
    lines = [(line, "pre") for line in old_host_steps(plan.platform)]
    lines += [("For a new server, paste this UserData when you create it:", "hint"),
              (userdata_command(state, plan), "code")]
    return lines


def userdata_command(state: WizardState, plan: Plan) -> str:
    """`clb-wizard userdata` for this change (with --force when the VIP warnings were
    acknowledged: without it the command refuses, as the wizard did)."""
    import shlex

    args = ["clb-wizard", "userdata", "--os", plan.platform.key]
    for vip in plan.vips:
        args += ["--vip", vip]
    if plan.clb_type:
        args += ["--type", plan.clb_type]
    if state.choices.force:
        args.append("--force")
    return shlex.join(args) + " > userdata.txt"


def undo_lines(state: WizardState) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    for undo in state.results.undo:
        lines.append((undo.message, "-ok" if undo.exit_code == 0 else "-error"))
        lines += [(step, "pre indent") for step in undo.manual_steps]
        if undo.log_path:
            lines.append((f"Log: {undo.log_path}", "hint"))
    return lines


def print_summary(state: WizardState, width: int = 80) -> None:
    """The summary on the terminal after the wizard closed: plain lines (no prefix), prose
    wrapped at words, commands by twin.wrap_command (` \\` continuations), so every
    command can be typed or pasted as it is."""
    from clb_wizard.twin import wrap_command

    for text, kind in summary_lines(state):
        kinds = kind.split()
        if "code" in kinds:
            print("\n".join("  " + line for line in wrap_command(text, width - 2)))
        elif "pre" in kinds:
            print(("  " if "indent" in kinds else "") + text)
        else:
            indent = "  " if "indent" in kinds else ""
            print(textwrap.fill(text, width, initial_indent=indent,
                                subsequent_indent=indent + "  ", break_long_words=False,
                                break_on_hyphens=False))


class DoneScreen(StepScreen):
    DEFAULT_CSS = """
    DoneScreen #summary {
        height: 1fr;
    }
    /* Tab reaches the summary (to scroll it): show where the focus went. */
    DoneScreen #summary:focus {
        border-left: solid $primary;
    }
    DoneScreen .undo {
        text-style: bold;
        margin-top: 1;
    }
    DoneScreen .status {
        text-style: bold;
        margin-top: 1;
    }
    DoneScreen .pre {
        text-wrap: nowrap;
    }
    """
    STEP = "Done"
    HELP = ("That is all: Enter quits, Esc goes back. U undoes the change (asked first), L "
            "shows its log, V goes back to the VIPs.")
    NEXT_LABEL = "Quit"
    BINDINGS: ClassVar[list] = [
        Binding("u", "rollback", "Roll back", key_display="U"),
        Binding("l", "show_log", "Log", key_display="L"),
        Binding("v", "change_vips", "VIPs", key_display="V"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.undoing = False

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="summary"):
            yield from self.summary_widgets()

    def summary_widgets(self) -> list[Note]:
        return [Note(command_lines(text, "  ") if "code" in kind.split() else text,
                     classes=kind) for text, kind in summary_lines(self.state)]

    def compose_buttons(self) -> ComposeResult:
        yield Button("Roll back (U)", id="rollback", compact=True,
                     disabled=not self.can_roll_back())
        yield Button("Log (L)", id="show-log", compact=True, disabled=not self.log_lines())

    def on_mount(self) -> None:
        self.query_one("#next").focus()

    def can_roll_back(self) -> bool:
        results = self.state.results
        return bool(results.kept) and not self.undoing and not results.undo

    def can_change_again(self) -> bool:
        results = self.state.results
        return (not self.undoing and results.outcome is not None and results.plan is not None
                and results.outcome.status in (Status.APPLIED, Status.NO_CHANGE))

    def shown(self) -> Optional[Outcome]:
        results = self.state.results
        return results.undo[-1] if results.undo else results.outcome

    def log_lines(self) -> list[str]:
        shown = self.shown()
        return list(shown.log) if shown is not None else []

    def check_action(self, action: str, parameters: tuple[object, ...]) -> Optional[bool]:
        if action == "rollback":
            return self.can_roll_back()
        if action == "show_log":
            return bool(self.log_lines())
        if action == "change_vips":
            return self.can_change_again()
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

        shown = self.shown()
        if shown is not None and shown.log:
            self.app.push_screen(LogDialog(shown.log, shown.log_path))

    # -- another change --------------------------------------------------------------------
    def action_change_vips(self) -> None:
        if self.can_change_again():
            self.wizard.another_change()

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

        n = len(self.state.results.kept)
        title = "Roll this change back?" if n == 1 else f"Roll this run's {n} changes back?"
        self.app.push_screen(QuestionDialog(
            title, rollback_lines(self.state), "Roll back", "Keep it",
            warn=True, default=False), answered)

    def start_rollback(self) -> None:
        self.undoing = True
        self.state.results.applying = True  # quitting half way is refused, as in an apply
        self.query_one("#rollback", Button).disabled = True
        box = self.query_one("#summary", VerticalScroll)
        box.remove_children()
        box.mount(Note("Rolling back...", classes="hint"))
        self.roll_back(len(self.state.results.kept))

    @work(thread=True, exclusive=True, group="undo", exit_on_error=False)
    def roll_back(self, count: int) -> None:
        def progress(p: Progress) -> None:
            self.app.call_from_thread(self.show_step, p.message)

        undone: list[Outcome] = []
        try:
            for _ in range(count):  # newest first: each rollback undoes the newest change
                outcome = self.engine.rollback_last(progress)
                undone.append(outcome)
                if outcome.exit_code != 0:
                    break
        except ClbWizardError as exc:
            self.app.call_from_thread(self.show_undo, undone, str(exc))
            return
        self.app.call_from_thread(self.show_undo, undone, None)

    def show_step(self, message: str) -> None:
        self.query_one("#summary", VerticalScroll).mount(Note(message, classes="hint indent"))

    def show_undo(self, undone: list[Outcome], error: Optional[str]) -> None:
        results = self.state.results
        self.undoing = False
        results.applying = False
        self.app.clear_notifications()
        results.undo = undone
        del results.kept[len(results.kept) - len(undone):]
        box = self.query_one("#summary", VerticalScroll)
        box.remove_children()
        if error is not None:
            box.mount(Note(f"Not rolled back: {error}", classes="-error"))
        box.mount_all(self.summary_widgets())
        if error is not None and not undone:
            results.undo = []
            self.query_one("#rollback", Button).disabled = False
        self.query_one("#show-log", Button).disabled = not self.log_lines()
        self.refresh_bindings()
        self.query_one("#next").focus()

    def go_next(self) -> None:
        if self.undoing:
            self.refuse("Rolling back: wait until it finishes.")
            return
        self.advance()  # the last step: quits


def rollback_lines(state: WizardState) -> list[str]:
    """What a rollback of this run's changes puts back, in plain words."""
    results, host = state.results, state.host
    plan = results.plan
    before = host.managed_at_start
    stay = (f"The VIPs configured before this run ({', '.join(before)}) stay." if before
            else "")
    if results.rounds:  # several rounds (the last may have changed nothing): all of them
        n = len(results.kept)
        head = (f"All {n} changes of this run are undone, newest first: " if n > 1
                else "The one change this run kept is undone: ")
        lines = [head + "the host goes back to how the wizard found it."]
        return [*lines, stay] if stay else lines
    lines = []
    if results.arp_fix is not None:
        lines.append("The ARP sysctls go back to their old values (the newest change).")
    added = [v for v in plan.vips if v not in host.managed]
    if added:
        lines.append(f"{', '.join(added)} leave service: they are taken off lo.")
    if plan.removed:
        lines.append(f"{', '.join(plan.removed)} come back on lo.")
    for change in plan.files:
        what = "removed again" if change.before is None else "put back as it was"
        lines.append(f"{change.path}: {what}.")
    if plan.sysctls:
        lines.append("The ARP sysctls go back to their old values.")
    return [*lines, stay] if stay else lines
