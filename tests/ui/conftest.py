"""Helpers for the TUI tests: fixture roots, an app factory, and reading the screen."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from typing import Callable, Optional

import pytest

from clb_wizard.screens.app import WizardApp
from tests.fakes.engine import ManualClock
from tests.fixtures.roots import make_root

# Characters the Linux console font (CP437-based, as the kernel's default and console-setup's
# Lat15 fonts) can show: printable ASCII and CP437's upper half (box drawing, shades).
CONSOLE_GLYPHS = frozenset(chr(c) for c in range(32, 127)) | frozenset(
    bytes(range(128, 256)).decode("cp437"))


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run `async def` tests (Pilot needs an event loop) without an asyncio plugin."""
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        names = pyfuncitem._fixtureinfo.argnames
        asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
        return True
    return None


def screen_text(app: WizardApp) -> str:
    """What the terminal shows now, as text (the active screen, dialogs included)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def flat(text: str) -> str:
    """The screen's text with line breaks and runs of spaces folded, to find wrapped text."""
    return " ".join(text.split())


async def settle(pilot, app: WizardApp) -> None:
    """Let workers finish and the UI process what they posted."""
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def until(pilot, predicate: Callable[[], bool], what: str, limit: float = 120.0) -> None:
    """Wait (not a timing assertion: the limit only bounds a hung test) for predicate."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while not predicate():
        if loop.time() > end:
            raise AssertionError(f"never happened: {what}")
        await pilot.pause(0.02)


@pytest.fixture
def debian_root(tmp_path: Path) -> Path:
    return make_root(tmp_path, "debian-12")


@pytest.fixture
def ubuntu_root(tmp_path: Path) -> Path:
    return make_root(tmp_path, "ubuntu-22.04")


@pytest.fixture
def make_app():
    """WizardApp with deterministic settings: no cursor blink, no SSH, chosen look, and a
    countdown clock that ticks only when the test advances it (app.clock.advance)."""

    def make(root: Path, *, os_override: Optional[str] = None, engine=None,
             env: Optional[dict] = None, console: bool = False, dry_run: bool = False,
             method: Optional[str] = None, keys_file: Optional[str] = None) -> WizardApp:
        return WizardApp(root=str(root), os_override=os_override, method=method,
                         dry_run=dry_run, engine=engine, env=env or {}, console=console,
                         clock=ManualClock(), cursor_blink=False, keys_file=keys_file)

    return make
