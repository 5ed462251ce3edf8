"""Which OS this is and how it keeps network configuration.

The OS comes from `<root>/etc/os-release` (via `distro`); the network stack comes from
what is actually installed under the root (netplan, ifupdown, network-scripts,
NetworkManager and its version), because the OS name alone is not enough: a Debian 13
cloud image uses netplan, a Debian 13 server install uses ifupdown, a Rocky 8 host may
lack network-scripts. `--os ID` skips detection and assumes the release's stock stack,
for previews of a system you are not on.
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
from clb_wizard.runner import Runner

METHODS = methods.METHOD_NAMES


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
    # packages its repositories offer that a method may install first
    installable: tuple[str, ...] = ()
    networkd_enabled: bool = False  # stock: systemd-networkd enabled


def _rhel(key: str, name: str, nm: str, network_scripts: bool) -> Release:
    # RHEL 7 and 8 (and rebuilds) ship network-scripts; RHEL 9 removed them.
    installable = ("network-scripts",) if key.endswith(("-7", "-8")) else ()
    return Release(key, name, "rhel", nm_version=nm, network_scripts=network_scripts,
                   installable=installable)


def _ubuntu(version: str, networkd: int, netplan: bool = True) -> Release:
    # Ubuntu enables systemd-networkd (netplan's renderer) on every server install.
    return Release(f"ubuntu-{version}", f"Ubuntu {version}", "debian", None, networkd,
                   netplan=netplan, ifupdown=not netplan, networkd_enabled=netplan)


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
        _ubuntu("16.04", 229, netplan=False),
        _ubuntu("18.04", 237),
        _ubuntu("20.04", 245),
        _ubuntu("22.04", 249),
        _ubuntu("24.04", 255),
        Release("debian-10", "Debian 10", "debian", None, 241, ifupdown=True),
        Release("debian-11", "Debian 11", "debian", None, 247, ifupdown=True),
        Release("debian-12", "Debian 12", "debian", None, 252, ifupdown=True),
        # Debian 13 cloud images (what a CLB backend runs) configure the network with netplan.
        Release("debian-13", "Debian 13", "debian", None, 257, netplan=True,
                networkd_enabled=True),
        Release("windows", "Windows Server", "windows"),
    )
}

# os-release IDs of RHEL rebuilds and derivatives that behave like RHEL of the same major.
# "oracle": distro normalises Oracle Linux's os-release ID "ol" to "oracle", so detection
# sees that name, never "ol" (which --os still accepts).
_RHEL_LIKE = {"centos", "rhel", "rocky", "almalinux", "ol", "oracle", "opencloudos",
              "tencentos", "anolis"}


# How each family installs a package a method needs first.
INSTALLERS: dict[str, tuple[str, ...]] = {
    "rhel": ("dnf", "install", "-y"),
    "debian": ("apt-get", "install", "-y"),
}


def supported_ids() -> str:
    return ", ".join(KNOWN_RELEASES)


@dataclass(frozen=True)
class NetworkStack:
    """What is installed under the root that can keep an address on `lo`."""

    netplan: bool = False
    netplan_configured: bool = False  # /etc/netplan holds netplan configuration
    netplan_renderer: Optional[str] = None  # "networkd" or "NetworkManager"
    ifupdown: bool = False
    network_scripts: bool = False
    networkmanager: bool = False
    nm_version: Optional[str] = None
    networkd_version: Optional[int] = None
    networkd_enabled: bool = False  # enabled (or running): it applies its config
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
            parts.append(f"systemd-networkd {self.networkd_version}"
                         + (" (enabled)" if self.networkd_enabled else ""))
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


# The paths detect_stack probes, by what they tell (the Ansible play probes the same).
STACK_PROBES: dict[str, tuple[str, ...]] = {
    "netplan": ("/usr/sbin/netplan", "/usr/bin/netplan", "/sbin/netplan"),
    "network_scripts": ("/etc/sysconfig/network-scripts/ifup-eth",
                        "/usr/libexec/network-scripts/ifup-eth"),
    "ifup": ("/sbin/ifup", "/usr/sbin/ifup"),
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
}


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
    out = runner.query(["networkctl", "--no-pager", "list"])
    return out.ok and "not running" not in out.stdout + out.stderr


def detect_stack(runner: Runner) -> NetworkStack:
    """Look at what is installed under the root; ask binaries their version on a live root."""
    netplan = _probe(runner, "netplan")
    netplan_configured = any(is_netplan_config(n) for n in runner.list_dir("/etc/netplan"))
    network_scripts = _probe(runner, "network_scripts")
    # ifupdown's ifup lives at /sbin/ifup too; network-scripts' ifup is told apart above.
    ifupdown = not network_scripts and _probe(runner, "ifup") and _probe(runner, "interfaces")
    networkmanager = _probe(runner, "networkmanager")
    networkd = _probe(runner, "networkd")
    networkd_enabled = networkd and (_probe(runner, "networkd_enabled")
                                     or _networkd_active(runner))
    systemd = _probe(runner, "systemd")
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
        netplan_renderer=netplan_renderer(runner) if netplan_configured else None,
        ifupdown=ifupdown,
        network_scripts=network_scripts,
        networkmanager=networkmanager,
        nm_version=nm_version,
        networkd_version=networkd_version if networkd else None,
        networkd_enabled=networkd_enabled,
        systemd=systemd or networkd,
    )


def _stock_stack(release: Release) -> NetworkStack:
    return NetworkStack(
        netplan=release.netplan,
        netplan_configured=release.netplan,
        netplan_renderer="networkd" if release.netplan else None,
        ifupdown=release.ifupdown,
        network_scripts=release.network_scripts,
        networkmanager=release.nm_version is not None,
        nm_version=release.nm_version,
        networkd_version=release.networkd_version,
        networkd_enabled=release.networkd_enabled,
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
    choice = methods.choose(release, stack)
    return Platform(
        os_id=os_id,
        version=version,
        name=name,
        family=release.family,
        release=release.key,
        stack=stack,
        method=choice.method,
        reasons=choice.reasons,
        packages=choice.packages,
        detected=detected,
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
    release = KNOWN_RELEASES[platform.release]
    fit = forced.fits(release, platform.stack)
    if not fit.ok:
        raise PlatformError(
            f"Method {method} does not fit {platform.name}: {fit.reason}. Use the method "
            f"clb-wizard picked ({platform.method})."
        )
    return replace(
        platform, method=method, reasons=(f"method {method} chosen with --method", fit.reason),
        packages=forced.prerequisites(release, platform.stack).packages,
    )
