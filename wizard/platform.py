"""Which OS this is and how it keeps network configuration.

Detection goes by what is installed, not by a list of names: the OS family comes from
`<root>/etc/os-release` (via `distro`: ID_LIKE, then ID, with the package manager asked
for IDs that name RHEL-like and Debian-like editions alike), and the network stack from
the facts the registered methods declare (methods/probes.py): each method says which
paths and commands show its stack is installed and in use, and this module probes them
all under the root, naming no stack itself. Each method then says whether it fits
(methods/). An OS clb-wizard has no name for still gets a method that fits its stack.

`--os ID` skips detection and assumes the release's stock stack, which each method
declares for its own stack (Method.stock_stack), for previews of a system you are not on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Optional

import distro

from clb_wizard import methods
from clb_wizard.errors import PlatformError
from clb_wizard.methods.probes import Look, named_paths
from clb_wizard.releases import (
    INSTALLERS,
    KNOWN_RELEASES,
    Release,
    family_of,
    is_known,
    parse_os_arg,
    release_key,
    supported_ids,
)
from clb_wizard.runner import Runner

METHODS = methods.METHOD_NAMES  # the built-in ones (the CLI's --method choices)


class NetworkStack:
    """What is installed under the root that can keep an address on `lo`: one value per
    fact the registered methods declare, read as an attribute (`stack.nm_version`).
    Immutable; `replace` makes a changed copy."""

    def __init__(self, **values: Any) -> None:
        facts = methods.declared_facts()
        unknown = sorted(set(values) - set(facts))
        if unknown:
            raise TypeError(f"no registered method declares the facts {', '.join(unknown)}")
        object.__setattr__(self, "_values",
                           {name: values.get(name, fact.default) for name, fact in facts.items()})

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_"):
            values = self.__dict__.get("_values", {})
            if name in values:
                return values[name]
            fact = methods.declared_facts().get(name)
            if fact is not None:  # registered after this stack was made
                return fact.default
        raise AttributeError(f"NetworkStack has no fact {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("NetworkStack is immutable: use replace()")

    def __reduce__(self) -> tuple:
        return (_stack_from, (dict(self._values),))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NetworkStack) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(tuple(self.to_json().items()))

    def __repr__(self) -> str:
        return "NetworkStack(" + ", ".join(f"{k}={v!r}" for k, v in self.to_json().items()) + ")"

    def replace(self, **changes: Any) -> NetworkStack:
        return NetworkStack(**{**self._values, **changes})

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in methods.declared_facts()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NetworkStack:
        """A stack as recorded (a journal): facts no registered method declares are left out."""
        facts = methods.declared_facts()
        return cls(**{k: v for k, v in data.items() if k in facts})

    def describe(self) -> str:
        parts = [words for method in methods.REGISTRY.values()
                 if (words := method.describe_stack(self))]
        return ", ".join(parts) or "no known network configuration tool"


def _stack_from(values: dict[str, Any]) -> NetworkStack:
    return NetworkStack.from_json(values)


@dataclass(frozen=True)
class Platform:
    os_id: str  # os-release ID, e.g. "rocky"
    version: str  # os-release VERSION_ID, e.g. "9.4"
    name: str  # human name, e.g. "Rocky Linux 9.4"
    family: str
    release: str  # key of KNOWN_RELEASES this behaves like, or ID-VERSION when unknown
    stack: NetworkStack
    method: str
    reasons: tuple[str, ...] = field(default=())  # why this method
    packages: tuple[str, ...] = field(default=())  # to install before the method works
    detected: bool = True  # False when --os chose it

    @property
    def key(self) -> str:
        return f"{self.os_id}-{self.version}" if self.version else self.os_id

    def install_command(self) -> tuple[str, ...]:
        """The package manager's install command (argv without the packages)."""
        return INSTALLERS.get(self.family, INSTALLERS["rhel"])

    def to_json(self) -> dict:
        return {
            "os_id": self.os_id,
            "version": self.version,
            "name": self.name,
            "family": self.family,
            "release": self.release,
            "detected": self.detected,
            "method": self.method,
            "reasons": list(self.reasons),
            "packages": list(self.packages),
            "stack": self.stack.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict) -> Platform:
        """A platform as `to_json` recorded it (a journal)."""
        return cls(
            os_id=data["os_id"], version=data["version"], name=data["name"],
            family=data["family"], release=data["release"],
            stack=NetworkStack.from_json(data["stack"]), method=data["method"],
            reasons=tuple(data.get("reasons", ())), packages=tuple(data.get("packages", ())),
            detected=data.get("detected", True))


def release_of(platform: Platform) -> Release:
    """The release a platform behaves like (a bare one for an OS the table lacks)."""
    known = KNOWN_RELEASES.get(platform.release)
    if known is not None:
        return known
    return Release(platform.release, platform.name, platform.family)


def stack_probes() -> dict[str, tuple[str, ...]]:
    """The paths detection probes, by what they tell (the Ansible play probes the same)."""
    return named_paths(methods.declared_facts())


STACK_PROBES: dict[str, tuple[str, ...]] = stack_probes()  # the built-in methods' paths

