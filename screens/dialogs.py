"""Modal dialogs: a yes/no question, the confirm-or-revert countdown, the recovery of an
interrupted transaction, and the log. Each carries its look (Dialog.DEFAULT_CSS)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Callable, ClassVar, Optional

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer

from clb_wizard.errors import ClbWizardError
from clb_wizard.wording import stopped

from .controls import fact_lines
from .widgets import Note, Spinner

if TYPE_CHECKING:
    from clb_wizard.service import Journal, Outcome, Progress

    from .app import WizardApp


class Dialog(ModalScreen[bool]):
    """A box in the middle of the screen, over the step, with the footer's keys."""

    DEFAULT_CSS = """
    Dialog {
        align: center middle;
    }
    Dialog #box {
        width: 70;
        max-width: 100%;
        height: auto;
        max-height: 20;
        border: solid $primary;
        background: $surface;
        padding: 0 1;
    }
    Dialog #box.-warn {
        border: solid $warning;
    }
    Dialog #text {
        height: auto;
        max-height: 12;
    }
    Dialog .line {
        margin-bottom: 1;
    }
    Dialog #buttons {
        height: 1;
        margin-top: 1;
    }
    Dialog #buttons Button {
        margin-right: 2;
        min-width: 8;
    }
    Dialog #buttons #no, Dialog #buttons #close {
        dock: right;
    }
    """

    def __init__(self) -> None:
        super().__init__(classes="dialog")


