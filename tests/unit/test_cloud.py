"""clb_wizard.cloud against a local fake of the UCloud API, through the real vendor SDK."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from pathlib import Path

import pytest

try:
    from tests.fakes import ucloud_api as fakes
except ImportError:  # tests/ is not a package on sys.path when pytest runs from elsewhere
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.fakes import ucloud_api as fakes

from clb_wizard import cloud
from clb_wizard.cloud import ClbVip, CloudError, Credentials

FakeUCloudAPI = fakes.FakeUCloudAPI
HOST_IP = fakes.HOST_IP

PUBLIC = "fake-public-key-Aa1"
# A marker easy to grep for: it must never show up anywhere.
PRIVATE = "PRIVATE-KEY-zz-3f9c1e-do-not-leak"
WRONG_PRIVATE = "WRONG-PRIVATE-KEY-qq-77ad0b-do-not-leak"

CLOUD_VARS = ("UCLOUD_PUBLIC_KEY", "UCLOUD_PRIVATE_KEY", "UCLOUD_REGION", "UCLOUD_PROJECT_ID")
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _no_retry_waits(monkeypatch):
    """Transient failures are retried at once here; test_retry_* check the real delays."""
    monkeypatch.setattr(cloud.client, "RETRY_DELAYS", (0.0, 0.0, 0.0, 0.0))


REAL_RETRY_DELAYS = cloud.client.RETRY_DELAYS


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for var in (*PROXY_VARS, cloud.ENV_API_URL, cloud.ENV_INTERNAL_API_URL, *CLOUD_VARS):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    # Not a UCloud instance unless a test says so: the real 100.80.80.80 is never asked.
    monkeypatch.setenv(cloud.ENV_METADATA_URL, f"http://127.0.0.1:{fakes.free_closed_port()}")


@pytest.fixture
def api():
    with FakeUCloudAPI(
        keys={PUBLIC: PRIVATE},
        clbs=fakes.sample_clbs(),
        metadata={"region": fakes.REGION, "project-id": fakes.PROJECT_ID},
    ) as fake:
        yield fake


@pytest.fixture
def creds():
    return Credentials(PUBLIC, PRIVATE, fakes.REGION, fakes.PROJECT_ID)


@pytest.fixture
def closed_url():
    return f"http://127.0.0.1:{fakes.free_closed_port()}"


# --------------------------------------------------------------------------- fetch by id


def test_fetch_internal_clb_gives_its_private_ip(api, creds):
    clb = cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url)

    assert clb.ulb_id == "ulb-inner01"
    assert clb.name == "intranet-web"
    assert clb.ulb_type == "internal"
    assert clb.vips == (ClbVip("10.9.0.100", "private", None),)
    assert clb.backend_private_ips == (HOST_IP, fakes.OTHER_IP)
    assert clb.warnings == ()
    # The request went through the SDK, correctly signed, with what DescribeULB needs.
    assert api.rejected == []
    (sent,) = api.accepted
    assert sent["Action"] == "DescribeULB"
    assert sent["ULBId"] == "ulb-inner01"
    assert sent["Region"] == fakes.REGION
    assert sent["ProjectId"] == fakes.PROJECT_ID
    assert sent["PublicKey"] == PUBLIC
    assert sent["Signature"] == fakes.signature(sent, PRIVATE)
    assert PRIVATE not in json.dumps(api.requests)


def test_fetch_external_clb_gives_every_eip_with_its_operator(api, creds):
    clb = cloud.fetch_clb(creds, "ulb-outer01", api_url=api.url)

    assert clb.ulb_type == "external"
    assert clb.vips == (
        ClbVip("203.0.113.10", "eip", "Bgp"),
        ClbVip("198.51.100.20", "eip", "International"),
        ClbVip("192.0.2.30", "eip", "Bgp"),
    )
    assert clb.addresses == ("203.0.113.10", "198.51.100.20", "192.0.2.30")
    assert [(lis.protocol, lis.frontend_port) for lis in clb.listeners] == [
        ("TCP", 80),
        ("UDP", 53),
    ]
    assert clb.warnings == ()


def test_fetch_without_project_sends_none(api):
    creds = Credentials(PUBLIC, PRIVATE, fakes.REGION)
    cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url)
    assert "ProjectId" not in api.accepted[0]


def test_request_proxy_clb_is_flagged(api, creds):
    clb = cloud.fetch_clb(creds, "ulb-proxy01", api_url=api.url)
    assert clb.listen_type == "RequestProxy"
    assert clb.vips == (ClbVip("203.0.113.50", "eip", "Bgp"),)
    assert len(clb.warnings) == 1
    assert "RequestProxy" in clb.warnings[0]
    assert "no VIP is needed" in clb.warnings[0]


def test_request_proxy_listener_of_a_mixed_clb_is_flagged(api, creds):
    clb = cloud.fetch_clb(creds, "ulb-mixed01", api_url=api.url)
    assert len(clb.warnings) == 1
    assert "Listener web (HTTP:8080)" in clb.warnings[0]
    assert "RequestProxy" in clb.warnings[0]


@pytest.mark.parametrize(
    ("ulb_id", "chosen", "warned"),
    [
        ("ulb-outer01", "internal", True),
        ("ulb-inner01", "external", True),
        ("ulb-outer01", "external", False),
        ("ulb-inner01", "internal", False),
    ],
)
def test_clb_type_disagreeing_with_the_choice_is_flagged(api, creds, ulb_id, chosen, warned):
    clb = cloud.fetch_clb(creds, ulb_id, clb_type=chosen, api_url=api.url)
    mismatch = [w for w in clb.warnings if w.startswith("You chose")]
    assert bool(mismatch) is warned
    if warned:
        assert f"an {chosen} CLB" in mismatch[0]
        assert clb.ulb_type in mismatch[0]


def test_bad_clb_type_is_a_programming_error(api, creds):
    with pytest.raises(ValueError):
        cloud.fetch_clb(creds, "ulb-inner01", clb_type="InnerMode", api_url=api.url)


def test_fetch_with_host_ips_says_whether_this_host_is_a_backend(api, creds):
    mine = cloud.fetch_clb(creds, "ulb-inner01", host_private_ips=[HOST_IP], api_url=api.url)
    assert mine.matches_host is True
    assert mine.warnings == ()

    other = cloud.fetch_clb(creds, "ulb-other01", host_private_ips=[HOST_IP], api_url=api.url)
    assert other.matches_host is False
    assert any("not a backend" in w and HOST_IP in w for w in other.warnings)


def test_to_json_is_json_serialisable(api, creds):
    clb = cloud.fetch_clb(creds, "ulb-outer01", host_private_ips=[HOST_IP], api_url=api.url)
    data = json.loads(json.dumps(clb.to_json()))
    assert data["ulb_id"] == "ulb-outer01"
    assert data["ulb_type"] == "external"
    assert data["matches_host"] is True
    assert data["vips"][1] == {
        "address": "198.51.100.20",
        "kind": "eip",
        "operator": "International",
    }
    assert data["listeners"][0]["backends"][0]["private_ip"] == HOST_IP


def test_api_url_from_the_environment(api, creds, monkeypatch):
    monkeypatch.setenv(cloud.ENV_API_URL, api.url)
    assert cloud.fetch_clb(creds, "ulb-inner01").ulb_id == "ulb-inner01"
    assert len(api.accepted) == 1


def test_api_url_that_is_not_http_is_refused(creds):
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url="ftp://example.invalid/")
    assert err.value.kind == cloud.KIND_CONFIG


# --------------------------------------------------------------------------- discovery


def test_discovery_lists_every_clb_and_puts_this_hosts_first(api, creds):
    clbs = cloud.discover_clbs(creds, [HOST_IP, "10.99.0.1"], api_url=api.url, page_size=2)

    assert sorted(c.ulb_id for c in clbs) == sorted(c["ULBId"] for c in fakes.sample_clbs())
    candidates = [c.ulb_id for c in clbs if c.matches_host]
    assert set(candidates) == {"ulb-inner01", "ulb-outer01", "ulb-mixed01"}
    # candidates first
    assert [c.matches_host for c in clbs] == [True] * 3 + [False] * 2
    by_id = {c.ulb_id: c for c in clbs}
    assert by_id["ulb-outer01"].vips[0] == ClbVip("203.0.113.10", "eip", "Bgp")
    assert by_id["ulb-inner01"].vips == (ClbVip("10.9.0.100", "private", None),)
    assert any("RequestProxy" in w for w in by_id["ulb-proxy01"].warnings)
    # paged with Limit/Offset, no ULBId
    assert [(r["Limit"], r["Offset"]) for r in api.accepted] == [("2", "0"), ("2", "2"), ("2", "4")]
    assert all("ULBId" not in r for r in api.accepted)


def test_discovery_follows_pages_until_total_count(creds):
    clbs = fakes.sample_clbs() + fakes.filler_clbs(40)
    with FakeUCloudAPI(keys={PUBLIC: PRIVATE}, clbs=clbs) as api:
        found = cloud.discover_clbs(creds, [HOST_IP], api_url=api.url, page_size=20)
    assert len(found) == 45
    assert len({c.ulb_id for c in found}) == 45
    assert [r["Offset"] for r in api.accepted] == ["0", "20", "40"]
    assert sum(c.matches_host for c in found) == 3


def test_discovery_with_no_clb_is_an_empty_list(creds):
    with FakeUCloudAPI(keys={PUBLIC: PRIVATE}, clbs=[]) as api:
        assert cloud.discover_clbs(creds, [HOST_IP], api_url=api.url) == []


def test_discovery_failing_midway_is_an_error_not_a_short_list(api, creds):
    api.fail_at_offset = 2
    with pytest.raises(CloudError) as err:
        cloud.discover_clbs(creds, [HOST_IP], api_url=api.url, page_size=2)
    assert err.value.kind == cloud.KIND_API
    assert err.value.code == 5000
    assert len(api.accepted) == 2  # page one was read, then the failure ended it


def test_discovery_list_shorter_than_its_total_count_is_an_error(api, creds):
    api.total_count_extra = 3  # claims 8, has 5
    with pytest.raises(CloudError) as err:
        cloud.discover_clbs(creds, [HOST_IP], api_url=api.url, page_size=2)
    assert err.value.kind == cloud.KIND_RESPONSE
    assert "5 of 8" in str(err.value)


# --------------------------------------------------------------------------- errors


def test_wrong_private_key_is_a_signature_error(api):
    bad = Credentials(PUBLIC, WRONG_PRIVATE, fakes.REGION)
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(bad, "ulb-inner01", api_url=api.url)
    assert err.value.kind == cloud.KIND_AUTH
    assert err.value.code == 171
    assert "private key" in str(err.value)
    assert "type the VIPs by hand" in str(err.value)
    assert len(api.rejected) == 1
    assert api.accepted == []


def test_unknown_public_key_is_an_auth_error(api):
    bad = Credentials("nobody", PRIVATE, fakes.REGION)
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(bad, "ulb-inner01", api_url=api.url)
    assert err.value.kind == cloud.KIND_AUTH
    assert err.value.code == 172
    assert "public key" in str(err.value)


def test_api_retcode_error_carries_code_and_message(api, creds):
    api.forced_error = (8045, "No permission for this action")
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url)
    assert err.value.kind == cloud.KIND_API
    assert err.value.code == 8045
    assert "RetCode 8045" in str(err.value)
    assert "No permission for this action" in str(err.value)
    assert fakes.REGION in str(err.value)


def test_api_message_echoing_the_private_key_is_scrubbed(api, creds):
    api.forced_error = (230, f"Params [x={PRIVATE}] not available")
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url)
    assert PRIVATE not in str(err.value)
    assert "***" in str(err.value)


def test_unknown_clb_is_not_found(api, creds):
    with pytest.raises(CloudError) as err:  # the fake answers an empty DataSet
        cloud.fetch_clb(creds, "ulb-nosuch", api_url=api.url)
    assert err.value.kind == cloud.KIND_NOT_FOUND
    assert "ulb-nosuch" in str(err.value)


def test_clb_of_another_region_is_not_found(api):
    elsewhere = Credentials(PUBLIC, PRIVATE, "hk")
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(elsewhere, "ulb-inner01", api_url=api.url)
    assert err.value.kind == cloud.KIND_NOT_FOUND
    assert "region hk" in str(err.value)


def test_slow_api_times_out(api, creds):
    api.delay = 5.0  # released when the fake stops
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url, timeout=0.2)
    assert err.value.kind == cloud.KIND_TIMEOUT
    assert "0.2 s" in str(err.value)


def test_no_network_is_a_network_error(creds, closed_url):
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url=closed_url)
    assert err.value.kind == cloud.KIND_NETWORK
    assert closed_url in str(err.value)


def test_http_error_status(api, creds):
    api.http_status = 404
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url)
    assert err.value.kind == cloud.KIND_API
    assert "404" in str(err.value)
    assert len(api.requests) == 1  # not a transient status: no retry


def test_answer_that_is_not_json(api, creds):
    api.garbage = True
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url)
    assert err.value.kind == cloud.KIND_RESPONSE
    assert "<html>" not in str(err.value)


def test_empty_inputs_are_config_errors():
    with pytest.raises(CloudError) as err:
        Credentials(PUBLIC, "  ", fakes.REGION)
    assert err.value.kind == cloud.KIND_CONFIG
    creds = Credentials(PUBLIC, PRIVATE, fakes.REGION)
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, " ", api_url="http://127.0.0.1:9")
    assert err.value.kind == cloud.KIND_CONFIG


def test_missing_sdk_is_a_cloud_error(creds, monkeypatch):
    monkeypatch.setitem(sys.modules, "ucloud.core.client", None)  # import fails
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url="http://127.0.0.1:9")
    assert err.value.kind == cloud.KIND_SDK_MISSING
    assert "ucloud-sdk-python3" in str(err.value)


# --------------------------------------------------------------------------- health poll


class FakeTime:
    """An injected clock and sleep: sleeping moves the clock, nothing waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def poll_health(t: FakeTime, creds, ulb_id: str, ips: list, api_url: str, **limits):
    """cloud.poll_backend_health on FakeTime t's clock and sleep (nothing waits)."""
    return cloud.poll_backend_health(creds, ulb_id, ips, sleep=t.sleep, clock=t.clock,
                                     api_url=api_url, **limits)


