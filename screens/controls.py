"""Widgets the later steps use: a checkbox drawn [X]/[ ], a masked input, an ASCII
progress bar, verification facts. Only console-font glyphs; colours from assets/*.tcss."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, ClassVar, Optional, Union

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text
from textual.binding import Binding
from textual.content import Content
from textual.renderables.bar import Bar as BarRenderable
from textual.widgets import Checkbox, Input

from .widgets import Hanging

if TYPE_CHECKING:
    from clb_wizard.service import Fact, Plan

    from .state import WizardState


class Tick(Checkbox, inherit_bindings=False):
    """A checkbox drawn as [X] that toggles with Space only, so Enter means Next."""

    DEFAULT_CSS = """
    Tick {
        width: 100%;
    }
    Tick.-textual-compact:focus > .toggle--label {
        text-style: bold underline;
    }
    """
    BINDINGS: ClassVar[list] = [Binding("space", "toggle_button", "Toggle", key_display="Space")]
    BUTTON_INNER = "X"

    def __init__(self, label: str, value: bool = False, *, id: Optional[str] = None,
                 disabled: bool = False) -> None:
        super().__init__(label, value, id=id, disabled=disabled, compact=True)

    @property
    def _button(self) -> Content:
        """[X] when on, [ ] when off: the state reads without colour too."""
        inner = self.BUTTON_INNER if self.value else " "
        return Content.assemble("[", (inner, self.get_visual_style("toggle--button")), "]")


class AsciiBar(BarRenderable):
    """The progress bar's bar with glyphs the console font has: done '#', left '-'."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = self.width or options.max_width
        start, end = self.highlight_range
        done = max(0, min(width, round(end))) if start <= 0 else 0
        text = Text(no_wrap=True, end="")
        text.append("#" * done, console.get_style(self.highlight_style))
        text.append("-" * (width - done), console.get_style(self.background_style))
        yield text


class FactLine(Hanging):
    """One verification fact: a mark that reads without colour, the name and the reason
    (wrapped under the name, not under the mark)."""

    DEFAULT_CSS = """
    FactLine.-ok {
        color: $text-success;
    }
    FactLine.-fail {
        color: $text-error;
        text-style: bold;
    }
    FactLine.-warn {
        color: $text-warning;
    }
    FactLine.-info {
        color: $text-muted;
    }
    """
    MARKS: ClassVar[dict[str, str]] = {"ok": "[ OK ]", "fail": "[FAIL]", "warn": "[WARN]",
                                       "info": "[ -- ]"}

    def __init__(self, kind: str, name: str, detail: str) -> None:
        super().__init__(self.MARKS[kind], self.worded(name, detail), label_width=6,
                         classes=f"fact -{kind}")
        self.kind = kind

    @staticmethod
    def worded(name: str, detail: str) -> str:
        return f"{name}: {detail}" if name else detail


def wizard_words(text: str) -> str:
    """Engine text worded for the wizard: the ARP fix is a key here (A on Verify, the
    option on Options), not the CLI's --arp-sysctls flag."""
    return text.replace(" (--arp-sysctls)", "")


def fact_lines(facts: Iterable[Fact]) -> list[FactLine]:
    """A FactLine for each verification fact."""
    lines = []
    for fact in facts:
        kind = "ok" if fact.ok else ("fail" if fact.fatal else "warn")
        lines.append(FactLine(kind, fact.name, wizard_words(fact.detail)))
    return lines


# A command fits the 80-column body (its padding, a scrollbar) with a "12. " before it.
COMMAND_WIDTH = 72


def command_lines(command: Union[str, Sequence[str]], first: str = "",
                  width: int = COMMAND_WIDTH) -> str:
    """A command (an argv, or one line of shell) as twin.wrap_command lays it out: broken
    only between words, each broken line ending in " \\", so it can be typed or pasted
    as it is; `first` (e.g. "1. ") goes before the first line, its width of blanks before
    the others."""
    from clb_wizard.twin import wrap_command

    lines = wrap_command(command, width=width - len(first))
    pad = " " * len(first)
    return "\n".join((first if n == 0 else pad) + line for n, line in enumerate(lines))


def twin_command(state: WizardState, plan: Plan) -> str:
    """The CLI twin of this run: the `clb-wizard apply|add|remove ... --yes` line that
    makes the same change (as twin.cli_twin, run as root the way this user must), with
    the choices made here."""
    from clb_wizard.twin import twin_args

    managed, choices, launch = state.host.managed, state.choices, state.launch
    added = [v for v in plan.vips if v not in managed]
    if managed and plan.removed and not added:
        change, vips = "remove", list(plan.removed)
    elif managed and not plan.removed:
        change, vips = "add", added or list(plan.vips)
    else:
        change, vips = "apply", list(plan.vips)
    if choices.confirm_timer:
        timeout: Optional[float] = choices.confirm_seconds
    else:
        timeout = 0 if launch.ssh and not launch.preview else None  # off, as chosen here
    arp = choices.arp_sysctls or state.results.arp_fix is not None
    args = twin_args(change, vips, clb_type=plan.clb_type or choices.clb_type,
                     force=choices.force, arp_sysctls=arp,
                     remove_others=change == "apply" and bool(plan.removed),
                     confirm_timeout=timeout, method=launch.method)
    return root_command(state, *args)


def root_command(state: WizardState, *args: str) -> str:
    """`clb-wizard ARGS` as root on this host (invocation.root_command: sudo, or the full
    path where sudo would not find this clb-wizard), for every hint the wizard prints."""
    from clb_wizard.invocation import root_command as as_root

    return as_root(*args, is_root=state.launch.is_root)


class SecretInput(Input):
    """A masked input (the private key) drawn with '*': the console font has no bullet.
    `password = False` shows it (F4 on the fetch form). The value never leaves the widget
    except into the service's Credentials."""

    DEFAULT_CSS = """
    SecretInput {
        width: 1fr;
    }
    """

    def __init__(self, value: str = "", *, id: Optional[str] = None) -> None:
        super().__init__(value, password=True, id=id, compact=True)

    @property
    def _value(self) -> Text:
        if not self.password:
            return super()._value
        return Text("*" * len(self.value), no_wrap=True, overflow="ignore", end="")
