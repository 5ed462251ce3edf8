"""Red Hat network-scripts: one `ifcfg-lo:N` file per VIP, brought up with `ifup lo:N`.

`ifup lo:N` only adds that alias address; at boot `ifup lo` brings the aliases up
through ifup-aliases, so the VIP survives a reboot.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional

from clb_wizard.methods.base import (
    Files,
    Fit,
    Method,
    MethodError,
    Prerequisites,
    Rendered,
    RenderInput,
    Transition,
    TransitionInput,
    alias_transition,
    assign_labels,
    foreign_note,
    header,
    is_ours,
    live_label_numbers,
)
from clb_wizard.methods.probes import Fact, Paths
from clb_wizard.releases import is_known

if TYPE_CHECKING:
    from clb_wizard.platform import NetworkStack, Release

DIR = "/etc/sysconfig/network-scripts"
PACKAGE = "network-scripts"
# Either of these means network-scripts is installed (ifup-eth moved in RHEL 8).
INSTALLED = (f"{DIR}/ifup-eth", "/usr/libexec/network-scripts/ifup-eth")

# Releases that install network-scripts by default (RHEL 7 and its kin).
SHIPPED_BY = ("centos-7", "rhel-7", "openeuler-20", "kylin-10", "uos-20")
# Releases whose repositories carry it, for the plan to install first: RHEL 7 and 8 and
# their rebuilds (RHEL 9 removed network-scripts) and the RHEL-like releases of this market.
IN_REPOSITORIES = (*(f"{d}-{major}" for d in ("centos", "rhel") for major in (7, 8)),
                   "rocky-8", "almalinux-8", "openeuler-20", "openeuler-22", "opencloudos-8",
                   "tencentos-3", "anolis-8", "alinux-3", "kylin-10", "uos-20")
_NAME = re.compile(r"^ifcfg-lo:(\d+)$")
_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def parse_ifcfg(path: str, text: str) -> dict[str, str]:
    """KEY=VALUE lines with shell quoting, as network-scripts source them."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(line)
        try:
            words = shlex.split(match.group(2)) if match else None
        except ValueError:
            words = None
        if match is None or words is None or len(words) > 1:
            raise MethodError(
                f"{path} line {number} is not KEY=VALUE ({stripped!r}): fix or remove the line, "
                "then run clb-wizard again."
            )
        values[match.group(1)] = words[0] if words else ""
    return values


def ifcfg_path(n: int) -> str:
    return f"{DIR}/ifcfg-lo:{n}"


def _alias_files(files: Files) -> dict[int, tuple[str, Optional[str]]]:
    found = {}
    for path, text in files.items():
        match = _NAME.match(path.rsplit("/", 1)[-1])
        if match and path.startswith(DIR + "/"):
            found[int(match.group(1))] = (path, text)
    return found


def _ours_by_label(method: IfcfgMethod, files: Files) -> dict[int, str]:
    return {
        n: method._vip_of(path, text) or ""
        for n, (path, text) in _alias_files(files).items()
        if is_ours(text)
    }


class IfcfgMethod(Method):
    name = "ifcfg"
    title = "network-scripts (ifcfg-lo:N files)"
    services = ("network",)
    watch_dirs = (DIR,)
    facts = (Fact("network_scripts", Paths("network_scripts", INSTALLED)),)

    def stock_stack(self, release: Release, version: str) -> Mapping[str, Any]:
        return {"network_scripts": release.key in SHIPPED_BY}

    def describe_stack(self, stack: NetworkStack) -> Optional[str]:
        return "network-scripts" if stack.network_scripts else None

    def offered(self, release: Release, stack: NetworkStack) -> bool:
        """Can a host of this release have network-scripts? A release clb-wizard knows
        by its table; one it has no record of when it has them installed (or when the
        caller says its repositories carry them: Release.installable)."""
        if is_known(release):
            return release.key in IN_REPOSITORIES
        return stack.network_scripts or PACKAGE in release.installable

    def fits(self, release: Release, stack: NetworkStack) -> Fit:
        if not self.offered(release, stack):
            return Fit(False, f"Red Hat network-scripts are not part of {release.name}")
        if stack.network_scripts:
            return Fit(True, "network-scripts is installed: ifcfg-lo:N files, ifup lo:N")
        return Fit(True, "network-scripts is not installed: the plan installs it first "
                         "(NetworkManager below 1.42 cannot keep addresses on lo)")

    def prerequisites(self, release: Release, stack: NetworkStack) -> Prerequisites:
        if stack.network_scripts:
            return Prerequisites(services=self.services)
        return Prerequisites((PACKAGE,), present_when=INSTALLED, services=self.services)

    def _vip_of(self, path: str, text: str) -> Optional[str]:
        values = parse_ifcfg(path, text)
        return values.get("IPADDR")

    def configured_vips(self, files: Files) -> list[str]:
        vips = []
        for _, (path, text) in sorted(_alias_files(files).items()):
            if is_ours(text):
                vip = self._vip_of(path, text)
                if vip:
                    vips.append(vip)
        return vips

    def render(self, given: RenderInput) -> Rendered:
        vips, current, live = given.vips, given.current, given.live
        aliases = _alias_files(current)
        kept: dict[str, int] = {}
        ours_unwanted: list[str] = []
        foreign: list[str] = []
        notes: list[str] = []
        for n, (path, text) in sorted(aliases.items()):
            if text is None:
                continue
            vip = self._vip_of(path, text)
            if is_ours(text):
                if vip in vips and vip not in kept:
                    kept[vip] = n
                else:
                    ours_unwanted.append(path)
            elif vip in vips:
                foreign.append(vip)
                notes.append(foreign_note(vip, path))
        wanted = [v for v in vips if v not in foreign]
        labels = assign_labels(wanted, kept, set(aliases) | live_label_numbers(live))
        files: dict[str, Optional[str]] = {path: None for path in ours_unwanted}
        modes = {}
        for vip, n in labels.items():
            path = ifcfg_path(n)
            files[path] = header() + (
                f"DEVICE=lo:{n}\nIPADDR={vip}\nNETMASK=255.255.255.255\nONBOOT=yes\n"
            )
            modes[path] = 0o644
        return Rendered(files, modes, tuple(notes), foreign=tuple(foreign))

    def transition(self, move: TransitionInput) -> Transition:
        before, after, live, preserve = move.before, move.after, move.live, move.preserve
        old, new = _ours_by_label(self, before), _ours_by_label(self, after)
        return alias_transition(old, new, live, preserve, down=("ifdown",))
