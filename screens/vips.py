"""Step 3: the VIPs, a list the user adds to and removes from. Every entry is checked as it
is typed by the engine itself (clb_wizard.vips): its messages are shown as they are.

The cloud path (F2, screens/fetch.py) hands back addresses that go through the very
same checks as typed ones. Del on a VIP clb-wizard configured earlier marks it
"(leaves service)" (Del again keeps it); nothing changes until the apply, which names it.
"""

from __future__ import annotations

from typing import ClassVar, Optional

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Input, OptionList
from textual.widgets.option_list import Option

from clb_wizard.errors import ClbWizardError
from clb_wizard.vips import address_kind, parse_vip, parse_vips, split_vip_text

from .base import StepScreen
from .state import Choices
from .widgets import Note

KIND_TEXT = {"private": "private", "public": "public", "documentation": "documentation range"}


class VipValidator(Validator):
    """clb_wizard.vips.parse_vip on each entry of the text; its message as the failure."""

    def validate(self, value: str) -> ValidationResult:
        try:
            for part in split_vip_text(value):
                parse_vip(part)
        except ClbWizardError as exc:
            return self.failure(str(exc))
        return self.success()


class VipInput(Input):
    """The VIP field: Enter adds what is typed, or goes on when it is empty (and says so
    in the footer, which Input's own hidden Enter would not)."""

    DEFAULT_CSS = """
    VipInput {
        width: 1fr;
    }
    """

    BINDINGS: ClassVar[list] = [
        Binding("enter", "submit", "Add / Next", key_display="Enter"),
    ]


class VipList(OptionList):
    """The VIPs so far: Enter goes on, Del removes the highlighted one (or, for one
    configured earlier, marks it to leave service; Del again keeps it)."""

    DEFAULT_CSS = """
    VipList {
        height: auto;
        max-height: 6;
        margin-left: 1;
    }
    """
    BINDINGS: ClassVar[list] = [
        Binding("enter", "select", "Next", key_display="Enter"),
        Binding("delete,backspace", "screen.remove", "Remove VIP", key_display="Del"),
    ]