# The package manager a root has tells its family when os-release does not.
PACKAGE_MANAGERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("suse", ("/usr/bin/zypper",)),  # before rpm: SUSE has rpm too
    ("debian", ("/usr/bin/dpkg", "/bin/dpkg")),
    ("rhel", ("/usr/bin/dnf", "/usr/bin/yum", "/usr/bin/rpm", "/bin/rpm")),
    ("alpine", ("/sbin/apk",)),
    ("linux", ("/usr/bin/pacman",)),
)


def package_family(runner: Runner) -> Optional[str]:
    return next((family for family, paths in PACKAGE_MANAGERS
                 if any(runner.exists(p) for p in paths)), None)


def detect_stack(runner: Runner) -> NetworkStack:
    """Probe every registered method's facts under the root (on a live root, binaries
    are asked too: their versions, whether a service runs)."""
    return NetworkStack(**Look(methods.declared_facts(), runner).values())


def stock_stack(release: Release, version: str = "") -> NetworkStack:
    """What a stock install of a known release has, as its methods declare it."""
    values: dict[str, Any] = {}
    for method in methods.REGISTRY.values():
        values.update(method.stock_stack(release, version))
    return NetworkStack(**values)


def _filled(stack: NetworkStack, release: Release, version: str) -> NetworkStack:
    """Values the root could not tell (`Fact.fill`), from the stock stack of a release the
    table knows (a release it has no record of has none to give)."""
    if not is_known(release):
        return stack
    stock = stock_stack(release, version)
    found = Look(methods.declared_facts(), given=stack.to_json())
    changes = {name: getattr(stock, name) for name, fact in found.facts.items()
               if fact.fill is not None and getattr(stack, name) is None
               and found.holds(fact.fill)}
    return stack.replace(**changes) if changes else stack


def _preview(os_override: str) -> tuple[str, str, str, Release, NetworkStack]:
    os_id, version = parse_os_arg(os_override)
    key = release_key(os_id, version)
    if key is None:
        raise PlatformError(f"Unsupported OS {os_override!r}. Supported: {supported_ids()}.")
    release = KNOWN_RELEASES[key]
    return os_id, version or "", release.name, release, stock_stack(release, version)


def _live(runner: Runner) -> tuple[str, str, str, Release, NetworkStack, tuple[str, ...]]:
    info = distro.LinuxDistribution(
        root_dir=str(runner.root), include_lsb=False, include_uname=False,
        include_oslevel=False,
    )
    os_id, version, id_like = info.id(), info.version(), info.like()
    if not os_id:
        raise PlatformError(
            f"Cannot tell the OS: {runner.host_path('/etc/os-release')} is missing or has "
            f"no ID. Pass --os ID-VERSION to choose one. Supported: {supported_ids()}."
        )
    name = info.name(pretty=True) or os_id
    stack = detect_stack(runner)
    family = family_of(os_id, id_like, package_family(runner))
    notes: tuple[str, ...] = ()
    key = release_key(os_id, version, id_like)
    known = KNOWN_RELEASES.get(key or "")
    if known is not None and known.family == (family or known.family):
        release = known
    else:
        if family is None:
            notes = (f"not recognised: {name} (os-release ID {os_id!r}, no ID_LIKE or package "
                     "manager clb-wizard knows); the method follows the network stack found",)
        release = Release(f"{os_id}-{version}" if version else os_id, name, family or "linux")
    return os_id, version, name, release, _filled(stack, release, version), notes


def detect(runner: Runner, os_override: Optional[str] = None) -> Platform:
    """The platform under runner.root, or the stock one for `os_override` (--os)."""
    notes: tuple[str, ...] = ()
    if os_override:
        os_id, version, name, release, stack = _preview(os_override)
    else:
        os_id, version, name, release, stack, notes = _live(runner)
    choice = methods.choose(release, stack)
    return Platform(
        os_id=os_id,
        version=version,
        name=name,
        family=release.family,
        release=release.key,
        stack=stack,
        method=choice.method,
        reasons=choice.reasons + notes,
        packages=choice.packages,
        detected=not os_override,
    )


def with_method(platform: Platform, method: str) -> Platform:
    """Force a method (--method), refusing ones that cannot work on this platform."""
    if method not in methods.REGISTRY:
        raise PlatformError(
            f"Unknown method {method!r}: choose one of {', '.join(methods.REGISTRY)}.")
    if method == platform.method:
        return platform
    forced = methods.get_method(method)
    if (platform.family == "windows") != (forced.host_os == "windows"):
        raise PlatformError(f"Method {method} does not apply to {platform.name}.")
    release = release_of(platform)
    # a preview (--os) assumes the forced method's tool is installed; a real host must have it
    stack = platform.stack if platform.detected else forced.assume_installed(platform.stack)
    fit = forced.fits(release, stack)
    if not fit.ok:
        raise PlatformError(
            f"Method {method} does not fit {platform.name}: {fit.reason}. Use the method "
            f"clb-wizard picked ({platform.method})."
        )
    return replace(
        platform, method=method, reasons=(f"method {method} chosen with --method", fit.reason),
        packages=forced.prerequisites(release, stack).packages, stack=stack,
    )


__all__ = ["KNOWN_RELEASES", "METHODS", "STACK_PROBES", "NetworkStack", "Platform",
           "PlatformError", "Release", "detect", "detect_stack", "parse_os_arg",
           "release_key", "release_of", "stack_probes", "stock_stack", "supported_ids",
           "with_method"]
