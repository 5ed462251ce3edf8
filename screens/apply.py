"""Step 6: the transaction runs in a thread worker; its progress events move a progress bar
and fill a live log, so the UI never freezes. A change that is kept goes straight on to
its checks (Verify; Esc comes back here). A failure shows the automatic rollback, the
reason, and what to try next; a change not confirmed in time says so, and not as a
failure. Quitting while it runs is refused (app.action_quit)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Optional

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, RichLog

from clb_wizard.errors import ClbWizardError, ExitCode, Status

from .base import StepScreen
from .controls import AsciiBar, wizard_words
from .dialogs import CountdownDialog
from .widgets import Note

if TYPE_CHECKING:
    from clb_wizard.service import Outcome, Progress


class AsciiProgressBar(ProgressBar):
    DEFAULT_CSS = """
    AsciiProgressBar {
        height: 1;
        margin-bottom: 1;
    }
    AsciiProgressBar Bar {
        width: 1fr;
    }
    AsciiProgressBar Bar > .bar--bar, AsciiProgressBar Bar > .bar--indeterminate {
        color: $primary;
        background: $surface;
    }
    AsciiProgressBar Bar > .bar--complete {
        color: $success;
        background: $surface;
    }
    """
    BAR_RENDERABLE = AsciiBar


class StepLog(RichLog):
    """The transaction's steps as they happen; colours from the stylesheet."""

    DEFAULT_CSS = """
    StepLog {
        height: 1fr;
        min-height: 4;
        border: solid $panel;
    }
    StepLog:focus {
        border: solid $primary;
    }
    StepLog > .steplog--ok {
        color: $text-success;
    }
    StepLog > .steplog--fail {
        color: $text-error;
        text-style: bold;
    }
    StepLog > .steplog--warn {
        color: $text-warning;
    }
    StepLog > .steplog--run {
        color: $text;
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"steplog--ok", "steplog--fail", "steplog--run",
                                             "steplog--warn"}
    MARKS: ClassVar[dict] = {None: ("..", "run"), True: ("ok", "ok"), False: ("!!", "fail"),
                             "warning": ("warn", "warn")}

    def add(self, message: str, ok: Optional[bool], warning: bool = False) -> None:
        mark, kind = self.MARKS["warning" if warning else ok]
        self.write(Text(f"[{mark}] {wizard_words(message)}",
                        self.get_component_rich_style(f"steplog--{kind}")))


class ConfirmBridge:
    """The transaction's `confirm` poll (called from the worker thread about every 0.1 s):
    the first call puts the countdown dialog up; the dialog's answer is returned from then
    on (None until there is one)."""

    def __init__(self, screen: ApplyScreen) -> None:
        self.screen = screen
        self.answer: Optional[bool] = None
        self.asked = False
        self.ran_out = False  # the countdown reached zero (not the user's "revert now")

    def __call__(self, seconds_left: float) -> Optional[bool]:
        if not self.asked:
            self.asked = True
            self.screen.app.call_from_thread(self.screen.ask_confirm, seconds_left, self)
        return self.answer


class ApplyScreen(StepScreen):
    DEFAULT_CSS = """
    ApplyScreen #headline {
        text-style: bold;
    }
    ApplyScreen #result {
        height: auto;
        max-height: 8;
    }
    """
    STEP = "Apply"
    HELP = ("The change is being applied, one checked step at a time. It cannot be "
            "interrupted: on any failure it rolls back by itself.")
    DRY_HELP = ("A dry run: each step is listed as it would run. Nothing is changed, and "
                "nothing runs.")
    CHECK_HELP = ("Nothing needs changing: clb-wizard checks the host as it is. Nothing is "
                  "changed.")

    def help_text(self) -> str:
        plan = self.plan
        if plan is not None and not plan.changed:
            return self.CHECK_HELP
        return self.DRY_HELP if self.state.choices.dry_run else self.HELP

    def __init__(self) -> None:
        super().__init__()
        self.plan = self.state.results.plan  # taken now: the Preview may plan again later
        self.running = True
        self.bridge: Optional[ConfirmBridge] = None
        self.failed_at: Optional[int] = None  # the step whose failure stopped the bar
        self.countdown: Optional[CountdownDialog] = None

    def compose_body(self) -> ComposeResult:
        plan = self.plan
        what = ("Checking the host..." if plan is not None and not plan.changed else
                "Dry run: listing every step, changing nothing." if self.state.choices.dry_run
                else "Applying...")
        yield Note(what, id="headline")
        yield AsciiProgressBar(total=None, show_eta=False, id="progress")
        # min_width=1: RichLog renders at least 78 cells wide by default, which cut the end
        # of each long line off in the 80-column window (its body is narrower).
        yield StepLog(id="log", wrap=True, markup=False, highlight=False, min_width=1)
        yield Vertical(id="result")

    def on_mount(self) -> None:
        results = self.state.results
        results.applying = True
        results.applies += 1
        results.outcome = results.refused = results.unconfirmed = None
        self.update_buttons()
        self.query_one("#log").focus()
        self.run_apply()

    @work(thread=True, exclusive=True, group="apply", exit_on_error=False)
    def run_apply(self) -> None:
        state = self.state
        choices = state.choices
        self.bridge = bridge = ConfirmBridge(self)

        def progress(p: Progress) -> None:
            self.app.call_from_thread(self.show_progress, p)

        timeout = (choices.confirm_seconds if choices.confirm_timer and not choices.dry_run
                   else None)
        try:  # planned again under the lock: only the Preview's change is applied
            outcome = self.engine.apply(state.options(), approved=self.plan,
                                        dry_run=choices.dry_run, on_progress=progress,
                                        confirm_timeout=timeout, confirm=bridge)
        except ClbWizardError as exc:  # PlanChanged, LockBusy, ...: nothing was changed
            self.app.call_from_thread(self.show_refused, str(exc))
        except Exception as exc:  # noqa: BLE001 - never leave the screen waiting forever
            self.app.call_from_thread(
                self.show_refused, f"unexpected error: {type(exc).__name__}: {exc}. If "
                "anything was changed, `clb-wizard recover` finishes or undoes it.")
        else:
            self.app.call_from_thread(self.show_outcome, outcome)

    # -- from the worker ---------------------------------------------------------------------
    def show_progress(self, p: Progress) -> None:
        bar = self.query_one("#progress", ProgressBar)
        if p.ok is False and self.failed_at is None:  # the bar stops where it failed
            self.failed_at = max(0, min(p.step, p.total or p.step) - 1)
        if p.total and self.failed_at is None:
            bar.update(total=p.total, progress=min(p.step, p.total))
        self.query_one("#log", StepLog).add(p.message, p.ok, p.warning)

    def ask_confirm(self, seconds_left: float, bridge: ConfirmBridge) -> None:
        self.query_one("#headline", Note).update("Waiting for you to keep the change...")

        def answered(keep: Optional[bool]) -> None:
            bridge.answer = bool(keep)

        def ran_out() -> None:
            bridge.ran_out = True

        self.countdown = CountdownDialog(seconds_left, on_expiry=ran_out)
        self.app.push_screen(self.countdown, answered)

    def close_countdown(self) -> None:
        """The engine's deadline passed first (or it ended otherwise): the dialog goes."""
        for screen in self.app.screen_stack:
            if isinstance(screen, CountdownDialog) and not screen.answered:
                if self.bridge is not None:
                    self.bridge.ran_out = True
                screen.answered = True
                screen.dismiss(None)

    def finished(self) -> None:
        self.close_countdown()
        self.running = False
        self.state.results.applying = False
        self.app.clear_notifications()  # "cannot quit now" is over

    def show_refused(self, message: str) -> None:
        self.finished()
        self.state.results.refused = message
        self.query_one("#headline", Note).update("Nothing was changed.")
        self.query_one("#result", Vertical).mount_all([
            Note(f"Nothing was changed: {message}", classes="-error"),
            Note("Esc goes back.", classes="hint"),
        ])
        self.update_buttons()
        self.query_one("#back").focus()

    def show_outcome(self, outcome: Outcome) -> None:
        self.finished()
        results = self.state.results
        results.outcome = outcome
        bar = self.query_one("#progress", ProgressBar)
        if outcome.exit_code != ExitCode.OK:  # the bar shows where it stopped, never 100%
            total = bar.total or 1
            stopped = self.failed_at if self.failed_at is not None else total - 1
            bar.update(total=total, progress=min(stopped, total - 1))
        bridge = self.bridge
        if (outcome.status == Status.ROLLED_BACK and bridge is not None and bridge.asked
                and bridge.answer is not True):
            results.unconfirmed = "out" if bridge.ran_out else "reverted"
        status = self.query_one("#headline", Note)
        result = self.query_one("#result", Vertical)
        if outcome.exit_code == ExitCode.OK:
            bar.update(total=bar.total or 1, progress=bar.total or 1)
            status.update(outcome.message)
            status.set_classes("-ok")
            if outcome.status == Status.APPLIED:
                results.kept.append(outcome)
            if outcome.status in (Status.APPLIED, Status.NO_CHANGE):
                self.update_buttons()
                self.advance()  # a kept change goes straight on to its checks
                return
            result.mount(Note("Enter shows the checks.", classes="hint"))
        elif results.unconfirmed is not None:
            status.update(UNCONFIRMED[results.unconfirmed][0])
            status.set_classes("-warn")
            result.mount_all([Note(UNCONFIRMED[results.unconfirmed][1], classes="hint"),
                              *self.log_line(outcome)])
        else:
            rolled_back = outcome.exit_code == ExitCode.ROLLED_BACK
            status.update("FAILED: the change was rolled back." if rolled_back else
                          "FAILED, and the rollback could not finish.")
            status.set_classes("-error")
            result.mount_all(self.failure_lines(outcome))
        self.update_buttons()
        self.query_one("#next").focus()

    def failure_lines(self, outcome: Outcome) -> list[Note]:
        lines = [Note(outcome.message, classes="-error")]
        if outcome.exit_code == ExitCode.ROLLED_BACK:
            lines.append(Note("What to try next: the first [!!] line above is the step that "
                              "failed. Fix its cause, then run clb-wizard again; Enter shows "
                              "the checks, Esc goes back to the preview.", classes="hint"))
        if outcome.manual_steps:
            lines.append(Note("Put the host back by hand with:", classes="-error"))
            lines += [Note(step, classes="code indent") for step in outcome.manual_steps]
        return lines + self.log_line(outcome)

    @staticmethod
    def log_line(outcome: Outcome) -> list[Note]:
        return [Note(f"Log: {outcome.log_path}", classes="hint")] if outcome.log_path else []

    # -- navigation ------------------------------------------------------------------------
    def back_refused(self) -> Optional[str]:
        if self.running:
            return "The change is being applied: wait until it finishes."
        outcome = self.state.results.outcome
        if outcome is not None and outcome.status == Status.APPLIED:
            return ("The change is kept. Enter goes on; on the last step V goes back to the "
                    "VIPs for another change, and U undoes this one.")
        return None

    def next_refused(self) -> Optional[str]:
        if self.running:
            return "The change is being applied: wait until it finishes."
        if self.state.results.refused is not None:
            return "Nothing was applied: Esc goes back."
        return None


# What the Apply step and the summary say when the confirm timer rolled a change back:
# not a failure (the change worked, it was just not kept).
UNCONFIRMED = {
    "out": ("Not confirmed in time: rolled back. Apply again and confirm.",
            "The change worked, but nobody kept it before the timer ran out, so it undid "
            "itself and the host is as it was. Esc goes back to the preview: apply again "
            "and press Y (Keep) in time."),
    "reverted": ("Reverted, as you asked: the host is as it was.",
                 "The change worked and was rolled back on your answer. Esc goes back to the "
                 "preview to apply it again."),
}
