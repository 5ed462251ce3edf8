"""A systemd oneshot unit that puts the VIPs on `lo` at boot.

For systems whose own tools cannot keep an address on `lo`: RHEL-family 9.0/9.1
(NetworkManager older than 1.42 does not manage lo, and network-scripts are gone) and
Linux hosts with neither netplan nor ifupdown. The addresses are added with
`ip addr replace` (idempotent, touches only lo); the unit is enabled for the next boot.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional

from clb_wizard.methods.base import (
    Command,
    Files,
    Fit,
    Method,
    MethodError,
    Rendered,
    RenderInput,
    Transition,
    TransitionInput,
    assign_labels,
    cmd,
    header,
    is_ours,
    live_label_numbers,
)
from clb_wizard.methods.networkd import INSTALLED as NETWORKD_INSTALLED
from clb_wizard.methods.probes import AnyOf, Fact, Paths

if TYPE_CHECKING:
    from clb_wizard.platform import NetworkStack, Release

UNIT = "clb-wizard-lo.service"
PATH = f"/etc/systemd/system/{UNIT}"
IP = "/sbin/ip"  # /sbin is /usr/sbin on merged-/usr systems, so this works on both
# Releases whose init system is not systemd (Alpine: OpenRC).
WITHOUT_SYSTEMD = ("alpine-3", "windows")


def render_unit(labels: dict[str, int]) -> str:
    ordered = sorted(labels.items(), key=lambda item: item[1])
    starts = "".join(
        f"ExecStart={IP} addr replace {vip}/32 dev lo label lo:{n}\n" for vip, n in ordered
    )
    stops = "".join(f"ExecStop=-{IP} addr del {vip}/32 dev lo\n" for vip, _ in ordered)
    return (
        header()
        + "[Unit]\nDescription=CLB VIPs on the loopback (clb-wizard)\n"
        + "After=network-pre.target\nBefore=network.target\n\n"
        + "[Service]\nType=oneshot\nRemainAfterExit=yes\n"
        + starts
        + stops
        + "\n[Install]\nWantedBy=multi-user.target\n"
    )


def unit_vips(text: Optional[str]) -> dict[str, int]:
    """VIP -> lo:N from our unit's ExecStart lines."""
    found = {}
    for line in (text or "").splitlines():
        words = line.split()
        if line.startswith("ExecStart=") and "replace" in words and "label" in words:
            vip = words[words.index("replace") + 1].split("/")[0]
            label = words[words.index("label") + 1]
            found[vip] = int(label.partition(":")[2] or 0)
    return found


class SystemdUnitMethod(Method):
    name = "systemd-unit"
    title = "systemd unit (ip addr at boot)"
    watch_files = (PATH,)
    # systemd is the init system (systemd-networkd comes only with it)
    facts = (Fact("systemd", AnyOf(Paths("systemd", ("/lib/systemd/systemd",
                                                     "/usr/lib/systemd/systemd")),
                                   NETWORKD_INSTALLED)),)

    def stock_stack(self, release: Release, version: str) -> Mapping[str, Any]:
        return {"systemd": release.key not in WITHOUT_SYSTEMD}

    def describe_stack(self, stack: NetworkStack) -> Optional[str]:
        return None if stack.systemd else "no systemd"

    def fits(self, release: Release, stack: NetworkStack) -> Fit:
        if stack.systemd:
            return Fit(True, "systemd is the init system: a oneshot unit adds the VIPs at boot")
        return Fit(False, "systemd is not the init system")

    def configured_vips(self, files: Files) -> list[str]:
        text = files.get(PATH)
        return list(unit_vips(text)) if is_ours(text) else []

    def render(self, given: RenderInput) -> Rendered:
        vips, current, live = given.vips, given.current, given.live
        existing = current.get(PATH)
        # Never clobber: a unit of this name that is not ours (no marker) stays as it is.
        if existing is not None and not is_ours(existing):
            raise MethodError(
                f"{PATH} exists and is not clb-wizard's. Rename or remove it, then run "
                "clb-wizard again."
            )
        kept = unit_vips(existing) if is_ours(existing) else {}
        used = live_label_numbers([a for a in live if a.address not in kept])
        labels = assign_labels(vips, {v: n for v, n in kept.items() if v in vips}, used)
        return Rendered({PATH: render_unit(labels)}, {PATH: 0o644})

    def transition(self, move: TransitionInput) -> Transition:
        before, after, live, preserve = move.before, move.after, move.live, move.preserve
        was, will = before.get(PATH), after.get(PATH)
        old = unit_vips(was) if is_ours(was) else {}
        new = unit_vips(will) if is_ours(will) else {}
        missing = [v for v in new if v not in live]
        if was == will and not missing:
            return Transition()
        reload = cmd("make systemd read the unit", "systemctl", "daemon-reload")
        removals: list[Command] = [
            cmd(f"remove {v}", "ip", "addr", "del", f"{v}/32", "dev", "lo")
            for v in old
            if v not in new and v not in preserve and v in live
        ]
        if not new:
            disable = cmd(f"stop starting {UNIT} at boot", "systemctl", "disable", UNIT)
            return Transition(prepare=(disable,), activate=(reload, *removals))
        adds = [
            cmd(f"add {v} as lo:{n} now", "ip", "addr", "replace", f"{v}/32", "dev", "lo",
                "label", f"lo:{n}")
            for v, n in new.items()
            if v in missing
        ]
        enable = cmd(f"start {UNIT} at every boot", "systemctl", "enable", UNIT)
        return Transition(activate=(reload, enable, *adds, *removals))
