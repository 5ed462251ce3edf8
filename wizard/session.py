"""From user input to a plan: the engine calls the CLI and the TUI share.

`Options` is what a user chooses (VIPs, CLB type, OS override, method, root);
`prepare_plan` detects the platform, validates the VIPs against this host and builds
the plan. Neither face holds logic the other lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from clb_wizard import sysctls
from clb_wizard.facts import HostAddresses, read_addresses, read_sysctl
from clb_wizard.methods.ifupdown import MAIN as IFUPDOWN_MAIN
from clb_wizard.plan import Plan, build_plan, gather
from clb_wizard.platform import Platform, detect, with_method
from clb_wizard.runner import FileState, Runner
from clb_wizard.vips import VipError, VipReport, check_vips


@dataclass(frozen=True)
class Options:
    vips: tuple[str, ...] = ()
    clb_type: Optional[str] = None
    os_override: Optional[str] = None
    method: Optional[str] = None
    force: bool = False
    arp_sysctls: bool = False


def detect_platform(runner: Runner, options: Options) -> Platform:
    platform = detect(runner, options.os_override)
    return with_method(platform, options.method) if options.method else platform


def live_addresses(runner: Runner, platform: Platform, options: Options) -> Optional[HostAddresses]:
    """The host's addresses, only when planning for this very host (not a preview)."""
    if runner.is_live_root and not options.os_override and platform.family != "windows":
        return read_addresses(runner)
    return None


def checked_vips(options: Options, addresses: Optional[HostAddresses] = None) -> VipReport:
    """The VIPs validated; warnings (type mismatch) raise unless acknowledged (force)."""
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
    if platform.method == "ifupdown" and not snapshot.get(IFUPDOWN_MAIN, FileState(None)).exists:
        stock = STOCK_INTERFACES_16_04 if platform.release == "ubuntu-16.04" else STOCK_INTERFACES
        return {**snapshot, IFUPDOWN_MAIN: FileState(stock.encode())}
    return snapshot


STOCK_INTERFACES = "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n"
STOCK_INTERFACES_16_04 = (
    "source-directory /etc/network/interfaces.d\n\nauto lo\niface lo inet loopback\n"
)