def test_health_poll_waits_until_this_hosts_backends_are_healthy(api, creds):
    api.set_health("ulb-outer01", HOST_IP, healthy_after=3)
    t = FakeTime()

    result = poll_health(t, creds, "ulb-outer01", [HOST_IP], api.url, timeout=60, interval=2)

    assert result.healthy is True
    assert result.timed_out is False
    assert result.attempts == 3
    assert api.calls("ulb-outer01") == 3
    assert t.sleeps == [2, 2]
    assert result.elapsed == 4
    # this host's backends on both listeners, not the other host's
    assert sorted((b.vserver_id, b.port) for b in result.backends) == [
        ("vserver-out53", 53),
        ("vserver-out80", 80),
    ]
    assert all(b.private_ip == HOST_IP and b.status == 0 for b in result.backends)
    assert "reaches this host (198.51.100.11:80, 198.51.100.11:53)" in result.message
    assert "2 message-forwarding listener(s)" in result.message
    assert "not the VIPs" in result.message  # worded for what it proves
    assert json.loads(json.dumps(result.to_json()))["healthy"] is True


def test_health_poll_times_out_with_the_failing_backends(api, creds):
    api.set_health("ulb-outer01", HOST_IP, healthy_after=None)  # never healthy
    t = FakeTime()

    result = poll_health(t, creds, "ulb-outer01", [HOST_IP], api.url, timeout=10, interval=3)

    assert result.healthy is False
    assert result.timed_out is True
    assert t.sleeps == [3, 3, 3, 1]  # never sleeps past the deadline
    assert result.attempts == 5
    assert all(b.status == 1 and not b.healthy for b in result.backends)
    assert "vserver-out80 (TCP:80) -> 198.51.100.11:80: health check failing" in result.message
    assert "vserver-out53 (UDP:53) -> 198.51.100.11:53" in result.message


