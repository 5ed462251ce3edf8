"""Every step of the wizard and the whole flow, driven by the keyboard through Pilot, at
80x24. Detection, the VIP checks and planning are the real engine on a fixture root; where
a step needs an apply that fails, waits, or is refused, tests/fakes/engine.py says what stands
in and why."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from rich.syntax import Syntax
from textual.widgets import Input

from clb_wizard.invocation import root_command
from clb_wizard.screens.apply import ApplyScreen
from clb_wizard.screens.clb_type import ClbTypeScreen
from clb_wizard.screens.dialogs import CountdownDialog, QuestionDialog, RecoveryDialog
from clb_wizard.screens.done import DoneScreen
from clb_wizard.screens.options import OptionsScreen
from clb_wizard.screens.preview import PreviewScreen
from clb_wizard.screens.start import StartScreen
from clb_wizard.screens.verify import VerifyScreen
from clb_wizard.screens.vips import VipsScreen
from clb_wizard.service import Options, Service
from clb_wizard.transaction import Outcome
from clb_wizard.vips import VipError, VipReport, parse_vip
from tests.fakes.engine import FakeEngine, interrupted_journal, restored_facts
from tests.fixtures.roots import VIP1, VIP2, apply_files
from tests.ui.conftest import flat, screen_text, settle, until

SIZE = (80, 24)


async def to_vips(pilot, app, kind: str = "external") -> None:
    """Start -> CLB type -> VIPs, by keys."""
    await settle(pilot, app)
    assert isinstance(app.screen, StartScreen)
    await pilot.press("enter")
    assert isinstance(app.screen, ClbTypeScreen)
    await pilot.press(*(["down"] if kind == "external" else []), "enter")
    assert isinstance(app.screen, VipsScreen)


async def type_text(pilot, text: str) -> None:
    await pilot.press(*text)


async def add_vip_and_go(pilot, app, vip: str = VIP1) -> None:
    """On VIPs: type one, Enter adds it, Enter on the empty field goes on to Options."""
    await type_text(pilot, vip)
    await pilot.press("enter", "enter")
    assert isinstance(app.screen, OptionsScreen)


async def to_planned(pilot, app, kind: str = "external") -> None:
    """Start -> ... -> VIPs (VIP1 typed) -> Options as they are -> the Preview, planned."""
    await to_vips(pilot, app, kind)
    await add_vip_and_go(pilot, app)
    await pilot.press("enter")
    await settle(pilot, app)


async def applied_text(pilot, app) -> str:
    """Plan VIP1, say yes to the apply, and return the Apply step's text once it ended."""
    await to_planned(pilot, app)
    await pilot.press("enter", "y")
    await settle(pilot, app)
    return flat(screen_text(app))


def configured(root: Path, *vips: str) -> None:
    """The root as clb-wizard left it after an earlier run with these VIPs."""
    plan = Service(root).plan(Options(vips=vips, clb_type="external", os_override="debian-12"))
    apply_files(root, plan)


# -- Start ------------------------------------------------------------------------------------
async def test_start_shows_the_detected_host(make_app, ubuntu_root):
    app = make_app(ubuntu_root, os_override="ubuntu-22.04")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        text = flat(screen_text(app))
        assert "Step 1 of 8" in text
        assert "Ubuntu 22.04 (ubuntu-22.04, assumed with --os ubuntu-22.04)" in text
        assert "netplan (configured), systemd-networkd 249" in text
        assert "Method netplan: netplan configures this host" in text
        assert "not read: this is a preview of another system" in text
        assert "preview of" in text and "nothing is changed" in text
        assert app.state.host.platform.method == "netplan"
        assert app.state.choices.dry_run and app.state.launch.preview


async def test_start_detects_from_the_root_and_says_not_root(make_app, debian_root):
    engine = FakeEngine(debian_root, is_root=False)
    app = make_app(Path("/"), engine=engine)  # a live run as a user, on a Debian 12 root
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        text = flat(screen_text(app))
        assert "Debian GNU/Linux 12 (bookworm) (debian-12, detected)" in text
        assert "Method ifupdown" in text
        to_apply = root_command(is_root=False)  # sudo, or the full path sudo needs
        assert f"not root: you can walk through and preview; to apply, run {to_apply}" in text
        assert app.state.choices.dry_run, "without root only a dry run can work"


