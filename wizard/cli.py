"""The scriptable face: `clb-wizard detect|plan|userdata|...`; no subcommand opens the TUI.

Exit codes: 0 success (or nothing to change), 2 invalid input (nothing changed; the
reason on stderr), 3 activation or verification failed and the host was rolled back,
4 the rollback itself failed (the manual steps are printed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Optional

from .methods.base import MethodError
from .plan import Plan
from .platform import METHODS, PlatformError, detect
from .runner import Runner, RunnerError
from .session import Options, detect_platform, prepare_plan
from .userdata import render_userdata
from .vips import CLB_TYPES, VipError

EXIT_OK, EXIT_INVALID, EXIT_ROLLED_BACK, EXIT_ROLLBACK_FAILED = 0, 2, 3, 4
INPUT_ERRORS = (VipError, PlatformError, MethodError, RunnerError)


class UsageError(Exception):
    """Invalid input found by the CLI itself (exit 2)."""


def _emit_json(data: dict) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def _runner(args: argparse.Namespace, dry_run: bool = False) -> Runner:
    root = Path(args.root)
    if not root.is_dir():
        raise UsageError(f"--root {args.root}: no such directory.")
    return Runner(root=root, dry_run=dry_run)


def _options(args: argparse.Namespace) -> Options:
    return Options(
        vips=tuple(getattr(args, "vip", None) or ()),
        clb_type=getattr(args, "type", None),
        os_override=getattr(args, "os", None),
        method=getattr(args, "method", None),
        force=getattr(args, "force", False),
    )


def print_plan(plan: Plan, out=sys.stdout) -> None:
    p = plan.platform
    out.write(f"Host: {p.name} ({p.key}); method: {plan.method}\n")
    kind = f" ({plan.clb_type} CLB)" if plan.clb_type else ""
    out.write(f"VIPs: {', '.join(plan.vips)}{kind}\n")
    for warning in plan.warnings:
        out.write(f"WARNING: {warning}\n")
    for note in plan.notes:
        out.write(f"note: {note}\n")
    if not plan.changed:
        out.write("No change needed.\n")
        return
    for change in plan.files:
        out.write(f"\n== {change.action} {change.path} (mode {change.mode:04o})\n")
        out.write(change.diff())
    if plan.commands:
        out.write("\nCommands, in order:\n")
        for n, command in enumerate(plan.commands, 1):
            out.write(f"  {n}. {command.shell()}    # {command.why}\n")
    out.write("\nThen verify:\n")
    for check in plan.checks:
        out.write(f"  - {check.description}\n")


# -- commands ----------------------------------------------------------------------------
def cmd_detect(args: argparse.Namespace) -> int:
    runner = _runner(args)
    platform = detect_platform(runner, _options(args))
    if args.json:
        _emit_json(platform.to_json())
        return EXIT_OK
    print(f"OS:      {platform.name} ({platform.key})")
    print(f"Stack:   {platform.stack.describe()}")
    print(f"Method:  {platform.method}")
    for reason in platform.reasons:
        print(f"         {reason}")
    for package in platform.packages:
        print(f"Needs:   package {package}")
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    plan = prepare_plan(_runner(args), _options(args))
    if args.json:
        _emit_json(plan.to_json())
    else:
        print_plan(plan)
    return EXIT_OK


def cmd_userdata(args: argparse.Namespace) -> int:
    platform = detect(Runner(), args.os)
    if args.method:
        from .platform import with_method

        platform = with_method(platform, args.method)
    from .vips import check_vips

    report = check_vips(args.vip, args.type)
    if report.warnings and not args.force:
        raise VipError(" ".join(report.warnings) + " Acknowledge with --force.")
    sys.stdout.write(render_userdata(platform, report.vips))
    return EXIT_OK


# -- parser ------------------------------------------------------------------------------
def _common(p: argparse.ArgumentParser, *, vips: bool, root: bool = True) -> None:
    if root:
        p.add_argument("--root", default="/", metavar="DIR",
                       help="the system's root directory (default /); files are read under it")
    p.add_argument("--os", metavar="ID",
                   help="assume this OS (os-release ID-VERSION_ID, e.g. rocky-9, ubuntu-22.04)")
    p.add_argument("--method", choices=METHODS, help="override the persistence method")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    if vips:
        p.add_argument("--vip", action="append", metavar="V",
                       help="a CLB VIP (repeat, or comma-separate, for several EIPs)")
        p.add_argument("--type", choices=CLB_TYPES,
                       help="internal CLB (private VIP) or external CLB (public EIPs)")
        p.add_argument("--force", action="store_true",
                       help="acknowledge warnings such as a public VIP for an internal CLB")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clb-wizard",
        description="Put a Classic Load Balancer's VIPs on this backend's loopback "
        "(message forwarding mode). Without a command, opens the wizard.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("detect", help="show the OS, network stack and method")
    _common(p, vips=False)
    p.set_defaults(func=cmd_detect)
    p = sub.add_parser("plan", help="show the exact change (diff and commands); changes nothing")
    _common(p, vips=True)
    p.set_defaults(func=cmd_plan)
    p = sub.add_parser("userdata", help="print cloud-init UserData for a new host")
    _common(p, vips=True, root=False)
    p.set_defaults(func=cmd_userdata)
    return parser


def _fail(message: str, as_json: bool) -> int:
    print(f"clb-wizard: {message}", file=sys.stderr)
    if as_json:
        _emit_json({"ok": False, "error": message})
    return EXIT_INVALID


def main(argv: Optional[list[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Optional[Callable[[argparse.Namespace], int]] = getattr(args, "func", None)
    if func is None:
        parser.print_usage()
        return EXIT_OK
    if getattr(args, "vip", "unset") is None and args.command in ("plan", "userdata"):
        return _fail("give at least one --vip (the CLB's VIP, or each EIP).", args.json)
    if args.command == "userdata" and not args.os:
        return _fail("userdata needs --os ID (the new host's OS, e.g. ubuntu-22.04).", args.json)
    try:
        return func(args)
    except (UsageError, *INPUT_ERRORS) as exc:
        return _fail(str(exc), getattr(args, "json", False))
    except BrokenPipeError:  # `clb-wizard plan ... | head`
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
