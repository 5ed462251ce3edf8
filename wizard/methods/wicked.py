"""SUSE wicked: the VIPs as suffixed IPADDR_CLBn keys in /etc/sysconfig/network/ifcfg-lo.

wicked does not read alias files (ifcfg-lo:1): extra addresses of an interface are the
same ifcfg file's IPADDR key with any suffix (ifcfg(5), "Multiple addresses"). The
stock ifcfg-lo (IPADDR=127.0.0.1/8, STARTMODE=nfsroot) stays as the admin has it; our
keys sit in one block between two marker comments at its end, so a later run finds and
replaces exactly that block, and a run with no VIPs removes it.

Activation is `wicked ifup lo` (applies lo's whole config; lo only). wicked cannot run
on the machines the tests use, so this method is proven on content: the file is parsed
back as the shell that wicked's ifcfg reader follows would read it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional

from clb_wizard.methods.base import (
    MARKER,
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
)
from clb_wizard.methods.ifcfg import parse_ifcfg
from clb_wizard.methods.probes import AllOf, Fact, Paths

if TYPE_CHECKING:
    from clb_wizard.platform import NetworkStack, Release

DIR = "/etc/sysconfig/network"
PATH = f"{DIR}/ifcfg-lo"
SUFFIX = "_CLB"
_OUR_KEY = re.compile(rf"^IPADDR{SUFFIX}(\d+)$")
BEGIN = f"# {MARKER}"
END = "# clb-wizard: end of the CLB VIPs."
# openSUSE's and SLES's own ifcfg-lo (sysconfig-netconfig).
STOCK_IFCFG_LO = (
    "# Loopback (lo) configuration\n"
    "IPADDR=127.0.0.1/8\nNETMASK=255.0.0.0\nNETWORK=127.0.0.0\n"
    "STARTMODE=nfsroot\nBOOTPROTO=static\nUSERCONTROL=no\nFIREWALL=no\n"
)


_OUR_LINE = re.compile(rf"^(# Added by clb-wizard.*|IPADDR{SUFFIX}\d+='[0-9./]*')$")


def strip_block(text: str) -> str:
    """The file without our block (and the blank line we put before it). MethodError when
    the block is not exactly ours (no end line, or lines we never write inside it): an
    edit there would take the admin's lines with it."""
    lines = text.splitlines(keepends=True)
    if BEGIN + "\n" not in lines:
        return text
    start = lines.index(BEGIN + "\n")
    end = next((i for i in range(start, len(lines)) if lines[i].rstrip("\n") == END), None)
    if end is None:
        raise MethodError(
            f"{PATH} has clb-wizard's first line ({BEGIN!r}) but not its last ({END!r}), so "
            "clb-wizard cannot tell its lines from yours. Put the last line back after the "
            f"IPADDR{SUFFIX}n lines (or remove the first), then run it again. Nothing was "
            "changed.")
    theirs = [line.rstrip("\n") for line in lines[start + 1:end]
              if not _OUR_LINE.match(line.rstrip("\n"))]
    if theirs or BEGIN + "\n" in lines[end:]:
        what = ", ".join(theirs) or "a second block"
        raise MethodError(
            f"{PATH}: clb-wizard's block holds lines it did not write ({what}). Move them out "
            "of the block (above its first line), then run it again. Nothing was changed.")
    if start > 0 and not lines[start - 1].strip():
        start -= 1
    return "".join(lines[:start] + lines[end + 1:])


def render_block(vips: list[str]) -> str:
    keys = "".join(f"IPADDR{SUFFIX}{n}='{vip}/32'\n" for n, vip in enumerate(vips, 1))
    return (f"\n{BEGIN}\n# Added by clb-wizard; undo with `clb-wizard rollback`.\n"
            f"{keys}{END}\n")


def _ours(values: dict[str, str]) -> list[str]:
    found = sorted((int(m.group(1)), v) for k, v in values.items() if (m := _OUR_KEY.match(k)))
    return [v.split("/")[0] for _, v in found]


def _theirs(values: dict[str, str]) -> list[str]:
    return [v.split("/")[0] for k, v in values.items()
            if k.startswith("IPADDR") and not _OUR_KEY.match(k) and v]


class WickedMethod(Method):
    name = "wicked"
    title = "wicked (IPADDR_CLBn keys in ifcfg-lo)"
    services = ("wicked",)
    tool_present = {"wicked": True}
    watch_files = (PATH,)
    # installed, and the enabled network service (`systemctl enable wicked`, as YaST's
    # network setup with wicked does, links the unit)
    facts = (Fact("wicked", AllOf(
        Paths("wicked", ("/usr/sbin/wicked", "/sbin/wicked")),
        Paths("wicked_enabled", ("/etc/systemd/system/multi-user.target.wants/wicked.service",)),
    )),)

    def stock_stack(self, release: Release, version: str) -> Mapping[str, Any]:
        # SLES/Leap 15 configure the network with wicked; 16 moved to NetworkManager.
        return {"wicked": release.key in ("sles-15", "opensuse-leap-15")}

    def describe_stack(self, stack: NetworkStack) -> Optional[str]:
        return "wicked" if stack.wicked else None

    def fits(self, release: Release, stack: NetworkStack) -> Fit:
        if not stack.wicked:
            return Fit(False, "wicked is not installed or not the enabled network service")
        return Fit(True, f"wicked configures this host: suffixed IPADDR keys in {PATH}")

    def stock_files(self, release: Release) -> dict[str, str]:
        return {PATH: STOCK_IFCFG_LO}

    def configured_vips(self, files: Files) -> list[str]:
        text = files.get(PATH)
        return _ours(parse_ifcfg(PATH, text)) if text is not None else []

    def render(self, given: RenderInput) -> Rendered:
        current = given.current.get(PATH)
        base = strip_block(current if current is not None else STOCK_IFCFG_LO)
        theirs = _theirs(parse_ifcfg(PATH, base))
        foreign = [v for v in given.vips if v in theirs]
        wanted = [v for v in given.vips if v not in foreign]
        text: Optional[str] = base
        if wanted:
            text = base + ("" if base.endswith("\n") or not base else "\n") + render_block(
                wanted)
        elif current is None:
            text = None  # nothing to add and no file: leave it absent
        notes = tuple(foreign_note(v, PATH) for v in foreign)
        files = {} if text == current else {PATH: text}
        return Rendered(files, {PATH: 0o644} if files else {}, notes, foreign=tuple(foreign))

    def transition(self, move: TransitionInput) -> Transition:
        old = self.configured_vips(move.before)
        new = self.configured_vips(move.after)
        missing = [v for v in new if v not in move.live]
        if move.before.get(PATH) == move.after.get(PATH) and not missing:
            return Transition()
        steps: list[Command] = []
        if new:
            steps.append(cmd("make wicked apply lo's config (lo only)", "wicked", "ifup", "lo"))
        steps += [Command(("ip", "addr", "del", f"{v}/32", "dev", "lo"),
                          f"remove {v}: wicked does not take back an address it no longer "
                          "lists", check=False)
                  for v in old if v not in new and v not in move.preserve and v in move.live]
        return Transition(activate=tuple(steps))

