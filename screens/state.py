"""What the wizard has gathered so far, and the seam to the engine.

`Engine` is the only place the screens reach `wizard.*` through: every call is the same
one the CLI makes (detect, check the VIPs, plan, apply, recover, fetch). Tests hand the
app a subclass (a fake transaction where no real host can be had in-process). The engine
modules are imported inside the methods, so the first frame does not wait for them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from clb_wizard.facts import HostAddresses
    from clb_wizard.plan import Plan
    from clb_wizard.platform import Platform
    from clb_wizard.runner import Runner
    from clb_wizard.session import Options
    from clb_wizard.transaction import Outcome, Progress
    from clb_wizard.transaction.journal import Journal
    from clb_wizard.vips import VipReport

CONFIRM_SECONDS = 120.0


@dataclass
class CloudChoice:
    """Where fetched VIPs came from: kept in memory only, for the CLB-side health check."""

    creds: Any  # wizard.cloud.Credentials (its repr hides the private key)
    ulb_id: str
    host_ips: tuple[str, ...] = ()


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
    # chosen
    clb_type: Optional[str] = None
    vips: list[str] = field(default_factory=list)
    force: bool = False  # the user acknowledged the VIP warnings
    arp_sysctls: bool = False
    confirm_timer: bool = False
    confirm_seconds: float = CONFIRM_SECONDS
    cloud: Optional[CloudChoice] = None
    # results
    plan: Optional[Plan] = None
    outcome: Optional[Outcome] = None
    applying: bool = False

    @property
    def host_others(self) -> Optional[dict[str, tuple[str, ...]]]:
        return dict(self.addresses.others) if self.addresses is not None else None

    @property
    def host_private_ips(self) -> tuple[str, ...]:
        """This host's IPv4 addresses (not lo), to match it against CLB backends."""
        if self.addresses is None:
            return ()
        return tuple(a.split("/")[0] for addrs in self.addresses.others.values()
                     for a in addrs if ":" not in a)

    def options(self) -> Options:
        from clb_wizard.session import Options

        return Options(vips=tuple(self.vips), clb_type=self.clb_type,
                       os_override=self.os_override, method=self.method, force=self.force,
                       arp_sysctls=self.arp_sysctls)


def initial_state(root: str, os_override: Optional[str], method: Optional[str],
                  dry_run: bool, is_root: bool, env: Mapping[str, str]) -> WizardState:
    preview = root not in ("/", "") or bool(os_override)
    dry = dry_run or preview or not is_root  # without root only a dry run can work
    ssh = bool(env.get("SSH_CONNECTION"))
    return WizardState(root=root, os_override=os_override, method=method, preview=preview,
                       dry_run=dry, is_root=is_root, ssh=ssh,
                       # like the CLI: on over SSH when something will really change
                       confirm_timer=ssh and not dry)


class Engine:
    """The engine calls the screens make. Override in tests; see tests/ui/fakes.py."""

    def __init__(self, root: str = "/", *, is_root: Optional[bool] = None) -> None:
        self.root = Path(root or "/")
        self.is_root = os.geteuid() == 0 if is_root is None else is_root

    def runner(self, dry_run: bool = True) -> Runner:
        from clb_wizard.runner import Runner

        return Runner(root=self.root, dry_run=dry_run)

    # -- the start -----------------------------------------------------------------------
    def detect(self, state: WizardState) -> Platform:
        """Raises wizard.platform.PlatformError."""
        from clb_wizard.session import detect_platform

        return detect_platform(self.runner(), state.options())

    def addresses(self, state: WizardState, platform: Platform) -> Optional[HostAddresses]:
        """This host's addresses (lo and the others) when it is the live host, else None.
        Raises wizard.runner.RunnerError."""
        from clb_wizard.session import live_addresses

        return live_addresses(self.runner(), platform, state.options())

    def pending(self) -> Optional[Journal]:
        """The unfinished transaction the journal holds, if a run was interrupted."""
        from clb_wizard.transaction.journal import Store

        return Store(self.runner()).active()

    def recover(self, on_progress: Callable[[Progress], None]) -> Outcome:
        """Finish the interrupted transaction. Raises TransactionError, LockBusy."""
        from clb_wizard.transaction import Transaction

        return Transaction(self.runner(dry_run=False), on_progress=on_progress).recover()

    # -- the choices ---------------------------------------------------------------------
    def check_vips(self, state: WizardState, entries: list[str]) -> VipReport:
        """Raises VipError (the message is for the user as it is)."""
        from clb_wizard.vips import check_vips

        return check_vips(entries, state.clb_type, state.host_others)

    def plan(self, state: WizardState) -> Plan:
        """Raises VipError, PlatformError, MethodError, RunnerError."""
        from clb_wizard.session import prepare_plan

        return prepare_plan(self.runner(), state.options(), state.platform)

    # -- the change ----------------------------------------------------------------------
    def transaction(self, state: WizardState, on_progress: Callable[[Progress], None]) -> Any:
        """Something with Transaction.apply's signature."""
        from clb_wizard.transaction import Transaction

        return Transaction(self.runner(dry_run=state.dry_run), on_progress=on_progress)

    # -- the cloud -------------------------------------------------------------------------
    def cloud(self) -> Any:
        """The wizard.cloud module (fetch_clb, discover_clbs, metadata_defaults, ...)."""
        from clb_wizard import cloud

        return cloud
