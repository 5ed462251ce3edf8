"""ARP sysctls for direct server return, kept in /etc/sysctl.d/ (opt-in: --arp-sysctls).

With the VIP on lo, Linux would answer ARP for it on every NIC (arp_ignore=0) and may
use it as the source of its own ARP requests (arp_announce=0): on a shared segment
the backend can then steal the VIP from the load balancer. arp_ignore=1 answers only
for addresses of the receiving NIC; arp_announce=2 always uses the NIC's own address.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

from clb_wizard.methods.base import Command, cmd, header

PATH = "/etc/sysctl.d/90-clb-wizard-arp.conf"
WANTED = {"net.ipv4.conf.all.arp_ignore": "1", "net.ipv4.conf.all.arp_announce": "2"}


@dataclass(frozen=True)
class SysctlChange:
    name: str
    before: Optional[str]
    after: str

    def to_json(self) -> dict:
        return {"name": self.name, "before": self.before, "after": self.after}


def render_conf() -> str:
    body = "".join(f"{name} = {value}\n" for name, value in WANTED.items())
    return header(extra=("Keeps the backend from answering ARP for the CLB VIPs on lo.",)) + body


def plan_sysctls(current: Mapping[str, Optional[str]]) -> tuple[SysctlChange, ...]:
    return tuple(
        SysctlChange(name, current.get(name), value)
        for name, value in WANTED.items()
        if current.get(name) != value
    )


def apply_commands(changes: tuple[SysctlChange, ...]) -> tuple[Command, ...]:
    if not changes:
        return ()
    return (
        cmd("set the ARP sysctls now (the file keeps them after a reboot)", "sysctl", "-q", "-w",
            *(f"{c.name}={c.after}" for c in changes)),
    )


def revert_commands(changes: tuple[SysctlChange, ...]) -> tuple[Command, ...]:
    back = [f"{c.name}={c.before}" for c in changes if c.before is not None]
    if not back:
        return ()
    return (cmd("put the ARP sysctls back", "sysctl", "-q", "-w", *back),)
