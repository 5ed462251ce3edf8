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

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for var in (*PROXY_VARS, cloud.ENV_API_URL, cloud.ENV_METADATA_URL):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


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
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-nosuch", api_url=api.url)
    assert err.value.kind == cloud.KIND_NOT_FOUND
    assert err.value.code == 4086
    assert "ulb-nosuch" in str(err.value)


def test_unknown_clb_answered_with_an_empty_list_is_not_found(api, creds):
    api.empty_for_unknown_id = True
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-nosuch", api_url=api.url)
    assert err.value.kind == cloud.KIND_NOT_FOUND


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
    api.http_status = 502
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url)
    assert err.value.kind == cloud.KIND_API
    assert "502" in str(err.value)


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
    monkeypatch.setitem(sys.modules, "ucloud.client", None)  # import fails
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


def test_health_poll_waits_until_this_hosts_backends_are_healthy(api, creds):
    api.set_health("ulb-outer01", HOST_IP, healthy_after=3)
    t = FakeTime()

    result = cloud.poll_backend_health(
        creds,
        "ulb-outer01",
        [HOST_IP],
        timeout=60,
        interval=2,
        sleep=t.sleep,
        clock=t.clock,
        api_url=api.url,
    )

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
    assert "healthy" in result.message
    assert json.loads(json.dumps(result.to_json()))["healthy"] is True


def test_health_poll_times_out_with_the_failing_backends(api, creds):
    api.set_health("ulb-outer01", HOST_IP, healthy_after=None)  # never healthy
    t = FakeTime()

    result = cloud.poll_backend_health(
        creds,
        "ulb-outer01",
        [HOST_IP],
        timeout=10,
        interval=3,
        sleep=t.sleep,
        clock=t.clock,
        api_url=api.url,
    )

    assert result.healthy is False
    assert result.timed_out is True
    assert t.sleeps == [3, 3, 3, 1]  # never sleeps past the deadline
    assert result.attempts == 5
    assert all(b.status == 1 and not b.healthy for b in result.backends)
    assert "vserver-out80 (TCP:80) -> 198.51.100.11:80: health check failing" in result.message
    assert "vserver-out53 (UDP:53) -> 198.51.100.11:53" in result.message


def test_health_poll_for_a_host_that_is_no_backend_returns_at_once(api, creds):
    t = FakeTime()
    result = cloud.poll_backend_health(
        creds,
        "ulb-other01",
        [HOST_IP],
        timeout=60,
        interval=1,
        sleep=t.sleep,
        clock=t.clock,
        api_url=api.url,
    )
    assert result.healthy is False
    assert result.attempts == 1
    assert t.sleeps == []
    assert "not a backend" in result.message


def test_health_poll_api_failure_raises(api, creds):
    t = FakeTime()
    with pytest.raises(CloudError) as err:
        cloud.poll_backend_health(
            creds,
            "ulb-nosuch",
            [HOST_IP],
            timeout=5,
            interval=1,
            sleep=t.sleep,
            clock=t.clock,
            api_url=api.url,
        )
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
