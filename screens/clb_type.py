"""Step 2: internal or external CLB, one plain sentence each on what it means for the VIPs."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from .base import StepScreen

CHOICES = (
    ("internal", "Internal CLB",
     "Clients inside your VPC reach it on one private VIP (10.x, 172.16-31.x, 192.168.x): "
     "that VIP goes on lo."),
    ("external", "External CLB",
     "Clients on the internet reach it on its public EIPs: every EIP bound to it goes on lo."),
)


class TypeList(OptionList):
    """The two types; the highlighted one is marked "(*)" (not by colour alone), and
    Enter (shown in the footer) takes it."""

    DEFAULT_CSS = """
    TypeList {
        height: auto;
        max-height: 100%;
    }
    """

    BINDINGS: ClassVar[list] = [Binding("enter", "select", "Next", key_display="Enter")]


def prompt(title: str, text: str, chosen: bool) -> str:
    return f"{'(*)' if chosen else '( )'} {title}\n    {text}"


class ClbTypeScreen(StepScreen):
    STEP = "CLB type"
    HELP = ("Which kind of load balancer sends traffic to this server? Up/Down choose, "
            "Enter goes on. The console shows it on the CLB's details page.")

    def compose_body(self) -> ComposeResult:
        options = [Option(prompt(title, text, False), id=key) for key, title, text in CHOICES]
        yield TypeList(*options, id="types", compact=True)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        types = self.query_one("#types", OptionList)
        for index, (_, title, text) in enumerate(CHOICES):
            types.replace_option_prompt_at_index(index, prompt(title, text,
                                                               index == event.option_index))

    def on_mount(self) -> None:
        types = self.query_one("#types", OptionList)
        keys = [key for key, _, _ in CHOICES]
        chosen = self.state.choices.clb_type
        types.highlighted = keys.index(chosen) if chosen in keys else 0
        types.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.choose(event.option.id)

    def go_next(self) -> None:
        option = self.query_one("#types", OptionList).highlighted_option
        self.choose(option.id if option is not None else None)

    def choose(self, key: object) -> None:
        if key not in ("internal", "external"):
            self.refuse("Choose internal or external first.")
            return
        choices = self.state.choices
        if key != choices.clb_type:
            choices.force = False  # the VIP warnings depend on the type
        choices.clb_type = str(key)
        self.advance()
