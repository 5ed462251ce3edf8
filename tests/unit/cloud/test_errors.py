"""clb_wizard.cloud.errors: each refusal of the API (keys, project, region, IAM, access IP)
with its own message and hint."""

from __future__ import annotations

import pytest

from clb_wizard import cloud
from clb_wizard.cloud import CloudError, Credentials
from tests.unit.cloud.common import HOST_IP, PRIVATE, PUBLIC, WRONG_PRIVATE, fakes


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


def test_empty_inputs_are_config_errors():
    with pytest.raises(CloudError) as err:
        Credentials(PUBLIC, "  ", fakes.REGION)
    assert err.value.kind == cloud.KIND_CONFIG
    creds = Credentials(PUBLIC, PRIVATE, fakes.REGION)
    with pytest.raises(CloudError) as err:
        cloud.fetch_clb(creds, " ", api_url="http://127.0.0.1:9")
    assert err.value.kind == cloud.KIND_CONFIG


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
