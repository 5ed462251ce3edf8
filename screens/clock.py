"""What drives the wizard's countdowns: one tick per `tick` seconds of Textual's timer.
Tests hand the app a clock they advance by hand (tests/fakes/engine.py: ManualClock), so a
countdown never depends on how fast a loaded machine runs."""

from __future__ import annotations

from typing import Callable, Protocol


class Ticker(Protocol):
    def stop(self) -> None: ...


class Clock:
    def __init__(self, tick: float = 1.0) -> None:
        self.tick = tick

    def every(self, owner, callback: Callable[[], None]) -> Ticker:  # noqa: ANN001 - a widget
        """Call `callback` once a tick for as long as `owner` is mounted (until stopped)."""
        return owner.set_interval(self.tick, callback)