def test_health_poll_for_a_host_that_is_no_backend_returns_at_once(api, creds):
    t = FakeTime()
    result = poll_health(t, creds, "ulb-other01", [HOST_IP], api.url, timeout=60, interval=1)
    assert result.healthy is False
    assert result.attempts == 1
    assert t.sleeps == []
    assert "not a backend" in result.message


def test_health_poll_api_failure_raises(api, creds):
    t = FakeTime()
    with pytest.raises(CloudError) as err:
        poll_health(t, creds, "ulb-nosuch", [HOST_IP], api.url, timeout=5, interval=1)
    assert err.value.kind == cloud.KIND_NOT_FOUND


# --------------------------------------------------------------------------- credentials


def test_credentials_from_the_vendors_environment_names():
    env = {
        "UCLOUD_PUBLIC_KEY": PUBLIC,
        "UCLOUD_PRIVATE_KEY": PRIVATE + "\n",
        "UCLOUD_REGION": "cn-sh2",
        "UCLOUD_PROJECT_ID": "org-abc",
    }
    creds = Credentials.from_env(env)
    assert creds == Credentials(PUBLIC, PRIVATE, "cn-sh2", "org-abc")


def test_credentials_region_and_project_fall_back_to_the_defaults():
    env = {"UCLOUD_PUBLIC_KEY": PUBLIC, "UCLOUD_PRIVATE_KEY": PRIVATE}
    creds = Credentials.from_env(env, default_region="cn-bj2", default_project_id="org-m")
    assert creds is not None
    assert (creds.region, creds.project_id) == ("cn-bj2", "org-m")
    # the environment wins over the defaults
    env["UCLOUD_REGION"] = "hk"
    assert Credentials.from_env(env, default_region="cn-bj2").region == "hk"


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"UCLOUD_PUBLIC_KEY": PUBLIC, "UCLOUD_REGION": "cn-bj2"},
        {"UCLOUD_PRIVATE_KEY": PRIVATE, "UCLOUD_REGION": "cn-bj2"},
        {"UCLOUD_PUBLIC_KEY": PUBLIC, "UCLOUD_PRIVATE_KEY": PRIVATE},  # no region
    ],
)
def test_credentials_from_env_incomplete_is_none(env):
    assert Credentials.from_env(env) is None


