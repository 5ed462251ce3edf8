"""One module per persistence method, the registry of them, and the one table that says
which methods each OS family prefers.

The choice is made here and nowhere else: the first method of the family's preference
list that fits the host as it is wins; when none does, the first that fits once its
prerequisites are installed; then the fallbacks (a systemd unit), which work on any
host with systemd as init. Every method says whether it fits and why, so `detect`
shows the reasons of the ones passed over too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from clb_wizard.errors import PlatformError
from clb_wizard.methods.base import Fit, Method, MethodError
from clb_wizard.methods.ifcfg import IfcfgMethod
from clb_wizard.methods.ifupdown import IfupdownMethod
from clb_wizard.methods.netplan import NetplanMethod
from clb_wizard.methods.networkmanager import NetworkManagerMethod
from clb_wizard.methods.systemd_unit import SystemdUnitMethod
from clb_wizard.methods.windows import WindowsMethod

if TYPE_CHECKING:
    from clb_wizard.platform import NetworkStack, Release

REGISTRY: dict[str, Method] = {
    m.name: m
    for m in (
        IfcfgMethod(),
        NetworkManagerMethod(),
        IfupdownMethod(),
        NetplanMethod(),
        SystemdUnitMethod(),
        WindowsMethod(),
    )
}
METHOD_NAMES: tuple[str, ...] = tuple(REGISTRY)
# The methods that configure the Linux host they run on (the exports' --method choices).
LINUX_METHODS: tuple[str, ...] = tuple(n for n, m in REGISTRY.items() if m.host_os == "linux")

# Per OS family, the methods to try, best first. A family's own tools come before
# NetworkManager (when both are there, the family's tool is what configures the host).
PREFERENCES: dict[str, tuple[str, ...]] = {
    "rhel": ("ifcfg", "networkmanager"),
    "debian": ("netplan", "ifupdown", "networkmanager"),
    "windows": ("windows",),
}
# Tried after a family's preferences: work on any host with systemd as init.
FALLBACKS: tuple[str, ...] = ("systemd-unit",)


def get_method(name: str) -> Method:
    return REGISTRY[name]


@dataclass(frozen=True)
class Choice:
    method: str
    reasons: tuple[str, ...]  # why this method, then why not the ones before it
    packages: tuple[str, ...] = ()  # to install before the method works


def candidates(release: Release) -> tuple[str, ...]:
    """The methods a host of this release may get, in the order they are tried."""
    preferred = PREFERENCES.get(release.family, ())
    if release.family == "windows":
        return preferred
    return preferred + tuple(m for m in FALLBACKS if m not in preferred)


def assess(release: Release, stack: NetworkStack) -> list[tuple[str, Fit]]:
    """Each candidate method and whether it fits this host, and why."""
    return [(name, REGISTRY[name].fits(release, stack)) for name in candidates(release)]


def choose(release: Release, stack: NetworkStack) -> Choice:
    """The method for a host: see the module docstring. Raises PlatformError when none fits."""
    verdicts = assess(release, stack)
    fitting = [(n, f) for n, f in verdicts if f.ok and n not in FALLBACKS]
    as_is = [(n, f) for n, f in fitting if not REGISTRY[n].prerequisites(release, stack).packages]
    tiers = (as_is, fitting, [(n, f) for n, f in verdicts if f.ok and n in FALLBACKS])
    for tier in tiers:
        if tier:
            name, fit = tier[0]
            passed = tuple(f"not {n}: {f.reason}" for n, f in verdicts
                           if n != name and not f.ok and candidates(release).index(n)
                           < candidates(release).index(name))
            packages = REGISTRY[name].prerequisites(release, stack).packages
            return Choice(name, (fit.reason, *passed), packages)
    raise PlatformError(
        f"No supported network configuration tool found ({stack.describe()}): "
        + "; ".join(f"{n}: {f.reason}" for n, f in verdicts)
        + ". Install ifupdown or netplan.io, then run clb-wizard again."
    )


__all__ = ["FALLBACKS", "LINUX_METHODS", "METHOD_NAMES", "PREFERENCES", "REGISTRY", "Choice",
           "Method", "MethodError", "assess", "choose", "get_method"]
