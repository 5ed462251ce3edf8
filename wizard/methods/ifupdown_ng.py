"""ifupdown-ng (Alpine's default): the VIPs as `address` lines of an extra `iface lo`
declaration in a drop-in /etc/network/interfaces reads.

ifupdown-ng merges every declaration of the same interface, so our drop-in adds
addresses to the stock `iface lo inet loopback` without touching it, and `ifquery -p
address lo` reads the merged result back. Alias stanzas (`iface lo:1`) are not used:
ifupdown-ng's `ifdown lo:1` runs `ip addr flush dev lo:1`, which flushes every address
of lo, 127.0.0.1 included (seen with ifupdown-ng 0.11).

At boot `ifup -a` brings lo up with the VIPs. On a running host `ifup lo` does nothing
(lo is already up in ifupdown-ng's state) and `ifdown lo` would flush lo, so the VIPs
are added with `ip addr replace` and removed with `ip addr del`, lo only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional

from clb_wizard.methods.base import (
    Command,
    Files,
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
from clb_wizard.methods.ifupdown import (
    DROPIN_DIR,
    INTERFACES,
    MAIN,
    InterfacesFileMethod,
    main_reading,
    our_dropin_path,
)
from clb_wizard.methods.probes import AllOf, Fact, Paths

if TYPE_CHECKING:
    from clb_wizard.platform import NetworkStack, Release
    from clb_wizard.runner import Runner

# Alpine's own /etc/network/interfaces after setup-interfaces (no source line).
STOCK_INTERFACES = "auto lo\niface lo inet loopback\n"
_ADDRESS = re.compile(r"^\s*address\s+(\S+)\s*$")


def render_dropin(vips: list[str]) -> str:
    lines = "".join(f"    address {vip}/32\n" for vip in vips)
    return (header(extra=("ifupdown-ng merges this with the main 'iface lo' declaration.",))
            + f"\niface lo\n{lines}")


def addresses_of_lo(path: str, text: Optional[str]) -> list[str]:
    """The addresses `iface lo` declarations in one file give lo (what ifupdown-ng merges)."""
    found: list[str] = []
    current = None
    for line in (text or "").splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] in ("iface", "template"):
            current = words[1] if len(words) > 1 else None
        elif words[0] in ("auto", "source", "source-directory", "allow-auto"):
            current = None
        elif current == "lo" and (match := _ADDRESS.match(line)):
            found.append(match.group(1).split("/")[0])
        elif current is None and words[0] == "address":
            raise MethodError(f"{path}: {line.strip()!r} is outside any 'iface' declaration. "
                              "Fix the line, then run clb-wizard again.")
    return found


class IfupdownNgMethod(InterfacesFileMethod):
    name = "ifupdown-ng"
    title = "ifupdown-ng (iface lo addresses in /etc/network/interfaces.d)"
    tool_present = {"ifupdown_ng": True}
    # ifupdown-ng's ifup, ifdown, ifquery... are links to one `ifupdown` binary
    facts = (Fact("ifupdown_ng", AllOf(Paths("ifupdown_ng", ("/sbin/ifupdown",
                                                            "/usr/sbin/ifupdown")),
                                       INTERFACES)),)

    def stock_stack(self, release: Release, version: str) -> Mapping[str, Any]:
        return {"ifupdown_ng": release.key == "alpine-3"}

    def describe_stack(self, stack: NetworkStack) -> Optional[str]:
        return "ifupdown-ng" if stack.ifupdown_ng else None

    def stock_files(self, release: Release) -> dict[str, str]:
        return {MAIN: STOCK_INTERFACES}

    def configured_vips(self, files: Files) -> list[str]:
        path = our_dropin_path(files)
        text = files.get(path)
        return addresses_of_lo(path, text) if is_ours(text) else []

    def render(self, given: RenderInput) -> Rendered:
        main = given.current.get(MAIN)
        if main is None:
            raise MethodError(f"{MAIN} does not exist, so ifupdown-ng is not configuring this "
                              "host. Check the network stack (clb-wizard detect).")
        path = our_dropin_path(given.current)
        foreign, notes = [], []
        for other, text in sorted(given.current.items()):
            if other == path or (other != MAIN and not other.startswith(DROPIN_DIR + "/")):
                continue
            for vip in addresses_of_lo(other, text):
                if vip in given.vips and vip not in foreign:
                    foreign.append(vip)
                    notes.append(foreign_note(vip, other))
        wanted = [v for v in given.vips if v not in foreign]
        files: dict[str, Optional[str]] = {}
        modes: dict[str, int] = {}
        if wanted:
            files[path], modes[path] = render_dropin(wanted), 0o644
            reading = main_reading(main, path)
            if reading is not None:
                files[MAIN], modes[MAIN] = reading, 0o644
                notes.append(f"{MAIN} does not read {DROPIN_DIR}/: a 'source' line is added.")
        elif given.current.get(path) is not None:
            files[path] = None
        return Rendered(files, modes, tuple(notes), foreign=tuple(foreign))

    def transition(self, move: TransitionInput) -> Transition:
        old, new = self.configured_vips(move.before), self.configured_vips(move.after)
        adds = [cmd(f"add {v} now (ifupdown-ng adds it at boot)",
                    "ip", "addr", "replace", f"{v}/32", "dev", "lo")
                for v in new if v not in move.live]
        removals = [Command(("ip", "addr", "del", f"{v}/32", "dev", "lo"),
                            f"remove {v} (ifdown would flush all of lo)", check=False)
                    for v in old if v not in new and v not in move.preserve and v in move.live]
        return Transition(activate=tuple(adds + removals))

    def reread(self, runner: Runner, files: Files) -> Optional[list[str]]:
        out = runner.query(["ifquery", "-p", "address", "lo"])
        if not out.ok:
            return [f"(ifquery failed: {out.describe()})"]
        ours = set(self.configured_vips(files))
        return [a.split("/")[0] for a in out.stdout.split() if a.split("/")[0] in ours]

