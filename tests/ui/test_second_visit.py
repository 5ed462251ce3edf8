"""Issue 11 in the wizard, by keyboard through Pilot at 80x24: the second visit (the VIPs
clb-wizard manages are kept, removing one is an explicit act named everywhere), dry runs
that never claim to have run, old systems, the ARP fix on Verify, Enter everywhere,
the live hint, rollback and log from Done, and the smaller items. Where an apply is needed
tests/fakes/engine.py scripts the transaction (the real one runs in tests/ui/test_live.py)."""

from __future__ import annotations

import shlex
import threading
from pathlib import Path

from textual.widgets import Input

from clb_wizard.facts import HostAddresses
from clb_wizard.handoff import bundle_name
from clb_wizard.screens.apply import StepLog
from clb_wizard.screens.clb_type import ClbTypeScreen
from clb_wizard.screens.controls import command_lines
from clb_wizard.screens.dialogs import LogDialog, QuestionDialog
from clb_wizard.screens.done import DoneScreen
from clb_wizard.screens.preview import PreviewScreen
from clb_wizard.screens.start import StartScreen
from clb_wizard.screens.verify import VerifyScreen
from clb_wizard.screens.vips import VipsScreen
from tests.fakes.engine import FakeEngine
from tests.fixtures.roots import VIP1, VIP2, make_root
from tests.ui.conftest import flat, screen_text, settle, until
from tests.ui.test_pilot import SIZE, add_vip_and_go, configured, to_planned, to_vips, type_text


def footer(app) -> str:
    return screen_text(app).splitlines()[-1]


async def footer_shows(pilot, app, *keys: str) -> None:
    """Wait for the footer (drawn after the screen) to name these keys."""
    await until(pilot, lambda: all(k in footer(app) for k in keys), f"{keys} in the footer")


async def to_applied(pilot, app) -> None:
    """VIPs (one typed) -> Options -> Preview -> the question, answered by Enter -> Apply,
    which goes on to Verify by itself once the change is kept."""
    await to_planned(pilot, app)
    await pilot.press("enter", "enter")
    await settle(pilot, app)
    assert isinstance(app.screen, VerifyScreen)


async def to_preview(pilot, app) -> None:
    await pilot.press("enter", "enter")  # the VIPs as listed, Options
    await settle(pilot, app)
    assert isinstance(app.screen, PreviewScreen)


# -- 1. the second visit ---------------------------------------------------------------------
async def test_second_visit_starts_with_the_managed_vips_and_adds_one(make_app, debian_root):
    configured(debian_root, VIP1)
    app = make_app(debian_root, os_override="debian-12")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert f"Ours {VIP1}: configured by clb-wizard earlier" in flat(screen_text(app))
        await to_vips(pilot, app)
        assert app.state.choices.vips == [VIP1]
        text = flat(screen_text(app))
        assert f"clb-wizard already manages {VIP1} here: it stays on lo." in text
        assert f"{VIP1} documentation range (configured now)" in text
        await type_text(pilot, VIP2)
        await pilot.press("enter")
        assert app.state.choices.vips == [VIP1, VIP2]
        await to_preview(pilot, app)
        plan = app.state.results.plan
        assert plan.vips == (VIP1, VIP2) and plan.removed == ()
        assert "Leaving service" not in flat(screen_text(app))


