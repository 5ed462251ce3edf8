"""What the wizard knows, split by what it is: how it was launched (`Launch`, from the
service), what the host is (`Host`), what the user chose (`Choices`) and what happened
(`Results`). Each step reads what it needs and writes only its own part: Start the host,
the choosing steps the choices, Apply/Verify/Done the results.

The screens reach the engine only through clb_wizard.service's `Service`: the same calls
the CLI makes (tests hand the app a subclass, see tests/fakes/engine.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from clb_wizard.errors import ExitCode
from clb_wizard.service import CONFIRM_SECONDS, Launch, Options, host_ipv4s

if TYPE_CHECKING:
    from clb_wizard.service import (
        Credentials,
        HostAddresses,
        Journal,
        Outcome,
        Plan,
        Platform,
        ThisHost,
    )

__all__ = ["Choices", "CloudChoice", "Host", "Launch", "Results", "WizardState", "initial_state"]


# The state's dataclasses generate only __init__ (no repr, no eq: nothing compares or
# prints them, and each generated method is compiled while the first frame waits).
@dataclass(repr=False, eq=False)
class CloudChoice:
    """Where fetched VIPs came from: kept in memory only, for the CLB-side health check."""

    creds: Credentials  # its repr hides the private key
    ulb_ids: tuple[str, ...]
    host: Optional[ThisHost] = None  # this host by instance id, VPC and addresses
    internal: bool = False  # the VPC-internal API endpoint


@dataclass(repr=False, eq=False)
class Host:
    """What the Start step found (read again after a recovery or a kept change)."""

    platform: Optional[Platform] = None
    platform_error: Optional[str] = None
    addresses: Optional[HostAddresses] = None  # live host only
    addresses_error: Optional[str] = None
    pending: Optional[Journal] = None
    managed: tuple[str, ...] = ()  # VIPs clb-wizard's files configure now (an earlier run)
    managed_at_start: tuple[str, ...] = ()  # ... when the wizard started (before this run)
    last_change: Optional[Journal] = None  # the newest kept change (an earlier run)
    last_clb_type: Optional[str] = None  # the CLB type that change was made for, if known
    arp_set: Optional[bool] = None  # the ARP sysctls are set now (None: not read)

    @property
    def private_ips(self) -> tuple[str, ...]:
        """This host's IPv4 addresses (not lo), to match it against CLB backends."""
        return host_ipv4s(self.addresses)


@dataclass(repr=False, eq=False)
class Choices:
    """What the user chose on the CLB type, VIPs, Options steps (and the fetch form)."""

    clb_type: Optional[str] = None
    vips: list[str] = field(default_factory=list)  # starts as Host.managed (the VIPs step)
    leaving: list[str] = field(default_factory=list)  # managed VIPs marked to leave service
    vips_seeded: bool = False
    force: bool = False  # the user acknowledged the VIP warnings
    arp_sysctls: bool = False
    arp_seeded: bool = False
    confirm_timer: bool = False
    confirm_seconds: float = CONFIRM_SECONDS
    dry_run: bool = False
    cloud: Optional[CloudChoice] = None


@dataclass(repr=False, eq=False)
class Results:
    """What happened: the plan shown, the apply's outcome or refusal, the changes kept."""

    plan: Optional[Plan] = None
    outcome: Optional[Outcome] = None  # the last apply (kept after going back: the exit code)
    refused: Optional[str] = None  # why the last apply was refused (nothing was changed)
    unconfirmed: Optional[str] = None  # the confirm timer ran "out", or "reverted" on request
    arp_fix: Optional[Outcome] = None  # the Verify step's ARP sysctls, a change of its own
    kept: list[Outcome] = field(default_factory=list)  # every change this run kept
    undo: list[Outcome] = field(default_factory=list)  # the Done step's rollbacks
    applying: bool = False
    applies: int = 0  # how many times the Apply step ran (the Preview plans again after)
    rounds: int = 0  # changes begun again from the VIPs after a kept one (Done's V)

    def exit_code(self) -> int:
        """What the wizard returns: the last thing that happened, else 0."""
        if self.undo:
            return max(int(u.exit_code) for u in self.undo)
        if self.refused is not None:
            return int(ExitCode.INVALID)
        return int(self.outcome.exit_code) if self.outcome is not None else 0


@dataclass(repr=False, eq=False)
class WizardState:
    """All of it, by what it is (a docstring: dataclasses otherwise build one from the
    signature at import, which the first frame would wait for)."""

    launch: Launch
    host: Host = field(default_factory=Host)
    choices: Choices = field(default_factory=Choices)
    results: Results = field(default_factory=Results)

    def options(self, vips: Optional[Sequence[str]] = None) -> Options:
        """The choices so far (with `vips` instead of the chosen ones, if given)."""
        c = self.choices
        return Options(vips=tuple(c.vips if vips is None else vips), clb_type=c.clb_type,
                       os_override=self.launch.os_override, method=self.launch.method,
                       force=c.force, arp_sysctls=c.arp_sysctls)


def initial_state(root: str, os_override: Optional[str], method: Optional[str],
                  dry_run: bool, is_root: bool, env: Mapping[str, str]) -> WizardState:
    launch = Launch.from_flags(root, os_override, method, dry_run, is_root=is_root, env=env)
    return WizardState(launch=launch, choices=Choices(
        dry_run=launch.dry_run, confirm_timer=launch.confirm_by_default))
