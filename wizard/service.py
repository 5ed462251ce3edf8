"""The service both faces call: the CLI (clb_wizard.cli) and the wizard (screens/) only
present what these functions decide.

What a user chooses is `Options`; `Launch` is how a run starts (which root, preview or
not, dry run or not, the confirm timer's default); `Service` is the engine's calls on one
root (detect, this host's addresses, the VIPs clb-wizard already manages, check, plan,
apply, roll back, recover). The rules live here once:
- `--root DIR` or `--os ID` describes another system: a preview, so always a dry run;
- without root only a dry run can work;
- the confirm timer is on by default (CONFIRM_SECONDS) only in an interactive SSH session
  that really changes something, so `ssh host clb-wizard apply --yes` is never reverted.

The engine modules are imported inside the functions that use them: the wizard imports
this module before its first frame, which must not wait for them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from clb_wizard.facts import HostAddresses
    from clb_wizard.plan import Plan
    from clb_wizard.platform import Platform
    from clb_wizard.runner import FileState, Runner
    from clb_wizard.transaction import Outcome, Progress, Transaction
    from clb_wizard.transaction.journal import Journal
    from clb_wizard.vips import VipReport

CONFIRM_SECONDS = 120.0


@dataclass(frozen=True)
class Options:
    vips: tuple[str, ...] = ()
    clb_type: Optional[str] = None
    os_override: Optional[str] = None
    method: Optional[str] = None
    force: bool = False
    arp_sysctls: bool = False


# -- how a run starts ---------------------------------------------------------------------
def is_preview(root: str | Path, os_override: Optional[str]) -> bool:
    """Files of another system (--root) or another OS assumed (--os): a preview."""
    return str(root) not in ("/", "") or bool(os_override)


def default_confirm_seconds(env: Mapping[str, str], *, interactive: bool,
                            dry_run: bool) -> Optional[float]:
    """The confirm timer's default: on in an interactive SSH session that changes the host
    (a change that cuts the session off undoes itself); off for automation and dry runs."""
    if env.get("SSH_CONNECTION") and interactive and not dry_run:
        return CONFIRM_SECONDS
    return None


@dataclass(frozen=True)
class Launch:
    """How this run was started: the wizard's flags and what they imply."""

    root: str = "/"
    os_override: Optional[str] = None
    method: Optional[str] = None
    dry_run_asked: bool = False
    is_root: bool = True
    ssh: bool = False

    @classmethod
    def from_flags(cls, root: str, os_override: Optional[str], method: Optional[str],
                   dry_run: bool, *, is_root: Optional[bool] = None,
                   env: Optional[Mapping[str, str]] = None) -> Launch:
        env = os.environ if env is None else env
        return cls(root=root or "/", os_override=os_override, method=method,
                   dry_run_asked=dry_run, is_root=os.geteuid() == 0 if is_root is None
                   else is_root, ssh=bool(env.get("SSH_CONNECTION")))

    @property
    def preview(self) -> bool:
        return is_preview(self.root, self.os_override)

    @property
    def dry_run(self) -> bool:
        """A preview, a user's --dry-run, or no root (nothing else can work then)."""
        return self.dry_run_asked or self.preview or not self.is_root

    @property
    def confirm_by_default(self) -> bool:
        env = {"SSH_CONNECTION": "yes"} if self.ssh else {}
        return default_confirm_seconds(env, interactive=True, dry_run=self.dry_run) is not None


# -- systems the wizard cannot run on -------------------------------------------------------
# The Python each release ships, where it is older than the 3.9 clb-wizard needs: the
# portable file runs the wizard there (clb_wizard.handoff says how to get it onto the host).
SCRIPT_NAME = "clb-wizard-lo.sh"


def old_python(platform: Platform) -> Optional[str]:
    """The stock Python of a release clb-wizard cannot run on, or None."""
    from clb_wizard.handoff import stock_python

    return stock_python(platform)


def export_commands(platform: Platform, vips: Sequence[str], clb_type: Optional[str]
                    ) -> dict[str, str]:
    """Commands that carry a change to a host without the wizard: the sh script (made here,
    copied over, run there) and the UserData for a new host."""
    flags = f"--os {platform.key} " + " ".join(f"--vip {v}" for v in vips)
    kind = f" --type {clb_type}" if clb_type else ""
    return {
        "script": f"clb-wizard export --format script {flags}{kind} --output {SCRIPT_NAME}",
        "copy": f"scp {SCRIPT_NAME} root@HOST:/root/",
        "run": f"ssh -t root@HOST sh /root/{SCRIPT_NAME}",
        "userdata": f"clb-wizard userdata {flags}{kind} > userdata.txt",
    }


