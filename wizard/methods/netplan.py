"""netplan: a dedicated file in /etc/netplan/ putting the VIPs on `lo`.

The file lists the VIPs only. systemd-networkd leaves the kernel's own 127.0.0.1/8 and
::1 on lo alone, and listing them breaks lo (seen on real boots, tests/boot): networkd 252
re-sends the kernel's 127.0.0.1/8 with the "permanent" flag it read back, the kernel
refuses it (ERANGE, "Numerical result out of range"), networkd retries in a loop and
marks lo failed; and every networkd (247, 252, 257) removes a listed 127.0.0.1/8 or ::1
when lo stops being managed, as when our file is removed.

Activation touches only `lo`. `netplan apply` re-applies every interface, so it is not
used: with systemd-networkd >= 244, `netplan generate` + `networkctl reload` +
`networkctl reconfigure lo` reconfigures `lo` alone. Before 244 (Ubuntu 18.04) there is
no `reconfigure`, so the VIPs are added with `ip addr replace` and the generated config
takes over at the next boot. networkd does not remove an address that was dropped from
its config, so a VIP leaving the file is removed with `ip addr del`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Optional

import yaml

from clb_wizard.methods.base import (
    Command,
    Files,
    Fit,
    Method,
    MethodError,
    Rendered,
    RenderInput,
    Transition,
    TransitionInput,
    cmd,
    foreign_note,
    header,
    is_ours,
)
from clb_wizard.methods.probes import AllOf, Fact, Listed, Paths, Read, Ref

if TYPE_CHECKING:
    from clb_wizard.platform import NetworkStack, Platform, Release
    from clb_wizard.runner import Runner

DIR = "/etc/netplan"
# What netplan reads in its directories: *.yaml only (a *.yml file is ignored).
CONFIG_PATTERN = "*.yaml"
# lo's own addresses: never written, and skipped when reading a file that lists them
LOOPBACK_OWN = ("127.0.0.1/8", "::1/128")
# `networkctl reconfigure` (re-applies one link only) exists from systemd 244 on.
NETWORKD_RECONFIGURE_MIN = 244
# The networkd file `netplan generate` writes for lo (what the tool's read-back reads).
NETWORKD_LO = "/run/systemd/network/10-netplan-lo.network"
# Releases whose stock install (cloud image) configures the network with netplan.
SHIPPED_BY = ("ubuntu-18.04", "ubuntu-20.04", "ubuntu-22.04", "ubuntu-24.04", "debian-13")


def is_netplan_config(name: str) -> bool:
    return fnmatch.fnmatchcase(name, CONFIG_PATTERN)


def netplan_renderer(runner: Runner) -> Optional[str]:
    """The renderer /etc/netplan asks for ("networkd" unless a file says otherwise; a
    later file overrides an earlier one); None when a file cannot be read as YAML."""
    renderer = "networkd"
    for name in sorted(runner.list_dir(DIR)):
        if not is_netplan_config(name):
            continue
        try:
            data = yaml.safe_load(runner.read_text(f"{DIR}/{name}") or "") or {}
        except yaml.YAMLError:
            return None
        network = data.get("network") if isinstance(data, dict) else None
        if isinstance(network, dict) and isinstance(network.get("renderer"), str):
            renderer = network["renderer"]
    return renderer


_OUR_NAME = re.compile(r"^/etc/netplan/(\d+)-clb-wizard-lo\.yaml$")


def _our_path(files: Files) -> str:
    """90-clb-wizard-lo.yaml (read late, after cloud-init's 50-*), or the next free name.

    A file of ours that already exists wins, whatever its number: after we took
    91-... because an admin's 90-... was in the way, and the admin then removed theirs,
    the first free name would be 90 again, and our 91 file would look foreign and could
    never be changed or removed.
    """
    ours = sorted(
        (int(match.group(1)), path)
        for path, text in files.items()
        if (match := _OUR_NAME.match(path)) and is_ours(text)
    )
    if ours:
        return ours[0][1]
    n = 90
    while True:
        path = f"{DIR}/{n}-clb-wizard-lo.yaml"
        if files.get(path) is None or is_ours(files.get(path)):
            return path
        n += 1


def _load(path: str, text: str) -> dict:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise MethodError(
            f"{path}{where} is not valid YAML, so netplan would refuse every file. "
            "Fix it, then run clb-wizard again."
        ) from None
    if data is None:  # empty, or comments only
        return {}
    _check_shape(path, data)
    return data


def _check_shape(path: str, data: object) -> None:
    """Refuse, with a message, the shapes netplan itself refuses in the keys we read.

    Valid YAML can still be an invalid netplan file (`network: [a]`, `lo: 5`,
    `addresses: 192.0.2.1/32`); netplan then rejects every file, and reading such a
    file must not crash the engine with an AttributeError either.
    """

    def bad(where: str, expected: str) -> MethodError:
        return MethodError(
            f"{path}: {where} must be a {expected}, so netplan would refuse every file. "
            "Fix it, then run clb-wizard again."
        )

    if not isinstance(data, dict):
        raise bad("the top level", "mapping (network: ...)")
    node: object = data
    path_so_far: list[str] = []
    for key, kind, expected in (("network", dict, "mapping"), ("ethernets", dict, "mapping"),
                                ("lo", dict, "mapping"), ("addresses", list, "list")):
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return
        path_so_far.append(key)
        if not isinstance(node, kind):
            raise bad(f"'{'.'.join(path_so_far)}'", expected)
    addresses = node
    for address in addresses:
        if isinstance(address, dict) and len(address) != 1:
            raise bad("each entry of 'network.ethernets.lo.addresses'",
                      "single address (or {address: {options}})")


def _lo_addresses(data: dict) -> list[str]:
    network = data.get("network") or {}
    lo = ((network.get("ethernets") or {}).get("lo")) or {}
    addresses = lo.get("addresses") or []
    # An address may be a mapping {addr: {label: ...}} in newer netplan.
    return [next(iter(a)) if isinstance(a, dict) else str(a) for a in addresses]


def render_yaml(vips: Sequence[str]) -> str:
    document = {
        "network": {
            "version": 2,
            "ethernets": {"lo": {"addresses": [f"{v}/32" for v in vips]}},
        }
    }
    return header() + yaml.safe_dump(document, default_flow_style=False, sort_keys=False)


def _vips_in(path: str, text: Optional[str]) -> list[str]:
    if text is None:
        return []
    return [
        a.split("/")[0]
        for a in _lo_addresses(_load(path, text))
        if a.endswith("/32") and a not in LOOPBACK_OWN
    ]


def _can_reconfigure(platform: Platform) -> bool:
    return (platform.stack.networkd_version or 0) >= NETWORKD_RECONFIGURE_MIN


class NetplanMethod(Method):
    name = "netplan"
    title = "netplan (/etc/netplan)"
    services = ("systemd-networkd",)
    tool_present = {"netplan": True, "netplan_configured": True,
                    "netplan_renderer": "networkd", "networkd_enabled": True}
    watch_dirs = (DIR,)
    facts = (
        Fact("netplan", Paths("netplan", ("/usr/sbin/netplan", "/usr/bin/netplan",
                                          "/sbin/netplan"))),
        Fact("netplan_configured", Listed(DIR, CONFIG_PATTERN),
             doc="/etc/netplan holds netplan configuration"),
        Fact("netplan_renderer", AllOf(Ref("netplan_configured"), Read(netplan_renderer)),
             default=None, doc='"networkd" or "NetworkManager"'),
    )

    def stock_stack(self, release: Release, version: str) -> Mapping[str, Any]:
        ships = release.key in SHIPPED_BY
        return {"netplan": ships, "netplan_configured": ships,
                "netplan_renderer": "networkd" if ships else None}

    def describe_stack(self, stack: NetworkStack) -> Optional[str]:
        if not stack.netplan:
            return None
        return "netplan" + (" (configured)" if stack.netplan_configured else "")

    def fits(self, release: Release, stack: NetworkStack) -> Fit:
        """netplan only writes configuration: it needs a renderer that really runs. lo's
        file goes to systemd-networkd, so networkd must be enabled (or running), or be
        enabled at boot by netplan's generator for a networkd-rendered configuration."""
        if not stack.netplan:
            return Fit(False, "netplan is not installed")
        # (an unreadable file leaves the renderer unknown: render then says what is wrong)
        by_generator = stack.netplan_configured and stack.netplan_renderer != "NetworkManager"
        if not (stack.networkd_enabled or by_generator):
            return Fit(False, "netplan is installed, but systemd-networkd (the renderer lo's "
                              "file needs) is neither enabled nor running here")
        if stack.netplan_configured:
            return Fit(True, f"netplan configures this host ({DIR} has YAML files)")
        if stack.ifupdown:
            return Fit(False, f"{DIR} has no configuration, and ifupdown configures this host")
        return Fit(True, "netplan is installed and systemd-networkd is enabled")

    def reread(self, runner: Runner, files: Files) -> Optional[list[str]]:
        text = runner.read_text(NETWORKD_LO) or ""
        return [line.split("=", 1)[1].split("/")[0] for line in text.splitlines()
                if line.startswith("Address=") and line.endswith("/32")]

    def configured_vips(self, files: Files) -> list[str]:
        path = _our_path(files)
        return _vips_in(path, files.get(path)) if is_ours(files.get(path)) else []

    def render(self, given: RenderInput) -> Rendered:
        vips, current = given.vips, given.current
        path = _our_path(current)
        foreign, notes = [], []
        for other, text in sorted(current.items()):
            if text is None or not is_netplan_config(other.rsplit("/", 1)[-1]):
                continue
            data = _load(other, text)  # a broken file anywhere stops netplan: refuse early
            if other != path:
                for vip in _vips_in(other, text):
                    if vip in vips and vip not in foreign:
                        foreign.append(vip)
                        notes.append(foreign_note(vip, other))
                if not is_ours(text) and (data.get("network") or {}).get("renderer") == (
                    "NetworkManager"
                ):
                    notes.append(
                        f"{other} sets renderer NetworkManager; lo stays with systemd-networkd."
                    )
        wanted = [v for v in vips if v not in foreign]
        files: dict[str, Optional[str]] = {}
        if wanted:
            files[path] = render_yaml(wanted)
        elif current.get(path) is not None:
            files[path] = None
        return Rendered(files, {path: 0o600}, tuple(notes), foreign=tuple(foreign))

    def transition(self, move: TransitionInput) -> Transition:
        before, after, live, preserve = move.before, move.after, move.live, move.preserve
        # Our file on each side, looked up separately: when ours is deleted, the merged
        # view would point at the first free name and miss the VIPs it held.
        old_path, new_path = _our_path(before), _our_path(after)
        was, will = before.get(old_path), after.get(new_path)
        old = _vips_in(old_path, was) if is_ours(was) else []
        new = _vips_in(new_path, will) if is_ours(will) else []
        removed = [v for v in old if v not in new and v not in preserve]
        missing = [v for v in new if v not in live]
        if old_path == new_path and was == will and not missing:
            return Transition()
        steps: list[Command] = [
            cmd("render the networkd config from /etc/netplan", "netplan", "generate")
        ]
        reconfigure = _can_reconfigure(move.platform)
        if reconfigure:
            steps += [
                cmd("make systemd-networkd read the new config", "networkctl", "reload"),
                cmd("re-apply the config of lo only", "networkctl", "reconfigure", "lo"),
            ]
        else:
            steps += [
                cmd(f"add {v} now (networkd < 244 has no per-link reconfigure)",
                    "ip", "addr", "replace", f"{v}/32", "dev", "lo")
                for v in missing
            ]
        steps += [
            Command(("ip", "addr", "del", f"{v}/32", "dev", "lo"),
                    f"remove {v}: networkd keeps addresses dropped from its config",
                    check=False)
            for v in removed
            if v in live
        ]
        return Transition(activate=tuple(steps))
