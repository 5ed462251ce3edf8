"""`clb-wizard decode CODE` and `clb-wizard replay REPORT.json`: for support staff helping a
console user over the phone (issue 23).

    clb-wizard decode RK9.4-NM-2-S1-OK-2 [--json]
    clb-wizard replay REPORT.json [--into DIR] [--vip V ... [--type T]] [--json]

`replay` rebuilds the customer's system from their report (clb_wizard.replay) and opens
the wizard on it as a preview (`--root DIR`: nothing on this machine changes); with --vip,
or without a terminal, it prints the Preview (`plan`) for those VIPs instead. The rebuilt
root is removed afterwards unless --into DIR says where to keep it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from clb_wizard.errors import ExitCode, InputError
from clb_wizard.vips import CLB_TYPES


def cmd_decode(args: argparse.Namespace) -> int:
    from clb_wizard.statuscode import decode

    found = [decode(code) for code in args.code]  # InputError: exit 2, says why
    if args.json:
        json.dump([{"code": code, "os_id": f.os_id, "version": f.version, "method": f.method,
                    "vips": f.vip_count, "arp_sysctls": f.arp_sysctls, "verdict": f.verdict}
                   for code, f in zip(args.code, found)], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return ExitCode.OK
    for n, (code, facts) in enumerate(zip(args.code, found)):
        print(("\n" if n else "") + f"{code.strip().upper()}:")
        print("\n".join(f"  {line}" for line in facts.describe()))
    return ExitCode.OK


def _into(args: argparse.Namespace) -> Path:
    if args.into is None:
        return Path(tempfile.mkdtemp(prefix="clb-wizard-replay."))
    target = Path(args.into)
    if target.exists() and (target.is_symlink() or not target.is_dir() or any(target.iterdir())):
        raise InputError(f"--into {target}: give a new or empty directory.")
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    return target


def cmd_replay(args: argparse.Namespace) -> int:
    from clb_wizard.replay import build_root, load_report

    report = load_report(args.report)
    root = _into(args)
    try:
        replayed = build_root(report, root)
        out = sys.stderr if args.json else sys.stdout
        print("\n".join(replayed.summary(report)), file=out)
        vips = list(args.vip or ())
        if vips or args.json or not (sys.stdin.isatty() and sys.stdout.isatty()):
            return _print_preview(args, root, replayed, vips or replayed.vips)
        print("Opening the wizard on it (a preview: nothing on this machine changes)...",
              flush=True)
        from clb_wizard.cli import run_wizard_with

        return run_wizard_with(argparse.Namespace(
            tui_root=str(root), tui_os=None, tui_method=replayed.method_override,
            tui_dry_run=True, tui_keys_file=None))
    finally:
        if args.into is None:
            shutil.rmtree(root, ignore_errors=True)


def _print_preview(args: argparse.Namespace, root: Path, replayed, vips: list[str]) -> int:
    """The customer's Preview for `vips`, as `clb-wizard plan --root ROOT` prints it."""
    from clb_wizard.cli.commands import print_plan
    from clb_wizard.runner import Runner
    from clb_wizard.service import Options, prepare_plan

    if not vips:
        raise InputError("the report names no VIP (nothing verified, no change recorded): "
                         "give the VIPs to preview with --vip.")
    plan = prepare_plan(Runner(root=root), Options(vips=tuple(vips), clb_type=args.type,
                                                   method=replayed.method_override,
                                                   force=args.force))
    if args.json:
        json.dump(plan.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"\nThe customer's Preview for {', '.join(plan.vips)}:\n")
        print_plan(plan)
    return ExitCode.OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("decode", help="turn a status code read out by a user into words",
                       description="Decode the status code the wizard's Verify and Done "
                       "screens and `report --short` show (e.g. RK9.4-NM-2-S1-OK-2): OS, "
                       "method, VIP count, ARP sysctls, verdict. The check digit catches a "
                       "misheard character.")
    p.add_argument("code", nargs="+", metavar="CODE", help="one or more status codes")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_decode)
    p = sub.add_parser("replay", help="open the wizard on a system rebuilt from a customer's "
                       "report (a preview: changes nothing)",
                       description="Rebuild a customer's system from `clb-wizard report "
                       "--json` (os-release, the network files, what is installed) in a "
                       "temporary root and open the wizard on it as a preview, so you see "
                       "exactly the customer's Preview. Nothing on this machine changes.")
    p.add_argument("report", metavar="REPORT.json", help="the customer's JSON report")
    p.add_argument("--into", metavar="DIR", help="rebuild into DIR (new or empty) and keep it "
                   "(default: a temporary directory, removed afterwards)")
    p.add_argument("--vip", action="append", metavar="V", help="print the Preview for these "
                   "VIPs instead of opening the wizard (default VIPs: the report's)")
    p.add_argument("--type", choices=CLB_TYPES, help="the CLB type, for --vip")
    p.add_argument("--force", action="store_true", help="acknowledge VIP type warnings")
    p.add_argument("--json", action="store_true", help="print the Preview as the JSON plan")
    p.set_defaults(func=cmd_replay)


__all__ = ["register"]
