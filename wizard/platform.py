"""Which OS this is and how it keeps network configuration.

The OS comes from `<root>/etc/os-release` (via `distro`); the network stack comes from
what is actually installed under the root (netplan, ifupdown, network-scripts,
NetworkManager and its version), because the OS name alone is not enough: a Debian 13
cloud image uses netplan, a Debian 13 server install uses ifupdown, a Rocky 8 host may
lack network-scripts. `--os ID` skips detection and assumes the release's stock stack,
for previews of a system you are not on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Optional

import distro

from clb_wizard.errors import InputError
from clb_wizard.runner import Runner

METHODS = ("ifcfg", "networkmanager", "ifupdown", "netplan", "systemd-unit", "windows")

# NetworkManager manages `lo` (connection type "loopback") from this version on.
NM_LOOPBACK_MIN = (1, 42)
# `networkctl reconfigure` (re-applies one link only) exists from systemd 244 on.
NETWORKD_RECONFIGURE_MIN = 244


class PlatformError(InputError):
    """The OS or network stack is not one clb-wizard can configure."""


@dataclass(frozen=True)
class Release:
    """What a release ships by default (used for --os previews and as fallbacks)."""

    key: str
    name: str
    family: str  # "rhel", "debian" or "windows"
    nm_version: Optional[str] = None
    networkd_version: Optional[int] = None
    network_scripts: bool = False
    netplan: bool = False
    ifupdown: bool = False


def _rhel(key: str, name: str, nm: str, network_scripts: bool) -> Release:
    return Release(key, name, "rhel", nm_version=nm, network_scripts=network_scripts)


KNOWN_RELEASES: dict[str, Release] = {
    r.key: r
    for r in (
        _rhel("centos-7", "CentOS 7", "1.18.8", True),
        _rhel("rhel-7", "Red Hat Enterprise Linux 7", "1.18.8", True),
        _rhel("centos-8", "CentOS 8", "1.30.0", False),
        _rhel("rhel-8", "Red Hat Enterprise Linux 8", "1.40.16", False),
        _rhel("rocky-8", "Rocky Linux 8", "1.40.16", False),
        _rhel("almalinux-8", "AlmaLinux 8", "1.40.16", False),
        _rhel("centos-9", "CentOS Stream 9", "1.48.10", False),
        _rhel("rhel-9", "Red Hat Enterprise Linux 9", "1.48.10", False),
        _rhel("rocky-9", "Rocky Linux 9", "1.48.10", False),
        _rhel("almalinux-9", "AlmaLinux 9", "1.48.10", False),
        _rhel("centos-10", "CentOS Stream 10", "1.52.0", False),
        _rhel("rhel-10", "Red Hat Enterprise Linux 10", "1.52.0", False),
        _rhel("rocky-10", "Rocky Linux 10", "1.52.0", False),
        _rhel("almalinux-10", "AlmaLinux 10", "1.52.0", False),
        Release("ubuntu-16.04", "Ubuntu 16.04", "debian", None, 229, ifupdown=True),
        Release("ubuntu-18.04", "Ubuntu 18.04", "debian", None, 237, netplan=True),
        Release("ubuntu-20.04", "Ubuntu 20.04", "debian", None, 245, netplan=True),
        Release("ubuntu-22.04", "Ubuntu 22.04", "debian", None, 249, netplan=True),
        Release("ubuntu-24.04", "Ubuntu 24.04", "debian", None, 255, netplan=True),
        Release("debian-10", "Debian 10", "debian", None, 241, ifupdown=True),
        Release("debian-11", "Debian 11", "debian", None, 247, ifupdown=True),
        Release("debian-12", "Debian 12", "debian", None, 252, ifupdown=True),
        # Debian 13 cloud images (what a CLB backend runs) configure the network with netplan.
        Release("debian-13", "Debian 13", "debian", None, 257, netplan=True),
        Release("windows", "Windows Server", "windows"),
    )
}

# os-release IDs of RHEL rebuilds and derivatives that behave like RHEL of the same major.
# "oracle": distro normalises Oracle Linux's os-release ID "ol" to "oracle", so detection
# sees that name, never "ol" (which --os still accepts).
_RHEL_LIKE = {"centos", "rhel", "rocky", "almalinux", "ol", "oracle", "opencloudos",
              "tencentos", "anolis"}


def supported_ids() -> str:
    return ", ".join(KNOWN_RELEASES)


@dataclass(frozen=True)
class NetworkStack:
    """What is installed under the root that can keep an address on `lo`."""

    netplan: bool = False
    netplan_configured: bool = False  # /etc/netplan holds YAML files
    ifupdown: bool = False
    network_scripts: bool = False
    networkmanager: bool = False
    nm_version: Optional[str] = None
    networkd_version: Optional[int] = None
    systemd: bool = False

    def describe(self) -> str:
        parts = []
        if self.netplan:
            parts.append("netplan" + (" (configured)" if self.netplan_configured else ""))
        if self.ifupdown:
            parts.append("ifupdown")
        if self.network_scripts:
            parts.append("network-scripts")
        if self.networkmanager:
            parts.append(f"NetworkManager {self.nm_version or '(version unknown)'}")
        if self.networkd_version:
            parts.append(f"systemd-networkd {self.networkd_version}")
        return ", ".join(parts) or "no known network configuration tool"


@dataclass(frozen=True)
class Platform:
    os_id: str  # os-release ID, e.g. "rocky"
    version: str  # os-release VERSION_ID, e.g. "9.4"
    name: str  # human name, e.g. "Rocky Linux 9.4"
    family: str
    release: str  # key of KNOWN_RELEASES this behaves like
    stack: NetworkStack
    method: str
    reasons: tuple[str, ...] = field(default=())  # why this method
    packages: tuple[str, ...] = field(default=())  # to install before the method works
    detected: bool = True  # False when --os chose it

    @property
    def key(self) -> str:
        return f"{self.os_id}-{self.version}" if self.version else self.os_id

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
            "stack": {
                "netplan": self.stack.netplan,
                "netplan_configured": self.stack.netplan_configured,
                "ifupdown": self.stack.ifupdown,
                "network_scripts": self.stack.network_scripts,
                "networkmanager": self.stack.networkmanager,
                "nm_version": self.stack.nm_version,
                "networkd_version": self.stack.networkd_version,
                "systemd": self.stack.systemd,
            },
        }


def version_tuple(version: Optional[str]) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version or "")[:3])


def release_key(os_id: str, version: str, id_like: str = "") -> Optional[str]:
    """Map an os-release ID/VERSION_ID (or an --os value's parts) to a KNOWN_RELEASES key."""
    os_id = os_id.lower()
    if os_id == "windows":
        return "windows"
    major = version.split(".")[0]
    if os_id == "ubuntu":
        key = "ubuntu-" + ".".join(version.split(".")[:2])
        return key if key in KNOWN_RELEASES else None
    candidates = [os_id] + (["rhel"] if os_id in _RHEL_LIKE or "rhel" in id_like.split() else [])
    candidates += [like for like in id_like.split() if like in ("debian", "ubuntu")]
    for candidate in candidates:
        key = f"{candidate}-{major}"
        if key in KNOWN_RELEASES:
            return key
    return None


def parse_os_arg(value: str) -> tuple[str, str]:
    """`rocky-9.4` -> ("rocky", "9.4"); `windows` -> ("windows", "")."""
    value = value.strip().lower()
    if value == "windows":
        return "windows", ""
    os_id, sep, version = value.rpartition("-")
    if not sep or not os_id or not re.fullmatch(r"\d+(\.\d+)*", version):
        raise PlatformError(
            f"--os {value!r} is not of the form ID-VERSION (os-release ID and VERSION_ID, "
            f"e.g. rocky-9 or ubuntu-22.04). Supported: {supported_ids()}."
        )
    return os_id, version


def _has(runner: Runner, *paths: str) -> bool:
    return any(runner.exists(p) for p in paths)


def detect_stack(runner: Runner) -> NetworkStack:
    """Look at what is installed under the root; ask binaries their version on a live root."""
    netplan = _has(runner, "/usr/sbin/netplan", "/usr/bin/netplan", "/sbin/netplan")
    netplan_configured = any(
        name.endswith(".yaml") for name in runner.list_dir("/etc/netplan")  # netplan reads *.yaml
    )
    network_scripts = _has(
        runner,
        "/etc/sysconfig/network-scripts/ifup-eth",
        "/usr/libexec/network-scripts/ifup-eth",
    )
    # ifupdown's ifup lives at /sbin/ifup too; network-scripts' ifup is told apart above.
    ifupdown = (
        not network_scripts
        and _has(runner, "/sbin/ifup", "/usr/sbin/ifup")
        and runner.exists("/etc/network/interfaces")
    )
    networkmanager = _has(runner, "/usr/sbin/NetworkManager", "/sbin/NetworkManager")
    networkd = _has(
        runner, "/lib/systemd/systemd-networkd", "/usr/lib/systemd/systemd-networkd"
    )
    systemd = _has(runner, "/lib/systemd/systemd", "/usr/lib/systemd/systemd")
    nm_version = None
    networkd_version = None
    if runner.is_live_root:
        # On this very host, ask nmcli (its version is the daemon's, packaged together);
        # that also finds a NetworkManager installed outside /usr/sbin.
        out = runner.query(["nmcli", "--version"])
        found = re.search(r"version (\d+(?:\.\d+)*)", out.stdout) if out.ok else None
        if found:
            networkmanager, nm_version = True, found.group(1)
        if networkd:
            out = runner.query(["networkctl", "--version"])
            found = re.search(r"systemd (\d+)", out.stdout) if out.ok else None
            networkd_version = int(found.group(1)) if found else None
    return NetworkStack(
        netplan=netplan,
        netplan_configured=netplan_configured,
        ifupdown=ifupdown,
        network_scripts=network_scripts,
        networkmanager=networkmanager,
        nm_version=nm_version,
        networkd_version=networkd_version if networkd else None,
        systemd=systemd or networkd,
    )


def _stock_stack(release: Release) -> NetworkStack:
    return NetworkStack(
        netplan=release.netplan,
        netplan_configured=release.netplan,
        ifupdown=release.ifupdown,
        network_scripts=release.network_scripts,
        networkmanager=release.nm_version is not None,
        nm_version=release.nm_version,
        networkd_version=release.networkd_version,
        systemd=release.family != "windows",
    )


def _rhel_nm_default(release: Release, version: str) -> Optional[str]:
    """RHEL 9.0 and 9.1 shipped NetworkManager 1.36 and 1.40; 9.2 brought 1.42."""
    if release.key.endswith("-9") and len(version_tuple(version)) >= 2:
        minor = version_tuple(version)[1]
        if minor == 0:
            return "1.36.0"
        if minor == 1:
            return "1.40.0"
    return release.nm_version


def choose_method(release: Release, stack: NetworkStack, version: str) -> tuple[str, tuple, tuple]:
    """(method, reasons, packages to install) for a release with a detected stack."""
    if release.family == "windows":
        return "windows", ("Windows: a loopback adapter and netsh",), ()
    nm_ok = stack.networkmanager and version_tuple(stack.nm_version) >= NM_LOOPBACK_MIN
    major = version_tuple(version)[:1] or (0,)
    if release.family == "rhel":
        if stack.network_scripts and major[0] <= 8:
            return "ifcfg", ("network-scripts is installed: ifcfg-lo:N files, ifup lo:N",), ()
        if nm_ok:
            return (
                "networkmanager",
                (f"NetworkManager {stack.nm_version} manages lo (>= 1.42): a loopback profile",),
                (),
            )
        if major[0] <= 8:
            return (
                "ifcfg",
                (
                    "network-scripts is not installed: the plan installs it first "
                    "(NetworkManager below 1.42 cannot keep addresses on lo)",
                ),
                ("network-scripts",),
            )
        return (
            "systemd-unit",
            (
                f"NetworkManager {stack.nm_version or 'unknown'} is older than 1.42 and cannot "
                "manage lo, and network-scripts no longer exist: a systemd unit adds the VIPs "
                "at boot",
            ),
            (),
        )
    if stack.netplan and stack.netplan_configured:
        return "netplan", ("netplan configures this host (/etc/netplan has YAML files)",), ()
    if stack.ifupdown:
        return "ifupdown", ("ifupdown configures this host (/etc/network/interfaces)",), ()
    if stack.netplan:
        return "netplan", ("netplan is installed",), ()
    if nm_ok:
        return "networkmanager", (f"NetworkManager {stack.nm_version} manages lo",), ()
    if stack.systemd:
        return "systemd-unit", ("no netplan or ifupdown: a systemd unit adds the VIPs at boot",), ()
    raise PlatformError(
        f"No supported network configuration tool found ({stack.describe()}). "
        "Install ifupdown or netplan.io, then run clb-wizard again."
    )


def detect(runner: Runner, os_override: Optional[str] = None) -> Platform:
    """The platform under runner.root, or the stock one for `os_override` (--os)."""
    if os_override:
        os_id, version = parse_os_arg(os_override)
        key = release_key(os_id, version)
        if key is None:
            raise PlatformError(f"Unsupported OS {os_override!r}. Supported: {supported_ids()}.")
        release = KNOWN_RELEASES[key]
        version = version or ""
        stack = replace(_stock_stack(release), nm_version=_rhel_nm_default(release, version))
        name = release.name
        detected = False
    else:
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
        key = release_key(os_id, version, id_like)
        if key is None:
            raise PlatformError(
                f"Unsupported OS {os_id}-{version} ({info.name(pretty=True)}). "
                f"Supported: {supported_ids()}."
            )
        release = KNOWN_RELEASES[key]
        stack = detect_stack(runner)
        if stack.networkmanager and stack.nm_version is None:
            stack = replace(stack, nm_version=_rhel_nm_default(release, version))
        if stack.networkd_version is None and (stack.netplan or stack.systemd):
            stack = replace(stack, networkd_version=release.networkd_version)
        name = info.name(pretty=True) or release.name
        detected = True
    method, reasons, packages = choose_method(release, stack, version)
    return Platform(
        os_id=os_id,
        version=version,
        name=name,
        family=release.family,
        release=release.key,
        stack=stack,
        method=method,
        reasons=reasons,
        packages=packages,
        detected=detected,
    )


def with_method(platform: Platform, method: str) -> Platform:
    """Force a method (--method), refusing ones that cannot work on this platform."""
    if method not in METHODS:
        raise PlatformError(f"Unknown method {method!r}: choose one of {', '.join(METHODS)}.")
    if method == platform.method:
        return platform
    if (platform.family == "windows") != (method == "windows"):
        raise PlatformError(f"Method {method} does not apply to {platform.name}.")
    if method == "networkmanager" and version_tuple(platform.stack.nm_version) < NM_LOOPBACK_MIN:
        raise PlatformError(
            f"Method networkmanager needs NetworkManager >= 1.42 to manage lo; this host has "
            f"{platform.stack.nm_version or 'none'}. Use the method clb-wizard picked "
            f"({platform.method})."
        )
    packages: tuple[str, ...] = ()
    if method == "ifcfg" and not platform.stack.network_scripts:
        if platform.family != "rhel" or version_tuple(platform.version)[:1] >= (9,):
            raise PlatformError(
                f"Method ifcfg needs Red Hat network-scripts, which {platform.name} does not "
                f"have. Use the method clb-wizard picked ({platform.method})."
            )
        packages = ("network-scripts",)
    return replace(
        platform, method=method, reasons=(f"method {method} chosen with --method",),
        packages=packages,
    )
