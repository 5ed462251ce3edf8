"""Issue 23 as the wizard's user meets it, by keyboard through Pilot at 80x24: the summary
left on the terminal, --force carried on, undo that undoes what this run did, a refused
apply's exit code, the cloud keys on a console, the fetch's CLB type, a second visit that
remembers, another change after a kept one, the wording, the console font's glyphs, and
no Ctrl chord anywhere. The transaction is scripted where an apply is needed
(tests/fakes/engine.py); detection, checks and planning are the real engine on a fixture
root. The cloud API is the local fake (tests/fakes/ucloud_api.py)."""

from __future__ import annotations

import shlex
import time
from pathlib import Path

from textual.widgets import Input

from clb_wizard.cloud.credentials import key_checksum
from clb_wizard.invocation import root_command
from clb_wizard.screens.clb_type import ClbTypeScreen
from clb_wizard.screens.dialogs import CountdownDialog, QuestionDialog
from clb_wizard.screens.done import DoneScreen, print_summary, rollback_lines
from clb_wizard.screens.fetch import FetchScreen
from clb_wizard.screens.options import OptionsScreen
from clb_wizard.screens.preview import PreviewScreen
from clb_wizard.screens.start import StartScreen, clb_type_of
from clb_wizard.screens.verify import VerifyScreen
from clb_wizard.screens.vips import VipsScreen
from clb_wizard.screens.widgets import console_safe
from clb_wizard.service import Options, Service
from clb_wizard.statuscode import decode
from clb_wizard.transaction.journal import Journal
from clb_wizard.vips import VipReport
from tests.fakes.engine import FakeEngine
from tests.fixtures.roots import VIP1, VIP2, apply_files, make_root
from tests.ui.conftest import CONSOLE_GLYPHS, flat, screen_text, settle, until
from tests.ui.test_fetch import (  # noqa: F401 - api: the fake API fixture
    PRIVATE,
    PUBLIC,
    api,
    open_discovery,
)
from tests.ui.test_pilot import SIZE, configured, to_planned, to_vips, type_text

SSH = {"SSH_CONNECTION": "192.0.2.1 5 192.0.2.2 22"}
VIP3 = "198.51.100.20"


def footer(app) -> str:
    return screen_text(app).splitlines()[-1]


def unwrapped(text: str) -> str:
    """Text with commands put back on one line (" \\" + newline + indent) and blanks
    folded."""
    return flat(text.replace(" \\\n", " "))


def summary_text(app) -> str:
    """Every line of the Done step's summary, scrolled or not, commands unwrapped."""
    return unwrapped("\n".join(str(n.content) for n in app.screen.query_one("#summary").children))


def twin_text(app) -> str:
    return unwrapped("\n".join(str(n.content) for n in app.screen.query(".code")))


async def applied(pilot, app) -> None:
    """Start -> ... -> the Preview of VIP1, applied (scripted): the Verify step."""
    await to_planned(pilot, app)
    await pilot.press("enter", "y")
    await settle(pilot, app)


def mismatch(entries):
    """The engine's warning for documentation addresses on an internal CLB stands in for a
    real type mismatch (documentation addresses never warn: they are neither private nor
    public)."""
    warning = "these VIPs do not look like an internal CLB's (a stand-in warning)"
    return VipReport(tuple(entries), "internal", (warning,) if entries else ())


# -- 1. what stays on the terminal -----------------------------------------------------------
async def test_the_summary_after_quitting_is_plain_and_its_commands_paste(make_app, debian_root,
                                                                          capsys):
    app = make_app(Path("/"), engine=FakeEngine(debian_root))
    async with app.run_test(size=SIZE) as pilot:
        await to_vips(pilot, app)
        app.screen.query_one("#vip", Input).value = f"{VIP1}, {VIP2}, {VIP3}"
        await pilot.press("enter", "enter", "enter")  # add, Options, Preview
        await settle(pilot, app)
        await pilot.press("enter", "y")  # apply: on to Verify
        await settle(pilot, app)
        await pilot.press("enter", "enter")  # Done, quit
    capsys.readouterr()
    print_summary(app.state)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "The VIPs are on lo, verified, and will stay there after a reboot."
    assert not any(line.startswith("clb-wizard:") for line in lines)
    assert all(len(line) <= 80 for line in lines)
    start = lines.index("The same change from the command line:") + 1
    end = next(n for n in range(start, len(lines)) if not lines[n].endswith(" \\")) + 1
    twin = shlex.split(" ".join(line.removesuffix("\\") for line in lines[start:end]))
    assert twin[twin.index("apply"):] == ["apply", "--vip", VIP1, "--vip", VIP2, "--vip", VIP3,
                                          "--type", "external", "--yes"]
    assert any("--vip" in line for line in lines[start + 1:end]), "wrapped, between words"
    assert root_command("rollback", is_root=True) in [line.strip() for line in lines]