def test_credentials_repr_hides_the_private_key():
    creds = Credentials(PUBLIC, PRIVATE, "cn-bj2", "org-abc")
    for text in (repr(creds), str(creds), f"{creds}", f"{creds!r}"):
        assert PRIVATE not in text
        assert PUBLIC in text
        assert "***" in text


# --------------------------------------------------------------------------- metadata


def test_metadata_gives_region_and_project(api):
    assert cloud.metadata_defaults(api.metadata_url) == {
        "region": fakes.REGION,
        "project_id": fakes.PROJECT_ID,
    }


def test_metadata_url_from_the_environment(api, monkeypatch):
    monkeypatch.setenv(cloud.ENV_METADATA_URL, api.metadata_url)
    assert cloud.metadata_defaults()["region"] == fakes.REGION


def test_metadata_elsewhere_is_silently_none(closed_url):
    assert cloud.metadata_defaults(closed_url + "/meta-data/latest/uhost") == {
        "region": None,
        "project_id": None,
    }


def test_metadata_partial_or_garbage_is_none_for_that_item():
    with FakeUCloudAPI(
        keys={}, clbs=[], metadata={"region": "<html>captive portal</html>"}
    ) as fake:
        assert cloud.metadata_defaults(fake.metadata_url) == {"region": None, "project_id": None}
    with FakeUCloudAPI(keys={}, clbs=[], metadata={"project-id": "org-only"}) as fake:
        assert cloud.metadata_defaults(fake.metadata_url) == {
            "region": None,
            "project_id": "org-only",
        }


def test_metadata_default_url_is_the_documented_one():
    assert cloud.DEFAULT_METADATA_URL == "http://100.80.80.80/meta-data/latest/uhost"


# --------------------------------------------------------------------------- secrets and logs


def _sdk_client(api, logger):
    """A client built the SDK's default way (its own logging middleware)."""
    from ucloud.client import Client

    return Client(
        {
            "region": fakes.REGION,
            "public_key": PUBLIC,
            "private_key": PRIVATE,
            "base_url": api.url,
            "max_retries": 0,
        },
        logger=logger,
    ).ulb()


def test_the_sdk_default_logs_requests_so_the_silence_test_means_something(api, caplog):
    caplog.set_level(logging.DEBUG)
    _sdk_client(api, logging.getLogger("tests.sdk-default")).describe_ulb({"ULBId": "ulb-inner01"})
    logged = [r.getMessage() for r in caplog.records if r.name == "tests.sdk-default"]
    assert any("[request] DescribeULB" in m and "ulb-inner01" in m for m in logged)
    assert any("[response]" in m and "10.9.0.100" in m for m in logged)


