"""Debian ifupdown: one `lo:N` stanza per VIP in a file under /etc/network/interfaces.d/.

Activation is `ifup lo:N` per alias. Restarting networking is never used: on Debian it
skips `lo` anyway, and it re-runs every interface, which can cut off a remote session.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from clb_wizard.methods.base import (
    Files,
    Fit,
    Method,
    MethodError,
    Rendered,
    RenderInput,
    SourcedBy,
    Transition,
    TransitionInput,
    alias_transition,
    assign_labels,
    foreign_note,
    header,
    is_ours,
    live_label_numbers,
)
from clb_wizard.methods.probes import AllOf, Fact, Not, Paths, Ref

if TYPE_CHECKING:
    from clb_wizard.platform import NetworkStack, Release
    from clb_wizard.runner import Runner

MAIN = "/etc/network/interfaces"
DROPIN_DIR = "/etc/network/interfaces.d"
BASENAME = "clb-wizard-lo"  # no dot: `source-directory` only reads names like [A-Za-z0-9_-]+
_SOURCE_DIRECTORY_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
_TOP_LEVEL = {"iface", "auto", "mapping", "source", "source-directory", "source-dir",
              "rename", "no-auto-down", "no-scripts"}
_ALIAS = re.compile(r"^lo:(\d+)$")

# The file ifupdown and ifupdown-ng both read: without it neither configures the host.
INTERFACES = Paths("interfaces", (MAIN,))
# Releases that configure the network with ifupdown on a stock install.
SHIPPED_BY = ("ubuntu-16.04", "debian-10", "debian-11", "debian-12")


@dataclass
class Stanza:
    name: str
    family: str
    method: str
    options: dict[str, str] = field(default_factory=dict)


@dataclass
class InterfacesFile:
    stanzas: list[Stanza] = field(default_factory=list)
    auto: list[str] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)  # (keyword, argument)


def parse_interfaces(path: str, text: str) -> InterfacesFile:
    """interfaces(5): top-level keywords start stanzas; other lines are options of the
    current iface/mapping stanza (indentation is not significant to ifupdown)."""
    parsed = InterfacesFile()
    current: Optional[Stanza] = None
    in_mapping = False
    logical = text.replace("\\\n", " ")
    for number, raw in enumerate(logical.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        rest = rest.strip()
        if word == "iface":
            parts = rest.split()
            if len(parts) < 3:
                raise MethodError(
                    f"{path} line {number}: 'iface' needs a name, a family and a method "
                    f"({line!r}). Fix the line, then run clb-wizard again."
                )
            current = Stanza(parts[0], parts[1], parts[2])
            parsed.stanzas.append(current)
            in_mapping = False
        elif word == "auto" or word.startswith("allow-"):
            if word == "auto":
                parsed.auto.extend(rest.split())
            current, in_mapping = None, False
        elif word == "mapping":
            current, in_mapping = None, True
        elif word in ("source", "source-directory", "source-dir"):
            parsed.sources.append((word, rest))
            current, in_mapping = None, False
        elif word in _TOP_LEVEL:
            current, in_mapping = None, False
        elif current is not None:
            current.options[word] = rest
        elif not in_mapping:
            raise MethodError(
                f"{path} line {number}: {line!r} is outside any 'iface' stanza, so ifupdown "
                "would refuse the whole file. Fix the line, then run clb-wizard again."
            )
    return parsed


def sources_file(main_text: str, target: str) -> bool:
    """Does /etc/network/interfaces (directly) read `target`?"""
    for keyword, argument in parse_interfaces(MAIN, main_text).sources:
        arg = argument.strip()
        base = posixpath.normpath(posixpath.join(posixpath.dirname(MAIN), arg))
        if keyword == "source":
            if _glob_matches(base, target):
                return True
        elif posixpath.dirname(target) == base and _SOURCE_DIRECTORY_NAME.match(
            posixpath.basename(target)
        ):
            return True
    return False


def _glob_matches(pattern: str, path: str) -> bool:
    """Shell glob semantics, as ifupdown expands `source`: a wildcard never matches "/"
    (fnmatch's `*` would, taking `source /etc/network/*lo` as reading interfaces.d/x-lo)."""
    want, have = pattern.split("/"), path.split("/")
    return len(want) == len(have) and all(
        fnmatch.fnmatchcase(part, glob) for part, glob in zip(have, want))


def _dropins(files: Files) -> dict[str, Optional[str]]:
    return {p: t for p, t in files.items() if posixpath.dirname(p) == DROPIN_DIR}


_OUR_NAME = re.compile(rf"^{re.escape(DROPIN_DIR)}/{BASENAME}(-(\d+))?$")


def our_dropin_path(files: Files) -> str:
    """Our drop-in: clb-wizard-lo, or -2, -3... when an admin's file already has the name.

    A drop-in of ours that already exists wins, whatever its number: once the admin's
    clb-wizard-lo that made us take clb-wizard-lo-2 is gone, the first free name would be
    clb-wizard-lo again, and our -2 file would look foreign and could never change.
    """
    ours = sorted(
        (int(match.group(2) or 1), path)
        for path, text in files.items()
        if (match := _OUR_NAME.match(path)) and is_ours(text)
    )
    if ours:
        return ours[0][1]
    n = 1
    while True:
        path = f"{DROPIN_DIR}/{BASENAME}" + ("" if n == 1 else f"-{n}")
        text = files.get(path)
        if text is None or is_ours(text):
            return path
        n += 1


def _aliases(path: str, text: Optional[str]) -> dict[int, str]:
    """lo:N -> address, for the inet static alias stanzas of one file."""
    found = {}
    if text is None:
        return found
    for stanza in parse_interfaces(path, text).stanzas:
        match = _ALIAS.match(stanza.name)
        if match:
            found[int(match.group(1))] = stanza.options.get("address", "").split("/")[0]
    return found


def _render_dropin(labels: dict[str, int]) -> str:
    body = [header(extra=("Bring one alias up with `ifup lo:N`: restarting networking is "
                          "not needed.",))]
    for vip, n in sorted(labels.items(), key=lambda item: item[1]):
        body.append(
            f"\nauto lo:{n}\niface lo:{n} inet static\n"
            f"    address {vip}\n    netmask 255.255.255.255\n"
        )
    return "".join(body)


# What Debian and Ubuntu install as /etc/network/interfaces (Ubuntu 16.04 reads the
# directory with source-directory; later releases with a glob).
STOCK_INTERFACES = "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n"
STOCK_INTERFACES_16_04 = (
    "source-directory /etc/network/interfaces.d\n\nauto lo\niface lo inet loopback\n"
)


# A line of /etc/network/interfaces that already reads every drop-in (for the exports'
# shell, which cannot run parse_interfaces).
SOURCES_DROPINS_RE = (
    r"^[[:space:]]*(source[[:space:]]+(/etc/network/)?interfaces\.d/\*"
    r"|source-directory[[:space:]]+(/etc/network/)?interfaces\.d/?)[[:space:]]*$"
)


def _source_line(path: str) -> str:
    return f"\n# Added by clb-wizard: the CLB VIPs on the loopback\nsource {path}\n"


def main_reading(main: str, path: str) -> Optional[str]:
    """/etc/network/interfaces with a `source` line for our drop-in, or None when it
    already reads it."""
    if sources_file(main, path):
        return None
    return main + ("" if main.endswith("\n") or not main else "\n") + _source_line(path)


def interfaces_fit(tool: str, present: bool) -> Fit:
    """ifupdown and ifupdown-ng both fit when installed with their interfaces file."""
    if present:
        return Fit(True, f"{tool} configures this host ({MAIN})")
    return Fit(False, f"{tool} is not installed, or {MAIN} is missing")


class InterfacesFileMethod(Method):
    """ifupdown and ifupdown-ng: both read MAIN and the drop-ins it sources, and run at
    boot from the `networking` service; `tool_present` names the stack's flag."""

    services = ("networking",)
    watch_dirs = (DROPIN_DIR,)
    watch_files = (MAIN,)
    sourced_by = SourcedBy(MAIN, SOURCES_DROPINS_RE)

    def fits(self, release: Release, stack: NetworkStack) -> Fit:
        return interfaces_fit(self.name, all(getattr(stack, flag)
                                             for flag in self.tool_present))


class IfupdownMethod(InterfacesFileMethod):
    name = "ifupdown"
    title = "ifupdown (/etc/network/interfaces.d)"
    tool_present = {"ifupdown": True}
    # /sbin/ifup is also network-scripts' and ifupdown-ng's: theirs rule it out
    facts = (Fact("ifupdown", AllOf(Not(Ref("network_scripts")), Not(Ref("ifupdown_ng")),
                                    Paths("ifup", ("/sbin/ifup", "/usr/sbin/ifup")),
                                    INTERFACES)),)

    def stock_stack(self, release: Release, version: str) -> Mapping[str, Any]:
        return {"ifupdown": release.key in SHIPPED_BY}

    def describe_stack(self, stack: NetworkStack) -> Optional[str]:
        return "ifupdown" if stack.ifupdown else None

    def stock_files(self, release: Release) -> dict[str, str]:
        if release.key == "ubuntu-16.04":
            return {MAIN: STOCK_INTERFACES_16_04}
        return {MAIN: STOCK_INTERFACES}

    def reread(self, runner: Runner, files: Files) -> Optional[list[str]]:
        labels = [f"lo:{n}" for n in sorted(self.configured_labels(files))]
        if not labels:
            return []
        out = runner.query(["ifquery", *labels])  # one call for every alias
        if not out.ok:
            return [f"(ifquery failed: {out.describe()})"]
        return [value.strip().split("/")[0] for key, _, value in
                (line.partition(":") for line in out.stdout.splitlines())
                if key.strip() == "address"]

    def configured_labels(self, files: Files) -> dict[int, str]:
        """lo:N -> VIP, from our drop-in (verification asks ifquery about these labels)."""
        for path, text in sorted(_dropins(files).items()):
            if is_ours(text):
                return _aliases(path, text)
        return {}

    def configured_vips(self, files: Files) -> list[str]:
        return [vip for _, vip in sorted(self.configured_labels(files).items())]

    def render(self, given: RenderInput) -> Rendered:
        vips, current, live = given.vips, given.current, given.live
        main = current.get(MAIN)
        if main is None:
            raise MethodError(
                f"{MAIN} does not exist, so ifupdown is not configuring this host. "
                "Check the network stack (clb-wizard detect) or pass --method."
            )
        path = our_dropin_path(current)
        ours = _aliases(path, current.get(path))
        used: set[int] = set(_aliases(MAIN, main))
        foreign: list[str] = []
        notes: list[str] = []
        for other, text in sorted(_dropins(current).items()):
            if other == path:
                continue
            theirs = _aliases(other, text)
            used |= set(theirs)
            for vip in vips:
                if vip in theirs.values() and vip not in foreign:
                    foreign.append(vip)
                    notes.append(foreign_note(vip, other))
        for vip in vips:
            if vip in _aliases(MAIN, main).values() and vip not in foreign:
                foreign.append(vip)
                notes.append(foreign_note(vip, MAIN))
        kept = {vip: n for n, vip in ours.items() if vip in vips and vip not in foreign}
        wanted = [v for v in vips if v not in foreign]
        labels = assign_labels(wanted, kept, used | live_label_numbers(live))
        files: dict[str, Optional[str]] = {}
        modes: dict[str, int] = {}
        if labels:
            files[path] = _render_dropin(labels)
            modes[path] = 0o644
            reading = main_reading(main, path)
            if reading is not None:
                files[MAIN], modes[MAIN] = reading, 0o644
                notes.append(f"{MAIN} does not read {DROPIN_DIR}/: a 'source' line is added.")
        elif current.get(path) is not None:
            files[path] = None
        return Rendered(files, modes, tuple(notes), foreign=tuple(foreign))

    def transition(self, move: TransitionInput) -> Transition:
        before, after, live, preserve = move.before, move.after, move.live, move.preserve
        # Our drop-in on each side, looked up separately: when ours is deleted, the merged
        # view would point at the first free name and miss the aliases to take down.
        old_path, new_path = our_dropin_path(before), our_dropin_path(after)
        was, will = before.get(old_path), after.get(new_path)
        old = _aliases(old_path, was) if is_ours(was) else {}
        new = _aliases(new_path, will) if is_ours(will) else {}
        return alias_transition(old, new, live, preserve)
