"""This host's region and project from the UHost metadata service (quietly nothing when
this host is not a UCloud instance)."""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Optional

ENV_METADATA_URL = "CLB_WIZARD_METADATA_URL"
# UHost metadata service (docs.ucloud.cn/uhost/guide/metadata/metadata-server): the
# items below are relative to this, e.g. <base>/region and <base>/project-id.
DEFAULT_METADATA_URL = "http://100.80.80.80/meta-data/latest/uhost"
METADATA_TIMEOUT = 0.5

_META_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def metadata_defaults(
    url: Optional[str] = None,
    timeout: float = METADATA_TIMEOUT,
    env: Optional[Mapping[str, str]] = None,
) -> dict[str, Optional[str]]:
    """Region and project of this host from the UHost metadata service.

    ``{"region": ..., "project_id": ...}``, each None when unknown: silently, and after at
    most about one ``timeout`` when this host is not a UCloud instance. ``url`` (or
    ``CLB_WIZARD_METADATA_URL``) replaces ``http://100.80.80.80/meta-data/latest/uhost``.
    """
    env = os.environ if env is None else env
    base = (url or env.get(ENV_METADATA_URL) or DEFAULT_METADATA_URL).rstrip("/")
    # The metadata service is on the instance's own network: never through a proxy.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    result: dict[str, Optional[str]] = {"region": None, "project_id": None}
    for key, item in (("region", "region"), ("project_id", "project-id")):
        try:
            with opener.open(f"{base}/{item}", timeout=timeout) as resp:
                if resp.status != 200:
                    continue
                text = resp.read(256).decode("ascii", "replace").strip()
        except urllib.error.HTTPError:
            continue  # the service answered: try the other item
        except Exception:  # noqa: BLE001 - unreachable, timeout, refused: not a cloud host
            break
        if _META_VALUE.match(text):
            result[key] = text
    return result