def test_sdk_logging_is_silenced(api, creds, caplog, capfd):
    caplog.set_level(logging.DEBUG)

    cloud.fetch_clb(creds, "ulb-outer01", api_url=api.url)
    cloud.discover_clbs(creds, [HOST_IP], api_url=api.url, page_size=2)
    with pytest.raises(CloudError):
        cloud.fetch_clb(
            Credentials(PUBLIC, WRONG_PRIVATE, fakes.REGION), "ulb-inner01", api_url=api.url
        )
    with pytest.raises(CloudError):
        cloud.fetch_clb(creds, "ulb-nosuch", api_url=api.url)

    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""
    assert [r for r in caplog.records if r.name.split(".")[0] == "ucloud"] == []
    assert not any("[request]" in r.getMessage() for r in caplog.records)
    assert not any("[response]" in r.getMessage() for r in caplog.records)
    assert not any("DescribeULB" in r.getMessage() for r in caplog.records)
    sdk_logger = logging.getLogger("ucloud")
    assert sdk_logger.propagate is False
    assert all(isinstance(h, logging.NullHandler) for h in sdk_logger.handlers)
    assert not sdk_logger.isEnabledFor(logging.CRITICAL)


def _secrets(api):
    """The private keys, and every signature the fake saw (a signature is as good as the
    request it signs)."""
    return [PRIVATE, WRONG_PRIVATE] + [r["Signature"] for r in api.requests if "Signature" in r]


def _texts_of(error: CloudError) -> list[str]:
    texts = [str(error), repr(error), json.dumps(error.to_json())]
    texts.append("".join(traceback.format_exception(type(error), error, error.__traceback__)))
    # what a crash screen that shows the locals of every frame would print
    te = traceback.TracebackException.from_exception(error, capture_locals=True)
    texts.append("".join(te.format()))
    return texts


def test_private_key_and_signatures_appear_nowhere(api, creds, caplog, capfd, closed_url):
    caplog.set_level(logging.DEBUG)
    bad = Credentials(PUBLIC, WRONG_PRIVATE, fakes.REGION, fakes.PROJECT_ID)
    errors: list[CloudError] = []

    def failing(call):
        with pytest.raises(CloudError) as err:
            call()
        errors.append(err.value)

    failing(lambda: cloud.fetch_clb(bad, "ulb-inner01", api_url=api.url))
    failing(lambda: cloud.discover_clbs(bad, [HOST_IP], api_url=api.url))
    failing(lambda: cloud.fetch_clb(creds, "ulb-nosuch", api_url=api.url))
    failing(lambda: cloud.fetch_clb(creds, "ulb-inner01", api_url=closed_url))
    failing(
        lambda: cloud.poll_backend_health(
            bad, "ulb-inner01", [HOST_IP], timeout=1, interval=1, api_url=api.url
        )
    )
    api.forced_error = (230, f"Params [x={PRIVATE}] not available")
    failing(lambda: cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url))
    api.forced_error = None
    api.fail_at_offset = 2
    failing(lambda: cloud.discover_clbs(creds, [HOST_IP], api_url=api.url, page_size=2))
    api.fail_at_offset = None
    api.delay = 5.0
    failing(lambda: cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url, timeout=0.1))
    api.delay = 0.0
    clbs = cloud.discover_clbs(creds, [HOST_IP], api_url=api.url)

    texts: list[str] = [repr(creds), str(creds), repr(bad), repr(clbs)]
    texts += [json.dumps(c.to_json()) for c in clbs]
    for error in errors:
        # no chained SDK exception that could carry the request
        assert error.__cause__ is None
        assert error.__context__ is None
        texts += _texts_of(error)
    texts += [r.getMessage() for r in caplog.records]
    texts.append(caplog.text)
    texts.extend(capfd.readouterr())

    assert len(api.requests) == 9  # every call but the closed port's reached the fake
    secrets = _secrets(api)
    for text in texts:
        for secret in secrets:
            assert secret not in text


# --------------------------------------------------------------------------- issue 12
# 1. the VPC-internal endpoint


@pytest.fixture
def on_ucloud(api, monkeypatch):
    """This host is a UCloud instance: the fake answers the metadata paths."""
    api.metadata = fakes.instance_metadata()
    monkeypatch.setenv(cloud.ENV_METADATA_URL, api.metadata_url)
    return api


def test_internal_endpoint_is_the_documented_http_one():
    # docs.ucloud.cn/api/summary/gateway: VPC 内网访问 http://api.service.ucloud.cn
    endpoint = cloud.resolve_endpoint(internal=True, env={})
    assert endpoint == cloud.Endpoint("http://api.service.ucloud.cn", True)
    assert cloud.resolve_endpoint("internal", env={}).internal
    assert cloud.resolve_endpoint(env={cloud.ENV_API_URL: "internal"}).internal
    assert not cloud.resolve_endpoint(env={}).internal


def test_internal_flag_sends_the_request_to_the_internal_endpoint(api, creds, monkeypatch):
    monkeypatch.setenv(cloud.ENV_INTERNAL_API_URL, api.url)  # the fake stands in for it
    clb = cloud.fetch_clb(creds, "ulb-inner01", api_url="http://127.0.0.1:9", internal=True)
    assert clb.ulb_id == "ulb-inner01" and len(api.accepted) == 1


def test_public_endpoint_unreachable_from_a_uhost_offers_the_internal_one(on_ucloud, creds,
                                                                          closed_url):
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url=closed_url)
    assert err.value.kind == cloud.KIND_NETWORK
    assert err.value.suggest_internal
    assert "--internal-api" in str(err.value) and "plain HTTP" in str(err.value)


