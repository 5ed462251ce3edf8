"""Step 6: the transaction runs in a thread worker; its progress events move a progress bar
and fill a live log, so the UI never freezes. A failure shows the automatic rollback, the
reason, and what to try next. Quitting while it runs is refused (app.action_quit)."""

from __future__ import annotations

from typing import Any, ClassVar, Optional

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, RichLog

from clb_wizard.errors import ExitCode, Status

from .base import StepScreen
from .controls import AsciiBar
from .dialogs import CountdownDialog
from .widgets import Note


class AsciiProgressBar(ProgressBar):
    BAR_RENDERABLE = AsciiBar


class StepLog(RichLog):
    """The transaction's steps as they happen; colours from the stylesheet."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"steplog--ok", "steplog--fail", "steplog--run"}
    MARKS: ClassVar[dict] = {None: ("..", "run"), True: ("ok", "ok"), False: ("!!", "fail")}

    def add(self, message: str, ok: Optional[bool]) -> None:
        mark, kind = self.MARKS[ok]
        self.write(Text(f"[{mark}] {message}", self.get_component_rich_style(f"steplog--{kind}")))


class ConfirmBridge:
    """The transaction's `confirm` poll (called from the worker thread about every 0.1 s):
    the first call puts the countdown dialog up; the dialog's answer is returned from then
    on (None until there is one)."""

    def __init__(self, screen: ApplyScreen) -> None:
        self.screen = screen
        self.answer: Optional[bool] = None
        self.asked = False

    def __call__(self, seconds_left: float) -> Optional[bool]:
        if not self.asked:
            self.asked = True
            self.screen.app.call_from_thread(self.screen.ask_confirm, seconds_left, self)
        return self.answer


class ApplyScreen(StepScreen):
    STEP = "Apply"
    HELP = ("The change is being applied, one checked step at a time. It cannot be "
            "interrupted: on any failure it rolls back by itself.")

    def __init__(self) -> None:
        super().__init__()
        self.running = True
        self.refused: Optional[str] = None
        self.countdown: Optional[CountdownDialog] = None

    def compose_body(self) -> ComposeResult:
        what = "Dry run: showing every step, changing nothing." if self.state.dry_run else \
            "Applying..."
        yield Note(what, id="headline")
        yield AsciiProgressBar(total=None, show_eta=False, id="progress")
        yield StepLog(id="log", wrap=True, markup=False, highlight=False)
        yield Vertical(id="result")

    def on_mount(self) -> None:
        self.state.applying = True
        self.state.outcome = None
        self.update_buttons()
        self.query_one("#log").focus()
        self.run_apply()

    @work(thread=True, exclusive=True, group="apply", exit_on_error=False)
    def run_apply(self) -> None:
        from clb_wizard.transaction import TransactionError
        from clb_wizard.transaction.journal import LockBusy

        state = self.state
        bridge = ConfirmBridge(self)

        def progress(p: Any) -> None:
            self.app.call_from_thread(self.show_progress, p)

        timeout = state.confirm_seconds if state.confirm_timer and not state.dry_run else None
        try:
            transaction = self.engine.transaction(state.dry_run, progress)
            outcome = transaction.apply(state.plan, confirm_timeout=timeout, confirm=bridge)
        except (TransactionError, LockBusy) as exc:
            self.app.call_from_thread(self.show_refused, str(exc))
        except Exception as exc:  # noqa: BLE001 - never leave the screen waiting forever
            self.app.call_from_thread(
                self.show_refused, f"unexpected error: {type(exc).__name__}: {exc}. If "
                "anything was changed, `clb-wizard recover` finishes or undoes it.")
        else:
            self.app.call_from_thread(self.show_outcome, outcome)

    # -- from the worker ---------------------------------------------------------------------
    def show_progress(self, p: Any) -> None:
        bar = self.query_one("#progress", ProgressBar)
        if p.total:
            bar.update(total=p.total, progress=min(p.step, p.total))
        self.query_one("#log", StepLog).add(p.message, p.ok)

    def ask_confirm(self, seconds_left: float, bridge: ConfirmBridge) -> None:
        self.query_one("#headline", Note).update("Waiting for you to keep the change...")

        def answered(keep: Optional[bool]) -> None:
            bridge.answer = bool(keep)

        self.countdown = CountdownDialog(seconds_left, tick=self.wizard.countdown_tick)
        self.app.push_screen(self.countdown, answered)

    def close_countdown(self) -> None:
        for screen in self.app.screen_stack:
            if isinstance(screen, CountdownDialog) and not screen.answered:
                screen.answered = True
                screen.dismiss(None)

    def show_refused(self, message: str) -> None:
        self.close_countdown()
        self.running = False
        self.state.applying = False
        self.refused = message
        self.query_one("#headline", Note).update("Nothing was changed.")
        self.query_one("#result", Vertical).mount_all([
            Note(f"Nothing was changed: {message}", classes="-error"),
            Note("Esc goes back.", classes="hint"),
        ])
        self.update_buttons()
        self.query_one("#back").focus()

    def show_outcome(self, outcome: Any) -> None:
        self.close_countdown()
        self.running = False
        self.state.applying = False
        self.state.outcome = outcome
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=bar.total or 1, progress=bar.total or 1)
        status = self.query_one("#headline", Note)
        result = self.query_one("#result", Vertical)
        if outcome.exit_code == ExitCode.OK:
            status.update(outcome.message)
            status.set_classes("-ok")
            result.mount(Note("Enter shows the checks.", classes="hint"))
        else:
            rolled_back = outcome.exit_code == ExitCode.ROLLED_BACK
            status.update("FAILED: the change was rolled back." if rolled_back else
                          "FAILED, and the rollback could not finish.")
            status.set_classes("-error")
            result.mount_all(self.failure_lines(outcome))
        self.update_buttons()
        self.query_one("#next").focus()

    def failure_lines(self, outcome: Any) -> list[Note]:
        lines = [Note(outcome.message, classes="-error")]
        if outcome.exit_code == ExitCode.ROLLED_BACK:
            lines.append(Note("What to try next: the first [!!] line above is the step that "
                              "failed. Fix its cause, then run clb-wizard again; Enter shows "
                              "the checks, Esc goes back to the preview.", classes="hint"))
        if outcome.manual_steps:
            lines.append(Note("Put the host back by hand with:", classes="-error"))
            lines += [Note(step, classes="code indent") for step in outcome.manual_steps]
        if outcome.log_path:
            lines.append(Note(f"Log: {outcome.log_path}", classes="hint"))
        return lines

    # -- navigation ------------------------------------------------------------------------
    def back_refused(self) -> Optional[str]:
        if self.running:
            return "The change is being applied: wait until it finishes."
        outcome = self.state.outcome
        if outcome is not None and outcome.status == Status.APPLIED:
            return "The change is applied: `clb-wizard rollback` undoes it. Enter goes on."
        return None

    def next_refused(self) -> Optional[str]:
        if self.running:
            return "The change is being applied: wait until it finishes."
        if self.refused is not None:
            return "Nothing was applied: Esc goes back."
        return None

    def go_next(self) -> None:
        from .verify import VerifyScreen

        self.app.push_screen(VerifyScreen())
