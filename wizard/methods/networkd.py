"""systemd-networkd without netplan: a `.network` file of ours that matches lo.

For hosts where systemd-networkd itself is the network stack (Arch, Amazon Linux 2023,
a Debian or Ubuntu whose admin enabled networkd and has no netplan). The file lists the
VIPs only: the kernel keeps 127.0.0.1/8 and ::1 on lo by itself, and listing
127.0.0.1/8 makes networkd mark lo failed (seen on real boots, issue 13).

networkd applies the first `.network` file (in lexical order) whose [Match] fits a
link, so a file of the admin's that already matches lo would either shadow ours or be
shadowed by it: the method refuses and says how to add the VIPs to that file instead.
Activation: `networkctl reload` + `networkctl reconfigure lo` (systemd >= 244) touch lo
only; before 244 the VIPs are added with `ip addr replace` and the file takes over at
the next boot. networkd keeps an address dropped from its config, so a VIP that leaves
the file is removed with `ip addr del`.
"""

from __future__ import annotations

import configparser
import fnmatch
import posixpath
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional

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
    header,
    is_ours,
)
from clb_wizard.methods.netplan import NETWORKD_RECONFIGURE_MIN
from clb_wizard.methods.probes import AllOf, AnyOf, Ask, Fact, IsDir, Live, Not, Paths, Ref

if TYPE_CHECKING:
    from clb_wizard.platform import NetworkStack, Platform, Release
    from clb_wizard.runner import Runner

DIR = "/etc/systemd/network"
PATH = f"{DIR}/10-clb-wizard-lo.network"

INSTALLED = Paths("networkd", ("/lib/systemd/systemd-networkd",
                               "/usr/lib/systemd/systemd-networkd"))
# `systemctl enable systemd-networkd` links these (the D-Bus alias is what lets
# `networkctl reload` start it); netplan's generator links the /run one at boot.
ENABLED = Paths("networkd_enabled", (
    "/etc/systemd/system/dbus-org.freedesktop.network1.service",
    "/etc/systemd/system/multi-user.target.wants/systemd-networkd.service",
    "/run/systemd/generator/multi-user.target.wants/systemd-networkd.service",
))
# Running on this very host: systemctl knows when systemd is PID 1 (and then its "no"
# stands: networkctl 257 lists links without a warning then); networkctl also tells when
# networkd runs without systemd (it warns that networkd is not running otherwise).
RUNNING = AnyOf(Ask(("systemctl", "is-active", "--quiet", "systemd-networkd")),
                AllOf(Not(IsDir("/run/systemd/system")),
                      Ask(("networkctl", "--no-pager", "list"), unless="not running")))

# The systemd-networkd each release ships, and those whose stock install enables it
# (Ubuntu on every server install, as netplan's renderer; cloud images of the others).
SHIPPED: dict[str, int] = {
    "ubuntu-16.04": 229, "ubuntu-18.04": 237, "ubuntu-20.04": 245, "ubuntu-22.04": 249,
    "ubuntu-24.04": 255, "debian-10": 241, "debian-11": 247, "debian-12": 252,
    "debian-13": 257, "amzn-2023": 252, "arch": 257,
}
ENABLED_BY = ("ubuntu-18.04", "ubuntu-20.04", "ubuntu-22.04", "ubuntu-24.04", "debian-13",
              "amzn-2023", "arch")


def render_network(vips: list[str]) -> str:
    addresses = "".join(f"Address={vip}/32\n" for vip in vips)
    return (header(extra=("The kernel keeps 127.0.0.1/8 and ::1 on lo: they are not "
                          "listed here.",))
            + "[Match]\nName=lo\n\n[Network]\n" + addresses)


def parse_network(path: str, text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False,
                                       empty_lines_in_values=False)
    parser.optionxform = str  # keys are case-sensitive
    try:
        # systemd units allow repeated keys (Address= twice): keep them all
        parser.read_string(_numbered(text), source=path)
    except configparser.Error as exc:
        raise MethodError(
            f"{path} is not a valid .network file ({exc.message.splitlines()[0]}). "
            "Fix or remove it, then run clb-wizard again."
        ) from None
    return parser


def _numbered(text: str) -> str:
    """Make repeated keys unique (Address= -> Address=, Address#2=) for configparser."""
    seen: dict[tuple[str, str], int] = {}
    section = ""
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped
        elif "=" in stripped and not stripped.startswith(("#", ";")):
            key, _, value = stripped.partition("=")
            n = seen[(section, key.strip())] = seen.get((section, key.strip()), 0) + 1
            line = f"{key.strip()}{'' if n == 1 else f'#{n}'}={value}"
        out.append(line)
    return "\n".join(out) + "\n"


def _values(parser: configparser.ConfigParser, section: str, key: str) -> list[str]:
    if not parser.has_section(section):
        return []
    return [v.strip() for k, v in parser.items(section) if k.split("#")[0] == key]


def _vips_in(text: Optional[str]) -> list[str]:
    if text is None:
        return []
    parser = parse_network(PATH, text)
    return [a[:-3] for value in _values(parser, "Network", "Address")
            for a in value.split() if a.endswith("/32")]