class QuestionDialog(Dialog):
    """A yes/no question. Y or the yes button answers True; N, Esc or the no button False.
    Enter presses the focused button, as on every step: the yes button by default, the no
    button (`default=False`) where going on would ignore a warning or take a VIP out of
    service, so Enter alone never says yes to that."""

    BINDINGS: ClassVar[list] = [
        Binding("y", "answer(True)", "Yes", key_display="Y"),
        Binding("n,escape", "answer(False)", "No", key_display="N/Esc"),
        Binding("enter", "press_focused", "Choose", key_display="Enter", priority=True),
    ]

    def __init__(self, title: str, lines: Sequence[str], yes: str, no: str,
                 *, warn: bool = False, default: bool = True) -> None:
        super().__init__()
        self.title_text = title
        self.lines = list(lines)
        self.yes, self.no = yes, no
        self.warn = warn
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="box", classes="-warn" if self.warn else ""):
            yield Note(self.title_text, classes="title")
            with VerticalScroll(id="text"):
                for line in self.lines:
                    yield Note(line, classes="line")
            with Horizontal(id="buttons"):
                yield Button(f"{self.yes} (Y)", id="yes", compact=True, variant="warning")
                yield Button(f"{self.no} (N)", id="no", compact=True)
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#yes" if self.default else "#no").focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_press_focused(self) -> None:
        focused = self.focused
        self.dismiss(focused is not None and focused.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class CountdownDialog(Dialog):
    """Keep the change or let it be reverted: the transaction's confirm timer, on screen.

    Counts `seconds` down, one per tick of the app's clock (screens/clock.py; tests advance
    it by hand); at zero it calls `on_expiry` and answers False (revert). Y / Keep answers
    True; N, Esc / Revert now answers False. The engine holds the real deadline: when it
    expires first the app closes this dialog.
    """

    BINDINGS: ClassVar[list] = [
        Binding("y", "answer(True)", "Keep", key_display="Y"),
        Binding("n,escape", "answer(False)", "Revert now", key_display="N/Esc"),
    ]

    def __init__(self, seconds: float, on_expiry: Optional[Callable[[], None]] = None) -> None:
        super().__init__()
        self.left = max(0, int(seconds))
        self.on_expiry = on_expiry
        self.answered = False

    def compose(self) -> ComposeResult:
        with Vertical(id="box", classes="-warn"):
            yield Note("Keep this change?", classes="title")
            yield Note("The change is applied and verified. If this session can still reach "
                       "the server, keep it. Without an answer it is rolled back by itself, "
                       "so a change that cut you off undoes itself.", classes="line")
            yield Note(self.left_text(), id="left", classes="line")
            with Horizontal(id="buttons"):
                yield Button("Keep (Y)", id="yes", compact=True, variant="success")
                yield Button("Revert now (N)", id="no", compact=True)
        yield Footer(show_command_palette=False)

    def left_text(self) -> str:
        return f"Rolled back in {self.left} s unless you keep it."

    def on_mount(self) -> None:
        self.query_one("#yes").focus()
        self.timer = self.app.clock.every(self, self.count_down)

    def count_down(self) -> None:
        if self.answered:
            return
        self.left = max(0, self.left - 1)
        self.query_one("#left", Note).update(self.left_text())
        if self.left == 0:
            if self.on_expiry is not None:
                self.on_expiry()
            self.answer(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.answer(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.answer(value)

    def answer(self, value: bool) -> None:
        if not self.answered:
            self.answered = True
            self.timer.stop()
            self.dismiss(value)


class RecoveryDialog(Dialog):
    """An interrupted transaction was found: finish it (forward if it had been verified,
    else back), before anything else. Answers True once recovered."""

    BINDINGS: ClassVar[list] = [Binding("escape", "close", "Close", key_display="Esc")]

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal
        self.running = False
        self.recovered = False

    def compose(self) -> ComposeResult:
        with Vertical(id="box", classes="-warn"):
            yield Note("An unfinished change was found", classes="title")
            yield Note(f"The change {self.journal.id} (VIPs {', '.join(self.journal.vips)}) "
                       f"{stopped(self.journal.state)}. It must be finished before anything "
                       "else: Recover keeps it if it had been verified, and otherwise puts "
                       "the host back exactly as it was.", classes="line")
            with VerticalScroll(id="text"):
                pass
            with Horizontal(id="buttons"):
                yield Button("Recover now", id="recover", compact=True, variant="warning")
                yield Button("Not now", id="close", compact=True)
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#recover").focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "recover":
            self.start()
        else:
            self.action_close()

    def action_close(self) -> None:
        if self.running:
            self.notify("Recovering: wait until it finishes.", severity="warning")
            return
        self.dismiss(self.recovered)

    def start(self) -> None:
        self.running = True
        self.query_one("#recover", Button).disabled = True
        self.query_one("#close", Button).disabled = True
        self.query_one("#text").mount(Spinner("Recovering...", id="spinner"))
        self.wizard_app().state.results.applying = True
        self.recover()

    def wizard_app(self) -> WizardApp:
        return self.app  # type: ignore[return-value]

    @work(thread=True, exclusive=True, group="recover", exit_on_error=False)
    def recover(self) -> None:
        def progress(p: Progress) -> None:
            self.app.call_from_thread(self.add_line, p.message)

        try:
            outcome = self.wizard_app().engine.recover(progress)
        except ClbWizardError as exc:  # StateError: damaged
            self.app.call_from_thread(self.finish, None, str(exc))
            return
        self.app.call_from_thread(self.finish, outcome, None)

    def add_line(self, text: str) -> None:
        self.query_one("#text").mount(Note(text, classes="log"))

    def finish(self, outcome: Optional[Outcome], error: Optional[str]) -> None:
        self.running = False
        self.wizard_app().state.results.applying = False
        box = self.query_one("#text")
        for spinner in box.query(Spinner):
            spinner.remove()
        if error is not None:
            box.mount(Note(f"Nothing was done: {error}", classes="error"))
            self.query_one("#recover", Button).disabled = False
        else:
            self.recovered = outcome.exit_code == 0
            box.mount(Note(outcome.message, classes="ok" if self.recovered else "error"))
            facts = (outcome.rollback_verification or outcome.verification)
            if facts is not None:
                box.mount_all(fact_lines(facts.facts))
            for step in outcome.manual_steps:
                box.mount(Note(step, classes="code indent"))
            if outcome.log_path:
                box.mount(Note(f"Log: {outcome.log_path}", classes="line"))
        close = self.query_one("#close", Button)
        close.label = "Continue"
        close.refresh(layout=True)
        close.disabled = False
        close.focus()


class LogDialog(Dialog):
    """The transaction's log, line by line (the same lines its log file holds)."""

    BINDINGS: ClassVar[list] = [
        Binding("escape,enter,l", "close", "Close", key_display="Esc"),
    ]

    def __init__(self, lines: Sequence[str], path: Optional[str]) -> None:
        super().__init__()
        self.lines = list(lines)
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Note("The log" + (f" ({self.path})" if self.path else ""), classes="title")
            with VerticalScroll(id="text"):
                for line in self.lines:
                    yield Note(line, classes="log")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#text").focus()

    def action_close(self) -> None:
        self.dismiss(None)