def test_unreachable_elsewhere_does_not_offer_the_internal_endpoint(creds, closed_url):
    with pytest.raises(CloudError) as err:  # metadata does not answer: not a UHost
        cloud.fetch_clb(creds, "ulb-inner01", api_url=closed_url)
    assert err.value.kind == cloud.KIND_NETWORK
    assert not err.value.suggest_internal
    assert "internal" not in str(err.value)


@pytest.mark.parametrize(("internal", "names"), [(False, "public (egress) address"),
                                                  (True, "10.10.10.10")])
def test_refused_access_ip_has_its_own_message(api, creds, monkeypatch, internal, names):
    monkeypatch.setenv(cloud.ENV_INTERNAL_API_URL, api.url)
    api.forced_error = (294, "IP not allowed")
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url, internal=internal)
    assert err.value.code == 294 and err.value.kind == cloud.KIND_PERMISSION
    assert "whitelist" in str(err.value) and names in str(err.value)
    assert len(api.requests) == 1  # not retried


# 2. where region and project come from


def test_flag_beats_environment_beats_metadata():
    env = {"UCLOUD_PUBLIC_KEY": PUBLIC, "UCLOUD_PRIVATE_KEY": PRIVATE,
           "UCLOUD_REGION": "cn-sh2", "UCLOUD_PROJECT_ID": "org-env"}
    asked = []

    def metadata():
        asked.append(1)
        return {"region": "hk", "project_id": "org-meta"}

    creds = cloud.resolve_credentials(region="cn-bj2", env=env, metadata=metadata)
    assert (creds.region, creds.region_source) == ("cn-bj2", "--region")
    assert (creds.project_id, creds.project_source) == ("org-env", "UCLOUD_PROJECT_ID")
    assert asked == []  # both known: the metadata service is not asked
    assert creds.where() == ("region cn-bj2 (from --region), project org-env (from "
                             "UCLOUD_PROJECT_ID)")
    del env["UCLOUD_REGION"], env["UCLOUD_PROJECT_ID"]
    creds = cloud.resolve_credentials(project_id="org-flag", env=env, metadata=metadata)
    assert (creds.region, creds.region_source) == ("hk", "instance metadata")
    assert (creds.project_id, creds.project_source) == ("org-flag", "--project-id")


def test_unknown_project_is_292_with_its_own_hint(api):
    creds = Credentials(PUBLIC, PRIVATE, fakes.REGION, "org-nosuch", project_source="--project-id")
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url)
    assert err.value.code == 292 and err.value.kind == cloud.KIND_PERMISSION
    assert "org-nosuch (from --project-id)" in str(err.value)
    assert "sub-account" in str(err.value)


def test_invalid_region_is_an_error_not_an_empty_list(api):
    creds = Credentials(PUBLIC, PRIVATE, "cn-nowhere9", region_source="UCLOUD_REGION")
    with pytest.raises(CloudError) as err:
        cloud.discover_clbs(creds, [HOST_IP], api_url=api.url)
    assert "cn-nowhere9 (from UCLOUD_REGION)" in str(err.value)
    assert "Check the region" in str(err.value)


def test_iam_refusal_has_its_own_hint(api, creds):
    api.forced_error = (299, "IAM permission denied")
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url)
    assert err.value.code == 299 and "IAM policy" in str(err.value)


# 3. this host by instance id and VPC


def test_metadata_gives_this_hosts_instance_id_vpc_and_addresses(on_ucloud):
    instance = cloud.read_instance()
    assert instance.answered and instance.uhost_id == fakes.SELF_UHOST
    assert instance.vpc_ids == (fakes.VPC_ID,) and instance.private_ips == (HOST_IP,)
    host = cloud.this_host(["172.17.0.1"], instance)  # docker0's address too
    assert host == cloud.ThisHost((HOST_IP, "172.17.0.1"), fakes.SELF_UHOST, (fakes.VPC_ID,))


def test_discovery_asks_for_this_hosts_vpc_and_skips_the_twin_in_another(on_ucloud, creds):
    on_ucloud.clbs += fakes.tricky_clbs()
    host = cloud.this_host([HOST_IP])
    clbs = cloud.discover_clbs(creds, [], host=host, api_url=on_ucloud.url)
    assert {r.get("VPCId") for r in on_ucloud.accepted} == {fakes.VPC_ID}
    assert "ulb-twin01" not in [c.ulb_id for c in clbs]  # other VPC, same address
    assert {c.ulb_id for c in clbs if c.matches_host} == {"ulb-inner01", "ulb-outer01",
                                                          "ulb-mixed01"}


def test_backend_with_this_hosts_ip_in_another_vpc_is_not_this_host(on_ucloud, creds):
    on_ucloud.clbs += fakes.tricky_clbs()
    host = cloud.this_host([HOST_IP])
    twin = cloud.fetch_clb(creds, "ulb-twin01", host=host, api_url=on_ucloud.url)
    assert not twin.matches_host  # by ResourceId: uhost-twin01 is another instance
    assert "not a backend" in twin.warnings[-1]
    t = FakeTime()
    result = poll_health(t, creds, "ulb-twin01", [], on_ucloud.url, host=host, timeout=30)
    assert not result.healthy and result.attempts == 1 and "not a backend" in result.message


