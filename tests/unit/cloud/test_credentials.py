"""clb_wizard.cloud.credentials: keys, region and project, and where each came from."""

from __future__ import annotations

import pytest

from clb_wizard import cloud
from clb_wizard.cloud import Credentials
from tests.unit.cloud.common import PRIVATE, PUBLIC


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
