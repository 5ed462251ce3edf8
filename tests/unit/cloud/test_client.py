"""clb_wizard.cloud.client: the one place the SDK is called (endpoints, retries, answers
that are not answers, their size bound), and what never leaks: keys and signatures."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from clb_wizard import cloud
from clb_wizard.cloud import CloudError, Credentials
from tests.unit.cloud.common import (
    HOST_IP,
    PRIVATE,
    PUBLIC,
    REAL_RETRY_DELAYS,
    WRONG_PRIVATE,
    fakes,
    secrets_seen,
    texts_of,
)


def test_api_url_from_the_environment(api, creds, monkeypatch):
    monkeypatch.setenv(cloud.ENV_API_URL, api.url)
    assert cloud.fetch_clb(creds, "ulb-inner01").ulb_id == "ulb-inner01"
    assert len(api.accepted) == 1


def test_api_url_that_is_not_http_is_refused(creds):
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url="ftp://example.invalid/")
    assert err.value.kind == cloud.KIND_CONFIG


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


def test_missing_sdk_is_a_cloud_error(creds, monkeypatch):
    monkeypatch.setitem(sys.modules, "ucloud.core.client", None)  # import fails
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url="http://127.0.0.1:9")
    assert err.value.kind == cloud.KIND_SDK_MISSING
    assert "ucloud-sdk-python3" in str(err.value)


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
        texts += texts_of(error)
    texts += [r.getMessage() for r in caplog.records]
    texts.append(caplog.text)
    texts.extend(capfd.readouterr())

    assert len(api.requests) == 9  # every call but the closed port's reached the fake
    secrets = secrets_seen(api)
    for text in texts:
        for secret in secrets:
            assert secret not in text


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


def test_default_timeout_is_the_sdks():
    from ucloud.core.client._cfg import Config

    assert cloud.DEFAULT_TIMEOUT == Config().timeout == 30


def test_empty_body_is_a_clear_error(api, creds):
    api.empty_body = True
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url)
    assert err.value.kind == cloud.KIND_RESPONSE and "empty answer" in str(err.value)
    assert "AttributeError" not in str(err.value)


def test_missing_sdk_hint_names_no_extra_that_does_not_exist(creds, monkeypatch):
    monkeypatch.setitem(sys.modules, "ucloud.core.client", None)
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url="http://127.0.0.1:9")
    assert "[cloud]" not in str(err.value)


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
        texts += texts_of(error)
    assert len(api.requests) >= 7
    for text in texts:
        for secret in secrets_seen(api):
            assert secret not in text


# issue 21: the key is taken out before the message is cut; answers have a size bound
@pytest.mark.parametrize("message", [
    "x" * 190 + PRIVATE + " tail",  # echoed across the 200-character cut
    f"bad \x1b[1m{PRIVATE[:12]}\x1b[0m{PRIVATE[12:]} param",  # split by escape sequences
    f"bad {PRIVATE[:20]}\n  {PRIVATE[20:]} param",  # split by a line break and spaces
    f"param [{PRIVATE[:14]}...] too long",  # a piece of it
    "\x1b[2J" * 20000 + PRIVATE,  # behind 80,000 characters that print as nothing
], ids=["across-the-cut", "split-by-escapes", "split-by-a-line-break", "a-piece",
        "behind-80k-escapes"])
def test_the_key_never_reaches_a_message_however_the_server_echoes_it(api, creds, message):
    api.forced_error = (230, message)
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, "ulb-inner01", api_url=api.url)
    text = str(err.value)
    for n in range(len(PRIVATE) - 7):
        assert PRIVATE[n:n + 8] not in text.replace("\\x1b[1m", "").replace("\\x1b[0m", "")
    assert "***" in text or len(message) > 65536
    assert "\x1b" not in text and len(text) < 1000


def test_an_answer_larger_than_the_bound_is_refused_not_printed(api, creds):
    api.clbs[0]["Name"] = "n" * (40 << 20)  # the audit's 40 MiB CLB name
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, api.clbs[0]["ULBId"], api_url=api.url)
    assert err.value.kind == cloud.KIND_RESPONSE
    assert "larger than clb-wizard reads (8 MiB" in str(err.value)
    assert len(str(err.value)) < 1000
