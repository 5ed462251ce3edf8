"""Small widgets every step shares (the later steps' own are in controls.py, so the first
frame does not wait for them). Glyphs are chosen so the Linux console font has them all:
ASCII, light box drawing and the CP437 block shades (see tests/ui/test_console.py); text
from outside (the cloud API, the engine's messages) is made console-safe on the console
look by `console_safe`.

Each widget carries its own look (DEFAULT_CSS); assets/console.tcss overrides colours for
the Linux console. Widgets that colour parts of their text declare component classes.
"""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar, Optional

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from .flow import NAMES


@lru_cache(maxsize=1)
def console_glyphs() -> frozenset[str]:
    """What the Linux console font shows: printable ASCII and CP437's upper half."""
    return frozenset(chr(c) for c in range(32, 127)) | frozenset(
        bytes(range(128, 256)).decode("cp437")) | frozenset("\n")


@lru_cache(maxsize=4096)
def _transliterated(ch: str) -> str:
    from anyascii import anyascii  # only when such text shows up

    return anyascii(ch) or f"\\u{ord(ch):04x}"


def console_safe(text: str) -> str:
    """`text` with every character the console font lacks spelled in ASCII: Chinese by
    its pinyin syllables ("北京" -> "Bei Jing"), "…" as "...", anything else without a
    spelling as a \\uXXXX escape. Meaning survives; nothing shows as a blank or a diamond."""
    glyphs = console_glyphs()
    if all(ch in glyphs for ch in text):
        return text
    out: list[str] = []
    spelled = False  # the previous character was spelled out
    for ch in text:
        if ch in glyphs:
            out.append(ch)
            spelled = False
            continue
        word = _transliterated(ch)
        if spelled and word[:1].isalnum() and out and out[-1][-1:].isalnum():
            out.append(" ")  # syllables of one word apart: "Bei Jing", not "BeiJing"
        out.append(word)
        spelled = True
    return "".join(out)


def on_console(widget: Widget) -> bool:
    return bool(getattr(widget.app, "console_look", False))


class StepTrail(Widget):
    """The step bar: every step of the flow by name, the current one highlighted."""

    DEFAULT_CSS = """
    StepTrail {
        height: 1;
        padding: 0 1;
        background: $panel;
    }
    StepTrail > .trail--done, StepTrail > .trail--todo, StepTrail > .trail--sep {
        color: $text-muted;
    }
    StepTrail > .trail--current {
        color: $text;
        text-style: bold reverse;
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"trail--done", "trail--current", "trail--todo",
                                             "trail--sep"}

    def __init__(self, step: str, *, id: Optional[str] = None) -> None:
        super().__init__(id=id)
        self.step = step

    def render(self) -> Text:
        current = NAMES.index(self.step)
        text = Text(no_wrap=True, overflow="crop")
        for n, name in enumerate(NAMES):
            if n:
                text.append(" > ", self.get_component_rich_style("trail--sep"))
            kind = "done" if n < current else ("current" if n == current else "todo")
            label = f"[{name}]" if n == current else name
            text.append(label, self.get_component_rich_style(f"trail--{kind}"))
        return text


class Note(Static):
    """A line of engine text (never parsed as markup: messages may hold brackets), made
    console-safe on the console look."""

    DEFAULT_CSS = """
    Note {
        height: auto;
    }
    """

    def __init__(self, text: str = "", classes: str = "", *, id: Optional[str] = None) -> None:
        super().__init__(text, markup=False, classes=classes, id=id)

    def render(self):  # noqa: ANN201 - a Visual
        content = self.content
        if isinstance(content, str) and on_console(self):
            safe = console_safe(content)
            if safe != content:
                return Text(safe)
        return super().render()


class Hanging(Static):
    """A label and its text side by side; the text's wrapped lines start under its first
    line, not under the label (a hanging indent)."""

    def __init__(self, label: str, text: str, *, label_width: int, classes: str = "",
                 id: Optional[str] = None) -> None:
        super().__init__("", markup=False, classes=classes, id=id)
        self.label, self.text, self.label_width = label, text, label_width

    @property
    def plain(self) -> str:
        return f"{self.label} {self.text}"

    def render(self):  # noqa: ANN201 - a Rich table
        from rich.table import Table

        safe = console_safe if on_console(self) else str
        grid = Table.grid(padding=(0, 1, 0, 0))
        grid.add_column(width=self.label_width, no_wrap=True)
        grid.add_column(ratio=1, overflow="fold")
        grid.add_row(safe(self.label), safe(self.text))
        return grid


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

