"""clb_wizard.cloud.transport_errors: network, TLS, proxy and timeout failures, named for what
they are (and the VPC-internal endpoint offered only on a UHost)."""

from __future__ import annotations

import pytest

from clb_wizard import cloud
from clb_wizard.cloud import CloudError
from tests.unit.cloud.common import fakes


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
