"""Which OS this is and how it keeps network configuration.

Detection goes by what is installed, not by a list of names: the OS family comes from
`<root>/etc/os-release` (via `distro`: ID_LIKE, then ID, with the package manager asked
for IDs that name RHEL-like and Debian-like editions alike), and the network stack from
what is present under the root (NetworkManager and its version, network-scripts,
ifupdown or ifupdown-ng, netplan and its renderer, systemd-networkd and whether it is
enabled, wicked, systemd as init). Each method then says whether it fits (methods/).
An OS clb-wizard has no name for still gets a method that fits its stack.

`--os ID` skips detection and assumes the release's stock stack (releases.py), for
previews of a system you are not on.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field, replace
from typing import Optional

import distro

from clb_wizard import methods
from clb_wizard.errors import PlatformError
from clb_wizard.methods.base import version_tuple
from clb_wizard.methods.netplan import is_netplan_config, netplan_renderer
from clb_wizard.releases import (
    INSTALLERS,
    KNOWN_RELEASES,
    Release,
    family_of,
    parse_os_arg,
    release_key,
    supported_ids,
)
from clb_wizard.runner import Runner

METHODS = methods.METHOD_NAMES


@dataclass(frozen=True)
class NetworkStack:
    """What is installed under the root that can keep an address on `lo`."""

    netplan: bool = False
    netplan_configured: bool = False  # /etc/netplan holds netplan configuration
    netplan_renderer: Optional[str] = None  # "networkd" or "NetworkManager"
    ifupdown: bool = False
    ifupdown_ng: bool = False
    network_scripts: bool = False
    networkmanager: bool = False
    nm_version: Optional[str] = None
    networkd_version: Optional[int] = None
    networkd_enabled: bool = False  # enabled (or running): it applies its config
    wicked: bool = False  # installed and the enabled network service
    systemd: bool = False  # systemd is the init system

    def describe(self) -> str:
        parts = []
        if self.netplan:
            parts.append("netplan" + (" (configured)" if self.netplan_configured else ""))
        parts += [name for name, present in (
            ("ifupdown", self.ifupdown), ("ifupdown-ng", self.ifupdown_ng),
            ("network-scripts", self.network_scripts), ("wicked", self.wicked)) if present]
        if self.networkmanager:
            parts.append(f"NetworkManager {self.nm_version or '(version unknown)'}")
        if self.networkd_version:
            parts.append(f"systemd-networkd {self.networkd_version}")
        if not self.systemd:
            parts.append("no systemd")
        return ", ".join(parts) or "no known network configuration tool"


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
            "stack": dataclasses.asdict(self.stack),
        }


def release_of(platform: Platform) -> Release:
    """The release a platform behaves like (a bare one for an OS the table lacks)."""
    known = KNOWN_RELEASES.get(platform.release)
    if known is not None:
        return known
    installable = ("network-scripts",) if platform.stack.network_scripts else ()
    return Release(platform.release, platform.name, platform.family, installable=installable)


def _has(runner: Runner, *paths: str) -> bool:
    return any(runner.exists(p) for p in paths)


# The paths detect_stack probes, by what they tell (the Ansible play probes the same).
STACK_PROBES: dict[str, tuple[str, ...]] = {
    "netplan": ("/usr/sbin/netplan", "/usr/bin/netplan", "/sbin/netplan"),
    "network_scripts": ("/etc/sysconfig/network-scripts/ifup-eth",
                        "/usr/libexec/network-scripts/ifup-eth"),
    "ifup": ("/sbin/ifup", "/usr/sbin/ifup"),
    # ifupdown-ng's ifup, ifdown, ifquery... are links to one `ifupdown` binary
    "ifupdown_ng": ("/sbin/ifupdown", "/usr/sbin/ifupdown"),
    "interfaces": ("/etc/network/interfaces",),
    "networkmanager": ("/usr/sbin/NetworkManager", "/sbin/NetworkManager"),
    "networkd": ("/lib/systemd/systemd-networkd", "/usr/lib/systemd/systemd-networkd"),
    "systemd": ("/lib/systemd/systemd", "/usr/lib/systemd/systemd"),
    # `systemctl enable systemd-networkd` links these (the D-Bus alias is what lets
    # `networkctl reload` start it); netplan's generator links the /run one at boot.
    "networkd_enabled": (
        "/etc/systemd/system/dbus-org.freedesktop.network1.service",
        "/etc/systemd/system/multi-user.target.wants/systemd-networkd.service",
        "/run/systemd/generator/multi-user.target.wants/systemd-networkd.service",
    ),
    "wicked": ("/usr/sbin/wicked", "/sbin/wicked"),
    # `systemctl enable wicked` (YaST's network setup with wicked) links this
    "wicked_enabled": ("/etc/systemd/system/multi-user.target.wants/wicked.service",),
}

# The package manager a root has tells its family when os-release does not.
PACKAGE_MANAGERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("suse", ("/usr/bin/zypper",)),  # before rpm: SUSE has rpm too
    ("debian", ("/usr/bin/dpkg", "/bin/dpkg")),
    ("rhel", ("/usr/bin/dnf", "/usr/bin/yum", "/usr/bin/rpm", "/bin/rpm")),
    ("alpine", ("/sbin/apk",)),
    ("linux", ("/usr/bin/pacman",)),
)

# Where NetworkManager keeps its plugins: the directory is named after its version.
_NM_LIB_DIRS = ("/usr/lib64/NetworkManager", "/usr/lib/NetworkManager",
                "/usr/lib/x86_64-linux-gnu/NetworkManager",
                "/usr/lib/aarch64-linux-gnu/NetworkManager")


def _probe(runner: Runner, what: str) -> bool:
    return _has(runner, *STACK_PROBES[what])


def _networkd_active(runner: Runner) -> bool:
    """Is systemd-networkd running on this very host? systemctl knows when systemd is
    PID 1; networkctl also tells when networkd runs without it (it warns that networkd
    is not running, or cannot reach it, otherwise)."""
    if not runner.is_live_root:
        return False
    if runner.query(["systemctl", "is-active", "--quiet", "systemd-networkd"]).ok:
        return True
    if runner.is_dir("/run/systemd/system"):  # systemd is PID 1 and said no (networkctl
        return False                          # 257 lists links without a warning then)
    out = runner.query(["networkctl", "--no-pager", "list"])
    return out.ok and "not running" not in out.stdout + out.stderr


def package_family(runner: Runner) -> Optional[str]:
    return next((family for family, paths in PACKAGE_MANAGERS if _has(runner, *paths)), None)


def _nm_version_in_root(runner: Runner) -> Optional[str]:
    for directory in _NM_LIB_DIRS:
        versions = [n for n in runner.list_dir(directory) if re.fullmatch(r"\d+\.\d+[\w.-]*", n)]
        if versions:
            return max(versions, key=version_tuple)
    return None


def _live_versions(runner: Runner, networkd: bool) -> tuple[Optional[str], Optional[int]]:
    """On this very host, ask nmcli (its version is the daemon's, packaged together; that
    also finds a NetworkManager installed outside /usr/sbin) and networkctl."""
    nm_version = networkd_version = None
    out = runner.query(["nmcli", "--version"])
    found = re.search(r"version (\d+(?:\.\d+)*)", out.stdout) if out.ok else None
    if found:
        nm_version = found.group(1)
    if networkd:
        out = runner.query(["networkctl", "--version"])
        found = re.search(r"systemd (\d+)", out.stdout) if out.ok else None
        networkd_version = int(found.group(1)) if found else None
    return nm_version, networkd_version


def detect_stack(runner: Runner) -> NetworkStack:
    """Look at what is installed under the root; ask binaries their version on a live root."""
    netplan_configured = any(is_netplan_config(n) for n in runner.list_dir("/etc/netplan"))
    network_scripts = _probe(runner, "network_scripts")
    interfaces = _probe(runner, "interfaces")
    ifupdown_ng = _probe(runner, "ifupdown_ng") and interfaces
    # ifupdown's ifup lives at /sbin/ifup too; network-scripts' and ifupdown-ng's are
    # told apart above.
    ifupdown = (not network_scripts and not ifupdown_ng and _probe(runner, "ifup")
                and interfaces)
    networkd = _probe(runner, "networkd")
    nm_version, networkd_version = (_live_versions(runner, networkd) if runner.is_live_root
                                    else (_nm_version_in_root(runner), None))
    return NetworkStack(
        netplan=_probe(runner, "netplan"),
        netplan_configured=netplan_configured,
        netplan_renderer=netplan_renderer(runner) if netplan_configured else None,
        ifupdown=ifupdown,
        ifupdown_ng=ifupdown_ng,
        network_scripts=network_scripts,
        networkmanager=_probe(runner, "networkmanager") or nm_version is not None,
        nm_version=nm_version,
        networkd_version=networkd_version if networkd else None,
        networkd_enabled=networkd and (_probe(runner, "networkd_enabled")
                                       or _networkd_active(runner)),
        wicked=_probe(runner, "wicked") and _probe(runner, "wicked_enabled"),
        systemd=_probe(runner, "systemd") or networkd,
    )


def _stock_stack(release: Release) -> NetworkStack:
    return NetworkStack(
        netplan=release.netplan,
        netplan_configured=release.netplan,
        netplan_renderer="networkd" if release.netplan else None,
        ifupdown=release.ifupdown,
        ifupdown_ng=release.ifupdown_ng,
        network_scripts=release.network_scripts,
        networkmanager=release.nm_version is not None,
        nm_version=release.nm_version,
        networkd_version=release.networkd_version,
        networkd_enabled=release.networkd_enabled,
        wicked=release.wicked,
        systemd=release.systemd and release.family != "windows",
    )


def _rhel_nm_default(release: Release, version: str) -> Optional[str]:
    """RHEL 9.0 and 9.1 shipped NetworkManager 1.36 and 1.40; 9.2 brought 1.42."""
    if release.key.endswith("-9") and release.family == "rhel" and len(
            version_tuple(version)) >= 2:
        minor = version_tuple(version)[1]
        if minor == 0:
            return "1.36.0"
        if minor == 1:
            return "1.40.0"
    return release.nm_version


def _preview(os_override: str) -> tuple[str, str, str, Release, NetworkStack]:
    os_id, version = parse_os_arg(os_override)
    key = release_key(os_id, version)
    if key is None:
        raise PlatformError(f"Unsupported OS {os_override!r}. Supported: {supported_ids()}.")
    release = KNOWN_RELEASES[key]
    stack = replace(_stock_stack(release), nm_version=_rhel_nm_default(release, version))
    return os_id, version or "", release.name, release, stack


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
        release = Release(f"{os_id}-{version}" if version else os_id, name, family or "linux",
                          installable=("network-scripts",) if stack.network_scripts else ())
    if stack.networkmanager and stack.nm_version is None:
        stack = replace(stack, nm_version=_rhel_nm_default(release, version))
    if stack.networkd_version is None and (stack.netplan or stack.systemd):
        stack = replace(stack, networkd_version=release.networkd_version)
    return os_id, version, name, release, stack, notes


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
    if method not in METHODS:
        raise PlatformError(f"Unknown method {method!r}: choose one of {', '.join(METHODS)}.")
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
           "release_key", "release_of", "supported_ids", "with_method"]
