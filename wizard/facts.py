"""Read-only facts about the live host: addresses, routes, sysctls, listening sockets."""

from __future__ import annotations

import json
from collections.abc import Sequence
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


def route_types(runner: Runner, addresses: Sequence[str]) -> dict[str, Optional[str]]:
    """The kernel's route type per address ("local" when it is ours; None: unroutable).

    One `ip -batch` for all of them: 64 VIPs cost one process, not 64.
    """
    if not addresses:
        return {}
    script = "".join(f"route get {a}\n" for a in addresses)
    result = runner.query(["ip", "-j", "-force", "-batch", "-"], input=script)
    found: dict[str, Optional[str]] = dict.fromkeys(addresses)
    for line in result.stdout.splitlines():
        line = line.strip()
        if not line.startswith("["):
            continue
        for route in json.loads(line):
            if route.get("dst") in found:
                found[route["dst"]] = route.get("type", "unicast")
    return found


def read_sysctl(name: str) -> Optional[str]:
    """A sysctl such as net.ipv4.conf.all.arp_ignore, from /proc/sys (live host only)."""
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as fh:
            return fh.read().strip()
    except OSError:
        return None
