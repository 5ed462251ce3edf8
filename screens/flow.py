"""The wizard's steps, declared once and in order. The step bar, "Step n of N", Next (push
the following step) and Back (pop back to the one before) all come from `FLOW`; a step's
screen is imported only when it is first pushed, so the first frame waits for none of the
later ones."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, NamedTuple, Optional

if TYPE_CHECKING:
    from textual.screen import Screen


class Step(NamedTuple):
    """One step: its name and where its screen is."""

    name: str  # as the step bar shows it
    module: str  # the screens module that holds its screen
    screen: str  # the Screen class in that module

    def make(self) -> Screen:
        module = import_module(f"{__package__}.{self.module}")
        return getattr(module, self.screen)()


FLOW: tuple[Step, ...] = (
    Step("Start", "start", "StartScreen"),
    Step("CLB type", "clb_type", "ClbTypeScreen"),
    Step("VIPs", "vips", "VipsScreen"),
    Step("Options", "options", "OptionsScreen"),
    Step("Preview", "preview", "PreviewScreen"),
    Step("Apply", "apply", "ApplyScreen"),
    Step("Verify", "verify", "VerifyScreen"),
    Step("Done", "done", "DoneScreen"),
)
NAMES: tuple[str, ...] = tuple(step.name for step in FLOW)


def position(name: str) -> int:
    """The step's index in the flow (ValueError for a name that is not a step)."""
    return NAMES.index(name)


def following(name: str) -> Optional[Step]:
    """The step after `name`, or None after the last."""
    n = position(name) + 1
    return FLOW[n] if n < len(FLOW) else None


def modules() -> tuple[str, ...]:
    """Every step's module, in order (the app imports the later ones ahead of need)."""
    return tuple(step.module for step in FLOW)
