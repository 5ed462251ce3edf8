"""Sandboxed hosts prepared for each Linux method, and how to look at them."""

from __future__ import annotations

import json
import time

from tests.conftest import require
from tests.sandbox import Sandbox

DEBIAN_INTERFACES = "auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n"
WATCHED = "/etc/network /etc/netplan /etc/NetworkManager /etc/sysctl.d /etc/systemd/system"
PRE_EXISTING = "192.0.2.50/32"  # on lo before the wizard runs: must survive everything


def prepare(sb: Sandbox, method: str) -> None:
    """Make the sandbox a host of the kind `method` serves, with its manager running."""
    if method == "ifupdown":
        require("ifup", "ifdown", "ifquery")
        sb.sh("rm -f /etc/netplan/*.yaml /etc/network/interfaces.d/*")
        sb.write("/etc/network/interfaces", DEBIAN_INTERFACES)
    elif method == "netplan":
        require("netplan", "networkctl", "dbus-daemon")
        sb.sh("rm -f /etc/netplan/*.yaml /etc/network/interfaces")
        sb.start_networkd()
    elif method == "networkd":  # plain systemd-networkd, no netplan (Amazon Linux, Arch)
        require("networkctl", "dbus-daemon")
        sb.sh("rm -f /etc/netplan/*.yaml /etc/network/interfaces")
        sb.start_networkd()
    elif method == "networkmanager":
        require("dbus-daemon", "NetworkManager")
        sb.sh("rm -f /etc/netplan/*.yaml /etc/network/interfaces")
        sb.start_networkmanager()
    else:
        raise ValueError(method)
    sb.run(["ip", "addr", "add", PRE_EXISTING, "dev", "lo", "label", "lo:9"], check=True)


def files_digest(sb: Sandbox) -> dict[str, str]:
    """path -> "mode uid gid sha256" for every file the wizard may touch."""
    out = sb.sh(
        f"for d in {WATCHED}; do [ -d $d ] && find $d -type f -o -type l; done | sort | "
        "while read -r f; do echo \"$f $(stat -c '%a %u %g' \"$f\") $(sha256sum < \"$f\" | "
        "cut -c1-16)\"; done",
        check=True,
    ).stdout
    return {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in out.splitlines()}


def route_type(sb: Sandbox, address: str) -> str:
    out = sb.run(["ip", "-j", "route", "get", address]).stdout
    return json.loads(out)[0].get("type", "unicast") if out.strip() else "none"


def state_files(sb: Sandbox) -> list[str]:
    base = sb.dir / "varlib" / "clb-wizard"
    return sorted(str(p.relative_to(base)) for p in base.rglob("*")) if base.exists() else []


def wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False
