"""Snapshots of every step (and the dialogs) at 80x24, cursor blink off. The host is a
fixture root under tmp_path, given relative to it, with --os or a scripted transaction
(tests/fakes/engine.py), so nothing of the machine running the tests shows.

Update after an intended change: .venv/bin/python -m pytest tests/ui/test_snapshots.py
--snapshot-update, then look at the SVGs in __snapshots__/ before committing them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from clb_wizard import cloud, invocation
from clb_wizard.screens.app import WizardApp
from clb_wizard.screens.dialogs import CountdownDialog
from tests.fakes.engine import FakeEngine, ManualClock, interrupted_journal
from tests.fakes.ucloud_api import free_closed_port
from tests.fixtures.roots import VIP1, VIP2, make_root
from tests.ui.conftest import settle, until

SSH = {"SSH_CONNECTION": "192.0.2.1 5 192.0.2.2 22"}


@pytest.fixture
def here(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    # The commands shown start with `clb-wizard`, as installed, not with the path of the
    # checkout's .venv the tests run from (invocation.py: a launcher's override).
    monkeypatch.setenv(invocation.ENV_COMMAND, "clb-wizard")
    monkeypatch.setenv(cloud.ENV_METADATA_URL, f"http://127.0.0.1:{free_closed_port()}")
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


def preview_app(here: Path, console: bool = False) -> WizardApp:
    make_root(here, "ubuntu-22.04", name="root")
    return WizardApp(root="root", os_override="ubuntu-22.04", env={}, console=console,
                     cursor_blink=False)


def live_app(here: Path, ending: str = "applied", env: dict | None = None,
             pending=None) -> WizardApp:
    # A "live" run on a Debian 12 fixture root with a scripted transaction (tests/fakes/engine.py).
    root = make_root(here, "debian-12", name="root")
    engine = FakeEngine(Path("root"), ending=ending, pending=pending)
    assert root.is_dir()
    return WizardApp(root="/", engine=engine, env=env or {}, console=False, cursor_blink=False)


def steps(*keys: str, vips: tuple[str, ...] = ()):
    """run_before: settle, then press keys; "VIPS" types the VIPs into the field at once."""

    async def run(pilot) -> None:
        app = pilot.app
        await settle(pilot, app)
        for key in keys:
            if key == "VIPS":
                app.screen.query_one("#vip", Input).value = ", ".join(vips)
                await pilot.press("enter")
            else:
                await pilot.press(key)
            await settle(pilot, app)

    return run


TO_VIPS = ("enter", "down", "enter")
TO_OPTIONS = (*TO_VIPS, "VIPS", "enter")
TO_PREVIEW = (*TO_OPTIONS, "enter")


def test_start(snap_compare, here):
    assert snap_compare(preview_app(here), run_before=steps())


def test_recovery_dialog(snap_compare, here):
    assert snap_compare(live_app(here, pending=interrupted_journal()), run_before=steps())


def test_clb_type(snap_compare, here):
    assert snap_compare(preview_app(here), run_before=steps("enter", "down"))


def test_vips_invalid_entry(snap_compare, here):
    assert snap_compare(preview_app(here), run_before=steps(*TO_VIPS, *"203.0.113.10/24"))


def test_vips_list(snap_compare, here):
    assert snap_compare(preview_app(here), run_before=steps(*TO_VIPS, "VIPS", vips=(VIP1, VIP2)))


def test_fetch_form(snap_compare, here):
    assert snap_compare(preview_app(here), run_before=steps(*TO_VIPS, "f2"))


def test_options(snap_compare, here):
    assert snap_compare(live_app(here, env=SSH), run_before=steps(*TO_OPTIONS, vips=(VIP1,)))


def test_preview(snap_compare, here):
    assert snap_compare(preview_app(here), run_before=steps(*TO_PREVIEW, vips=(VIP1,)))


def test_apply_question(snap_compare, here):
    assert snap_compare(live_app(here), run_before=steps(*TO_PREVIEW, "enter", vips=(VIP1,)))


def test_apply_dry_run(snap_compare, here):
    assert snap_compare(preview_app(here), run_before=steps(*TO_PREVIEW, "enter", vips=(VIP1,)))


def test_apply_rolled_back(snap_compare, here):
    app = live_app(here, ending="rolled-back")
    assert snap_compare(app, run_before=steps(*TO_PREVIEW, "enter", "y", vips=(VIP1,)))


def test_countdown(snap_compare, here):
    app = live_app(here, env=SSH)
    app.clock = ManualClock()  # held at 120 s: it ticks only when told (never here)
    run = steps(*TO_PREVIEW, "enter", vips=(VIP1,))

    async def before(pilot) -> None:
        await run(pilot)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(pilot.app.screen, CountdownDialog), "countdown")

    assert snap_compare(app, run_before=before)


def test_verify_applied(snap_compare, here):
    app = live_app(here)  # a kept change goes on to Verify by itself
    assert snap_compare(app, run_before=steps(*TO_PREVIEW, "enter", "y", vips=(VIP1,)))


def test_done_applied(snap_compare, here):
    app = live_app(here)
    assert snap_compare(app, run_before=steps(*TO_PREVIEW, "enter", "y", "enter",
                                              vips=(VIP1,)))


def test_console_start(snap_compare, here):
    assert snap_compare(preview_app(here, console=True), run_before=steps())


def test_console_preview(snap_compare, here):
    assert snap_compare(preview_app(here, console=True),
                        run_before=steps(*TO_PREVIEW, vips=(VIP1,)))


def configured_root(here: Path, release: str, *vips: str) -> Path:
    """A root as clb-wizard left it after an earlier run with these VIPs (issue 11)."""
    from clb_wizard.service import Options, Service
    from tests.fixtures.roots import apply_files

    root = make_root(here, release, name="root")
    apply_files(root, Service(root).plan(Options(vips=vips, clb_type="external",
                                                 os_override=release)))
    return root


def test_vips_second_visit(snap_compare, here):
    configured_root(here, "debian-12", VIP1)
    app = WizardApp(root="root", os_override="debian-12", env={}, console=False,
                    cursor_blink=False)
    assert snap_compare(app, run_before=steps(*TO_VIPS, "VIPS", vips=(VIP2,)))


def test_apply_question_removing_a_vip(snap_compare, here):
    configured_root(here, "debian-12", VIP1, VIP2)
    app = WizardApp(root="/", engine=FakeEngine(Path("root")), env={}, console=False,
                    cursor_blink=False)
    assert snap_compare(app, run_before=steps(*TO_VIPS, "tab", "delete", "y", "shift+tab",
                                              "enter", "enter", "enter"))


def test_done_old_system(snap_compare, here):
    make_root(here, "centos-7", name="root")
    app = WizardApp(root="root", os_override="centos-7", env={}, console=True,
                    cursor_blink=False)
    assert snap_compare(app, run_before=steps(*TO_PREVIEW, "enter", "enter", "enter",
                                              vips=(VIP1,)))
