"""The releases clb-wizard knows by name: for `--os` previews and for wording.

What a release ships of each network stack is said by that stack's method
(`Method.stock_stack`, methods/), not here: detection asks them for the stock stack of a
release (platform.py). Live detection does not depend on this table: a host is taken by
its os-release family (ID, then ID_LIKE, then the package manager it has) and the stack
installed on it, so an OS missing here still gets a method that fits (platform.detect).
What each entry assumes comes from the distribution's own documentation and package lists
(README, "Supported systems").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from clb_wizard.errors import PlatformError


@dataclass(frozen=True)
class Release:
    """A release by name: its key (os-release ID and major VERSION_ID), name and family."""

    key: str
    name: str
    family: str  # "rhel", "debian", "suse", "alpine", "linux" (any other) or "windows"
    # For a release outside KNOWN_RELEASES: packages its repositories are known to offer
    # for a method to install first.
    installable: tuple[str, ...] = ()

    @property
    def networkd_version(self) -> Optional[int]:
        """Kept for wizard/export/ansible.py until that exporter is retired: the
        systemd-networkd version the release ships (its method's stock stack)."""
        from clb_wizard.platform import stock_stack

        return stock_stack(self, "").networkd_version if is_known(self) else None


def _el(distro: str, name: str, major: int) -> Release:
    return Release(f"{distro}-{major}", f"{name} {major}", "rhel")


def _ubuntu(version: str) -> Release:
    return Release(f"ubuntu-{version}", f"Ubuntu {version}", "debian")


KNOWN_RELEASES: dict[str, Release] = {
    r.key: r
    for r in (
        _el("centos", "CentOS", 7),
        _el("rhel", "Red Hat Enterprise Linux", 7),
        _el("centos", "CentOS", 8),
        _el("rhel", "Red Hat Enterprise Linux", 8),
        _el("rocky", "Rocky Linux", 8),
        _el("almalinux", "AlmaLinux", 8),
        _el("centos", "CentOS Stream", 9),
        _el("rhel", "Red Hat Enterprise Linux", 9),
        _el("rocky", "Rocky Linux", 9),
        _el("almalinux", "AlmaLinux", 9),
        _el("centos", "CentOS Stream", 10),
        _el("rhel", "Red Hat Enterprise Linux", 10),
        _el("rocky", "Rocky Linux", 10),
        _el("almalinux", "AlmaLinux", 10),
        # RHEL-like releases of this market (their own os-release IDs and versions)
        Release("openeuler-20", "openEuler 20.03 LTS", "rhel"),
        Release("openeuler-22", "openEuler 22.03 LTS", "rhel"),
        Release("openeuler-24", "openEuler 24.03 LTS", "rhel"),
        Release("opencloudos-8", "OpenCloudOS 8", "rhel"),
        Release("opencloudos-9", "OpenCloudOS 9", "rhel"),
        Release("tencentos-3", "TencentOS Server 3", "rhel"),
        Release("tencentos-4", "TencentOS Server 4", "rhel"),
        Release("anolis-8", "Anolis OS 8", "rhel"),
        Release("alinux-3", "Alibaba Cloud Linux 3", "rhel"),
        Release("kylin-10", "Kylin Linux Advanced Server V10", "rhel"),
        Release("uos-20", "UOS Server 20", "rhel"),
        Release("fedora-41", "Fedora Linux 41", "rhel"),
        Release("fedora-42", "Fedora Linux 42", "rhel"),
        Release("amzn-2023", "Amazon Linux 2023", "rhel"),
        _ubuntu("16.04"),
        _ubuntu("18.04"),
        _ubuntu("20.04"),
        _ubuntu("22.04"),
        _ubuntu("24.04"),
        Release("debian-10", "Debian 10", "debian"),
        Release("debian-11", "Debian 11", "debian"),
        Release("debian-12", "Debian 12", "debian"),
        Release("debian-13", "Debian 13", "debian"),
        Release("sles-15", "SUSE Linux Enterprise Server 15", "suse"),
        Release("sles-16", "SUSE Linux Enterprise Server 16", "suse"),
        Release("opensuse-leap-15", "openSUSE Leap 15", "suse"),
        Release("opensuse-leap-16", "openSUSE Leap 16", "suse"),
        Release("alpine-3", "Alpine Linux 3", "alpine"),
        Release("arch", "Arch Linux", "linux"),  # rolling
        Release("windows", "Windows Server", "windows"),
    )
}


def is_known(release: Release) -> bool:
    """Is this a release of the table, not one built from a host's os-release (a desktop
    edition may share a server release's key, but not its name or family)?"""
    return KNOWN_RELEASES.get(release.key) == release


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
