"""The releases clb-wizard knows by name: for `--os` previews, for wording, and for the
stock stack a release ships (used where a root does not tell).

Live detection does not depend on this table: a host is taken by its os-release family
(ID, then ID_LIKE, then the package manager it has) and the stack installed on it, so an
OS missing here still gets a method that fits (platform.detect). What each entry assumes
comes from the distribution's own documentation and package lists (README, "Supported
systems").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from clb_wizard.errors import PlatformError


@dataclass(frozen=True)
class Release:
    """What a release ships by default (used for --os previews and as fallbacks)."""

    key: str
    name: str
    family: str  # "rhel", "debian", "suse", "alpine", "linux" (any other) or "windows"
    nm_version: Optional[str] = None
    networkd_version: Optional[int] = None
    network_scripts: bool = False
    netplan: bool = False
    ifupdown: bool = False
    # packages its repositories offer that a method may install first
    installable: tuple[str, ...] = ()
    networkd_enabled: bool = False  # stock: systemd-networkd enabled
    ifupdown_ng: bool = False
    wicked: bool = False
    systemd: bool = True  # systemd is the init system


def _rhel(key: str, name: str, nm: Optional[str], network_scripts: bool = False,
          installable: bool = False, **more) -> Release:
    """A RHEL-family release; `installable`: its repositories carry network-scripts."""
    return Release(key, name, "rhel", nm_version=nm, network_scripts=network_scripts,
                   installable=("network-scripts",) if installable else (), **more)


def _el(distro: str, name: str, major: int, nm: str) -> Release:
    # RHEL 7 and 8 (and rebuilds) ship network-scripts; RHEL 9 removed them.
    return _rhel(f"{distro}-{major}", f"{name} {major}", nm, network_scripts=major == 7,
                 installable=major <= 8)


def _ubuntu(version: str, networkd: int, netplan: bool = True) -> Release:
    # Ubuntu enables systemd-networkd (netplan's renderer) on every server install.
    return Release(f"ubuntu-{version}", f"Ubuntu {version}", "debian", None, networkd,
                   netplan=netplan, ifupdown=not netplan, networkd_enabled=netplan)


def _suse(key: str, name: str, nm: Optional[str] = None) -> Release:
    # SLES/Leap 15 configure the network with wicked; 16 moved to NetworkManager.
    return Release(key, name, "suse", nm_version=nm, wicked=nm is None)


KNOWN_RELEASES: dict[str, Release] = {
    r.key: r
    for r in (
        _el("centos", "CentOS", 7, "1.18.8"),
        _el("rhel", "Red Hat Enterprise Linux", 7, "1.18.8"),
        _el("centos", "CentOS", 8, "1.30.0"),
        _el("rhel", "Red Hat Enterprise Linux", 8, "1.40.16"),
        _el("rocky", "Rocky Linux", 8, "1.40.16"),
        _el("almalinux", "AlmaLinux", 8, "1.40.16"),
        _el("centos", "CentOS Stream", 9, "1.48.10"),
        _el("rhel", "Red Hat Enterprise Linux", 9, "1.48.10"),
        _el("rocky", "Rocky Linux", 9, "1.48.10"),
        _el("almalinux", "AlmaLinux", 9, "1.48.10"),
        _el("centos", "CentOS Stream", 10, "1.52.0"),
        _el("rhel", "Red Hat Enterprise Linux", 10, "1.52.0"),
        _el("rocky", "Rocky Linux", 10, "1.52.0"),
        _el("almalinux", "AlmaLinux", 10, "1.52.0"),
        # RHEL-like releases of this market (their own os-release IDs and versions)
        _rhel("openeuler-20", "openEuler 20.03 LTS", "1.26.2", network_scripts=True,
              installable=True),
        _rhel("openeuler-22", "openEuler 22.03 LTS", "1.32.12", installable=True),
        _rhel("openeuler-24", "openEuler 24.03 LTS", "1.44.2"),
        _rhel("opencloudos-8", "OpenCloudOS 8", "1.40.16", installable=True),
        _rhel("opencloudos-9", "OpenCloudOS 9", "1.44.2"),
        _rhel("tencentos-3", "TencentOS Server 3", "1.30.0", installable=True),
        _rhel("tencentos-4", "TencentOS Server 4", "1.44.2"),
        _rhel("anolis-8", "Anolis OS 8", "1.40.16", installable=True),
        _rhel("alinux-3", "Alibaba Cloud Linux 3", "1.40.16", installable=True),
        _rhel("kylin-10", "Kylin Linux Advanced Server V10", "1.26.2", network_scripts=True,
              installable=True),
        _rhel("uos-20", "UOS Server 20", "1.26.2", network_scripts=True, installable=True),
        _rhel("fedora-41", "Fedora Linux 41", "1.50.3"),
        _rhel("fedora-42", "Fedora Linux 42", "1.52.0"),
        # Amazon Linux 2023: systemd-networkd (with amazon-ec2-net-utils), no NetworkManager
        _rhel("amzn-2023", "Amazon Linux 2023", None, networkd_version=252,
              networkd_enabled=True),
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
        _suse("sles-15", "SUSE Linux Enterprise Server 15"),
        _suse("sles-16", "SUSE Linux Enterprise Server 16", "1.52.0"),
        _suse("opensuse-leap-15", "openSUSE Leap 15"),
        _suse("opensuse-leap-16", "openSUSE Leap 16", "1.52.0"),
        Release("alpine-3", "Alpine Linux 3", "alpine", ifupdown_ng=True, systemd=False),
        # Arch (rolling): its cloud images enable systemd-networkd
        Release("arch", "Arch Linux", "linux", networkd_version=257, networkd_enabled=True),
        Release("windows", "Windows Server", "windows"),
    )
}

# Releases named without a version (rolling, or Windows).
UNVERSIONED = ("windows", "arch")

# The family of an os-release ID or ID_LIKE word. distro reports Oracle Linux's "ol" as
# "oracle". "kylin" and "uos" are RHEL-like on servers but Debian-like on desktops:
# detection asks the package manager first for those (AMBIGUOUS).
FAMILY_OF: dict[str, str] = {
    **dict.fromkeys(("rhel", "centos", "fedora", "rocky", "almalinux", "ol", "oracle",
                     "openeuler", "opencloudos", "tencentos", "anolis", "alinux", "amzn",
                     "kylin", "uos"), "rhel"),
    **dict.fromkeys(("debian", "ubuntu", "raspbian", "deepin"), "debian"),
    **dict.fromkeys(("suse", "sles", "sled", "opensuse", "opensuse-leap",
                     "opensuse-tumbleweed", "sle-micro"), "suse"),
    "alpine": "alpine",
    **dict.fromkeys(("arch", "archlinux", "manjaro"), "linux"),
    "windows": "windows",
}
AMBIGUOUS = ("kylin", "uos")

# How each family installs a package a method needs first.
INSTALLERS: dict[str, tuple[str, ...]] = {
    "rhel": ("dnf", "install", "-y"),
    "debian": ("apt-get", "install", "-y"),
    "suse": ("zypper", "--non-interactive", "install"),
    "alpine": ("apk", "add"),
}


def supported_ids() -> str:
    return ", ".join(KNOWN_RELEASES)


def major_of(version: str) -> str:
    """"22.03" -> "22", "V10" -> "10", "" -> ""."""
    found = re.search(r"\d+", version)
    return found.group(0) if found else ""


# IDs as `distro` reports them -> as os-release has them (the table's keys)
_DISTRO_IDS = {"opensuse": "opensuse-leap"}


def release_key(os_id: str, version: str, id_like: str = "") -> Optional[str]:
    """Map an os-release ID/VERSION_ID (or an --os value's parts) to a KNOWN_RELEASES key."""
    os_id = _DISTRO_IDS.get(os_id.lower(), os_id.lower())
    if os_id in UNVERSIONED:
        return os_id
    if os_id == "ubuntu":
        key = "ubuntu-" + ".".join(version.split(".")[:2])
        return key if key in KNOWN_RELEASES else None
    major = major_of(version)
    likes = id_like.lower().split()
    candidates = [os_id]
    if FAMILY_OF.get(os_id) == "rhel" or "rhel" in likes:
        candidates.append("rhel")
    candidates += [like for like in likes if like in ("debian", "ubuntu")]
    for candidate in candidates:
        key = f"{candidate}-{major}"
        if key in KNOWN_RELEASES:
            return key
    return None


def parse_os_arg(value: str) -> tuple[str, str]:
    """`rocky-9.4` -> ("rocky", "9.4"); `windows` -> ("windows", "")."""
    value = value.strip().lower()
    if value in UNVERSIONED:
        return value, ""
    os_id, sep, version = value.rpartition("-")
    if not sep or not os_id or not re.fullmatch(r"\d+(\.\d+)*", version):
        raise PlatformError(
            f"--os {value!r} is not of the form ID-VERSION (os-release ID and VERSION_ID, "
            f"e.g. rocky-9 or ubuntu-22.04). Supported: {supported_ids()}."
        )
    return os_id, version


def family_of(os_id: str, id_like: str, package_family: Optional[str]) -> Optional[str]:
    """The family of a live host: its ID_LIKE, then its own ID (the package manager first
    for IDs used by RHEL-like and Debian-like editions alike); None when nothing tells."""
    for word in id_like.lower().split():
        if word in FAMILY_OF:
            return FAMILY_OF[word]
    os_id = os_id.lower()
    if os_id in AMBIGUOUS and package_family:
        return package_family
    return FAMILY_OF.get(os_id) or package_family