def test_backend_matching_rules():
    from clb_wizard.cloud.parsing import is_this_host

    me = cloud.ThisHost((HOST_IP,), "uhost-me", ("uvnet-a",))
    same_ip = dict(private_ip=HOST_IP, port=80, status=0, enabled=True)
    assert is_this_host(cloud.Backend(**same_ip, resource_id="uhost-me"), "uvnet-a", me)
    assert not is_this_host(cloud.Backend(**same_ip, resource_id="uhost-x"), "uvnet-a", me)
    # no ResourceId: by address, within this host's VPC only
    assert is_this_host(cloud.Backend(**same_ip, vpc_id="uvnet-a"), None, me)
    assert not is_this_host(cloud.Backend(**same_ip, vpc_id="uvnet-b"), None, me)
    assert not is_this_host(cloud.Backend(**same_ip), "uvnet-b", me)  # the CLB's VPC
    # no metadata at all (not a UHost): the address is all there is
    assert is_this_host(cloud.Backend(**same_ip, resource_id="uhost-x"), "uvnet-b",
                        cloud.ThisHost((HOST_IP,)))


# 4. what the health fact counts and says


def test_health_counts_only_message_forwarding_listeners(creds):
    mixed = fakes.clb("ulb-mix02", "mix", "OuterMode", listen_type="Comprehensive",
                      eips=[("198.51.100.61", "Bgp")], vservers=[
                          fakes.vserver("vs-dsr", "TCP", 443, [fakes.backend(HOST_IP, 443)]),
                          fakes.vserver("vs-proxy", "HTTP", 80, [fakes.backend(HOST_IP, 80,
                                        status=1)], "RequestProxy")])
    proxy_only = fakes.clb("ulb-prx02", "prx", "OuterMode", listen_type="RequestProxy",
                           eips=[("198.51.100.62", "Bgp")], vservers=[fakes.vserver(
                               "vs-p", "HTTP", 80, [fakes.backend(HOST_IP)], "RequestProxy")])
    with FakeUCloudAPI(keys={PUBLIC: PRIVATE}, clbs=[mixed, proxy_only]) as fake:
        t = FakeTime()
        result = poll_health(t, creds, "ulb-mix02", [HOST_IP], fake.url, timeout=30)
        assert result.healthy  # the failing request-proxy backend does not count
        assert [b.vserver_id for b in result.backends] == ["vs-dsr"]
        result = poll_health(t, creds, "ulb-prx02", [HOST_IP], fake.url, timeout=30)
        assert not result.healthy and "only on request-proxy listeners" in result.message


def test_failing_health_advice_is_about_this_hosts_own_address(api, creds):
    api.set_health("ulb-inner01", HOST_IP, healthy_after=None)
    t = FakeTime()
    result = poll_health(t, creds, "ulb-inner01", [HOST_IP], api.url, timeout=4, interval=2)
    assert result.timed_out
    assert "not the VIPs" in result.message and "0.0.0.0" in result.message
    assert "listens on the VIPs" not in result.message  # the old, wrong advice


def test_health_fact_is_a_warning_unless_required(api, creds):
    fact = cloud.health_fact(creds, "ulb-other01", [HOST_IP], timeout=0, api_url=api.url)
    assert fact.name == cloud.HEALTH_FACT and not fact.ok and not fact.fatal
    fact = cloud.health_fact(creds, "ulb-other01", [HOST_IP], timeout=0, api_url=api.url,
                             fatal=True)
    assert fact.fatal


# 5. transient and permission errors


def test_transient_4086_is_retried_then_answered(api, creds):
    api.fail_next(*fakes.FETCH_FAILED, times=2)
    clb = cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url)
    assert clb.ulb_id == "ulb-inner01"
    assert len(api.accepted) == 3


@pytest.mark.parametrize("code", [110, 130, 150, 153, 4086, 4103])
def test_transient_codes_give_up_after_a_bound_with_real_backoff(api, creds, code):
    api.fail_next(code, "busy", times=99)
    waits: list[float] = []
    client = cloud.client.Api(creds, api.url, 5, sleep=waits.append)
    cloud.client.RETRY_DELAYS = REAL_RETRY_DELAYS  # undone by the autouse fixture
    with pytest.raises(CloudError) as err:
        client.describe({"ULBId": "ulb-inner01"}, ulb_id="ulb-inner01")
    assert waits == [0.5, 1.0, 2.0, 4.0]  # doubling, then it stops
    assert len(api.requests) == 5
    assert err.value.kind == cloud.KIND_UNAVAILABLE and err.value.code == code
    assert "try again later" in str(err.value) and "No CLB" not in str(err.value)


def test_health_poll_waits_out_a_gateway_error(api, creds):
    api.fail_next(150, "Service Unavailable", times=7)  # more than one call's retries
    t = FakeTime()
    result = poll_health(t, creds, "ulb-inner01", [HOST_IP], api.url, timeout=60, interval=5)
    assert result.healthy and result.attempts == 2


# 6. one odd value does not fail discovery


def test_malformed_field_on_another_clb_does_not_fail_discovery(api, creds):
    from ucloud.core.exc import ValidationException
    from ucloud.services.ulb.schemas import apis

    api.clbs += fakes.tricky_clbs()
    odd = next(c for c in api.clbs if c["ULBId"] == "ulb-odd01")
    with pytest.raises(ValidationException):  # what the SDK's schema made of it
        apis.DescribeULBResponseSchema().loads({"RetCode": 0, "DataSet": [odd]})
    clbs = cloud.discover_clbs(creds, [HOST_IP], api_url=api.url)
    assert len(clbs) == len(api.clbs)
    odd_clb = next(c for c in clbs if c.ulb_id == "ulb-odd01")
    assert odd_clb.listeners[0].frontend_port is None
    assert odd_clb.listeners[0].backends[0].port is None


