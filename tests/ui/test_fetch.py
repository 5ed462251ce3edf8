"""The VIPs step's cloud path against the local fake of the cloud API (tests/fakes), through
the real wizard.cloud and the vendor SDK: fetch by CLB id, discovery, errors in place, and
the private key masked and never shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

import clb_wizard.screens.verify
from clb_wizard import cloud
from clb_wizard.screens.fetch import FetchScreen, VipPicker
from clb_wizard.screens.vips import VipsScreen
from tests.fakes import ucloud_api as fakes
from tests.fakes.engine import FakeEngine
from tests.ui.conftest import flat, screen_text, settle, until
from tests.ui.test_pilot import SIZE, to_vips

PUBLIC = "fake-public-key-Aa1"
PRIVATE = "PRIVATE-KEY-zz-3f9c1e-do-not-leak"
EIPS = ["203.0.113.10", "198.51.100.20", "192.0.2.30"]  # ulb-outer01's, all documentation


@pytest.fixture
def api(monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with fakes.FakeUCloudAPI(keys={PUBLIC: PRIVATE}, clbs=fakes.sample_clbs(),
                             metadata={"region": fakes.REGION,
                                       "project-id": fakes.PROJECT_ID}) as fake:
        monkeypatch.setenv(cloud.ENV_API_URL, fake.url)
        monkeypatch.setenv(cloud.ENV_METADATA_URL, fake.metadata_url)
        yield fake


async def open_fetch(pilot, app) -> FetchScreen:
    await to_vips(pilot, app)
    await pilot.press("f2")
    assert isinstance(app.screen, FetchScreen)
    await settle(pilot, app)  # the metadata prefill
    return app.screen


def fill(screen: FetchScreen, **values: str) -> None:
    for field_id, value in values.items():
        screen.query_one(f"#{field_id}", Input).value = value


async def test_fetch_by_id_ticks_every_eip_and_adds_them(make_app, ubuntu_root, api):
    app = make_app(ubuntu_root, os_override="ubuntu-22.04")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_fetch(pilot, app)
        # Region and project came from the (fake) instance metadata.
        assert screen.query_one("#region", Input).value == fakes.REGION
        assert screen.query_one("#project", Input).value == fakes.PROJECT_ID
        assert screen.query_one("#private", Input).password
        fill(screen, public=PUBLIC, private=PRIVATE, ulb="ulb-outer01")
        await pilot.press("enter")
        await until(pilot, lambda: not screen.fetching, "the answer")
        await settle(pilot, app)
        text = flat(screen_text(app))
        assert PRIVATE not in screen_text(app)
        for eip in EIPS:
            assert f"[X] {eip}" in text
        assert "EIP International" in text
        assert api.accepted and not api.rejected
        await pilot.press("down", "space")  # untick the second
        assert [a for a, _ in screen.query_one(VipPicker).selected] == [EIPS[0], EIPS[2]]
        await pilot.press("enter")
        assert isinstance(app.screen, VipsScreen)
        assert app.state.choices.vips == [EIPS[0], EIPS[2]]
        assert "from CLB ulb-outer01" in flat(screen_text(app))
        assert app.state.choices.cloud.ulb_ids == ("ulb-outer01",)
        assert PRIVATE not in repr(app.state)


async def test_fetch_error_is_shown_in_place_and_back_returns(make_app, ubuntu_root, api):
    app = make_app(ubuntu_root, os_override="ubuntu-22.04")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_fetch(pilot, app)
        fill(screen, public=PUBLIC, private="WRONG-PRIVATE-KEY-qq-77ad0b", ulb="ulb-outer01")
        await pilot.press("enter")
        await until(pilot, lambda: not screen.fetching, "the answer")
        await settle(pilot, app)
        with pytest.raises(cloud.CloudError) as expected:
            cloud.fetch_clb(cloud.Credentials(PUBLIC, "WRONG-PRIVATE-KEY-qq-77ad0b",
                                              fakes.REGION), "ulb-outer01")
        assert expected.value.code == 171  # the API's answer, worded for a console:
        text = flat(screen_text(app))
        assert "The private key does not belong to the public key (RetCode 171" in text
        assert "checksum here must match the original's" in text
        assert "copy" not in text.lower()  # no copy and paste on a VNC console
        assert app.focused is screen.query_one("#private"), "the key to fix has the focus"
        assert "WRONG-PRIVATE-KEY" not in screen_text(app)
        await pilot.press("enter")  # refetches; nothing to use: still here
        await until(pilot, lambda: not screen.fetching, "the answer")
        assert isinstance(app.screen, FetchScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, VipsScreen)
        assert app.state.choices.vips == []


async def test_empty_keys_are_refused_before_asking(make_app, ubuntu_root, api):
    app = make_app(ubuntu_root, os_override="ubuntu-22.04")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_fetch(pilot, app)
        await pilot.press("enter")
        await pilot.pause()
        assert not screen.fetching
        assert "The public key is empty: fill it in." in flat(screen_text(app))
        assert api.requests == []


async def test_discovery_ticks_the_clbs_this_host_is_a_backend_of(make_app, ubuntu_root, api):
    env = {"UCLOUD_PUBLIC_KEY": PUBLIC, "UCLOUD_PRIVATE_KEY": PRIVATE}
    app = make_app(ubuntu_root, os_override="ubuntu-22.04", env=env)
    async with app.run_test(size=SIZE) as pilot:
        await to_vips(pilot, app)
        # This host's addresses as the live host would have them (a preview has none).
        app.state.host.addresses = type("Addresses", (), {"others": {"eth0": (fakes.HOST_IP,)}})()
        await pilot.press("f2")
        await settle(pilot, app)
        screen = app.screen
        assert screen.query_one("#public", Input).value == PUBLIC  # from the environment
        await pilot.press("enter")  # no CLB id: discover
        await until(pilot, lambda: not screen.fetching, "the answer")
        await settle(pilot, app)
        text = flat(screen_text(app))
        assert ("5 CLBs in the region; 3 with this host as a backend, ticked (1 of them is "
                "not external: not ticked).") in text
        picked = {ulb for _, ulb in screen.query_one(VipPicker).selected}
        # the user chose External: the internal CLB this host is behind is not ticked
        assert picked == {"ulb-outer01", "ulb-mixed01"}
        assert "RequestProxy" in text  # ulb-mixed01's warning, shown with the results


async def test_verify_adds_the_clbs_view_of_this_backend(make_app, debian_root, api,
                                                          monkeypatch):

    monkeypatch.setattr(clb_wizard.screens.verify, "HEALTH_INTERVAL", 0.01)
    api.set_health("ulb-outer01", fakes.HOST_IP, 3)  # failing until the 3rd DescribeULB
    env = {"UCLOUD_PUBLIC_KEY": PUBLIC, "UCLOUD_PRIVATE_KEY": PRIVATE}
    app = make_app(Path("/"), engine=FakeEngine(debian_root), env=env)
    async with app.run_test(size=SIZE) as pilot:
        await to_vips(pilot, app)
        app.state.host.addresses = type("Addresses", (), {"others": {"eth0": (fakes.HOST_IP,)}})()
        await pilot.press("f2")
        await settle(pilot, app)
        fill(app.screen, ulb="ulb-outer01")
        await pilot.press("enter")
        await until(pilot, lambda: not app.screen.fetching, "the answer")
        await pilot.press("enter")  # take the three EIPs
        assert app.state.choices.vips == EIPS
        await pilot.press("enter", "enter")  # on to Options, then the Preview
        await settle(pilot, app)
        await pilot.press("enter", "y")  # apply (scripted: see tests/fakes/engine.py), then Verify
        await settle(pilot, app)
        await until(pilot, lambda: "health check:" in screen_text(app), "the health check")
        text = flat(screen_text(app))
        # the same fact, by the same name, as `clb-wizard verify --ulb-id` prints
        assert "[ OK ] CLB health check: The health check of ulb-outer01 reaches this host " \
               "(198.51.100.11:80, 198.51.100.11:53) on 2 message-forwarding listener(s)" in text
        assert api.calls("ulb-outer01") == 3


async def test_going_back_while_the_api_is_asked_is_harmless(make_app, ubuntu_root, api):
    # Every wait is on a condition or the fake's own event, never on time: the API holds
    # its answer until released (api._release), however slow the machine is.
    api.delay = 600.0
    app = make_app(ubuntu_root, os_override="ubuntu-22.04")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_fetch(pilot, app)
        fill(screen, public=PUBLIC, private=PRIVATE, ulb="ulb-outer01")
        await pilot.press("enter")
        await until(pilot, lambda: any(r.get("Action") == "DescribeULB" for r in api.requests),
                    "the request")
        await until(pilot, lambda: "Asking the API for ulb-outer01..." in flat(
            screen_text(app)), "the spinner")
        await pilot.press("enter")  # nothing to take yet
        assert isinstance(app.screen, FetchScreen) and screen.fetching
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, VipsScreen), "the VIPs step")
        api._release.set()  # the late answer lands on a screen that is gone
        await settle(pilot, app)
        assert app.is_running and app.state.choices.vips == []
        assert isinstance(app.screen, VipsScreen)


# -- issue 12 in the fetch form ----------------------------------------------------------


@pytest.fixture
def uhost(api, monkeypatch):
    """This host is a UCloud instance (the fake answers the metadata paths); transient
    errors are retried without the real waits."""
    api.metadata = fakes.instance_metadata()
    monkeypatch.setattr(cloud.client, "RETRY_DELAYS", (0.01,) * 4)
    return api


async def open_discovery(pilot, app) -> FetchScreen:
    await to_vips(pilot, app)
    app.state.host.addresses = type("Addresses", (), {"others": {"eth0": (fakes.HOST_IP,)}})()
    await pilot.press("f2")
    await settle(pilot, app)
    return app.screen


async def fetch_now(pilot, app, screen: FetchScreen) -> str:
    screen.query_one("#ulb", Input).focus()
    await pilot.press("enter")
    await until(pilot, lambda: not screen.fetching, "the answer")
    await settle(pilot, app)
    return flat(screen_text(app))


async def test_form_says_where_region_and_project_came_from(make_app, ubuntu_root, uhost):
    env = {"UCLOUD_REGION": fakes.REGION}
    app = make_app(ubuntu_root, os_override="ubuntu-22.04", env=env)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_fetch(pilot, app)
        assert screen.query_one("#region", Input).value == fakes.REGION  # the environment's
        assert screen.query_one("#project", Input).value == fakes.PROJECT_ID
        assert "Project from this instance's metadata" in flat(screen_text(app))


async def test_public_endpoint_unreachable_offers_the_internal_one(make_app, ubuntu_root,
                                                                   uhost, monkeypatch):
    monkeypatch.setenv(cloud.ENV_API_URL, f"http://127.0.0.1:{fakes.free_closed_port()}")
    monkeypatch.setenv(cloud.ENV_INTERNAL_API_URL, uhost.url)  # the fake stands in for it
    env = {"UCLOUD_PUBLIC_KEY": PUBLIC, "UCLOUD_PRIVATE_KEY": PRIVATE}
    app = make_app(ubuntu_root, os_override="ubuntu-22.04", env=env)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_fetch(pilot, app)
        fill(screen, ulb="ulb-outer01")
        text = await fetch_now(pilot, app, screen)
        assert "Cannot reach the UCloud API" in text and "VPC-internal API" in text
        assert uhost.requests == []
        assert app.focused is screen.query_one("#internal")  # one Space away
        await pilot.press("space")
        assert "[X] VPC-internal API" in flat(screen_text(app))
        text = await fetch_now(pilot, app, screen)
        assert "[X] 203.0.113.10" in text and len(uhost.accepted) == 1
        await pilot.press("enter")
        assert app.state.choices.cloud.internal  # the health check will use it too


async def test_refused_access_ip_is_named_in_the_form(make_app, ubuntu_root, uhost):
    uhost.forced_error = (294, "IP not allowed")
    env = {"UCLOUD_PUBLIC_KEY": PUBLIC, "UCLOUD_PRIVATE_KEY": PRIVATE}
    app = make_app(ubuntu_root, os_override="ubuntu-22.04", env=env)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_fetch(pilot, app)
        text = await fetch_now(pilot, app, screen)
        assert "RetCode 294" in text and "whitelist" in text


async def test_discovery_in_this_hosts_vpc_with_hostile_names_and_a_retry(make_app,
                                                                         ubuntu_root, uhost):
    uhost.clbs += fakes.tricky_clbs()
    uhost.fail_next(*fakes.FETCH_FAILED, times=2)
    env = {"UCLOUD_PUBLIC_KEY": PUBLIC, "UCLOUD_PRIVATE_KEY": PRIVATE}
    app = make_app(ubuntu_root, os_override="ubuntu-22.04", env=env)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_discovery(pilot, app)
        text = await fetch_now(pilot, app, screen)
        raw = screen_text(app)
        assert f"7 CLBs in this host's VPC ({fakes.VPC_ID}); 3 with this host" in text
        assert "ulb-twin01" not in text  # another VPC, though its backend has our address
        assert "ulb-odd01" in [c.ulb_id for c in screen.clbs]  # a malformed port: no matter
        picker = screen.query_one(VipPicker)
        hostile = next(i for i in range(picker.option_count)
                       if "ulb-esc01" in str(picker.get_option_at_index(i).prompt))
        picker.highlighted = hostile  # scrolled into view
        await settle(pilot, app)
        raw = screen_text(app)
        assert not set("\x1b\x07") & set(raw)  # the CLB's name printed as text
        assert "EIP Bgp\\x1b[31m    ulb-esc01 evil\\x1b]0;owned\\x07" in raw
        # drawn as Text, not markup; too long for the line, so cut with "..." (never "…")
        prompt = str(picker.get_option_at_index(hostile).prompt)
        assert prompt.endswith("...") and "…" not in raw
        assert "ulb-esc01 evil\\x1b]0;owned\\x07" in prompt
        assert all(r.get("VPCId") == fakes.VPC_ID for r in uhost.accepted[2:])
