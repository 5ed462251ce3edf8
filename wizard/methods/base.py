"""What every persistence method provides, and the pieces they share.

A method owns everything about its network stack, so nothing outside `methods/` names
it: how detection tells the stack is installed and in use (its `facts`, methods/probes.py)
and what each release ships of it (`stock_stack`), whether it fits a host (and why), what
it needs installed or enabled first, the stock files it assumes, its rendering and
transitions, how its own tool reads the config back, and the data the exporters need.
Rendering and transitions are pure: from the VIPs, the current files (a snapshot) and the
live `lo` addresses to files and commands.
Reading the snapshot and running the commands is the runner's job, not the method's.
"""

from __future__ import annotations

import re
import shlex
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Optional

from clb_wizard.errors import InputError
from clb_wizard.methods.probes import Fact

if TYPE_CHECKING:  # methods never need platform.py at run time: it imports them
    from clb_wizard.platform import NetworkStack, Platform, Release
    from clb_wizard.runner import Runner

# The first line of every file we write: how we tell our files from the admin's.
MARKER = "clb-wizard: CLB VIPs on the loopback (message forwarding mode)."

# path -> content (None: absent)
Files = Mapping[str, Optional[str]]


class MethodError(InputError):
    """The current configuration stops this method (e.g. a broken or conflicting file)."""


@dataclass(frozen=True)
class Command:
    """One command of a plan: an argv (never a shell string) and why it runs.

    `check=False`: a failure is logged, not fatal; verification judges the outcome
    (e.g. removing an address a newer tool may already have removed itself).
    """

    argv: tuple[str, ...]
    why: str
    check: bool = True

    def shell(self) -> str:
        return shlex.join(self.argv)

    def to_json(self) -> dict:
        return {"argv": list(self.argv), "shell": self.shell(), "why": self.why}


def cmd(why: str, *argv: str) -> Command:
    return Command(tuple(argv), why)


@dataclass(frozen=True)
class LoAddress:
    """An address on `lo` as the kernel reports it."""

    address: str
    prefixlen: int
    label: str = "lo"
    family: str = "inet"  # or "inet6"

    @property
    def cidr(self) -> str:
        return f"{self.address}/{self.prefixlen}"


@dataclass(frozen=True)
class Rendered:
    """The files a method wants (path -> content, None to delete), modes and notes."""

    files: dict[str, Optional[str]]
    modes: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    # the VIPs some file we do not own already configures: satisfied, left alone
    foreign: tuple[str, ...] = ()


@dataclass(frozen=True)
class Transition:
    """Commands around writing the files: `prepare` before (old files still on disk),
    `activate` after (new files in place)."""

    prepare: tuple[Command, ...] = ()
    activate: tuple[Command, ...] = ()


@dataclass(frozen=True)
class RenderInput:
    """What a method renders from: exactly these VIPs, the current files, the platform,
    and the live addresses of lo (empty when planning for another host)."""

    vips: Sequence[str]
    current: Files
    platform: Platform
    live: Sequence[LoAddress] = ()


@dataclass(frozen=True)
class TransitionInput:
    """From `before` files to `after` files. `live`: the addresses on lo now (a VIP the
    new config keeps that is not live is brought up even if its config does not change).
    `preserve`: addresses that must stay on lo even if the new config drops them (on
    rollback: the ones that were there before apply)."""

    before: Files
    after: Files
    platform: Platform
    live: Collection[str] = ()
    preserve: Collection[str] = ()


class Fit(NamedTuple):
    """Whether a method can keep VIPs on lo on a host, and why (shown to the user)."""

    ok: bool
    reason: str


@dataclass(frozen=True)
class Prerequisites:
    """What must be on the host before the method works: packages the plan installs
    first (`present_when`: any of these paths means they already are), and services
    that must be enabled for the configuration to take effect at boot."""

    packages: tuple[str, ...] = ()
    present_when: tuple[str, ...] = ()
    services: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourcedBy:
    """A file the OS ships that must read the method's drop-in (ifupdown's interfaces):
    UserData writes the drop-in first, then makes sure this file sources it."""

    path: str
    line_re: str  # an ERE matching a line of it that already does


