"""The frame every step shares: the step bar, a help line for first-time users, the step's
own body, Back/Next buttons and the footer with the keys. Back and Next follow the flow
declared in flow.py: Next pushes the following step, Back pops to the one before."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Optional

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer

from . import flow
from .widgets import Note, StepTrail

if TYPE_CHECKING:
    from textual.widgets import Button

    from clb_wizard.service import Service

    from .app import WizardApp
    from .state import WizardState


_NEXT_BUTTONS: dict[str, type[Button]] = {}


def next_button(label: str) -> type[Button]:
    """A Button class for the step's Next that names its Enter in the footer (Button's own
    Enter binding is hidden, and it wins over the step's while the button has the focus)."""
    from textual.widgets import Button

    if label not in _NEXT_BUTTONS:
        _NEXT_BUTTONS[label] = type("NextButton", (Button,), {"BINDINGS": [
            Binding("enter", "press", label, key_display="Enter")]})
    return _NEXT_BUTTONS[label]


class StepScreen(Screen):
    """One wizard step. Subclasses set STEP (its name in flow.FLOW) and HELP, compose their
    body, and override go_next only where something must be asked before going on."""

    DEFAULT_CSS = """
    StepScreen {
        layout: vertical;
    }
    StepScreen #help {
        height: auto;
        padding: 0 1;
        margin-bottom: 1;
        color: $text-muted;
    }
    StepScreen #body {
        height: 1fr;
        padding: 0 1;
    }
    StepScreen #buttons {
        height: 1;
        padding: 0 1;
    }
    StepScreen #buttons Button {
        margin-right: 2;
        min-width: 8;
    }
    StepScreen #buttons #next {
        dock: right;
        margin-right: 0;
    }
    StepScreen Footer {
        height: 1;
    }
    """
    STEP: ClassVar[str] = "Start"
    HELP: ClassVar[str] = ""
    NEXT_LABEL: ClassVar[str] = "Next"
    BUTTONS_AFTER_FIRST_FRAME: ClassVar[bool] = False
    BINDINGS: ClassVar[list] = [
        Binding("escape", "back", "Back", key_display="Esc"),
        Binding("enter", "next", "Next", key_display="Enter"),
    ]

    @property
    def wizard(self) -> WizardApp:
        return self.app  # type: ignore[return-value]

    @property
    def state(self) -> WizardState:
        return self.wizard.state

    @property
    def engine(self) -> Service:
        return self.wizard.engine

    def compose(self) -> ComposeResult:
        yield StepTrail(self.STEP, id="trail")
        n = flow.position(self.STEP) + 1
        yield Note(f"Step {n} of {len(flow.FLOW)}. {self.help_text()}", classes="help",
                   id="help")
        with Vertical(id="body"):
            yield from self.compose_body()
        with Horizontal(id="buttons"):
            if not self.BUTTONS_AFTER_FIRST_FRAME:
                yield from self.button_row()
        if not self.BUTTONS_AFTER_FIRST_FRAME:
            yield Footer(show_command_palette=False)

    def button_row(self) -> ComposeResult:
        from textual.widgets import Button

        yield Button("< Back", id="back", compact=True,
                     disabled=self.refused_at_start(self.back_refused))
        yield from self.compose_buttons()
        yield next_button(self.NEXT_LABEL)(
            f"{self.NEXT_LABEL} >", id="next", compact=True, variant="primary",
            disabled=self.refused_at_start(self.next_refused))

    async def add_button_row(self) -> None:
        """The buttons and the footer of a step that shows them after its first frame (the
        first step: Textual's Button, its stylesheet and the footer's keys, each restyled
        as it mounts, then never delay the wizard's first frame)."""
        for row in self.query("#buttons"):  # gone if the app is closing
            await row.mount_all(self.button_row())
            await self.mount(Footer(show_command_palette=False))
            self.update_buttons()

    @staticmethod
    def refused_at_start(check) -> bool:  # noqa: ANN001 - a bound *_refused method
        """Disabled from the start when already refused (saves a restyle after mount);
        checks that need the composed widgets count as allowed here."""
        try:
            return check() is not None
        except NoMatches:
            return False

    def help_text(self) -> str:
        """The help line (a step whose words depend on the run overrides this)."""
        return self.HELP

    def compose_body(self) -> ComposeResult:
        yield from ()

    def compose_buttons(self) -> ComposeResult:
        """Extra buttons between Back and Next."""
        yield from ()

    # -- navigation ------------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "back":
            event.stop()
            self.action_back()
        elif event.button.id == "next":
            event.stop()
            self.action_next()

    def back_refused(self) -> Optional[str]:
        """Why Back is not possible now (shown to the user), or None."""
        return None

    def next_refused(self) -> Optional[str]:
        """Why Next is not possible now (shown to the user), or None."""
        return None

    def refuse(self, reason: str) -> None:
        """Say why not, once: pressing the key again does not stack the same toast over
        the step (it stays up while the reason holds)."""
        if any(n.message == reason for n in self.app._notifications):
            return
        self.notify(reason, severity="warning")

    def action_back(self) -> None:
        reason = self.back_refused()
        if reason:
            self.refuse(reason)
            return
        self.app.pop_screen()

    def action_next(self) -> None:
        reason = self.next_refused()
        if reason:
            self.refuse(reason)
            return
        self.go_next()

    def go_next(self) -> None:
        """Next: the following step of the flow (a step asks its question first by
        overriding this and calling advance() on yes)."""
        self.advance()

    def advance(self) -> None:
        step = flow.following(self.STEP)
        if step is None:
            self.wizard.finish()
        else:
            self.app.push_screen(step.make())

    def update_buttons(self) -> None:
        """Grey out Back/Next as the step's state allows (their keys still say why not)."""
        from textual.widgets import Button

        try:
            back, nxt = self.query_one("#back", Button), self.query_one("#next", Button)
        except NoMatches:  # not there yet (BUTTONS_AFTER_FIRST_FRAME)
            return
        back.disabled = self.back_refused() is not None
        nxt.disabled = self.next_refused() is not None
        if self.focused is None and not nxt.disabled and self.is_current:
            nxt.focus()
