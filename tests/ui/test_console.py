"""The console look: chosen for TERM=linux/vt*, drawn only with glyphs the Linux console
font has, and still readable (focus, ticks, failures) with NO_COLOR."""

from __future__ import annotations

from pathlib import Path

import pytest

from clb_wizard.screens.app import CONSOLE_THEME, WizardApp, console_wanted
from clb_wizard.screens.dialogs import CountdownDialog, QuestionDialog, RecoveryDialog
from clb_wizard.screens.fetch import FetchScreen
from tests.fakes.engine import FakeEngine, interrupted_journal
from tests.ui.conftest import CONSOLE_GLYPHS, screen_text, settle, until
from tests.ui.test_pilot import SIZE, add_vip_and_go, to_vips

SSH = {"SSH_CONNECTION": "192.0.2.1 5 192.0.2.2 22"}


@pytest.mark.parametrize(("env", "wanted"), [
    ({"TERM": "linux"}, True),
    ({"TERM": "linux-16color"}, True),
    ({"TERM": "vt100"}, True),
    ({"TERM": "vt220", "COLORTERM": "truecolor"}, True),  # the font decides, not colours
    ({"TERM": "xterm-256color"}, False),
    ({"TERM": "screen-256color"}, False),
    ({"TERM": "xterm", "COLORTERM": "truecolor"}, False),
    ({"TERM": "xterm"}, True),  # 16 colours: native ANSI colours read best
    ({}, True),
    ({"TERM": "xterm-256color", "CLB_WIZARD_CONSOLE": "1"}, True),
    ({"TERM": "linux", "CLB_WIZARD_CONSOLE": "0"}, False),
])
def test_console_look_is_chosen_by_term(env, wanted):
    assert console_wanted(env) is wanted
    app = WizardApp(env=env)
    assert app.console_look is wanted
    assert (app.theme == CONSOLE_THEME) is wanted
    assert any(p.name == "console.tcss" for p in app.css_path) is wanted


def unknown_glyphs(app) -> set[str]:
    return set(screen_text(app).replace("\n", "")) - CONSOLE_GLYPHS


async def test_every_screen_uses_only_console_glyphs(make_app, debian_root):
    engine = FakeEngine(debian_root, pending=interrupted_journal())
    app = make_app(Path("/"), engine=engine, env=SSH, console=True)
    seen: dict[str, set[str]] = {}

    def look(name: str) -> None:
        seen[name] = unknown_glyphs(app)

    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot, app)
        assert isinstance(app.screen, RecoveryDialog)
        look("recovery")
        await pilot.press("tab", "enter")
        await pilot.press("escape")  # on Start: a toast ("the first step")
        await pilot.pause()
        look("start + toast")
        app.state.host.pending = None
        await pilot.press("enter")
        look("clb type")
        await pilot.press("down", "enter")
        await pilot.press(*"10.0.0.300")
        look("vips + error")
        await pilot.press("f2")
        assert isinstance(app.screen, FetchScreen)
        app.screen.query_one("#private").value = "secret"
        look("fetch")
        await pilot.press("escape")
        app.screen.query_one("#vip").value = ""
        await add_vip_and_go(pilot, app)
        look("options")
        await pilot.press("enter")
        await settle(pilot, app)
        look("preview")
        await pilot.press("enter")
        assert isinstance(app.screen, QuestionDialog)
        look("question")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, CountdownDialog), "the countdown")
        look("countdown")
        await pilot.press("y")
        await settle(pilot, app)
        look("apply")
        await pilot.press("enter")
        look("verify")
        await pilot.press("enter")
        look("done")
    assert len(seen) == 12
    assert {name: glyphs for name, glyphs in seen.items() if glyphs} == {}


async def test_no_color_keeps_focus_and_ticks_visible(make_app, debian_root, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(Path("/"), engine=FakeEngine(debian_root), console=True)
    async with app.run_test(size=SIZE) as pilot:
        assert app.no_color
        await to_vips(pilot, app)
        await add_vip_and_go(pilot, app)
        await pilot.press("space")
        await pilot.pause()
        strips = app.screen._compositor.render_strips()
        line = next(s for s in strips if "Set the ARP sysctls" in s.text)
        assert "[X] Set the ARP sysctls" in line.text  # the state, in characters
        focused = [seg for seg in line if "Set the ARP" in seg.text]
        # NO_COLOR's filter (applied on output) drops colours and keeps these attributes.
        assert focused and all(seg.style.underline and seg.style.bold for seg in focused)
        await pilot.press("tab", "tab", "tab")  # to the Back button
        strips = app.screen._compositor.render_strips()
        back = next(seg for s in strips for seg in s if "< Back" in seg.text)
        assert back.style.reverse
