"""NetworkManager >= 1.42: a `loopback` connection profile holding the VIPs.

NetworkManager manages `lo` from 1.42 on (connection type "loopback"). The profile is
a keyfile (mode 0600: NetworkManager ignores keyfiles others can read), loaded with
`nmcli connection load FILE` (that file only) and activated with `nmcli connection up`,
which touches `lo` and nothing else.
"""

from __future__ import annotations

import configparser
import posixpath
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Optional

from clb_wizard.methods.base import (
    Files,
    Fit,
    Method,
    MethodError,
    Rendered,
    RenderInput,
    Transition,
    TransitionInput,
    cmd,
    header,
    is_ours,
    version_tuple,
)
from clb_wizard.methods.probes import AnyOf, Ask, Fact, Live, Newest, Paths, Ref

if TYPE_CHECKING:
    from clb_wizard.platform import NetworkStack, Release
    from clb_wizard.runner import Runner

# NetworkManager manages `lo` (connection type "loopback") from this version on.
NM_LOOPBACK_MIN = (1, 42)
DIR = "/etc/NetworkManager/system-connections"
PATH = f"{DIR}/clb-wizard-lo.nmconnection"
CONNECTION_ID = "clb-wizard-lo"
# Stable, so a re-run renders the very same file (idempotent) and finds its profile.
CONNECTION_UUID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://clb-wizard/lo"))

# Where NetworkManager keeps its plugins: the directory is named after its version (what
# tells the version under a root where nmcli cannot be asked).
LIB_DIRS = ("/usr/lib64/NetworkManager", "/usr/lib/NetworkManager",
            "/usr/lib/x86_64-linux-gnu/NetworkManager",
            "/usr/lib/aarch64-linux-gnu/NetworkManager")
# On this very host nmcli says (its version is the daemon's, packaged together; that also
# finds a NetworkManager installed outside /usr/sbin).
VERSION = Live(Ask(("nmcli", "--version"), find=r"version (\d+(?:\.\d+)*)"),
               elsewhere=Newest(LIB_DIRS, r"\d+\.\d+[\w.-]*"))

# The NetworkManager each release ships (its version decides whether it can manage lo).
_EL = {7: "1.18.8", 8: "1.40.16", 9: "1.48.10", 10: "1.52.0"}
SHIPPED: dict[str, str] = {
    **{f"{d}-{major}": version for d in ("centos", "rhel", "rocky", "almalinux")
       for major, version in _EL.items() if (d, major) not in (("rocky", 7), ("almalinux", 7))},
    "centos-8": "1.30.0",
    "openeuler-20": "1.26.2", "openeuler-22": "1.32.12", "openeuler-24": "1.44.2",
    "opencloudos-8": "1.40.16", "opencloudos-9": "1.44.2",
    "tencentos-3": "1.30.0", "tencentos-4": "1.44.2",
    "anolis-8": "1.40.16", "alinux-3": "1.40.16",
    "kylin-10": "1.26.2", "uos-20": "1.26.2",
    "fedora-41": "1.50.3", "fedora-42": "1.52.0",
    "sles-16": "1.52.0", "opensuse-leap-16": "1.52.0",
}


def shipped_version(release: Release, version: str) -> Optional[str]:
    """The NetworkManager a release ships; RHEL 9.0 and 9.1 shipped 1.36 and 1.40 (9.2
    brought 1.42), so a 9 release's point version matters."""
    if release.key.endswith("-9") and release.family == "rhel" and len(
            version_tuple(version)) >= 2:
        minor = version_tuple(version)[1]
        if minor == 0:
            return "1.36.0"
        if minor == 1:
            return "1.40.0"
    return SHIPPED.get(release.key)


