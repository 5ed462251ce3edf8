"""What the cloud tests share: the fake API, the keys it knows, a fake clock for health
polls, and where secrets could show up."""

from __future__ import annotations

import json
import traceback

from clb_wizard import cloud
from clb_wizard.cloud import CloudError
from tests.fakes import ucloud_api as fakes

FakeUCloudAPI = fakes.FakeUCloudAPI
HOST_IP = fakes.HOST_IP

PUBLIC = "fake-public-key-Aa1"
# A marker easy to grep for: it must never show up anywhere.
PRIVATE = "PRIVATE-KEY-zz-3f9c1e-do-not-leak"
WRONG_PRIVATE = "WRONG-PRIVATE-KEY-qq-77ad0b-do-not-leak"

CLOUD_VARS = ("UCLOUD_PUBLIC_KEY", "UCLOUD_PRIVATE_KEY", "UCLOUD_REGION", "UCLOUD_PROJECT_ID")
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
REAL_RETRY_DELAYS = cloud.client.RETRY_DELAYS  # conftest.py sets them to 0 for every test


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


def poll_health(t: FakeTime, creds, ulb_id: str, ips: list, api_url: str, **limits):
    """cloud.poll_backend_health on FakeTime t's clock and sleep (nothing waits)."""
    return cloud.poll_backend_health(creds, ulb_id, ips, sleep=t.sleep, clock=t.clock,
                                     api_url=api_url, **limits)


def secrets_seen(api):
    """The private keys, and every signature the fake saw (a signature is as good as the
    request it signs)."""
    return [PRIVATE, WRONG_PRIVATE] + [r["Signature"] for r in api.requests if "Signature" in r]


def texts_of(error: CloudError) -> list[str]:
    texts = [str(error), repr(error), json.dumps(error.to_json())]
    texts.append("".join(traceback.format_exception(type(error), error, error.__traceback__)))
    # what a crash screen that shows the locals of every frame would print
    te = traceback.TracebackException.from_exception(error, capture_locals=True)
    texts.append("".join(te.format()))
    return texts
