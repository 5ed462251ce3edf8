"""clb_wizard.cloud.health: the CLB's view of this host's backends, polled on a fake clock,
and the verification fact made of it."""

from __future__ import annotations

import json

import pytest

from clb_wizard import cloud
from clb_wizard.cloud import CloudError
from tests.unit.cloud.common import (
    HOST_IP,
    PRIVATE,
    PUBLIC,
    FakeTime,
    FakeUCloudAPI,
    fakes,
    poll_health,
)


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


def test_health_poll_waits_out_a_gateway_error(api, creds):
    api.fail_next(150, "Service Unavailable", times=7)  # more than one call's retries
    t = FakeTime()
    result = poll_health(t, creds, "ulb-inner01", [HOST_IP], api.url, timeout=60, interval=5)
    assert result.healthy and result.attempts == 2


def test_backend_with_this_hosts_ip_in_another_vpc_is_not_this_host(on_ucloud, creds):
    on_ucloud.clbs += fakes.tricky_clbs()
    host = cloud.this_host([HOST_IP])
    twin = cloud.fetch_clb(creds, "ulb-twin01", host=host, api_url=on_ucloud.url)
    assert not twin.matches_host  # by ResourceId: uhost-twin01 is another instance
    assert "not a backend" in twin.warnings[-1]
    t = FakeTime()
    result = poll_health(t, creds, "ulb-twin01", [], on_ucloud.url, host=host, timeout=30)
    assert not result.healthy and result.attempts == 1 and "not a backend" in result.message