def parse_keyfile(path: str, text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # keys are case-sensitive
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:
        raise MethodError(
            f"{path} is not a valid keyfile ({exc.message.splitlines()[0]}). "
            "Fix or remove it, then run clb-wizard again."
        ) from None
    return parser


def render_keyfile(vips: Sequence[str]) -> str:
    addresses = "".join(f"address{i}={vip}/32\n" for i, vip in enumerate(vips, 1))
    return (
        header()
        + "[connection]\n"
        + f"id={CONNECTION_ID}\nuuid={CONNECTION_UUID}\ntype=loopback\ninterface-name=lo\n"
        + "autoconnect=true\n\n[loopback]\n\n[ipv4]\n"
        + addresses
        + "method=manual\n\n[ipv6]\naddr-gen-mode=default\nmethod=auto\n\n[proxy]\n"
    )


def _is_ours(path: str, text: Optional[str]) -> bool:
    if text is None or path != PATH:
        return False
    return is_ours(text) or parse_keyfile(path, text).get(
        "connection", "uuid", fallback=None
    ) == CONNECTION_UUID


def _vips_in(path: str, text: Optional[str]) -> list[str]:
    if text is None:
        return []
    parser = parse_keyfile(path, text)
    if not parser.has_section("ipv4"):
        return []
    found = []
    for key, value in parser.items("ipv4"):
        if key.startswith("address") and key[7:].isdigit():
            address = value.split(",")[0].strip()
            if address.endswith("/32"):
                found.append((int(key[7:]), address[:-3]))
    return [vip for _, vip in sorted(found)]


class NetworkManagerMethod(Method):
    name = "networkmanager"
    title = "NetworkManager loopback profile"
    services = ("NetworkManager",)
    tool_present = {"networkmanager": True}  # its version stays the release's
    watch_dirs = (DIR,)
    facts = (
        Fact("networkmanager",
             AnyOf(Paths("networkmanager", ("/usr/sbin/NetworkManager", "/sbin/NetworkManager")),
                   Ref("nm_version"))),
        Fact("nm_version", VERSION, default=None, fill=Ref("networkmanager")),
    )

    def stock_stack(self, release: Release, version: str) -> Mapping[str, Any]:
        shipped = shipped_version(release, version)
        return {"networkmanager": shipped is not None, "nm_version": shipped}

    def describe_stack(self, stack: NetworkStack) -> Optional[str]:
        if not stack.networkmanager:
            return None
        return f"NetworkManager {stack.nm_version or '(version unknown)'}"

    def fits(self, release: Release, stack: NetworkStack) -> Fit:
        if not stack.networkmanager:
            return Fit(False, "NetworkManager is not installed")
        if version_tuple(stack.nm_version) < NM_LOOPBACK_MIN:
            return Fit(False, f"NetworkManager {stack.nm_version or '(version unknown)'} is "
                              "older than 1.42 and cannot manage lo")
        return Fit(True, f"NetworkManager {stack.nm_version} manages lo (>= 1.42): a "
                         "loopback profile")

    def reread(self, runner: Runner, files: Files) -> Optional[list[str]]:
        out = runner.query(["nmcli", "-g", "ipv4.addresses", "connection", "show", "uuid",
                            CONNECTION_UUID])
        if not out.ok:
            return [f"(nmcli cannot show the profile: {out.describe()})"]
        return [a.strip().split("/")[0] for a in out.stdout.replace("\\", "").split(",")
                if a.strip()]

    def configured_vips(self, files: Files) -> list[str]:
        text = files.get(PATH)
        return _vips_in(PATH, text) if _is_ours(PATH, text) else []

    def render(self, given: RenderInput) -> Rendered:
        vips, current, live = given.vips, given.current, given.live
        existing = current.get(PATH)
        if existing is not None and not _is_ours(PATH, existing):
            raise MethodError(
                f"{PATH} exists and is not clb-wizard's. Rename or remove it, then run "
                "clb-wizard again."
            )
        for path, text in sorted(current.items()):
            if text is None or path == PATH or posixpath.dirname(path) != DIR:
                continue
            profile = parse_keyfile(path, text)
            is_loopback = profile.get("connection", "type", fallback="") == "loopback" or (
                profile.get("connection", "interface-name", fallback="") == "lo"
            )
            if is_loopback:
                name = profile.get("connection", "id", fallback=posixpath.basename(path))
                raise MethodError(
                    f"{path} already holds a profile for lo ({name!r}); lo can have only one "
                    "active profile, and clb-wizard will not replace yours. Add the VIPs to it "
                    f"with: nmcli connection modify {name!r} +ipv4.addresses VIP/32, "
                    f"then nmcli connection up {name!r}."
                )
        others = [a.cidr for a in live
                  if a.address not in vips and a.cidr not in ("127.0.0.1/8", "::1/128")]
        notes = ()
        if others:
            notes = (f"NetworkManager drops addresses it does not manage when it takes over lo "
                     f"({', '.join(others)}): clb-wizard puts them back right after.",)
        return Rendered({PATH: render_keyfile(vips)}, {PATH: 0o600}, notes)

    def transition(self, move: TransitionInput) -> Transition:
        before, after, live = move.before, move.after, move.live
        was, will = before.get(PATH), after.get(PATH)
        ours_before, ours_after = _is_ours(PATH, was), _is_ours(PATH, will)
        missing = [v for v in _vips_in(PATH, will) if v not in live] if ours_after else []
        if was == will and not missing:
            return Transition()
        load = cmd(f"make NetworkManager read {PATH} (that file only)",
                   "nmcli", "connection", "load", PATH)
        if ours_after:
            return Transition(
                activate=(
                    load,
                    cmd(f"activate the {CONNECTION_ID} profile on lo",
                        "nmcli", "connection", "up", "uuid", CONNECTION_UUID),
                )
            )
        prepare = ()
        if ours_before:
            prepare = (
                cmd(f"deactivate the {CONNECTION_ID} profile", "nmcli", "connection", "down",
                    "uuid", CONNECTION_UUID),
            )
        return Transition(prepare=prepare, activate=(load,))
