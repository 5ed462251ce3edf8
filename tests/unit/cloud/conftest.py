"""Fixtures of the cloud tests (tests/unit/cloud/, one file per module of wizard/cloud/,
all against a local fake of the UCloud API, tests/fakes/ucloud_api.py, through the real
vendor SDK): a clean environment (no keys, no proxy, no metadata service unless a test
says so), no waits between retries, the fake API and its keys."""

from __future__ import annotations

import pytest

from clb_wizard import cloud
from clb_wizard.cloud import Credentials
from tests.unit.cloud.common import (
    CLOUD_VARS,
    PRIVATE,
    PROXY_VARS,
    PUBLIC,
    FakeUCloudAPI,
    fakes,
)


@pytest.fixture(autouse=True)
def _no_retry_waits(monkeypatch):
    """Transient failures are retried at once here; test_retry_* check the real delays."""
    monkeypatch.setattr(cloud.client, "RETRY_DELAYS", (0.0, 0.0, 0.0, 0.0))


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


@pytest.fixture
def on_ucloud(api, monkeypatch):
    """This host is a UCloud instance: the fake answers the metadata paths."""
    api.metadata = fakes.instance_metadata()
    monkeypatch.setenv(cloud.ENV_METADATA_URL, api.metadata_url)
    return api