# -- 2. "Continue anyway" carries --force -------------------------------------------------
async def test_continue_anyway_carries_force_into_every_printed_command(make_app, tmp_path):
    class Mismatched(Service):  # the real engine (a preview: a real dry run), but warning
        def check_vips(self, options, addresses=None):  # noqa: ANN001, ANN201
            return mismatch(list(options.vips))

    root = make_root(tmp_path, "centos-7")
    app = make_app(root, os_override="centos-7", engine=Mismatched(root))
    async with app.run_test(size=SIZE) as pilot:
        await to_vips(pilot, app, "internal")
        await type_text(pilot, VIP1)
        await pilot.press("enter", "enter", "y")  # add, Next, "Continue anyway"
        assert isinstance(app.screen, OptionsScreen) and app.state.choices.force
        await pilot.press("enter")
        await settle(pilot, app)
        assert "--force" in twin_text(app)
        await pilot.press("enter")  # a dry run (a preview)
        await settle(pilot, app)
        await pilot.press("enter", "enter")
        assert isinstance(app.screen, DoneScreen)
        text = summary_text(app)
        assert f"clb-wizard userdata --os centos-7 --vip {VIP1} --type internal --force" in text


# -- 3 and 4. undo what this run did; hints that run as root -------------------------------
async def test_undo_covers_the_arp_fix_too_and_says_what_stays(make_app, debian_root):
    configured(debian_root, VIP2)  # an earlier visit's VIP
    engine = FakeEngine(debian_root)
    app = make_app(Path("/"), engine=engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await to_vips(pilot, app)
        await type_text(pilot, VIP1)
        await pilot.press("enter", "enter", "enter")
        await settle(pilot, app)
        await pilot.press("enter", "y")
        await settle(pilot, app)
        await pilot.press("a")  # the ARP fix: a second change of this run
        await settle(pilot, app)
        await pilot.press("enter")
        text = flat(summary_text(app))
        assert "Undo all 2 changes of this run (run it 2 times" in text
        assert f"Changes clb-wizard made before this run stay; " \
               f"`{root_command('history', is_root=True)}` lists them." in text
        assert root_command("verify", is_root=True) in text
        await pilot.press("u")
        dialog = flat(screen_text(app))
        assert "Roll this run's 2 changes back?" in dialog
        assert "The ARP sysctls go back to their old values (the newest change)." in dialog
        assert f"{VIP1} leave service" in dialog
        assert f"The VIPs configured before this run ({VIP2}) stay." in dialog
        await pilot.press("y")
        await settle(pilot, app)
        assert engine.rollbacks == 2, "both changes of this run, newest first"
        await pilot.press("enter")
    assert app.return_value == 0


async def test_hints_for_a_user_name_sudo_or_the_full_path(make_app, debian_root):
    app = make_app(Path("/"), engine=FakeEngine(debian_root, is_root=False))
    async with app.run_test(size=SIZE) as pilot:
        await to_planned(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        await pilot.press("enter", "enter")
        assert isinstance(app.screen, DoneScreen)
        wizard = root_command(is_root=False)
        assert wizard.startswith(("sudo ", "su -c "))
        assert f"as root: {wizard} (the wizard)" in summary_text(app)
        assert twin_text(app) == root_command("apply", "--vip", VIP1, "--type", "external",
                                              "--yes", is_root=False)


# -- 6. a refused or failed apply keeps its word after quitting -------------------------------
async def test_a_refused_apply_exits_2_with_its_reason(make_app, debian_root, capsys):
    app = make_app(Path("/"), engine=FakeEngine(debian_root, ending="refused"))
    async with app.run_test(size=SIZE) as pilot:
        await to_planned(pilot, app)
        await pilot.press("enter", "y")
        await settle(pilot, app)
        await pilot.press("escape", "escape")  # back to Options, then quit
        await pilot.press("f10")
    assert app.return_value == 2
    capsys.readouterr()
    print_summary(app.state)
    out = capsys.readouterr().out
    assert out.startswith("Nothing was changed: Changing the network configuration needs root")


async def test_a_failed_apply_keeps_its_reason_and_log_after_going_back(make_app, debian_root,
                                                                       capsys):
    app = make_app(Path("/"), engine=FakeEngine(debian_root, ending="rolled-back"))
    async with app.run_test(size=SIZE) as pilot:
        await to_planned(pilot, app)
        await pilot.press("enter", "y")
        await settle(pilot, app)
        text = flat(screen_text(app))
        assert "FAILED: the change was rolled back." in text and "100%" not in text
        await pilot.press("escape", "escape")
        await settle(pilot, app)
        await pilot.press("q")  # no field has the focus on Options: Q quits
    assert app.return_value == 3
    capsys.readouterr()
    print_summary(app.state)
    out = capsys.readouterr().out
    assert "Nothing was changed: the change failed and was rolled back." in out
    assert "ifup lo:0 failed." in out and "Log: /var/lib/clb-wizard/log/test.log" in out


# -- 7. cloud keys on a console --------------------------------------------------------------
async def test_keys_show_their_checksums_and_f4_reveals_the_private_one(make_app, ubuntu_root,
                                                                        api):  # noqa: F811
    app = make_app(ubuntu_root, os_override="ubuntu-22.04")
    async with app.run_test(size=SIZE) as pilot:
        await to_vips(pilot, app)
        await pilot.press("f2")
        assert isinstance(app.screen, FetchScreen)
        await settle(pilot, app)
        app.screen.query_one("#public", Input).focus()
        await type_text(pilot, "pub-Key1")
        app.screen.query_one("#private", Input).value = PRIVATE
        await pilot.pause()
        text = flat(screen_text(app))
        assert f"sum {key_checksum('pub-Key1')}" in text
        assert f"sum {key_checksum(PRIVATE)}" in text
        assert PRIVATE not in screen_text(app) and "*" * 20 in screen_text(app)
        assert "F4 Show/hide key" in footer(app)
        await pilot.press("f4")
        assert PRIVATE in flat(screen_text(app)), "shown, to check it by eye"
        assert "sha256sum | cut -c1-6" in flat(screen_text(app))
        await pilot.press("f4")
        assert PRIVATE not in flat(screen_text(app))


async def test_a_wrong_public_key_gets_the_focus(make_app, ubuntu_root, api):  # noqa: F811
    app = make_app(ubuntu_root, os_override="ubuntu-22.04")
    async with app.run_test(size=SIZE) as pilot:
        await to_vips(pilot, app)
        await pilot.press("f2")
        await settle(pilot, app)
        screen = app.screen
        for field_id, value in (("public", "no-such-public-key"), ("private", PRIVATE),
                                ("ulb", "ulb-outer01")):
            screen.query_one(f"#{field_id}", Input).value = value
        screen.query_one("#ulb", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: not screen.fetching, "the answer")
        await settle(pilot, app)
        text = flat(screen_text(app))
        assert "The UCloud API does not know this public key (RetCode 172" in text
        assert "copy" not in text.lower()
        assert app.focused is screen.query_one("#public")


def keys_file(tmp_path: Path, mode: int) -> Path:
    path = tmp_path / "keys.env"
    path.write_text(f"UCLOUD_PUBLIC_KEY={PUBLIC}\nexport UCLOUD_PRIVATE_KEY='{PRIVATE}'\n")
    path.chmod(mode)
    return path


async def test_a_keys_file_fills_the_form(make_app, ubuntu_root, tmp_path, api):  # noqa: F811
    app = make_app(ubuntu_root, os_override="ubuntu-22.04",
                   keys_file=str(keys_file(tmp_path, 0o600)))
    async with app.run_test(size=SIZE) as pilot:
        await to_vips(pilot, app)
        await pilot.press("f2")
        await settle(pilot, app)
        assert app.screen.query_one("#public", Input).value == PUBLIC
        assert app.screen.query_one("#private", Input).value == PRIVATE
        assert f"sum {key_checksum(PRIVATE)}" in flat(screen_text(app))
        assert PRIVATE not in screen_text(app)


async def test_a_keys_file_others_can_read_is_refused_in_the_form(make_app, ubuntu_root,
                                                                  tmp_path):
    app = make_app(ubuntu_root, os_override="ubuntu-22.04",
                   keys_file=str(keys_file(tmp_path, 0o644)))
    async with app.run_test(size=SIZE) as pilot:
        await to_vips(pilot, app)
        await pilot.press("f2")
        await pilot.pause()
        text = flat(screen_text(app))
        assert "lets other users read or change the keys. Fix: chmod 600" in text
        assert app.screen.query_one("#private", Input).value == ""


# -- 8. the fetch and every ticked CLB's health ----------------------------------------------
async def test_every_ticked_clb_gets_its_health_check(make_app, debian_root, api,  # noqa: F811
                                                      monkeypatch):
    monkeypatch.setattr("clb_wizard.screens.verify.HEALTH_INTERVAL", 0.01)
    env = {"UCLOUD_PUBLIC_KEY": PUBLIC, "UCLOUD_PRIVATE_KEY": PRIVATE}
    app = make_app(Path("/"), engine=FakeEngine(debian_root), env=env)
    async with app.run_test(size=SIZE) as pilot:
        await open_discovery(pilot, app)
        await pilot.press("enter")  # discover: the external CLBs this host is behind
        await until(pilot, lambda: not app.screen.fetching, "the answer")
        await pilot.press("enter")  # take the ticked ones
        assert set(app.state.choices.cloud.ulb_ids) == {"ulb-outer01", "ulb-mixed01"}
        await pilot.press("enter", "enter")
        await settle(pilot, app)
        await pilot.press("enter", "y")
        await settle(pilot, app)
        assert isinstance(app.screen, VerifyScreen)
        await until(pilot, lambda: app.screen.health_left == 0, "both health checks")
        facts = [line.plain for line in app.screen.query("FactLine")]
        assert sum("CLB health check" in f and "ulb-outer01" in f for f in facts) == 1
        assert sum("CLB health check" in f and "ulb-mixed01" in f for f in facts) == 1


# -- 13. a second visit remembers --------------------------------------------------------------
def kept_change(*vips: str, when: float) -> Journal:
    return Journal(id="20240101-000000-c0ffee", state="committed", platform={},
                   method="ifupdown", vips=list(vips), history=[["committed", when]])


def test_the_clb_type_of_a_change_is_told_by_its_vips():
    # Classification of pure data (no host, no namespace): real VIPs are private for an
    # internal CLB and public EIPs for an external one; documentation ranges tell nothing.
    assert clb_type_of(kept_change("10.9.8.7", when=0)) == "internal"
    assert clb_type_of(kept_change("8.8.8.8", "10.9.8.7", when=0)) == "external"
    assert clb_type_of(kept_change(VIP1, when=0)) is None


async def test_a_second_visit_remembers_type_arp_and_when(make_app, debian_root):
    # fixture files only (an internal CLB's VIP): nothing is put on any host
    plan = Service(debian_root).plan(Options(vips=("10.9.8.7",), clb_type="internal",
                                             os_override="debian-12"))
    apply_files(debian_root, plan)
    when = time.mktime((2026, 3, 14, 15, 9, 0, 0, 0, -1))
    engine = FakeEngine(debian_root, last_change=kept_change("10.9.8.7", when=when),
                        arp_set=True)
    app = make_app(Path("/"), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        text = flat(screen_text(app))
        assert "Last changed by clb-wizard on 2026-03-14 15:09 (10.9.8.7, internal CLB)" in text
        await pilot.press("enter")
        assert isinstance(app.screen, ClbTypeScreen)
        assert app.screen.query_one("#types").highlighted == 0  # internal, as last time
        await pilot.press("enter")
        assert app.state.choices.clb_type == "internal"
        await pilot.press("enter")  # the VIPs as they are
        assert isinstance(app.screen, OptionsScreen)
        text = flat(screen_text(app))
        assert "[X] Set the ARP sysctls" in text, "set on the host: the box says so"
        assert "Set on this host now." in text and "never turns them off" in text


async def test_a_second_visit_after_an_external_change_starts_on_external(make_app,
                                                                         debian_root):
    configured(debian_root, VIP1)
    # the last change's record as pure data: an EIP (public), never put on any host here
    engine = FakeEngine(debian_root, last_change=kept_change("8.8.8.8", when=0))
    app = make_app(Path("/"), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert "external CLB" in flat(screen_text(app))
        await pilot.press("enter")
        assert app.screen.query_one("#types").highlighted == 1
        assert "(*) External CLB" in screen_text(app)
        await pilot.press("enter")
        assert isinstance(app.screen, VipsScreen) and app.state.choices.clb_type == "external"


async def test_arp_sysctls_are_read_from_the_live_kernel_only():
    live = Service("/")
    wanted = {"arp_ignore": "1", "arp_announce": "2"}
    now = {k: Path(f"/proc/sys/net/ipv4/conf/all/{k}").read_text().strip() for k in wanted}
    assert live.arp_sysctls_set() is (now == wanted)
    assert Service("/tmp").arp_sysctls_set() is None  # another system's root: not read


# -- 14. another change after a kept one; the list keeps what leaves -------------------------
async def test_v_goes_back_to_the_vips_for_another_change(make_app, debian_root):
    engine = FakeEngine(debian_root)
    app = make_app(Path("/"), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await to_planned(pilot, app)
        await pilot.press("enter", "y")
        await settle(pilot, app)
        await pilot.press("enter")
        assert isinstance(app.screen, DoneScreen)
        assert "V VIPs" in footer(app)
        await pilot.press("v")
        assert isinstance(app.screen, VipsScreen)
        assert app.state.host.managed == (VIP1,)
        text = flat(screen_text(app))
        assert f"{VIP1} documentation range (configured now)" in text
        assert f"clb-wizard already manages {VIP1} here" in text
        await type_text(pilot, VIP2)
        await pilot.press("enter", "enter", "enter")
        await settle(pilot, app)
        assert app.state.results.plan.vips == (VIP1, VIP2)
        assert f"add --vip {VIP2} --type external --yes" in twin_text(app), "the twin adds"
        await pilot.press("enter", "y")
        await settle(pilot, app)
        await pilot.press("enter")
        assert len(app.state.results.kept) == 2
        assert "All 2 changes of this run are undone" in " ".join(rollback_lines(app.state))



async def test_a_second_round_that_keeps_nothing_undoes_the_one_kept_change(make_app,
                                                                           debian_root):
    engine = FakeEngine(debian_root)
    app = make_app(Path("/"), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await to_planned(pilot, app)
        await pilot.press("enter", "y")
        await settle(pilot, app)
        await pilot.press("enter")
        assert isinstance(app.screen, DoneScreen)
        await pilot.press("v")
        assert isinstance(app.screen, VipsScreen)
        # a second round begun, nothing kept in it (yet, or because it changed nothing)
        assert app.state.results.rounds == 1 and len(app.state.results.kept) == 1
        words = " ".join(rollback_lines(app.state))
        assert "The one change this run kept is undone" in words
        assert "All 1 changes" not in words

# -- 15. wording ------------------------------------------------------------------------------
async def test_a_preview_offers_no_confirm_timer_and_no_sudo(make_app, ubuntu_root):
    app = make_app(ubuntu_root, os_override="ubuntu-22.04", env=SSH)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert "sudo" not in flat(screen_text(app))
        await to_vips(pilot, app)
        await type_text(pilot, VIP1)
        await pilot.press("enter", "enter")
        assert isinstance(app.screen, OptionsScreen)
        text = flat(screen_text(app))
        assert "Confirm timer" not in text and "sudo" not in text
        assert not app.state.choices.confirm_timer


async def test_a_wrapped_fact_keeps_its_hanging_indent(make_app, debian_root):
    app = make_app(Path("/"), engine=FakeEngine(debian_root))
    async with app.run_test(size=SIZE) as pilot:
        await applied(pilot, app)
        lines = screen_text(app).splitlines()
        first = next(n for n, line in enumerate(lines) if "[WARN] ARP sysctls" in line)
        column = lines[first].index("ARP sysctls")
        assert lines[first + 1][:column].strip() == "", "wrapped under the text, not the mark"
        assert lines[first + 1][column:column + 1].strip(), lines[first + 1]


# -- 16. glyphs on a Linux console ------------------------------------------------------------
def test_console_safe_spells_what_the_font_lacks():
    assert console_safe("北京负载均衡") == "Bei Jing Fu Zai Jun Heng"
    assert console_safe("lb-北京-01…") == "lb-Bei Jing-01..."
    assert console_safe("plain [text] ÄÖÜ é ─│") == "plain [text] ÄÖÜ é ─│"  # all CP437
    assert set(console_safe("负载均衡器: 获取信息失败，请稍后重试。")) <= CONSOLE_GLYPHS


async def test_chinese_clb_names_and_api_messages_show_on_the_console(make_app, ubuntu_root,
                                                                      api):  # noqa: F811
    from tests.fakes import ucloud_api as fakes

    api.clbs = [fakes.clb("ulb-cn01", "北京负载均衡器-生产环境-非常长的名字", "OuterMode",
                          eips=[("203.0.113.90", "Bgp")])]
    env = {"UCLOUD_PUBLIC_KEY": PUBLIC, "UCLOUD_PRIVATE_KEY": PRIVATE}
    app = make_app(ubuntu_root, os_override="ubuntu-22.04", env=env, console=True)
    async with app.run_test(size=SIZE) as pilot:
        await to_vips(pilot, app)
        await pilot.press("f2")
        await settle(pilot, app)
        screen = app.screen
        screen.query_one("#ulb", Input).value = "ulb-cn01"
        screen.query_one("#ulb", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: not screen.fetching, "the answer")
        await settle(pilot, app)
        text = screen_text(app)
        assert set(text.replace("\n", "")) <= CONSOLE_GLYPHS, set(text) - CONSOLE_GLYPHS
        assert "ulb-cn01 Bei Jing Fu Zai" in flat(text)
        assert "..." in text and "…" not in text
        api.forced_error = (8039, "参数错误：负载均衡不存在")
        await pilot.press("escape")
        await pilot.press("f2")
        await settle(pilot, app)
        app.screen.query_one("#ulb", Input).value = "ulb-cn01"
        app.screen.query_one("#ulb", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: not app.screen.fetching, "the answer")
        await settle(pilot, app)
        text = screen_text(app)
        assert "RetCode 8039: Can Shu Cuo Wu" in flat(text)  # the API's own words, spelled
        assert set(text.replace("\n", "")) <= CONSOLE_GLYPHS, set(text) - CONSOLE_GLYPHS


# -- 17. no Ctrl chord ------------------------------------------------------------------------
async def test_no_footer_asks_for_a_ctrl_chord(make_app, debian_root):
    app = make_app(Path("/"), engine=FakeEngine(debian_root), env=SSH)
    seen = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)

        async def look(screen: type, *keys: str) -> None:
            """Wait for this step's footer to show these keys (it is drawn after the
            step, later on a loaded machine), then keep it."""
            await until(pilot, lambda: isinstance(app.screen, screen)
                        and all(k in footer(app) for k in keys), f"{keys} on {screen}")
            seen.append(footer(app))

        await look(StartScreen, "Enter Next", "F10 Quit")
        await pilot.press("enter")
        await look(ClbTypeScreen, "Enter Next", "F10 Quit")
        await pilot.press("down", "enter")
        await look(VipsScreen, "F2 Fetch from cloud", "F10 Quit")
        await pilot.press("f2")
        await look(FetchScreen, "F4 Show/hide key", "F10 Quit")
        await pilot.press("escape")
        await look(VipsScreen, "F2 Fetch from cloud")
        await type_text(pilot, VIP1)
        await pilot.press("enter", "enter")
        await look(OptionsScreen, "Space Toggle", "F10 Quit")
        await pilot.press("enter")
        await settle(pilot, app)
        await look(PreviewScreen, "Enter Next", "F10 Quit")
        await pilot.press("enter")
        await look(QuestionDialog, "Y Yes", "N/Esc No")
        await pilot.press("y")
        await look(CountdownDialog, "Y Keep", "N/Esc Revert now")
        await pilot.press("y")
        await settle(pilot, app)
        await look(VerifyScreen, "Enter Next", "F10 Quit")
        await pilot.press("enter")
        await look(DoneScreen, "U Roll back", "V VIPs", "F10 Quit")
    assert len(seen) == 11
    assert not [text for text in seen if "Ctrl" in text], seen


# -- the status code ---------------------------------------------------------------------------
async def test_verify_and_done_end_with_a_status_code_that_decodes(make_app, debian_root):
    app = make_app(Path("/"), engine=FakeEngine(debian_root))
    async with app.run_test(size=SIZE) as pilot:
        await applied(pilot, app)
        line = str(app.screen.query_one(".status-code").content)
        code = line.split()[2]
        facts = decode(code)
        assert (facts.os_id, facts.version, facts.method, facts.vip_count) == \
               ("debian", "12", "ifupdown", 1)
        assert facts.arp_sysctls is False and facts.verdict == "OK"
        await pilot.press("enter")
        assert f"Status code: {code} (read it to support)" in summary_text(app)
