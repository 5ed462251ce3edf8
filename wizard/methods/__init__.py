"""One module per persistence method, the registry of them, and the one table that says
which methods each OS family prefers.

A method is registered once (`register`; the built-in ones below, a test's own with
`registered`): from then on detection probes its facts, choosing tries it where its
families prefer it, and planning, applying, verifying and rolling back use it by name.

The choice is made here and nowhere else: the first method of the family's preference
list that fits the host as it is wins; when none does, the first that fits once its
prerequisites are installed; then the fallback (a systemd unit), which works on any
host with systemd as init. Every method says whether it fits and why, so `detect`
shows the reasons of the ones passed over too. When nothing fits (no systemd, no stack
clb-wizard knows), the host is refused with the commands to do it by hand.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clb_wizard.errors import PlatformError
from clb_wizard.methods.base import Fit, Method, MethodError
from clb_wizard.methods.ifcfg import IfcfgMethod
from clb_wizard.methods.ifupdown import IfupdownMethod
from clb_wizard.methods.ifupdown_ng import IfupdownNgMethod
from clb_wizard.methods.netplan import NetplanMethod
from clb_wizard.methods.networkd import NetworkdMethod
from clb_wizard.methods.networkmanager import NetworkManagerMethod
from clb_wizard.methods.probes import Fact
from clb_wizard.methods.systemd_unit import SystemdUnitMethod
from clb_wizard.methods.wicked import WickedMethod
from clb_wizard.methods.windows import WindowsMethod

if TYPE_CHECKING:
    from clb_wizard.platform import NetworkStack, Release

# Every method by name, in the order `detect` describes their stacks: the Linux families'
# own tools, then NetworkManager and systemd-networkd, then the unit, then Windows.
REGISTRY: dict[str, Method] = {}

# Per OS family, the methods to try, best first: the family's own tool before
# NetworkManager (when both are there, the family's tool is what configures the host);
# systemd-networkd where an admin enabled it (Amazon Linux 2023, Arch, some Debian).
PREFERENCES: dict[str, tuple[str, ...]] = {
    "rhel": ("ifcfg", "networkmanager", "networkd"),
    "debian": ("netplan", "networkd", "ifupdown", "networkmanager"),
    "suse": ("wicked", "networkmanager", "networkd"),
    "alpine": ("ifupdown-ng", "ifupdown"),
    # any other Linux: whatever stack it has
    "linux": ("networkd", "networkmanager", "netplan", "ifupdown", "ifupdown-ng", "wicked"),
    "windows": ("windows",),
}
# Tried after a family's preferences: work on any host with systemd as init.
FALLBACKS: tuple[str, ...] = ("systemd-unit",)


def register(method: Method, *, preferred_by: Iterable[str] = ()) -> Method:
    """Add a method: detection probes its facts from now on, and the families named in
    `preferred_by` try it first (their own tool before any other)."""
    if not method.name or method.name in REGISTRY:
        raise ValueError(f"a method needs a name of its own: {method.name!r}")
    taken = declared_facts()
    clash = [f.name for f in method.facts if f.name in taken]
    if clash:
        raise ValueError(f"facts {clash} are already declared by another method")
    REGISTRY[method.name] = method
    for family in preferred_by:
        PREFERENCES[family] = (method.name, *PREFERENCES.get(family, ()))
    return method


def unregister(name: str) -> None:
    del REGISTRY[name]
    for family, names in list(PREFERENCES.items()):
        PREFERENCES[family] = tuple(n for n in names if n != name)


@contextlib.contextmanager
def registered(method: Method, *, preferred_by: Iterable[str] = ()) -> Iterator[Method]:
    """`register` for the time of a `with` block (a test's own stack), undone after."""
    preferences = dict(PREFERENCES)
    register(method, preferred_by=preferred_by)
    try:
        yield method
    finally:
        unregister(method.name)
        PREFERENCES.clear()
        PREFERENCES.update(preferences)


def declared_facts() -> dict[str, Fact]:
    """The facts of every registered method, in registry order: the NetworkStack's fields."""
    return {fact.name: fact for method in REGISTRY.values() for fact in method.facts}


for _builtin in (NetplanMethod(), IfupdownMethod(), IfupdownNgMethod(), IfcfgMethod(),
                 WickedMethod(), NetworkManagerMethod(), NetworkdMethod(), SystemdUnitMethod(),
                 WindowsMethod()):
    register(_builtin)

METHOD_NAMES: tuple[str, ...] = tuple(REGISTRY)  # the built-in ones
# The methods that configure the Linux host they run on (the exports' --method choices).
LINUX_METHODS: tuple[str, ...] = tuple(n for n, m in REGISTRY.items() if m.host_os == "linux")


def get_method(name: str) -> Method:
    return REGISTRY[name]


@dataclass(frozen=True)
class Choice:
    method: str
    # why this method; for the fallback also why not the ones before it (a plan shows these)
    reasons: tuple[str, ...]
    packages: tuple[str, ...] = ()  # to install before the method works


class NoMethodFits(PlatformError):
    """No method can keep VIPs on lo here: refused, with the commands to do it by hand."""

    def __init__(self, stack: NetworkStack, verdicts: Sequence[tuple[str, Fit]]) -> None:
        self.summary = (f"No network configuration tool clb-wizard supports fits this host "
                        f"({stack.describe()}): "
                        + "; ".join(f"{n}: {f.reason}" for n, f in verdicts) + ".")
        super().__init__(self.with_vips(()))

    def with_vips(self, vips: Sequence[str]) -> str:
        return f"{self.summary} Nothing was changed. Use these commands instead. " + (
            manual_steps(vips))


def manual_steps(vips: Sequence[str]) -> str:
    """The commands that put the VIPs on lo by hand, and how to keep them."""
    listed = list(vips) or ["VIP"]
    adds = "; ".join(f"ip addr add {v}/32 dev lo label lo:{n}"
                     for n, v in enumerate(listed, 1))
    return (f"To do it by hand, run: {adds}; then sysctl -w net.ipv4.conf.all.arp_ignore=1 "
            "net.ipv4.conf.all.arp_announce=2. To keep them across reboots, run the same "
            "commands from your init system's boot scripts (OpenRC: an executable "
            "/etc/local.d/clb-wizard-lo.start and `rc-update add local default`; SysV: "
            "/etc/rc.local), and put the two sysctls in /etc/sysctl.conf.")


def candidates(release: Release) -> tuple[str, ...]:
    """The methods a host of this release may get, in the order they are tried."""
    preferred = PREFERENCES.get(release.family, PREFERENCES["linux"])
    if release.family == "windows":
        return preferred
    return preferred + tuple(m for m in FALLBACKS if m not in preferred)


def assess(release: Release, stack: NetworkStack) -> list[tuple[str, Fit]]:
    """Each candidate method and whether it fits this host, and why."""
    return [(name, REGISTRY[name].fits(release, stack)) for name in candidates(release)]


def choose(release: Release, stack: NetworkStack) -> Choice:
    """The method for a host: see the module docstring. Raises NoMethodFits."""
    verdicts = assess(release, stack)
    order = [n for n, _ in verdicts]
    fitting = [(n, f) for n, f in verdicts if f.ok and n not in FALLBACKS]
    as_is = [(n, f) for n, f in fitting if not REGISTRY[n].prerequisites(release, stack).packages]
    for tier in (as_is, fitting, [(n, f) for n, f in verdicts if f.ok and n in FALLBACKS]):
        if tier:
            name, fit = tier[0]
            passed = tuple(f"not {n}: {f.reason}" for n, f in verdicts
                           if not f.ok and order.index(n) < order.index(name))
            packages = REGISTRY[name].prerequisites(release, stack).packages
            reasons = (fit.reason, *passed) if name in FALLBACKS else (fit.reason,)
            return Choice(name, reasons, packages)
    raise NoMethodFits(stack, verdicts)


__all__ = ["FALLBACKS", "LINUX_METHODS", "METHOD_NAMES", "PREFERENCES", "REGISTRY", "Choice",
           "Fact", "Method", "MethodError", "NoMethodFits", "assess", "choose",
           "declared_facts", "get_method", "manual_steps", "register", "registered",
           "unregister"]
