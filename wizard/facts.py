"""Read-only facts about the live host: addresses, routes, sysctls, listening sockets."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional

from .methods.base import LoAddress
from .runner import Runner, RunnerError


@dataclass(frozen=True)
class HostAddresses:
    lo: tuple[LoAddress, ...] = ()
    others: dict[str, tuple[str, ...]] = field(default_factory=dict)  # ifname -> addresses

    def lo_v4(self) -> set[str]:
        return {a.address for a in self.lo if a.family == "inet"}


def read_addresses(runner: Runner) -> HostAddresses:
    """`ip -j addr show`: lo's addresses, and every other interface's (for VIP checks)."""
    result = runner.query(["ip", "-j", "addr", "show"])
    if not result.ok:
        raise RunnerError(f"cannot read the host's addresses: {result.describe()}")
    lo: list[LoAddress] = []
    others: dict[str, tuple[str, ...]] = {}
    for link in json.loads(result.stdout or "[]"):
        name = link.get("ifname", "")
        infos = [i for i in link.get("addr_info", []) if "local" in i]
        if name == "lo":
            lo = [
                LoAddress(i["local"], int(i.get("prefixlen", 32)), i.get("label", "lo"),
                          i.get("family", "inet"))
                for i in infos
            ]
        else:
            others[name] = tuple(i["local"] for i in infos)
    return HostAddresses(tuple(lo), others)


def route_type(runner: Runner, address: str) -> Optional[str]:
    """The kernel's route type for `address` ("local" when it is ours), None if unroutable."""
    result = runner.query(["ip", "-j", "route", "get", address])
    if not result.ok:
        return None
    routes = json.loads(result.stdout or "[]")
    return routes[0].get("type", "unicast") if routes else None


def read_sysctl(name: str) -> Optional[str]:
    """A sysctl such as net.ipv4.conf.all.arp_ignore, from /proc/sys (live host only)."""
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as fh:
            return fh.read().strip()
    except OSError:
        return None
