"""Widgets the later steps use: a checkbox drawn [X]/[ ], a masked input, an ASCII
progress bar, verification facts. Only console-font glyphs; colours from assets/*.tcss."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar, Optional

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text
from textual.binding import Binding
from textual.content import Content
from textual.renderables.bar import Bar as BarRenderable
from textual.widgets import Checkbox, Input, Static


class Tick(Checkbox, inherit_bindings=False):
    """A checkbox drawn as [X] that toggles with Space only, so Enter means Next."""

    BINDINGS: ClassVar[list] = [Binding("space", "toggle_button", "Toggle", key_display="Space")]
    BUTTON_LEFT = "["
    BUTTON_INNER = "X"
    BUTTON_RIGHT = "]"

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


class FactLine(Static):
    """One verification fact: a mark that reads without colour, the name and the reason."""

    MARKS: ClassVar[dict[str, str]] = {"ok": "[ OK ]", "fail": "[FAIL]", "warn": "[WARN]",
                                       "info": "[ -- ]"}

    def __init__(self, kind: str, name: str, detail: str) -> None:
        text = f"{name}: {detail}" if name else detail
        super().__init__(f"{self.MARKS[kind]} {text}", markup=False, classes=f"fact -{kind}")
        self.kind = kind


def fact_lines(facts: Iterable) -> list[FactLine]:
    """FactLines for wizard.verify.Fact objects."""
    lines = []
    for fact in facts:
        kind = "ok" if fact.ok else ("fail" if fact.fatal else "warn")
        lines.append(FactLine(kind, fact.name, fact.detail))
    return lines


COPY_WIDTH = 72  # a command line fits the 80-column body with its number and margins


def copyable(words: Sequence[str], width: int = COPY_WIDTH) -> str:
    """A shell command (already-quoted words) broken only between words, each line but the
    last ending in " \\": pasted into a shell, it runs as it is (never cut mid-word)."""
    lines: list[str] = []
    line = ""
    for word in words:
        if line and len(line) + 1 + len(word) + 2 > width:
            lines.append(line + " \\")
            line = "    " + word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(lines)


def command_text(command: str) -> str:
    """`copyable` for a command given as one line (words separated by single spaces)."""
    return copyable(command.split(" "))


class SecretInput(Input):
    """A masked input (the private key) drawn with '*': the console font has no bullet.
    The value never leaves the widget except into wizard.cloud.Credentials."""

    def __init__(self, value: str = "", *, id: Optional[str] = None) -> None:
        super().__init__(value, password=True, id=id, compact=True)

    @property
    def _value(self) -> Text:
        return Text("*" * len(self.value), no_wrap=True, overflow="ignore", end="")