# -- this host ------------------------------------------------------------------------------
def host_ipv4s(addresses: Optional[HostAddresses]) -> tuple[str, ...]:
    """This host's IPv4 addresses on its network cards (not lo), e.g. to find it among a
    CLB's backends; () when unknown (a preview)."""
    if addresses is None:
        return ()
    return tuple(a.split("/")[0] for addrs in addresses.others.values() for a in addrs
                 if ":" not in a)


def detect_platform(runner: Runner, options: Options) -> Platform:
    """The platform and its method; a host no method fits is refused with the commands
    that put these VIPs on lo by hand (nothing is changed)."""
    from clb_wizard.errors import PlatformError
    from clb_wizard.methods import NoMethodFits
    from clb_wizard.platform import detect, with_method
    from clb_wizard.vips import VipError, check_vips

    try:
        platform = detect(runner, options.os_override)
    except NoMethodFits as exc:
        try:
            vips: tuple[str, ...] = check_vips(options.vips).vips if options.vips else ()
        except VipError:
            vips = ()
        raise PlatformError(exc.with_vips(vips)) from None
    return with_method(platform, options.method) if options.method else platform


def live_addresses(runner: Runner, platform: Platform, options: Options) -> Optional[HostAddresses]:
    """The host's addresses, only when planning for this very host (not a preview)."""
    from clb_wizard.facts import read_addresses
    from clb_wizard.methods import get_method

    host_os = get_method(platform.method).host_os
    if runner.is_live_root and not options.os_override and host_os == "linux":
        return read_addresses(runner)
    return None


# -- the VIP set: what is kept, added and taken out of service --------------------------------
CHANGES = ("replace", "add", "remove")


def combine_vips(change: str, managed: Sequence[str], given: Sequence[str]) -> tuple[str, ...]:
    """The VIP set after `change`: "add" keeps every VIP clb-wizard manages and adds the
    given ones; "remove" takes exactly the given ones away; "replace" is the given set.
    Raises VipError for a removal of a VIP not managed here, or of every VIP."""
    from clb_wizard.vips import VipError, parse_vips

    given_ips = [str(ip) for ip in parse_vips(given)] if given else []
    if change == "add":
        return tuple(managed) + tuple(v for v in given_ips if v not in managed)
    if change == "remove":
        unknown = [v for v in given_ips if v not in managed]
        if unknown:
            raise VipError(f"{', '.join(unknown)}: not a VIP clb-wizard manages on this host "
                           f"(it manages {', '.join(managed) or 'none'}). Nothing was changed.")
        left = tuple(v for v in managed if v not in given_ips)
        if not left:
            raise VipError("That would remove every VIP: `clb-wizard rollback` undoes the last "
                           "change, or keep at least one VIP. Nothing was changed.")
        return left
    return tuple(given_ips)


def leaving_service(removed: Sequence[str]) -> str:
    """The plain words for VIPs a plan takes out of service (both faces show them)."""
    these = ", ".join(removed)
    one = len(removed) == 1
    return (f"{these} {'is' if one else 'are'} on this host now and will be taken out of "
            f"service: {'it stops' if one else 'they stop'} answering here.")


# -- the plan ------------------------------------------------------------------------------
def checked_vips(options: Options, addresses: Optional[HostAddresses] = None) -> VipReport:
    """The VIPs validated; warnings (type mismatch) raise unless acknowledged (force)."""
    from clb_wizard.vips import VipError, check_vips

    report = check_vips(options.vips, options.clb_type, addresses.others if addresses else None)
    if report.warnings and not options.force:
        raise VipError(
            " ".join(report.warnings) + " If this is really what you want, acknowledge it "
            "with --force (or the confirmation in the wizard)."
        )
    return report


def prepare_plan(runner: Runner, options: Options, platform: Optional[Platform] = None) -> Plan:
    """Detect, validate and plan. Raises VipError, PlatformError, MethodError, RunnerError.

    Type-mismatch warnings raise VipError unless `options.force` acknowledges them.
    """
    from clb_wizard import sysctls
    from clb_wizard.facts import read_sysctl
    from clb_wizard.plan import build_plan, gather

    platform = platform or detect_platform(runner, options)
    addresses = live_addresses(runner, platform, options)
    report = checked_vips(options, addresses)
    sysctl_values = None
    if options.arp_sysctls:
        sysctl_values = {name: read_sysctl(name) for name in sysctls.WANTED}
    snapshot = gather(runner, platform.method)
    if not platform.detected:
        snapshot = _assume_stock_files(snapshot, platform)
    return build_plan(platform, report, snapshot, addresses, sysctl_values)


