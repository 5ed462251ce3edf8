"""clb_wizard.cloud.discovery: one CLB by id, every CLB of this host's VPC (all pages, this
host's first), and the bounds on how far the paging goes."""

from __future__ import annotations

import json

import pytest

from clb_wizard import cloud
from clb_wizard.cloud import ClbVip, CloudError, Credentials
from tests.unit.cloud.common import (
    HOST_IP,
    PRIVATE,
    PUBLIC,
    FakeUCloudAPI,
    fakes,
)


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


def test_fetch_with_host_ips_says_whether_this_host_is_a_backend(api, creds):
    mine = cloud.fetch_clb(creds, "ulb-inner01", host_private_ips=[HOST_IP], api_url=api.url)
    assert mine.matches_host is True
    assert mine.warnings == ()

    other = cloud.fetch_clb(creds, "ulb-other01", host_private_ips=[HOST_IP], api_url=api.url)
    assert other.matches_host is False
    assert any("not a backend" in w and HOST_IP in w for w in other.warnings)


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


def test_discovery_asks_for_this_hosts_vpc_and_skips_the_twin_in_another(on_ucloud, creds):
    on_ucloud.clbs += fakes.tricky_clbs()
    host = cloud.this_host([HOST_IP])
    clbs = cloud.discover_clbs(creds, [], host=host, api_url=on_ucloud.url)
    assert {r.get("VPCId") for r in on_ucloud.accepted} == {fakes.VPC_ID}
    assert "ulb-twin01" not in [c.ulb_id for c in clbs]  # other VPC, same address
    assert {c.ulb_id for c in clbs if c.matches_host} == {"ulb-inner01", "ulb-outer01",
                                                          "ulb-mixed01"}


def test_discovery_sorts_in_natural_order(creds):
    names = ["other-10", "other-2", "other-1"]
    clbs = [fakes.clb(f"ulb-n{i}", name, "InnerMode", private_ip=f"10.40.0.{i}")
            for i, name in enumerate(names)]
    with FakeUCloudAPI(keys={PUBLIC: PRIVATE}, clbs=clbs) as fake:
        found = cloud.discover_clbs(creds, [], api_url=fake.url)
    assert [c.name for c in found] == ["other-1", "other-2", "other-10"]


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


# issue 21: paging has a bound
class EndlessAPI(FakeUCloudAPI):
    """A fake whose list never ends: every page is full of new CLBs, and no TotalCount."""

    def _describe_ulb(self, params, response_action):
        offset, limit = int(params.get("Offset") or 0), int(params.get("Limit") or 20)
        page = [fakes.clb(f"ulb-e{n}", f"e{n}", "InnerMode", private_ip="10.9.9.9")
                for n in range(offset, offset + limit)]
        return {"Action": response_action, "RetCode": 0, "DataSet": page}


def test_paging_that_never_ends_stops_at_the_bound(creds):
    from clb_wizard.cloud.discovery import MAX_CLBS

    with EndlessAPI(keys={PUBLIC: PRIVATE}, clbs=[]) as fake:
        with pytest.raises(CloudError) as err:
            cloud.discover_clbs(creds, [HOST_IP], api_url=fake.url)
        asked = len(fake.accepted)
    assert err.value.kind == cloud.KIND_RESPONSE
    assert f"more than {MAX_CLBS} CLBs" in str(err.value) and "--ulb-id" in str(err.value)
    assert asked == MAX_CLBS // cloud.DEFAULT_PAGE_SIZE


def test_a_list_that_claims_too_many_clbs_stops_at_once(api, creds):
    from clb_wizard.cloud.discovery import MAX_CLBS

    api.total_count_extra = MAX_CLBS
    with pytest.raises(CloudError) as err:
        cloud.discover_clbs(creds, [HOST_IP], api_url=api.url)
    assert f"more than {MAX_CLBS} CLBs" in str(err.value) and len(api.accepted) == 1
