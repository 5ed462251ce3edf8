"""Issue 23's measure: a first visit and a second visit (add a VIP, then, on a third,
remove one) each take at most 10 keys besides typing the VIP, and no Ctrl chord (a
browser's VNC console keeps those for itself). Every key is pressed through Pilot at 80x24
and counted; the transaction is scripted (tests/fakes/engine.py), the rest is the real
engine on a fixture root that a visit leaves as the real apply would (configured())."""

from __future__ import annotations

from pathlib import Path

from clb_wizard.screens.clb_type import ClbTypeScreen
from clb_wizard.screens.done import DoneScreen
from clb_wizard.screens.options import OptionsScreen
from clb_wizard.screens.preview import PreviewScreen
from clb_wizard.screens.start import StartScreen
from clb_wizard.screens.verify import VerifyScreen
from clb_wizard.screens.vips import VipsScreen
from tests.fakes.engine import FakeEngine
from tests.fixtures.roots import VIP1, VIP2
from tests.ui.conftest import settle
from tests.ui.test_pilot import SIZE, configured

LIMIT = 10


class Keyboard:
    """Presses keys (and types text) and counts the keys, text not included."""

    def __init__(self, pilot, app) -> None:
        self.pilot, self.app, self.keys = pilot, app, []

    async def press(self, *keys: str) -> None:
        for key in keys:
            self.keys.append(key)
            await self.pilot.press(key)
            await settle(self.pilot, self.app)

    async def type(self, text: str) -> None:
        await self.pilot.press(*text)

    def counted(self) -> int:
        assert not [k for k in self.keys if "ctrl" in k], self.keys
        return len(self.keys)


async def visit(make_app, root: Path, steps) -> tuple[Keyboard, object]:  # noqa: ANN001
    engine = FakeEngine(root)
    app = make_app(Path("/"), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        keyboard = Keyboard(pilot, app)
        await steps(keyboard, app)
    assert engine.transactions and app.state.results.outcome.status == "applied"
    assert app.return_value == 0
    return keyboard, app


async def test_a_first_visit_takes_ten_keys_for_an_external_clb(make_app, debian_root):
    async def steps(k: Keyboard, app) -> None:
        assert isinstance(app.screen, StartScreen)
        await k.press("enter")
        assert isinstance(app.screen, ClbTypeScreen)
        await k.press("down", "enter")
        await k.type(VIP1)
        await k.press("enter", "enter")  # add it, go on
        assert isinstance(app.screen, OptionsScreen)
        await k.press("enter")
        assert isinstance(app.screen, PreviewScreen)
        await k.press("enter", "enter")  # apply? yes (the focused answer)
        assert isinstance(app.screen, VerifyScreen)  # a kept change shows its checks
        await k.press("enter")
        assert isinstance(app.screen, DoneScreen)
        await k.press("enter")  # quit

    keyboard, app = await visit(make_app, debian_root, steps)
    assert app.state.results.plan.vips == (VIP1,)
    assert keyboard.counted() <= LIMIT, keyboard.keys


async def test_a_second_visit_adds_a_vip_in_ten_keys(make_app, debian_root):
    configured(debian_root, VIP1)  # as the first visit left it

    async def steps(k: Keyboard, app) -> None:
        await k.press("enter", "enter")  # Start; the CLB type as it is
        assert isinstance(app.screen, VipsScreen) and app.state.choices.vips == [VIP1]
        await k.type(VIP2)
        await k.press("enter", "enter", "enter", "enter", "enter")  # add, on, on, apply, yes
        assert isinstance(app.screen, VerifyScreen)
        await k.press("enter", "enter")

    keyboard, app = await visit(make_app, debian_root, steps)
    assert app.state.results.plan.vips == (VIP1, VIP2) and not app.state.results.plan.removed
    assert keyboard.counted() <= LIMIT, keyboard.keys


async def test_a_later_visit_removes_a_vip_in_ten_keys_saying_so(make_app, debian_root):
    configured(debian_root, VIP1, VIP2)  # as the second visit left it

    async def steps(k: Keyboard, app) -> None:
        await k.press("enter", "enter")
        assert isinstance(app.screen, VipsScreen)
        await k.press("tab", "delete")  # the list; the first VIP leaves service
        assert app.state.choices.leaving == [VIP1]
        await k.press("enter", "enter", "enter")  # on, Options, Preview: the question
        # Taking a VIP out of service is said in plain words and needs a Y: Enter alone
        # would answer "Not yet".
        assert app.screen.focused.id == "no"
        await k.press("y")
        assert isinstance(app.screen, VerifyScreen)
        await k.press("enter", "enter")

    keyboard, app = await visit(make_app, debian_root, steps)
    assert app.state.results.plan.vips == (VIP2,) and app.state.results.plan.removed == (VIP1,)
    assert keyboard.counted() <= LIMIT, keyboard.keys