def _assume_stock_files(snapshot: dict[str, FileState], platform: Platform):
    """An --os preview of a system we are not on: files the OS always ships that are
    missing under the root are taken as shipped (Debian's interfaces sources the dir)."""
    from clb_wizard.methods import get_method
    from clb_wizard.platform import release_of
    from clb_wizard.runner import FileState

    stock = get_method(platform.method).stock_files(release_of(platform))
    missing = {path: FileState(text.encode()) for path, text in stock.items()
               if not snapshot.get(path, FileState(None)).exists}
    return {**snapshot, **missing}


# -- the engine's calls on one root ----------------------------------------------------------
class Service:
    """Everything either face does to a host, on the system under `root`. The wizard's
    tests hand the app a subclass (a scripted transaction where no real host can be had
    in-process; tests/ui/fakes.py)."""

    def __init__(self, root: str | Path = "/", *, is_root: Optional[bool] = None) -> None:
        self.root = Path(root or "/")
        self.is_root = os.geteuid() == 0 if is_root is None else is_root

    def check_root(self) -> None:
        """Raises RunnerError when the root is not a directory (bad --root)."""
        from clb_wizard.runner import RunnerError

        if not self.root.is_dir():
            raise RunnerError(f"--root {self.root}: no such directory.")

    def runner(self, dry_run: bool = True) -> Runner:
        from clb_wizard.runner import Runner

        return Runner(root=self.root, dry_run=dry_run)

    # -- finding out -------------------------------------------------------------------------
    def detect(self, options: Options) -> Platform:
        """Raises PlatformError."""
        return detect_platform(self.runner(), options)

    def addresses(self, options: Options, platform: Platform) -> Optional[HostAddresses]:
        """This host's addresses (lo and the others) when it is the live host, else None.
        Raises RunnerError."""
        return live_addresses(self.runner(), platform, options)

    def host_ipv4s(self) -> tuple[str, ...]:
        """This host's own IPv4 addresses when it is the live host, else ()."""
        from clb_wizard.facts import read_addresses

        runner = self.runner()
        return host_ipv4s(read_addresses(runner)) if runner.is_live_root else ()

    def managed_vips(self, platform: Platform) -> tuple[str, ...]:
        """The VIPs clb-wizard's own files configure now (earlier runs' work)."""
        from clb_wizard.methods import get_method
        from clb_wizard.plan import gather

        files = {path: state.text for path, state in gather(self.runner(), platform.method).items()}
        return tuple(get_method(platform.method).configured_vips(files))

    def pending(self) -> Optional[Journal]:
        """The unfinished transaction the journal holds, if a run was interrupted."""
        from clb_wizard.transaction.journal import Store

        return Store(self.runner()).active()

    # -- choosing and planning ---------------------------------------------------------------
    def check_vips(self, options: Options, addresses: Optional[HostAddresses] = None
                   ) -> VipReport:
        """The VIPs checked (not this host's own addresses); warnings are returned, not
        raised. Raises VipError (the message is for the user as it is)."""
        from clb_wizard.vips import check_vips

        return check_vips(options.vips, options.clb_type,
                          addresses.others if addresses is not None else None)

    def plan(self, options: Options, platform: Optional[Platform] = None) -> Plan:
        """Raises VipError, PlatformError, MethodError, RunnerError."""
        return prepare_plan(self.runner(), options, platform)

    # -- changing --------------------------------------------------------------------------
    def transaction(self, dry_run: bool, on_progress: Optional[Callable[[Progress], None]]
                    = None) -> Transaction:
        from clb_wizard.transaction import Transaction

        return Transaction(self.runner(dry_run=dry_run), on_progress=on_progress)

    def rollback_last(self, on_progress: Callable[[Progress], None]) -> Outcome:
        """Undo the last kept change. Raises TransactionError, LockBusy."""
        return self.transaction(False, on_progress).rollback_last()

    def recover(self, on_progress: Callable[[Progress], None]) -> Outcome:
        """Finish the interrupted transaction. Raises TransactionError, LockBusy."""
        return self.transaction(False, on_progress).recover()

    def cloud(self) -> Any:
        """The clb_wizard.cloud module (fetch_clb, discover_clbs, metadata_defaults, ...)."""
        from clb_wizard import cloud

        return cloud
