"""clb_wizard.cloud.metadata: what the UHost metadata service says about this host."""

from __future__ import annotations

from clb_wizard import cloud
from tests.unit.cloud.common import HOST_IP, FakeUCloudAPI, fakes


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


def test_metadata_gives_this_hosts_instance_id_vpc_and_addresses(on_ucloud):
    instance = cloud.read_instance()
    assert instance.answered and instance.uhost_id == fakes.SELF_UHOST
    assert instance.vpc_ids == (fakes.VPC_ID,) and instance.private_ips == (HOST_IP,)
    host = cloud.this_host(["172.17.0.1"], instance)  # docker0's address too
    assert host == cloud.ThisHost((HOST_IP, "172.17.0.1"), fakes.SELF_UHOST, (fakes.VPC_ID,))