class VipsScreen(StepScreen):
    DEFAULT_CSS = """
    VipsScreen #entry {
        height: 1;
    }
    VipsScreen #message {
        min-height: 1;
        margin-bottom: 1;
    }
    VipsScreen #report {
        margin-top: 1;
    }
    """
    STEP = "VIPs"
    HELP = ("Type a VIP and press Enter to add it (for an external CLB add every EIP). "
            "Enter on an empty line goes on. F2 fetches them from the cloud API.")
    BINDINGS: ClassVar[list] = [
        Binding("f2", "fetch", "Fetch from cloud", key_display="F2"),
        Binding("ctrl+f", "fetch", "Fetch from cloud", show=False),  # terminals only
    ]
    PLACEHOLDERS: ClassVar[dict] = {
        "external": "e.g. 203.0.113.10 (every EIP: separate them with commas)",
        "internal": "e.g. 10.9.8.7",
    }

    def __init__(self) -> None:
        super().__init__()
        self.clearing = False
        self.seed()

    def seed(self) -> bool:
        """A later visit (or another change in this run) starts with what is configured
        now; True if the list was seeded anew."""
        choices, managed = self.state.choices, self.state.host.managed
        if choices.vips_seeded:
            return False
        choices.vips_seeded = True
        choices.vips = list(managed) or choices.vips
        choices.leaving = []
        return True

    def on_screen_resume(self) -> None:
        if self.seed():  # back here for another change (Done's V)
            self.refresh_list()
            self.say(self.managed_text())

    @property
    def choices(self) -> Choices:
        return self.state.choices

    def compose_body(self) -> ComposeResult:
        placeholder = self.PLACEHOLDERS.get(self.choices.clb_type or "", "e.g. 10.9.8.7")
        with Horizontal(id="entry"):
            yield Note("VIP:", classes="label")
            yield VipInput(placeholder=placeholder, id="vip", validators=[VipValidator()],
                           validate_on=["changed", "submitted"], compact=True)
        yield Note(self.managed_text(), id="message")
        yield Note("VIPs to configure (Tab to the list, Del removes one):", classes="label")
        yield VipList(*self.list_options(), id="list", compact=True)
        yield Note(*self.report(), id="report")

    def managed_text(self) -> str:
        managed = self.state.host.managed
        if not managed:
            return ""
        return (f"clb-wizard already manages {', '.join(managed)} here: "
                f"{'it stays' if len(managed) == 1 else 'they stay'} on lo. Type a VIP to "
                "add it; Del on one in the list marks it to leave service.")

    def compose_buttons(self) -> ComposeResult:
        yield Button("Fetch from cloud API (F2)", id="fetch", compact=True)

    def on_mount(self) -> None:
        vip = self.query_one("#vip", Input)
        vip.cursor_blink = self.wizard.cursor_blink
        if self.shown_vips():
            self.query_one("#list", OptionList).highlighted = 0
        vip.focus()

    # -- typing --------------------------------------------------------------------------
    def say(self, text: str, kind: str = "") -> None:
        message = self.query_one("#message", Note)
        message.update(text)
        message.set_classes(f"-{kind}" if kind else "")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.clearing and not event.value:
            self.clearing = False
            return
        if not event.value.strip():
            self.say("")
            return
        _, problem = self.vet(split_vip_text(event.value))
        if problem is not None:
            self.say(problem, "error")
        else:
            parts = split_vip_text(event.value)
            kinds = ", ".join(f"{p} ({KIND_TEXT[address_kind(parse_vip(p))]})" for p in parts)
            self.say(f"{kinds}: press Enter to add.", "ok")

    def vet(self, entries: list[str]) -> tuple[list[str], Optional[str]]:
        """The VIP list with `entries` added, or why not: the engine's checks, the same
        for the live hint and for Enter (form, duplicates, this host's own addresses)."""
        result = VipValidator().validate(",".join(entries))
        if not result.is_valid:
            return [], result.failure_descriptions[0]
        try:
            vips = [str(ip) for ip in parse_vips([*self.choices.vips, *entries])]
            self.engine.check_vips(self.state.options(vips), self.state.host.addresses)
        except ClbWizardError as exc:
            return [], str(exc)
        return vips, None

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            self.action_next()
            return
        self.add(split_vip_text(event.value))

    def add(self, entries: list[str], source: str = "") -> bool:
        """Add VIPs through the engine's checks; False (and the message shown) if refused."""
        vips, problem = self.vet(entries)
        if problem is not None:
            self.say(problem, "error")
            self.app.bell()
            return False
        added = [v for v in vips if v not in self.choices.vips]
        self.choices.vips = vips
        self.choices.leaving = [v for v in self.choices.leaving if v not in vips]
        self.choices.force = False
        vip = self.query_one("#vip", Input)
        if vip.value:
            self.clearing = True  # the Changed this posts must not wipe the message below
            vip.value = ""
        self.say(f"Added {', '.join(added)}{source}.", "ok")
        self.refresh_list()
        return True

    # -- the list --------------------------------------------------------------------------
    def shown_vips(self) -> list[str]:
        """The list's VIPs: the ones configured now in their order (those marked to leave
        service too, so the mark shows), then the ones added."""
        managed, choices = self.state.host.managed, self.choices
        return ([v for v in managed if v in choices.vips or v in choices.leaving]
                + [v for v in choices.vips if v not in managed])

    def list_options(self) -> list[Option]:
        options = []
        for vip in self.shown_vips():
            kind = KIND_TEXT[address_kind(parse_vip(vip))]
            if vip in self.choices.leaving:
                now = "  (leaves service)"
            elif vip in self.state.host.managed:
                now = "  (configured now)"
            else:
                now = ""
            options.append(Option(f"{vip:<16} {kind}{now}", id=vip))
        return options or [Option("(none yet)", disabled=True)]

    def refresh_list(self) -> None:
        listing = self.query_one("#list", OptionList)
        keep = listing.highlighted
        listing.clear_options()
        listing.add_options(self.list_options())
        shown = self.shown_vips()
        if shown:
            listing.highlighted = min(keep or 0, len(shown) - 1)
        report = self.query_one("#report", Note)
        text, kind = self.report()
        report.update(text)
        report.set_classes(kind)
        self.update_buttons()

    def report(self) -> tuple[str, str]:
        """The engine's warnings and notes on the VIPs so far, and their class."""
        if not self.choices.vips:
            return "", ""
        try:
            checked = self.engine.check_vips(self.state.options(), self.state.host.addresses)
        except ClbWizardError as exc:
            return str(exc), "-error"
        lines = [f"Warning: {w}" for w in checked.warnings] + list(checked.notes)
        return "\n".join(lines), "-warn" if checked.warnings else ""

    def action_remove(self) -> None:
        listing = self.query_one("#list", OptionList)
        if not listing.has_focus:
            return
        option = listing.highlighted_option
        if option is None or option.id is None:
            return
        vip = option.id
        choices = self.choices
        if vip in choices.leaving:  # Del again: it stays
            order = self.shown_vips()
            choices.leaving.remove(vip)
            choices.vips = [v for v in order if v == vip or v in choices.vips]
            self.say(f"Kept {vip}: it stays on lo.", "ok")
        elif vip in self.state.host.managed:
            choices.leaving.append(vip)
            choices.vips = [v for v in choices.vips if v != vip]
            self.say(f"{vip} leaves service when you apply (you are asked first; Del again "
                     "keeps it).", "warn")
        else:
            choices.vips = [v for v in choices.vips if v != vip]
            self.say(f"Removed {vip}.", "")
        choices.force = False
        self.refresh_list()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()  # Enter on the list: go on, like everywhere else
        self.action_next()

    # -- the cloud ---------------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "fetch":
            event.stop()
            self.action_fetch()
        else:
            super().on_button_pressed(event)

    def action_fetch(self) -> None:
        from .fetch import FetchScreen

        def fetched(result: Optional[tuple[list[str], str]]) -> None:
            if result:
                addresses, where = result
                self.add(addresses, f" from {where}")

        self.app.push_screen(FetchScreen(), fetched)

    # -- navigation ------------------------------------------------------------------------
    def next_refused(self) -> Optional[str]:
        if not self.choices.vips and self.choices.leaving:
            return ("Every VIP is marked to leave service: keep one (Del on it again). To "
                    "undo clb-wizard's changes, use its rollback.")
        if not self.choices.vips:
            return "Add at least one VIP first (type it and press Enter)."
        return None

    def action_next(self) -> None:
        vip = self.query_one("#vip", Input)
        if vip.value.strip() and not self.add(split_vip_text(vip.value)):
            return
        super().action_next()

    def go_next(self) -> None:
        report = self.engine.check_vips(self.state.options(), self.state.host.addresses)
        if report.warnings and not self.choices.force:
            from .dialogs import QuestionDialog

            def answered(yes: Optional[bool]) -> None:
                if yes:
                    self.choices.force = True
                    self.advance()

            kind = self.choices.clb_type or "this"
            self.app.push_screen(QuestionDialog(
                f"These VIPs do not look like an {kind} CLB's", report.warnings,
                "Continue anyway", "Fix them", warn=True, default=False), answered)
            return
        self.advance()