async def test_removing_a_managed_vip_is_asked_and_named_everywhere(make_app, debian_root):
    configured(debian_root, VIP1, VIP2)
    engine = FakeEngine(debian_root)  # a live run (not a preview): the apply dialog shows
    app = make_app(Path("/"), engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await to_vips(pilot, app)
        assert app.state.choices.vips == [VIP1, VIP2]
        await pilot.press("tab", "delete")  # the list, the first VIP: marked, not gone
        assert isinstance(app.screen, VipsScreen) and app.state.choices.vips == [VIP2]
        text = flat(screen_text(app))
        assert f"{VIP1} documentation range (leaves service)" in text
        assert f"{VIP1} leaves service when you apply (you are asked first; Del again " \
               "keeps it)." in text
        await pilot.press("delete")  # Del again keeps it
        assert app.state.choices.vips == [VIP1, VIP2]
        text = flat(screen_text(app))
        assert f"Kept {VIP1}: it stays on lo." in text and "(leaves service)" not in text
        await pilot.press("delete")
        assert app.state.choices.vips == [VIP2] and app.state.choices.leaving == [VIP1]
        await pilot.press("shift+tab", "enter", "enter")
        await settle(pilot, app)
        assert app.state.results.plan.removed == (VIP1,)
        first_screen = flat(screen_text(app))  # not scrolled: the Preview's first screen
        assert (f"Leaving service: {VIP1} is on this host now and will be taken out of "
                "service: it stops answering here.") in first_screen
        await pilot.press("enter")
        assert isinstance(app.screen, QuestionDialog)
        text = flat(screen_text(app))
        assert f"Apply, and take {VIP1} out of service?" in text
        assert f"{VIP1} is on this host now and will be taken out of service" in text
        assert app.screen.focused.id == "no", "the default button does not remove"
        await pilot.press("enter")
        assert isinstance(app.screen, PreviewScreen)
        said = [n.message for n in app._notifications]
        assert any("Not applied: nothing was changed." in m for m in said)
        assert engine.transactions == []
        await pilot.press("enter", "y")
        await settle(pilot, app)
        assert isinstance(app.screen, VerifyScreen) and len(engine.transactions) == 1


# -- 3. old systems --------------------------------------------------------------------------
async def test_a_preview_of_an_old_system_ends_with_the_script_and_userdata(make_app, tmp_path):
    root = make_root(tmp_path, "centos-7")
    app = make_app(root, os_override="centos-7")
    async with app.run_test(size=SIZE) as pilot:
        await to_planned(pilot, app, "internal")
        await pilot.press("enter")
        await settle(pilot, app)
        await pilot.press("enter", "enter")
        assert isinstance(app.screen, DoneScreen)
        summary = app.screen.query_one("#summary")
        text = " ".join(str(n.content) for n in summary.children)
        assert "CentOS 7 ships Python 3.6; clb-wizard needs 3.9 or later." in text
        assert f"sh {bundle_name()}" in text  # the portable file, one command
        assert "scp clb-wizard" not in text and "ssh -t" not in text  # no scp on a VNC console
        assert "clb-wizard userdata --os centos-7 --vip 203.0.113.10 --type internal" in text
        assert "--force" not in text


# -- 4. the ARP warning and its one-key fix ----------------------------------------------------
async def test_the_arp_warning_is_a_warning_and_a_one_key_fix(make_app, debian_root):
    engine = FakeEngine(debian_root)
    app = make_app(Path("/"), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await to_applied(pilot, app)  # Enter answers the question, as on every step
        await pilot.press("escape")  # the apply's log
        text = flat(screen_text(app))
        assert "[warn] ARP sysctls: arp_ignore=0" in text
        assert "[ok] ARP" not in text and "warning:" not in text
        assert "--arp-sysctls" not in text  # a CLI flag means nothing here
        await pilot.press("enter")
        assert isinstance(app.screen, VerifyScreen)
        text = flat(screen_text(app))
        assert "[WARN] ARP sysctls: arp_ignore=0 arp_announce=0" in text
        assert "--arp-sysctls" not in text
        assert "Press A to set arp_ignore=1 and arp_announce=2 now" in text
        await footer_shows(pilot, app, "A Set ARP sysctls")
        await pilot.press("a")
        await settle(pilot, app)
        text = flat(screen_text(app))
        assert "ARP sysctls set and kept" in text
        assert "[ OK ] ARP sysctls: arp_ignore=1 arp_announce=2" in text
        plan = engine.transactions[-1]
        assert len(engine.transactions) == 2, "its own small transaction"
        assert plan is not None and app.state.results.arp_fix is not None
        await until(pilot, lambda: footer(app).strip() and "Set ARP sysctls" not in footer(app),
                    "the footer without Set ARP sysctls")
        await pilot.press("enter")
        assert "the ARP sysctls set" in flat(screen_text(app))


# -- 5. Enter in the apply dialog ---------------------------------------------------------------
async def test_enter_applies_and_a_cancel_says_so(make_app, debian_root):
    engine = FakeEngine(debian_root)
    app = make_app(Path("/"), engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await to_planned(pilot, app)
        await pilot.press("enter")
        assert isinstance(app.screen, QuestionDialog)
        assert app.screen.focused.id == "yes"
        await until(pilot, lambda: "Enter Choose" in footer(app), "Enter in the footer")
        await pilot.press("n")
        assert isinstance(app.screen, PreviewScreen)
        said = [n.message for n in app._notifications]
        assert any("Not applied: nothing was changed. Enter asks again" in m for m in said)
        await pilot.press("enter", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, VerifyScreen)
        assert app.state.results.outcome.status == "applied"


# -- 6. the live hint runs Enter's checks --------------------------------------------------------
class OwnAddress(FakeEngine):
    def addresses(self, options, platform):  # noqa: ANN001, ANN201
        return HostAddresses(others={"eth0": ("198.51.100.7",)})


async def test_the_live_hint_refuses_what_enter_refuses(make_app, debian_root):
    app = make_app(Path("/"), engine=OwnAddress(debian_root))
    async with app.run_test(size=SIZE) as pilot:
        await to_vips(pilot, app)
        await type_text(pilot, VIP1)
        await pilot.press("enter")
        await type_text(pilot, VIP1)
        await pilot.pause()
        hint = app.screen.query_one("#message").render().plain
        assert f"{VIP1} is listed twice" in hint and "press Enter to add" not in hint
        app.screen.query_one("#vip", Input).value = "198.51.100.7"
        await pilot.pause()
        hint = app.screen.query_one("#message").render().plain
        assert "198.51.100.7 is already this host's own address on eth0" in hint
        assert "press Enter to add" not in hint
        await pilot.press("enter")
        assert app.state.choices.vips == [VIP1]


# -- 7. an early Enter on Start, and Enter in every footer -----------------------------------------
class SlowDetect(FakeEngine):
    def __init__(self, root: Path, gate: threading.Event) -> None:
        super().__init__(root)
        self.gate = gate

    def detect(self, options):  # noqa: ANN001, ANN201
        self.gate.wait(30)
        return super().detect(options)


async def test_an_early_enter_waits_for_detection(make_app, debian_root):
    gate = threading.Event()
    app = make_app(Path("/"), engine=SlowDetect(debian_root, gate))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "Looking at this host..." in screen_text(app),
                    "the spinner")  # drawn after the first frame: wait, do not assume
        await pilot.press("enter")
        # drawn after the key on a loaded machine: wait for it (detection is still held)
        await until(pilot, lambda: "Enter pressed: going on when done" in flat(
            screen_text(app)), "the queued-Enter message")
        assert isinstance(app.screen, StartScreen)
        gate.set()
        await until(pilot, lambda: isinstance(app.screen, ClbTypeScreen), "the CLB type step")


async def test_every_step_shows_enter_in_its_footer(make_app, debian_root):
    app = make_app(Path("/"), engine=FakeEngine(debian_root))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await footer_shows(pilot, app, "Enter Next")
        await pilot.press("enter")
        assert isinstance(app.screen, ClbTypeScreen)
        await footer_shows(pilot, app, "Enter Next")
        await pilot.press("enter")
        assert isinstance(app.screen, VipsScreen)
        await footer_shows(pilot, app, "Enter Add / Next")
        await pilot.press("tab")
        await footer_shows(pilot, app, "Enter Next", "Del Remove VIP")


# -- 8. wrapping at 80 columns ------------------------------------------------------------------
def test_commands_break_only_between_words_and_paste_as_they_are():
    words = ["nmcli", "connection", "modify", "clb-wizard-lo", "+ipv4.addresses",
             "203.0.113.10/32,203.0.113.11/32,198.51.100.20/32", "ipv4.method", "manual"]
    text = command_lines(words, "12. ")
    lines = text.split("\n")
    assert len(lines) > 1 and all(len(line) <= 72 for line in lines)
    assert all(line.endswith(" \\") for line in lines[:-1])
    assert lines[0].startswith("12. nmcli") and all(line.startswith("    ") for line in lines[1:])
    assert shlex.split(text[len("12. "):].replace("\\\n", " ")) == words


async def test_the_apply_log_keeps_every_character(make_app, debian_root):
    app = make_app(Path("/"), engine=FakeEngine(debian_root))
    async with app.run_test(size=SIZE) as pilot:
        await to_applied(pilot, app)
        await pilot.press("escape")
        log = app.screen.query_one("#log", StepLog)
        width = log.scrollable_content_region.width
        assert all(strip.cell_length <= width for strip in log.lines)
        logged = flat(" ".join(strip.text for strip in log.lines))
        assert "the backend may answer ARP for the VIP; set 1 and 2" in logged


# -- 9. rollback and the log from Done ------------------------------------------------------------
async def test_done_offers_rollback_naming_what_goes_back_and_the_log(make_app, debian_root):
    engine = FakeEngine(debian_root)
    app = make_app(Path("/"), engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await to_applied(pilot, app)
        await pilot.press("enter")
        assert isinstance(app.screen, DoneScreen)
        await until(pilot, lambda: "U Roll back" in footer(app) and "L Log" in footer(app),
                    "U and L in the footer")
        await pilot.press("l")
        assert isinstance(app.screen, LogDialog)
        assert "[ok] ifup lo:0" in screen_text(app)
        await pilot.press("escape")
        await pilot.press("u")
        assert isinstance(app.screen, QuestionDialog)
        text = flat(screen_text(app))
        assert f"{VIP1} leave service: they are taken off lo." in text
        assert "/etc/network/interfaces.d/clb-wizard-lo: removed again." in text
        await pilot.press("enter")  # the default keeps the change
        assert engine.rollbacks == 0
        assert any("Not rolled back" in n.message for n in app._notifications)
        await pilot.press("u", "y")
        await settle(pilot, app)
        assert engine.rollbacks == 1
        assert "Rolled back: the host is as it was before." in flat(screen_text(app))
        await until(pilot, lambda: footer(app).strip() and "U Roll back" not in footer(app),
                    "the footer without U Roll back")
        await pilot.press("enter")
    assert app.return_value == 0


# -- 10. the smaller items ----------------------------------------------------------------------
async def test_no_change_needed_is_not_called_an_apply(make_app, debian_root):
    configured(debian_root, VIP1)
    app = make_app(debian_root, os_override="debian-12")
    async with app.run_test(size=SIZE) as pilot:
        await to_vips(pilot, app)
        await to_preview(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        text = flat(screen_text(app))
        assert "Nothing needs changing" in text and "being applied" not in text


async def test_a_preview_is_not_labelled_this_host(make_app, ubuntu_root):
    app = make_app(ubuntu_root, os_override="ubuntu-22.04")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        text = flat(screen_text(app))
        assert "This host" not in text
        assert "(assumed: --os ubuntu-22.04)" in text


async def test_the_chosen_clb_type_is_marked_in_text(make_app, ubuntu_root):
    app = make_app(ubuntu_root, os_override="ubuntu-22.04")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("enter")
        assert "(*) Internal CLB" in screen_text(app) and "( ) External CLB" in screen_text(app)
        await pilot.press("down")
        assert "( ) Internal CLB" in screen_text(app) and "(*) External CLB" in screen_text(app)


async def test_the_first_tab_on_done_shows_where_it_went(make_app, ubuntu_root):
    app = make_app(ubuntu_root, os_override="ubuntu-22.04")
    async with app.run_test(size=SIZE) as pilot:
        await to_vips(pilot, app)
        await add_vip_and_go(pilot, app)
        for _ in range(4):
            await pilot.press("enter")
            await settle(pilot, app)
        assert isinstance(app.screen, DoneScreen)
        await pilot.press("tab")
        focused = app.screen.focused
        assert focused is not None and focused.id == "summary"
        assert focused.styles.border_left[0] == "solid", "the focus is drawn"