async def test_start_shows_an_unsupported_system_and_stays(make_app, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    app = make_app(empty)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        text = flat(screen_text(app))
        assert "OS not supported" in text
        assert "Cannot tell the OS" in text
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, StartScreen)


async def test_start_offers_recovery_of_an_interrupted_change_first(make_app, debian_root):
    outcome = Outcome(0, "recovered-back", "Rolled back (interrupted at written): the host is "
                      "as it was before.", "20240101-000000-feed01",
                      rollback_verification=restored_facts())
    engine = FakeEngine(debian_root, pending=interrupted_journal(), recover_outcome=outcome)
    app = make_app(Path("/"), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert isinstance(app.screen, RecoveryDialog)
        text = flat(screen_text(app))
        assert "An unfinished change was found" in text
        assert "The change 20240101-000000-feed01 (VIPs 203.0.113.10) stopped" in text
        assert "after writing the files, before activating them." in text  # wording.py
        assert "'written'" not in text
        await pilot.press("enter")  # Recover now
        await settle(pilot, app)
        text = flat(screen_text(app))
        assert "Rolled back (interrupted at written)" in text
        assert "[ OK ] lo addresses as before: same as before" in text
        await pilot.press("enter")  # Continue
        await settle(pilot, app)
        assert isinstance(app.screen, StartScreen)
        assert app.state.host.pending is None
        await pilot.press("enter")
        assert isinstance(app.screen, ClbTypeScreen)


async def test_start_refuses_to_go_on_while_a_change_is_unfinished(make_app, debian_root):
    engine = FakeEngine(debian_root, pending=interrupted_journal())
    app = make_app(Path("/"), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("tab", "enter")  # "Not now"
        await pilot.pause()
        assert isinstance(app.screen, StartScreen)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, StartScreen)
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, RecoveryDialog)


# -- CLB type and back navigation ------------------------------------------------------------
async def test_clb_type_explains_both_and_back_keeps_the_choice(make_app, ubuntu_root):
    app = make_app(ubuntu_root, os_override="ubuntu-22.04")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("enter")
        text = flat(screen_text(app))
        assert "Internal CLB Clients inside your VPC reach it on one private VIP" in text
        assert "External CLB Clients on the internet reach it on its public EIPs" in text
        await pilot.press("down", "enter")
        assert app.state.choices.clb_type == "external"
        assert isinstance(app.screen, VipsScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, ClbTypeScreen)
        assert app.screen.query_one("#types").highlighted == 1
        await pilot.press("escape")
        assert isinstance(app.screen, StartScreen)
        await pilot.press("escape")  # the first step: nowhere to go back to
        assert isinstance(app.screen, StartScreen)


# -- VIPs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["10.0.0.300", "203.0.113.10/24", "2001:db8::1", "127.0.0.1",
                                   "example.com"])
async def test_invalid_vip_shows_the_engines_own_message(make_app, ubuntu_root, typed):
    with pytest.raises(VipError) as expected:
        parse_vip(typed)
    app = make_app(ubuntu_root, os_override="ubuntu-22.04")
    async with app.run_test(size=SIZE) as pilot:
        await to_vips(pilot, app)
        await type_text(pilot, typed)
        await pilot.pause()
        assert app.screen.query_one("#message").render().plain == str(expected.value)
        assert flat(str(expected.value)) in flat(screen_text(app))
        await pilot.press("enter")
        await pilot.pause()
        assert app.state.choices.vips == []
        assert isinstance(app.screen, VipsScreen)