def _matches_lo(path: str, text: str) -> bool:
    """Does this .network file's [Match] Name= take lo? (no Name=: it matches every link,
    but networkd never applies such a file to lo, so it is no conflict)."""
    names = " ".join(_values(parse_network(path, text), "Match", "Name")).split()
    return any(fnmatch.fnmatchcase("lo", n) for n in names if not n.startswith("!"))


class NetworkdMethod(Method):
    name = "networkd"
    title = "systemd-networkd (.network file for lo)"
    services = ("systemd-networkd",)
    tool_present = {"networkd_enabled": True, "netplan_configured": False}
    watch_dirs = (DIR,)
    facts = (
        # networkctl tells on this very host; elsewhere the release's (where systemd is)
        Fact("networkd_version",
             AllOf(INSTALLED, Ask(("networkctl", "--version"), find=r"systemd (\d+)",
                                  convert=int)),
             default=None, fill=AnyOf(Ref("netplan"), Ref("systemd"))),
        Fact("networkd_enabled", AllOf(INSTALLED, AnyOf(ENABLED, Live(RUNNING))),
             doc="enabled (or running): it applies its config"),
    )

    def stock_stack(self, release: Release, version: str) -> Mapping[str, Any]:
        return {"networkd_version": SHIPPED.get(release.key),
                "networkd_enabled": release.key in ENABLED_BY}

    def describe_stack(self, stack: NetworkStack) -> Optional[str]:
        return f"systemd-networkd {stack.networkd_version}" if stack.networkd_version else None

    def fits(self, release: Release, stack: NetworkStack) -> Fit:
        if not stack.networkd_version and not stack.networkd_enabled:
            return Fit(False, "systemd-networkd is not installed")
        if stack.netplan and stack.netplan_configured:
            return Fit(False, "netplan writes systemd-networkd's configuration here")
        if not stack.networkd_enabled:
            return Fit(False, "systemd-networkd is installed but neither enabled nor running")
        return Fit(True, f"systemd-networkd is enabled and there is no netplan: {PATH}")

    def configured_vips(self, files: Files) -> list[str]:
        text = files.get(PATH)
        return _vips_in(text) if is_ours(text) else []

    def render(self, given: RenderInput) -> Rendered:
        existing = given.current.get(PATH)
        if existing is not None and not is_ours(existing):
            raise MethodError(f"{PATH} exists and is not clb-wizard's. Rename or remove it, "
                              "then run clb-wizard again.")
        for path, text in sorted(given.current.items()):
            if (text is None or path == PATH or posixpath.dirname(path) != DIR
                    or not path.endswith(".network")):
                continue
            if _matches_lo(path, text):
                raise MethodError(
                    f"{path} already configures lo, and systemd-networkd applies only one "
                    f".network file to a link. Add the VIPs to it as Address=VIP/32 lines "
                    f"under [Network], then run: networkctl reload && networkctl "
                    f"reconfigure lo"
                )
        if not given.vips:
            return Rendered({PATH: None} if existing is not None else {})
        return Rendered({PATH: render_network(list(given.vips))}, {PATH: 0o644})

    def transition(self, move: TransitionInput) -> Transition:
        was, will = move.before.get(PATH), move.after.get(PATH)
        old = _vips_in(was) if is_ours(was) else []
        new = _vips_in(will) if is_ours(will) else []
        missing = [v for v in new if v not in move.live]
        if was == will and not missing:
            return Transition()
        steps: list[Command] = []
        if _can_reconfigure(move.platform):
            steps += [cmd("make systemd-networkd read the new config", "networkctl", "reload"),
                      cmd("re-apply the config of lo only", "networkctl", "reconfigure", "lo")]
        else:
            steps += [cmd(f"add {v} now (networkd < 244 has no per-link reconfigure)",
                          "ip", "addr", "replace", f"{v}/32", "dev", "lo") for v in missing]
        steps += [Command(("ip", "addr", "del", f"{v}/32", "dev", "lo"),
                          f"remove {v}: networkd keeps addresses dropped from its config",
                          check=False)
                  for v in old if v not in new and v not in move.preserve and v in move.live]
        return Transition(activate=tuple(steps))

    def reread(self, runner: Runner, files: Files) -> Optional[list[str]]:
        """networkd's own view: the .network file it applied to lo must be ours."""
        out = runner.query(["networkctl", "--no-pager", "status", "lo"])
        if not out.ok:
            return [f"(networkctl status lo failed: {out.describe()})"]
        used = network_file_of(out.stdout)
        if used == PATH:
            return self.configured_vips(files)
        return [f"(systemd-networkd applies {used or 'no file'} to lo, not {PATH})"]


def _can_reconfigure(platform: Platform) -> bool:
    return (platform.stack.networkd_version or 0) >= NETWORKD_RECONFIGURE_MIN


def network_file_of(status: str) -> Optional[str]:
    """The "Network File:" `networkctl status LINK` shows (None: no such line)."""
    for line in status.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "Network File":
            return value.strip()
    return None
