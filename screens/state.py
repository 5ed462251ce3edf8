"""What the wizard has gathered so far (`WizardState`). The screens reach the engine only
through clb_wizard.service: the same calls the CLI makes (`Service`, imported as `Engine`
for the screens; tests hand the app a subclass, see tests/ui/fakes.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from clb_wizard.service import CONFIRM_SECONDS, Launch, Options, host_ipv4s
from clb_wizard.service import Service as Engine

if TYPE_CHECKING:
    from clb_wizard.facts import HostAddresses
    from clb_wizard.plan import Plan
    from clb_wizard.platform import Platform
    from clb_wizard.transaction import Outcome
    from clb_wizard.transaction.journal import Journal

__all__ = ["CloudChoice", "Engine", "WizardState", "initial_state"]


@dataclass
class CloudChoice:
    """Where fetched VIPs came from: kept in memory only, for the CLB-side health check."""

    creds: Any  # wizard.cloud.Credentials (its repr hides the private key)
    ulb_id: str
    host_ips: tuple[str, ...] = ()
    host: Any = None  # wizard.cloud.ThisHost: this host by instance id, VPC and addresses
    internal: bool = False  # the VPC-internal API endpoint


@dataclass
class WizardState:
    root: str = "/"
    os_override: Optional[str] = None
    method: Optional[str] = None
    preview: bool = False  # --root or --os: another system, so always a dry run
    dry_run: bool = False
    is_root: bool = False
    ssh: bool = False
    # found at the start
    platform: Optional[Platform] = None
    platform_error: Optional[str] = None
    addresses: Optional[HostAddresses] = None  # live host only
    addresses_error: Optional[str] = None
    pending: Optional[Journal] = None
    managed: tuple[str, ...] = ()  # VIPs clb-wizard's files configure now (an earlier run)
    # chosen
    clb_type: Optional[str] = None
    vips: list[str] = field(default_factory=list)  # starts as `managed` (the VIPs step)
    vips_seeded: bool = False
    force: bool = False  # the user acknowledged the VIP warnings
    arp_sysctls: bool = False
    confirm_timer: bool = False
    confirm_seconds: float = CONFIRM_SECONDS
    cloud: Optional[CloudChoice] = None
    # results
    plan: Optional[Plan] = None
    outcome: Optional[Outcome] = None
    arp_fix: Optional[Outcome] = None  # the Verify step's ARP sysctls, a change of its own
    undo: Optional[Outcome] = None  # the Done step's rollback of the last change
    applying: bool = False

    @property
    def host_private_ips(self) -> tuple[str, ...]:
        """This host's IPv4 addresses (not lo), to match it against CLB backends."""
        return host_ipv4s(self.addresses)

    def options(self, vips: Optional[Sequence[str]] = None) -> Options:
        """The choices so far (with `vips` instead of the chosen ones, if given)."""
        return Options(vips=tuple(self.vips if vips is None else vips), clb_type=self.clb_type,
                       os_override=self.os_override, method=self.method, force=self.force,
                       arp_sysctls=self.arp_sysctls)


def initial_state(root: str, os_override: Optional[str], method: Optional[str],
                  dry_run: bool, is_root: bool, env: Mapping[str, str]) -> WizardState:
    launch = Launch.from_flags(root, os_override, method, dry_run, is_root=is_root, env=env)
    return WizardState(root=launch.root, os_override=os_override, method=method,
                       preview=launch.preview, dry_run=launch.dry_run, is_root=is_root,
                       ssh=launch.ssh, confirm_timer=launch.confirm_by_default)
