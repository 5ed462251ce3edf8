"""clb_wizard.cloud.parsing (and models): the program's own reading of DescribeULB answers,
its warnings, escapes and bounds, and one API field as one address."""

from __future__ import annotations

import json

import pytest

from clb_wizard import cloud
from clb_wizard.cloud import ClbVip, CloudError
from tests.unit.cloud.common import HOST_IP, PRIVATE, PUBLIC, FakeUCloudAPI, fakes


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


# issue 21: one API field is one address; every string and list has a bound
def _one(fake_clb: dict, creds, **kwargs):
    with FakeUCloudAPI(keys={PUBLIC: PRIVATE}, clbs=[fake_clb]) as fake:
        return cloud.fetch_clb(creds, fake_clb["ULBId"], api_url=fake.url, **kwargs)


@pytest.mark.parametrize("field", ["203.0.113.5,203.0.113.6", "203.0.113.5 203.0.113.6",
                                   "203.0.113.5;198.51.100.7", "2001:db8::5", "eip-host.example",
                                   "203.0.113.5/24"])
def test_an_eip_field_is_one_address_never_several(creds, field):
    clb = _one(fakes.clb("ulb-many01", "many", "OuterMode",
                         eips=[(field, "Bgp"), ("198.51.100.9", "Bgp")]), creds)
    assert clb.addresses == ("198.51.100.9",)  # the odd field left out, not split
    assert any("EIP" in w and "not one IPv4 address" in w for w in clb.warnings)


def test_a_private_ip_field_is_one_address_too(creds):
    clb = _one(fakes.clb("ulb-many02", "many", "InnerMode", private_ip="10.9.0.5,10.9.0.6"),
               creds)
    assert clb.addresses == ()
    assert any("PrivateIP" in w for w in clb.warnings)


def test_the_cli_does_not_apply_what_one_field_split_into(creds, monkeypatch, tmp_path, capsys):
    import clb_wizard.cli
    from tests.fixtures.roots import make_root

    root = make_root(tmp_path, "debian-12")
    odd = fakes.clb("ulb-many03", "many", "OuterMode", eips=[("203.0.113.5,203.0.113.6", "Bgp"),
                                                              ("198.51.100.9", "Bgp")])
    with FakeUCloudAPI(keys={PUBLIC: PRIVATE}, clbs=[odd]) as fake:
        for name, value in (("UCLOUD_PUBLIC_KEY", PUBLIC), ("UCLOUD_PRIVATE_KEY", PRIVATE),
                            ("UCLOUD_REGION", fakes.REGION), (cloud.ENV_API_URL, fake.url)):
            monkeypatch.setenv(name, value)
        code = clb_wizard.cli.main(["plan", "--root", str(root), "--ulb-id", "ulb-many03",
                                    "--json"])
    err = capsys.readouterr().err
    assert code == 2 and "not one IPv4 address" in err and "--force" in err


def test_long_strings_and_lists_from_the_api_are_bounded(creds):
    from clb_wizard.cloud import parsing

    big = fakes.clb("ulb-big01", "b" * 100_000, "OuterMode",
                    eips=[(f"198.51.100.{n % 250 + 1}", "Bgp") for n in range(200)],
                    vservers=[fakes.vserver(f"vs-{n}", "TCP", 80, [fakes.backend(HOST_IP)])
                              for n in range(300)])
    clb = _one(big, creds)
    assert len(clb.name) == parsing.MAX_TEXT and clb.name.endswith("...")
    assert len(clb.vips) <= parsing.MAX_EIPS and len(clb.listeners) == parsing.MAX_LISTENERS
    assert any("200 EIPs" in w for w in clb.warnings)
    assert any("300 listeners" in w for w in clb.warnings)