# 7. the smaller ones


def test_default_timeout_is_the_sdks():
    from ucloud.core.client._cfg import Config

    assert cloud.DEFAULT_TIMEOUT == Config().timeout == 30


def test_tls_failure_is_not_no_network(api, creds):
    with pytest.raises(CloudError) as err:  # TLS to a plain-HTTP port
        cloud.fetch_clb(creds, "ulb-inner01", api_url=f"https://127.0.0.1:{api.port}")
    assert err.value.kind == cloud.KIND_TLS and "TLS" in str(err.value)
    assert "no network" not in str(err.value)


def test_proxy_failure_is_not_no_network(creds, monkeypatch):
    proxy = f"http://127.0.0.1:{fakes.free_closed_port()}"
    monkeypatch.delenv("NO_PROXY")
    monkeypatch.setenv("HTTP_PROXY", proxy)
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url="http://127.0.0.1:9")
    assert err.value.kind == cloud.KIND_PROXY and "HTTP_PROXY" in str(err.value)


def test_empty_body_is_a_clear_error(api, creds):
    api.empty_body = True
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url)
    assert err.value.kind == cloud.KIND_RESPONSE and "empty answer" in str(err.value)
    assert "AttributeError" not in str(err.value)


def test_discovery_sorts_in_natural_order(creds):
    names = ["other-10", "other-2", "other-1"]
    clbs = [fakes.clb(f"ulb-n{i}", name, "InnerMode", private_ip=f"10.40.0.{i}")
            for i, name in enumerate(names)]
    with FakeUCloudAPI(keys={PUBLIC: PRIVATE}, clbs=clbs) as fake:
        found = cloud.discover_clbs(creds, [], api_url=fake.url)
    assert [c.name for c in found] == ["other-1", "other-2", "other-10"]


def test_missing_sdk_hint_names_no_extra_that_does_not_exist(creds, monkeypatch):
    monkeypatch.setitem(sys.modules, "ucloud.core.client", None)
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url="http://127.0.0.1:9")
    assert "[cloud]" not in str(err.value)


# issue 10: API strings reach a terminal only as text


def test_escape_sequences_from_the_api_are_made_visible(api, creds):
    api.clbs += fakes.tricky_clbs()
    clb = cloud.fetch_clb(creds, "ulb-esc01", api_url=api.url)
    assert "\x1b" not in clb.name and "\x07" not in clb.name
    assert clb.name == "evil\\x1b]0;owned\\x07\\x1b[2J[bold]name"
    assert clb.vips[0].operator == "Bgp\\x1b[31m"
    api.forced_error = (230, "bad \x1b[2J\x9b6n region \u202e")
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url)
    assert not set("\x1b\x9b\u202e") & set(str(err.value))
    assert "\\x1b[2J" in str(err.value)


def test_cli_fetch_without_root_still_marks_this_hosts_clbs(on_ucloud, monkeypatch, capsys):
    """Reading this host's addresses and its metadata needs no root (the real machine's
    addresses do not include the fake's HOST_IP: the uhost-id is what matches here)."""
    import clb_wizard.cli

    monkeypatch.setattr("os.geteuid", lambda: 1000)
    for name, value in (("UCLOUD_PUBLIC_KEY", PUBLIC), ("UCLOUD_PRIVATE_KEY", PRIVATE),
                        (cloud.ENV_API_URL, on_ucloud.url)):
        monkeypatch.setenv(name, value)
    assert clb_wizard.cli.main(["fetch", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["region"], out["region_source"]) == (fakes.REGION, "instance metadata")
    assert out["host"]["uhost_id"] == fakes.SELF_UHOST
    assert {c["ulb_id"] for c in out["clbs"] if c["matches_host"]} == {
        "ulb-inner01", "ulb-outer01", "ulb-mixed01"}


def test_the_new_failure_paths_carry_no_secret(on_ucloud, creds, caplog, capfd, closed_url):
    """Retries, permission hints, TLS, empty bodies and the internal-endpoint offer: no key
    or signature in any message, traceback, log record or output."""
    caplog.set_level(logging.DEBUG)
    api = on_ucloud
    errors: list[CloudError] = []
    calls = [
        (lambda: api.fail_next(150, f"busy {PRIVATE}", times=9),
         lambda: cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url)),
        (lambda: setattr(api, "forced_error", (294, "IP not allowed")),
         lambda: cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url)),
        (lambda: setattr(api, "forced_error", None),
         lambda: cloud.fetch_clb(creds, "ulb-inner01", api_url=f"https://127.0.0.1:{api.port}")),
        (lambda: setattr(api, "empty_body", True),
         lambda: cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url)),
        (lambda: None, lambda: cloud.fetch_clb(creds, "ulb-inner01", api_url=closed_url)),
    ]
    for prepare, call in calls:
        prepare()
        with pytest.raises(CloudError) as err:
            call()
        errors.append(err.value)
    assert errors[-1].suggest_internal
    texts = [caplog.text, *capfd.readouterr()]
    for error in errors:
        assert error.__cause__ is None and error.__context__ is None
        texts += _texts_of(error)
    assert len(api.requests) >= 7
    for text in texts:
        for secret in _secrets(api):
            assert secret not in text