class Method(ABC):
    name: str = ""
    title: str = ""
    # directories and files whose content the method needs to see
    watch_dirs: tuple[str, ...] = ()
    watch_files: tuple[str, ...] = ()
    # "linux", or "windows": the plan is a script to run on another host
    host_os: str = "linux"
    # services that must be enabled for the configuration to apply at boot
    services: tuple[str, ...] = ()
    # a file of the OS that must source our drop-in, if any
    sourced_by: Optional[SourcedBy] = None
    # What detection finds out about this method's stack under a root: each Fact is a
    # field of the NetworkStack (methods/probes.py says how probes combine).
    facts: tuple[Fact, ...] = ()
    # NetworkStack fields as they are when this method's tool is installed and working
    tool_present: Mapping[str, object] = {}

    # -- detecting ---------------------------------------------------------------------
    def stock_stack(self, release: Release, version: str) -> Mapping[str, Any]:
        """Values of this method's facts on a stock install of `release` (os-release
        VERSION_ID `version`): what an --os preview assumes, and where a root cannot tell
        (a `fill` fact). Facts left out take their default."""
        return {}

    def describe_stack(self, stack: NetworkStack) -> Optional[str]:
        """How `detect` names this method's stack when the host has it (None: say nothing)."""
        return None

    # -- choosing ----------------------------------------------------------------------
    @abstractmethod
    def fits(self, release: Release, stack: NetworkStack) -> Fit:
        """Can this method keep VIPs on lo on a host of this release with this stack?"""

    def prerequisites(self, release: Release, stack: NetworkStack) -> Prerequisites:
        """Packages to install first (none by default) and the services that must be
        enabled for the configuration to apply at boot."""
        return Prerequisites(services=self.services)

    def assume_installed(self, stack: NetworkStack) -> NetworkStack:
        """The stack with this method's tool present and working: what `--method` asks an
        --os preview to assume (versions stay the release's)."""
        return stack.replace(**self.tool_present)

    def stock_files(self, release: Release) -> dict[str, str]:
        """Files every host of this release ships (assumed in --os previews when missing
        under the root, and for UserData and exports)."""
        return {}

    # -- rendering ---------------------------------------------------------------------
    @abstractmethod
    def render(self, given: RenderInput) -> Rendered:
        """The files for exactly these VIPs, given the current ones."""

    @abstractmethod
    def transition(self, move: TransitionInput) -> Transition:
        """Commands that take the live host from `before` files to `after` files."""

    @abstractmethod
    def configured_vips(self, files: Files) -> list[str]:
        """The VIPs our own files among `files` put on lo (for verify and idempotency)."""

    # -- reading back ----------------------------------------------------
    def reread(self, runner: Runner, files: Files) -> Optional[list[str]]:
        """The VIPs as the method's own tool reads the config back (read-only queries
        through the runner); None when the tool has no reader."""
        return None


def version_tuple(version: Optional[str]) -> tuple[int, ...]:
    """"1.42.4" -> (1, 42, 4); None or no digits -> ()."""
    return tuple(int(p) for p in re.findall(r"\d+", version or "")[:3])


def is_ours(content: Optional[str]) -> bool:
    return content is not None and MARKER in content.split("\n", 2)[0]


def header(comment: str = "#", extra: Sequence[str] = ()) -> str:
    lines = [
        f"{comment} {MARKER}",
        f"{comment} Written by clb-wizard; undo with `clb-wizard rollback`.",
    ]
    lines += [f"{comment} {line}" for line in extra]
    return "\n".join(lines) + "\n"


def next_free(used: set[int], start: int = 1) -> int:
    n = start
    while n in used:
        n += 1
    return n


def assign_labels(
    vips: Sequence[str], kept: Mapping[str, int], used: set[int]
) -> dict[str, int]:
    """lo:N numbers: a VIP keeps the number it already has in our file; a new VIP takes
    the lowest number no file (ours or not) and no live address uses."""
    taken = set(used) | set(kept.values())
    labels: dict[str, int] = {}
    for vip in vips:
        if vip in kept:
            labels[vip] = kept[vip]
        else:
            labels[vip] = next_free(taken)
            taken.add(labels[vip])
    return labels


def live_label_numbers(live: Sequence[LoAddress]) -> set[int]:
    numbers = set()
    for addr in live:
        _, sep, n = addr.label.partition(":")
        if sep and n.isdigit():
            numbers.add(int(n))
    return numbers


def alias_transition(
    old: Mapping[int, str],
    new: Mapping[int, str],
    live: Collection[str],
    preserve: Collection[str],
    down: Sequence[str] = ("ifdown", "--force"),
) -> Transition:
    """ifdown/ifup per lo:N alias, for the tools that keep one alias per VIP.

    ifupdown's `ifdown --force` removes the address even when its state lost track of it;
    `ifup` is skipped for a VIP that is already live (it would fail on the existing
    address, and the address is what we want anyway).
    """
    prepare, activate = [], []
    downed: set[str] = set()
    for n in sorted(set(old) | set(new)):
        was, will = old.get(n), new.get(n)
        if was is not None and was != will and was not in preserve:
            prepare.append(cmd(f"remove {was} (alias lo:{n})", *down, f"lo:{n}"))
            downed.add(was)
        if will is not None and (will not in live or will in downed):
            activate.append(cmd(f"bring up only the alias lo:{n} ({will})", "ifup", f"lo:{n}"))
    return Transition(tuple(prepare), tuple(activate))


def foreign_note(vip: str, path: str) -> str:
    return f"{vip} is already configured in {path}, a file that is not ours: left as it is."
