"""Read-only facts about the live host: addresses, routes, sysctls, listening sockets."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

from clb_wizard.methods.base import LoAddress
from clb_wizard.runner import Runner, RunnerError


@dataclass(frozen=True)
class HostAddresses:
    lo: tuple[LoAddress, ...] = ()
    others: dict[str, tuple[str, ...]] = field(default_factory=dict)  # ifname -> addresses

    def lo_v4(self) -> set[str]:
        return {a.address for a in self.lo if a.family == "inet"}


def _json_output(result) -> bool:
    return result.ok and result.stdout.lstrip().startswith("[")


def read_addresses(runner: Runner) -> HostAddresses:
    """`ip -j addr show`: lo's addresses, and every other interface's (for VIP checks)."""
    result = runner.query(["ip", "-j", "addr", "show"])
    if not _json_output(result):
        return _read_addresses_text(runner)  # iproute2 < 4.13 (CentOS 7, Ubuntu 16.04)
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


def _read_addresses_text(runner: Runner) -> HostAddresses:
    r"""`ip -o addr show`, for an iproute2 without JSON output. A line looks like
    `1: lo    inet 203.0.113.10/32 scope global lo:1\       valid_lft forever ...`."""
    result = runner.query(["ip", "-o", "addr", "show"])
    if not result.ok:
        raise RunnerError(f"cannot read the host's addresses: {result.describe()}")
    lo: list[LoAddress] = []
    others: dict[str, tuple[str, ...]] = {}
    for line in result.stdout.splitlines():
        words = line.split()
        if len(words) < 4 or words[2] not in ("inet", "inet6"):
            continue
        name, family = words[1].split("@")[0], words[2]
        address, _, prefix = words[3].partition("/")
        # the label is the word glued to the line-continuation backslash
        label = next((w[:-1] for w in words[4:] if w.endswith("\\") and len(w) > 1), name)
        if name == "lo":
            lo.append(LoAddress(address, int(prefix or 32),
                                label if family == "inet" else "lo", family))
        else:
            others[name] = others.get(name, ()) + (address,)
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
    if "[" not in result.stdout and "-j" in result.stderr:  # iproute2 without JSON
        for address in addresses:
            text = runner.query(["ip", "route", "get", address])
            words = text.stdout.split() if text.ok else []
            found[address] = None if not words else (
                words[0] if words[0] in ("local", "broadcast", "unreachable") else "unicast")
        return found
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
