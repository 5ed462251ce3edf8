"""What the UHost metadata service says about this host: region, project, the instance id
(``uhost-id``) and the VPC and addresses of each network interface. Quietly nothing when
this host is not a UCloud instance.

Paths, from UCloud's "Metadata Server" page (docs.ucloud.cn/uhost/guide/metadata/
metadata-server), relative to ``http://100.80.80.80/meta-data/latest/uhost``: ``/region``,
``/project-id``, ``/uhost-id``, ``/network-interfaces/N/vpc-id``,
``/network-interfaces/N/ips/N/ip-address`` (N counts from 0). The Go SDK's metadata types
(ucloud-sdk-go ``metadata.MDNetworkInterfaces``) have the same names.
"""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from clb_wizard.cloud.models import ThisHost

ENV_METADATA_URL = "CLB_WIZARD_METADATA_URL"
DEFAULT_METADATA_URL = "http://100.80.80.80/meta-data/latest/uhost"
METADATA_TIMEOUT = 0.5
# Bounds on the arrays we walk: a UHost has a few interfaces (UNI) with a few IPs each.
MAX_INTERFACES = 8
MAX_IPS = 16

_META_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


class _Unreachable(Exception):
    """The metadata service does not answer at all: not a UCloud instance."""


@dataclass(frozen=True)
class Interface:
    vpc_id: Optional[str]
    ips: tuple[str, ...] = ()


@dataclass(frozen=True)
class Instance:
    """This host as the metadata service describes it; every field None/empty when unknown.
    ``answered`` is False when the service did not answer (not a UCloud instance)."""

    answered: bool = False
    region: Optional[str] = None
    project_id: Optional[str] = None
    uhost_id: Optional[str] = None
    interfaces: tuple[Interface, ...] = ()

    @property
    def vpc_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i.vpc_id for i in self.interfaces if i.vpc_id))

    @property
    def private_ips(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(ip for i in self.interfaces for ip in i.ips))


class _Reader:
    def __init__(self, base: str, timeout: float):
        self.base = base.rstrip("/")
        self.timeout = timeout
        # The metadata service is on the instance's own network: never through a proxy.
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self.answered = False

    def get(self, item: str) -> Optional[str]:
        """The item's value; None when the service has no such item (or an odd value)."""
        try:
            with self.opener.open(f"{self.base}/{item}", timeout=self.timeout) as resp:
                if resp.status != 200:
                    return None
                text = resp.read(256).decode("ascii", "replace").strip()
        except urllib.error.HTTPError:
            self.answered = True
            return None  # the service answered: this item is not there
        except Exception:  # noqa: BLE001 - unreachable, timeout, refused: not a cloud host
            if self.answered:
                return None  # answered before: keep what it said
            raise _Unreachable() from None
        self.answered = True
        return text if _META_VALUE.match(text) else None

    def interfaces(self) -> tuple[Interface, ...]:
        found = []
        for n in range(MAX_INTERFACES):
            prefix = f"network-interfaces/{n}"
            vpc = self.get(f"{prefix}/vpc-id")
            ips = []
            for m in range(MAX_IPS):
                ip = self.get(f"{prefix}/ips/{m}/ip-address")
                if ip is None:
                    break
                ips.append(ip)
            if vpc is None and not ips:
                break  # past the last interface
            found.append(Interface(vpc, tuple(ips)))
        return tuple(found)


def _base(url: Optional[str], env: Optional[Mapping[str, str]]) -> str:
    env = os.environ if env is None else env
    return url or env.get(ENV_METADATA_URL) or DEFAULT_METADATA_URL


def read_instance(
    url: Optional[str] = None,
    timeout: float = METADATA_TIMEOUT,
    env: Optional[Mapping[str, str]] = None,
    *,
    network: bool = True,
) -> Instance:
    """This host from the metadata service (``url`` or ``CLB_WIZARD_METADATA_URL`` replaces
    the documented address). Costs at most about one ``timeout`` when this host is not a
    UCloud instance. ``network=False`` skips the interfaces (region and project only)."""
    reader = _Reader(_base(url, env), timeout)
    try:
        region = reader.get("region")
        project = reader.get("project-id")
        if not network:
            return Instance(True, region, project)
        return Instance(True, region, project, reader.get("uhost-id"), reader.interfaces())
    except _Unreachable:
        return Instance()


def metadata_defaults(
    url: Optional[str] = None,
    timeout: float = METADATA_TIMEOUT,
    env: Optional[Mapping[str, str]] = None,
) -> dict[str, Optional[str]]:
    """``{"region": ..., "project_id": ...}`` of this host, each None when unknown."""
    instance = read_instance(url, timeout, env, network=False)
    return {"region": instance.region, "project_id": instance.project_id}


def this_host(local_private_ips: Sequence[str] = (), instance: Optional[Instance] = None,
              **read: Any) -> ThisHost:
    """How to recognise this host among CLB backends: the instance metadata's uhost-id,
    VPCs and addresses (read now unless ``instance`` is given; ``read`` goes to
    :func:`read_instance`), with the addresses found on this host's interfaces."""
    if instance is None:
        instance = read_instance(**read)
    ips = tuple(dict.fromkeys((*instance.private_ips, *local_private_ips)))
    return ThisHost(private_ips=ips, uhost_id=instance.uhost_id, vpc_ids=instance.vpc_ids)