async def test_vips_are_added_removed_and_given_once(make_app, ubuntu_root):
    app = make_app(ubuntu_root, os_override="ubuntu-22.04")
    async with app.run_test(size=SIZE) as pilot:
        await to_vips(pilot, app)
        await pilot.press("enter")  # nothing yet: refuses to go on
        assert isinstance(app.screen, VipsScreen)
        app.screen.query_one("#vip", Input).value = f"{VIP1}, {VIP2}"
        await pilot.press("enter")
        assert app.state.choices.vips == [VIP1, VIP2]
        await type_text(pilot, VIP1)
        await pilot.press("enter")
        await pilot.pause()
        assert app.state.choices.vips == [VIP1, VIP2]
        assert f"{VIP1} is listed twice: give each VIP once." in flat(screen_text(app))
        app.screen.query_one("#vip", Input).value = ""
        await pilot.press("tab", "down", "delete")  # to the list, the second one, remove
        await pilot.pause()
        assert app.state.choices.vips == [VIP1]
        text = screen_text(app)
        assert VIP2 not in text.split("VIPs to configure")[1].split("\n")[1]
        await pilot.press("shift+tab", "enter")  # back in the field, empty: go on
        assert isinstance(app.screen, OptionsScreen)


async def test_vip_warnings_must_be_acknowledged(make_app, ubuntu_root):
    # Every documentation address (the only ones tests use) is neither private nor public,
    # so the engine never warns about them: a report with the engine's wording stands in.
    warning = (f"{VIP1} is a public address, but an internal CLB's VIP is private "
               "(10/8, 172.16/12, 192.168/16 or 100.64/10). Check the CLB type.")

    def report(entries):
        return VipReport(tuple(entries), "internal", (warning,) if entries else ())

    engine = FakeEngine(ubuntu_root, vip_report=report)
    app = make_app(ubuntu_root, os_override="ubuntu-22.04", engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await to_vips(pilot, app, "internal")
        await type_text(pilot, VIP1)
        await pilot.press("enter")
        assert f"Warning: {warning}" in flat(screen_text(app))
        await pilot.press("enter")
        assert isinstance(app.screen, QuestionDialog)
        assert "do not look like an internal CLB's" in flat(screen_text(app))
        await pilot.press("enter")  # the focused answer is "Fix them"
        assert isinstance(app.screen, VipsScreen)
        assert not app.state.choices.force
        await pilot.press("enter")
        await pilot.press("y")
        assert isinstance(app.screen, OptionsScreen)
        assert app.state.choices.force


# -- Options -------------------------------------------------------------------------------------
async def test_options_toggle_with_space_and_explain(make_app, debian_root):
    engine = FakeEngine(debian_root)
    app = make_app(Path("/"), engine=engine, env={"SSH_CONNECTION": "192.0.2.1 5 192.0.2.2 22"})
    async with app.run_test(size=SIZE) as pilot:
        await to_vips(pilot, app)
        await add_vip_and_go(pilot, app)
        text = flat(screen_text(app))
        assert "[ ] Set the ARP sysctls (arp_ignore=1, arp_announce=2)" in text
        assert "[X] Confirm timer: keep the change only if I confirm within 120 s" in text
        assert "On by default over SSH." in text
        assert "[ ] Dry run" in text
        await pilot.press("space")  # ARP on
        await pilot.press("tab", "space")  # confirm timer off
        await pilot.press("tab", "space")  # dry run on
        await pilot.pause()
        choices = app.state.choices
        assert choices.arp_sysctls and not choices.confirm_timer and choices.dry_run
        assert "[X] Set the ARP sysctls" in flat(screen_text(app))
        await pilot.press("enter")
        assert isinstance(app.screen, PreviewScreen)


async def test_options_dry_run_is_fixed_for_a_preview(make_app, ubuntu_root):
    app = make_app(ubuntu_root, os_override="ubuntu-22.04")
    async with app.run_test(size=SIZE) as pilot:
        await to_vips(pilot, app)
        await add_vip_and_go(pilot, app)
        assert app.screen.query_one("#dry").disabled
        assert "Always on when walking through another system" in flat(screen_text(app))


# -- Preview -----------------------------------------------------------------------------------
async def test_preview_shows_the_diff_and_the_commands(make_app, debian_root):
    app = make_app(debian_root, os_override="debian-12")
    async with app.run_test(size=SIZE) as pilot:
        await to_planned(pilot, app)
        assert isinstance(app.screen, PreviewScreen)
        plan = app.state.results.plan
        change = plan.files[0]
        body = app.screen.query_one("#plan")
        texts = [str(w.content) for w in body.children if isinstance(w.content, str)]
        diffs = [w.content for w in body.children if isinstance(w.content, Syntax)]
        assert f"{change.action} {change.path} (mode {change.mode:04o})" in texts
        assert [d.code for d in diffs] == [change.diff().rstrip("\n")]
        assert diffs[0].lexer.name == "Diff"
        assert "Commands, in order:" in texts
        assert f"1. {plan.commands[0].shell()}" in texts
        assert app.screen.query_one("#next").label.plain == "Dry run >"


async def test_preview_says_no_change_needed(make_app, debian_root):
    configured(debian_root, VIP1)
    app = make_app(debian_root, os_override="debian-12")
    async with app.run_test(size=SIZE) as pilot:
        await to_vips(pilot, app)
        assert app.state.choices.vips == [VIP1], "starts with the VIP configured earlier"
        await pilot.press("enter", "enter")  # VIPs as they are, Options
        await settle(pilot, app)
        assert "No change needed: this host already has exactly this configuration." in flat(
            screen_text(app))
        assert not app.state.results.plan.changed
        assert app.screen.query_one("#next").label.plain == "Verify >"


async def test_preview_shows_a_planning_error_in_place(make_app, debian_root):
    class Broken(FakeEngine):
        def plan(self, options, platform=None):  # noqa: ANN001, ANN201
            raise VipError(f"{VIP1} is already this host's own address on eth0: putting it on "
                           "the loopback would cut the host off. Use the CLB's VIP, not the "
                           "backend's IP.")

    app = make_app(debian_root, os_override="debian-12", engine=Broken(debian_root))
    async with app.run_test(size=SIZE) as pilot:
        await to_planned(pilot, app)
        text = flat(screen_text(app))
        assert "Cannot plan this change:" in text
        assert "already this host's own address on eth0" in text
        await pilot.press("enter")
        assert isinstance(app.screen, PreviewScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, OptionsScreen)


# -- the whole flow --------------------------------------------------------------------------
async def test_whole_flow_by_keyboard_in_a_dry_run(make_app, ubuntu_root):
    app = make_app(ubuntu_root, os_override="ubuntu-22.04")
    async with app.run_test(size=SIZE) as pilot:
        await to_planned(pilot, app)
        assert isinstance(app.screen, PreviewScreen)
        text = flat(screen_text(app))  # a dry run says "would" everywhere (issue 11)
        assert "This is exactly what would change." in text and "Enter shows a dry run" in text
        assert "goes on to apply it" not in text
        await pilot.press("enter")  # dry run: no question
        assert isinstance(app.screen, ApplyScreen)
        await settle(pilot, app)
        text = flat(screen_text(app))
        assert "A dry run: each step is listed as it would run." in text
        assert "being applied" not in text and "cannot be interrupted" not in text
        assert "[..] would create /etc/netplan/90-clb-wizard-lo.yaml" in text
        assert "Dry run: nothing was changed." in text
        assert "100%" in text
        assert "[..] would run: netplan generate" in text
        assert "[ok]" not in text, "a dry run claims nothing ran"
        await pilot.press("escape")  # back to the preview is allowed after a dry run
        assert isinstance(app.screen, PreviewScreen)
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        await pilot.press("enter")
        assert isinstance(app.screen, VerifyScreen)
        text = flat(screen_text(app))
        assert "A real run checks:" in text
        assert f"[ -- ] {VIP1}/32 is an address of lo" in text
        await pilot.press("enter")
        assert isinstance(app.screen, DoneScreen)
        assert "Dry run finished: nothing was changed." in flat(screen_text(app))
        await pilot.press("enter")
    assert app.return_value == 0


async def test_whole_flow_applied_shows_checks_undo_and_log(make_app, debian_root):
    engine = FakeEngine(debian_root)  # the transaction is scripted: tests/fakes/engine.py
    app = make_app(Path("/"), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await to_planned(pilot, app)
        assert app.screen.query_one("#next").label.plain == "Apply >"
        await pilot.press("enter")
        assert isinstance(app.screen, QuestionDialog)
        assert "Apply this change now?" in flat(screen_text(app))
        await pilot.press("y")
        await settle(pilot, app)
        assert isinstance(app.screen, VerifyScreen), "a kept change goes on to its checks"
        text = flat(screen_text(app))
        assert f"[ OK ] {VIP1} on lo: {VIP1}/32 on lo (label lo:0)" in text
        assert "[WARN] ARP sysctls: arp_ignore=0" in text
        await pilot.press("escape")  # the apply's log is one Esc away
        assert isinstance(app.screen, ApplyScreen)
        assert "Applied and verified." in flat(screen_text(app))
        await pilot.press("escape")  # a kept change is not undone by going back
        assert isinstance(app.screen, ApplyScreen)
        await pilot.press("enter", "enter")
        text = flat(screen_text(app))
        assert "The VIPs are on lo, verified, and will stay there after a reboot." in text
        assert "Undo it (what this run changed, nothing older):" in text
        app.screen.query_one("#summary").scroll_end(animate=False)
        await pilot.pause()
        text = flat(screen_text(app))
        assert root_command("rollback", is_root=True) in text
        assert "Log: /var/lib/clb-wizard/log/test.log" in text
        await pilot.press("enter")
    assert app.return_value == 0


async def test_failed_apply_shows_the_rollback_and_what_next(make_app, debian_root):
    app = make_app(Path("/"), engine=FakeEngine(debian_root, ending="rolled-back"))
    async with app.run_test(size=SIZE) as pilot:
        text = await applied_text(pilot, app)
        assert "FAILED: the change was rolled back." in text
        assert "ifup lo:0 failed. The host was rolled back to exactly how it was." in text
        assert "What to try next" in text
        assert "[!!] `ifup lo:0` exited 1: ifup: simulated failure" in text
        await pilot.press("enter")
        text = flat(screen_text(app))
        assert "Why it was rolled back (checked before the rollback):" in text
        assert f"[FAIL] {VIP1} on lo: not an address of lo" in text
        assert "After the rollback:" in text
        assert "[ OK ] lo addresses as before: same as before" in text
        # a file the change had created is not "restored byte-exact" (issue 23 item 15)
        assert ("[ OK ] /etc/network/interfaces.d/clb-wizard-lo: removed again (it did not "
                "exist before the change)") in text and "byte-exact" not in text
        await pilot.press("enter")
        assert "Nothing was changed: the change failed and was rolled back." in flat(
            screen_text(app))
        await pilot.press("escape", "escape", "escape")  # Verify, Apply, the preview
        assert isinstance(app.screen, PreviewScreen)
        await settle(pilot, app)
        assert app.state.results.plan is not None, "planned again after the rollback"
        await pilot.press("f10")
    assert app.return_value == 3, "the failure stays the last word (issue 23 item 6)"


async def test_a_failed_rollback_shows_the_steps_to_do_by_hand(make_app, debian_root):
    app = make_app(Path("/"), engine=FakeEngine(debian_root, ending="rollback-failed"))
    async with app.run_test(size=SIZE) as pilot:
        text = await applied_text(pilot, app)
        assert "FAILED, and the rollback could not finish." in text
        assert "Put the host back by hand with:" in text
        assert f"ip addr del {VIP1}/32 dev lo" in text
        await pilot.press("enter", "enter")
        assert "The rollback could not finish: put the host back by hand" in flat(
            screen_text(app))
        await pilot.press("enter")
    assert app.return_value == 4


async def test_a_refused_apply_changes_nothing_and_allows_back(make_app, debian_root):
    app = make_app(Path("/"), engine=FakeEngine(debian_root, ending="refused"))
    async with app.run_test(size=SIZE) as pilot:
        text = await applied_text(pilot, app)
        assert "Nothing was changed: Changing the network configuration needs root" in text
        assert app.screen.query_one("#next").disabled
        assert app.state.results.outcome is None and not app.state.results.applying
        await pilot.press("escape")
        assert isinstance(app.screen, PreviewScreen)


async def test_a_plan_changed_since_the_preview_is_refused_and_nothing_applied(make_app,
                                                                              debian_root):
    # Between the Preview and the Apply another run changes the host (here the file it
    # writes, on the fixture root). The Apply step plans again under the lock
    # (Service.apply): that is not the change the Preview showed, so it is refused and
    # nothing is applied. Back on the Preview the new plan is shown (it would take the
    # other run's VIP out of service), and that one is applied. The same with real
    # processes and the real lock: tests/live/test_one_door_live.py.
    engine = FakeEngine(debian_root)
    app = make_app(Path("/"), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await to_planned(pilot, app)
        shown = app.state.results.plan
        assert [c.action for c in shown.files] == ["create"] and not shown.removed
        configured(debian_root, VIP2)  # the other run
        await pilot.press("enter", "y")
        await settle(pilot, app)
        assert isinstance(app.screen, ApplyScreen)
        text = flat(screen_text(app))
        assert ("Nothing was changed: This host changed since the Preview "
                "(/etc/network/interfaces.d/clb-wizard-lo changed)") in text
        assert "Go back to the Preview to see the new plan, then apply." in text
        (transaction,) = engine.transactions
        assert transaction.held == 1, "planned again under the lock"
        assert transaction.applied == [], "nothing was applied"
        results = app.state.results
        assert results.outcome is None and results.refused.startswith("This host changed")
        assert app.screen.query_one("#next").disabled
        await pilot.press("escape")
        await settle(pilot, app)
        assert isinstance(app.screen, PreviewScreen)
        fresh = app.state.results.plan
        assert fresh.removed == (VIP2,) and list(fresh.vips) == [VIP1]
        assert f"Leaving service: {VIP2} is on this host now" in flat(screen_text(app))
        await pilot.press("enter")
        assert isinstance(app.screen, QuestionDialog)
        await pilot.press("y")
        await settle(pilot, app)
        assert isinstance(app.screen, VerifyScreen)
        assert engine.transactions[-1].applied == [fresh]
        await pilot.press("f10")
    assert app.return_value == 0


async def test_quitting_while_applying_is_refused(make_app, debian_root):
    release = threading.Event()
    engine = FakeEngine(debian_root, release=release)
    app = make_app(Path("/"), engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await to_planned(pilot, app)
        await pilot.press("enter", "y")
        await until(pilot, lambda: "write /etc/network" in screen_text(app), "the write step")
        await pilot.press("f10", "q")  # no Ctrl chord needed; both refused now
        await pilot.press("escape", "escape", "escape")
        await pilot.pause()
        assert app.is_running
        assert isinstance(app.screen, ApplyScreen)
        said = [n.message for n in app._notifications]  # the toasts on screen
        assert any("quitting now could leave it half done" in m for m in said)
        # Esc pressed three times: one toast, not three stacked over the log
        assert said.count("The change is being applied: wait until it finishes.") == 1
        release.set()
        await settle(pilot, app)
        assert isinstance(app.screen, VerifyScreen)
        assert not any("quitting now" in n.message for n in app._notifications), \
            "the notice ends with the apply"
        await pilot.press("f10")
    assert app.return_value == 0


# -- the confirm-or-revert countdown -----------------------------------------------------------
async def confirm_flow(pilot, app) -> None:
    await to_planned(pilot, app)
    assert app.state.choices.confirm_timer, "on by default over SSH"
    await pilot.press("enter", "y")
    await until(pilot, lambda: isinstance(app.screen, CountdownDialog), "the countdown")
    await until(pilot, lambda: "unless you keep it." in flat(screen_text(app)),
                "the countdown drawn")


async def test_countdown_keep(make_app, debian_root):
    engine = FakeEngine(debian_root)
    app = make_app(Path("/"), engine=engine, env={"SSH_CONNECTION": "192.0.2.1 5 192.0.2.2 22"})
    async with app.run_test(size=SIZE) as pilot:
        await confirm_flow(pilot, app)
        text = flat(screen_text(app))
        assert "Keep this change?" in text
        # the clock ticks only when told (tests/fakes/engine.py: ManualClock)
        assert "Rolled back in 120 s unless you keep it." in text
        app.clock.advance(3)
        await pilot.pause()
        assert "Rolled back in 117 s unless you keep it." in flat(screen_text(app))
        await pilot.press("y")
        await settle(pilot, app)
        assert app.state.results.outcome.status == "applied"
        assert isinstance(app.screen, VerifyScreen), "a kept change goes on to its checks"
        assert engine.transactions[0].polls[0] == 120


async def test_countdown_runs_out_and_is_not_called_a_failure(make_app, debian_root):
    engine = FakeEngine(debian_root)
    app = make_app(Path("/"), engine=engine, env={"SSH_CONNECTION": "192.0.2.1 5 192.0.2.2 22"})
    async with app.run_test(size=SIZE) as pilot:
        await confirm_flow(pilot, app)
        app.clock.advance(119)
        await pilot.pause()
        assert app.state.results.outcome is None, "one second is left"
        app.clock.advance(1)
        await until(pilot, lambda: app.state.results.outcome is not None, "the outcome")
        await settle(pilot, app)
        # The countdown ran out and answered "revert": the scripted transaction reverts
        # only on that answer.
        assert app.screen.countdown.left == 0
        assert not isinstance(app.screen, CountdownDialog)
        assert app.state.results.outcome.status == "rolled-back"
        assert app.state.results.unconfirmed == "out"
        text = flat(screen_text(app))
        assert "Not confirmed in time: rolled back. Apply again and confirm." in text
        assert "FAILED" not in text and "Fix its cause" not in text
        await pilot.press("enter")  # the checks: none reads as if the VIP were still up
        text = flat(screen_text(app))
        assert "every check of the change passed: it worked, it was just not kept" in text
        assert f"[ OK ] {VIP1} on lo" not in text and "After the rollback:" in text
        await pilot.press("enter")  # Done
        text = flat(screen_text(app))
        assert "Not confirmed in time: rolled back. Apply again and confirm." in text
        assert "failed" not in text.lower()
        await pilot.press("enter")
    assert app.return_value == 3


async def test_countdown_revert_now(make_app, debian_root):
    engine = FakeEngine(debian_root)
    app = make_app(Path("/"), engine=engine, env={"SSH_CONNECTION": "192.0.2.1 5 192.0.2.2 22"})
    async with app.run_test(size=SIZE) as pilot:
        await confirm_flow(pilot, app)
        await pilot.press("n")
        await settle(pilot, app)
        assert app.state.results.outcome.status == "rolled-back"
        assert "Reverted, as you asked: the host is as it was." in flat(screen_text(app))


async def test_closing_the_apply_question_does_not_plan_again_under_the_apply(make_app,
                                                                            debian_root):
    # The question closing resumes the Preview underneath while the Apply step starts: the
    # Preview must not plan again then (it cleared the plan the apply was about to use,
    # seen as "'NoneType' object has no attribute 'platform'" on a loaded machine).
    release = threading.Event()
    engine = FakeEngine(debian_root, ending="rolled-back", release=release)
    app = make_app(Path("/"), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await to_planned(pilot, app)
        plan = app.state.results.plan
        preview = app.screen
        await pilot.press("enter", "y")
        await until(pilot, lambda: isinstance(app.screen, ApplyScreen), "the Apply step")
        await pilot.pause()
        assert app.screen.plan is plan and app.state.results.plan is plan
        assert not preview.planning, "no new plan while the apply runs"
        release.set()
        await settle(pilot, app)
        assert app.state.results.outcome.status == "rolled-back"
        await pilot.press("escape")  # back to the Preview after the apply: it plans again
        await settle(pilot, app)
        assert isinstance(app.screen, PreviewScreen)
        assert app.state.results.plan is not None and app.state.results.plan is not plan
