"""Small widgets every step shares (the later steps' own are in controls.py, so the first
frame does not wait for them). Glyphs are chosen so the Linux console font has them all:
ASCII, light box drawing and the CP437 block shades (see tests/ui/test_console.py).

Every colour lives in assets/*.tcss: widgets that colour parts of their text declare
component classes and read the style from the stylesheet.
"""

from __future__ import annotations

from typing import ClassVar, Optional

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

STEPS = ("Start", "CLB type", "VIPs", "Options", "Preview", "Apply", "Verify", "Done")


class StepTrail(Widget):
    """The step indicator: every step's name, the current one highlighted."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"trail--done", "trail--current", "trail--todo",
                                             "trail--sep"}

    def __init__(self, step: str, *, id: Optional[str] = None) -> None:
        super().__init__(id=id)
        self.step = step

    def render(self) -> Text:
        current = STEPS.index(self.step)
        text = Text(no_wrap=True, overflow="crop")
        for n, name in enumerate(STEPS):
            if n:
                text.append(" > ", self.get_component_rich_style("trail--sep"))
            kind = "done" if n < current else ("current" if n == current else "todo")
            label = f"[{name}]" if n == current else name
            text.append(label, self.get_component_rich_style(f"trail--{kind}"))
        return text


class Note(Static):
    """A line of engine text (never parsed as markup: messages may hold brackets)."""

    def __init__(self, text: str = "", classes: str = "", *, id: Optional[str] = None) -> None:
        super().__init__(text, markup=False, classes=classes, id=id)


class Spinner(Static):
    """A loading indicator in plain ASCII (LoadingIndicator's dots are not in the console
    font). Runs only while displayed."""

    FRAMES = ("|", "/", "-", "\\")

    def __init__(self, label: str, *, id: Optional[str] = None) -> None:
        super().__init__("", markup=False, id=id)
        self.label = label
        self._frame = 0

    def on_mount(self) -> None:
        self._show()
        self._timer = self.set_interval(0.15, self._advance)

    def _advance(self) -> None:
        self._frame = (self._frame + 1) % len(self.FRAMES)
        self._show()

    def _show(self) -> None:
        self.update(f"{self.FRAMES[self._frame]} {self.label}")
