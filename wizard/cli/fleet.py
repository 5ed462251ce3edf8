"""`clb-wizard export` and `clb-wizard report`: for support staff and fleets (issue 6).

    clb-wizard export --format ansible --vip V [--vip V...] [--type T] [--os ID] [--method M]
                      [--output DIR]
    clb-wizard export --format script --os ID --vip V [...] [--output PATH]
    clb-wizard report [--json] [--root DIR] [--vip V...] [--output FILE]

Errors follow cli.main: invalid input raises one of the engine's input errors (VipError,
PlatformError, RunnerError), which main turns into exit 2 with the reason on stderr. Not
cli.UsageError: under `python -m wizard.cli` that module is __main__, and an import of
wizard.cli from here would give a second UsageError class that main does not catch.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clb_wizard.errors import ExitCode
from clb_wizard.files import FileRefused, atomic_write
from clb_wizard.methods import LINUX_METHODS
from clb_wizard.platform import METHODS, PlatformError
from clb_wizard.runner import Runner, RunnerError
from clb_wizard.service import Options, Service, checked_vips, detect_platform
from clb_wizard.vips import CLB_TYPES

EXPORT_FORMATS = ("ansible", "script")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("clb-wizard")
    except Exception:  # not installed (run from a checkout)
        return ""


def _write_output(text: str, output: str | None, default_name: str, mode: int) -> str | None:
    """Write to stdout, or into OUTPUT (a directory, created if needed, or a file path)."""
    if output is None:
        sys.stdout.write(text)
        return None
    target = Path(output)
    if target.is_symlink():  # to a directory or a file: either way, not followed
        raise RunnerError(f"{target} is a symbolic link: refusing to write through it or "
                          "replace it. Remove it, or choose another name.")
    if target.is_dir() or output.endswith("/") or not target.suffix:
        target.mkdir(parents=True, exist_ok=True)
        target = target / default_name
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
    try:  # the directory may be one other users can write (/tmp): files.atomic_write
        atomic_write(target, text.encode(), mode, prefix=f".{target.name}.")
    except FileRefused as exc:
        raise RunnerError(str(exc)) from None
    except OSError as exc:
        raise RunnerError(f"cannot write {target}: {exc.strerror}") from None
    print(f"Wrote {target}", file=sys.stderr)
    return str(target)


def _export_platform(args: argparse.Namespace):
    # No root: the target's OS comes from --os alone, never from this machine.
    return detect_platform(Runner(root=Path("/nonexistent")),
                           Options(os_override=args.os, method=args.method))


def cmd_export(args: argparse.Namespace) -> int:
    report = checked_vips(Options(vips=tuple(args.vip or ()), clb_type=args.type,
                                  force=args.force))
    if args.format == "script":
        from clb_wizard.export.profile import build_profile
        from clb_wizard.export.script import render_script_text, script_filename

        if not args.os:
            raise PlatformError("export --format script needs --os ID (the host's OS, e.g. "
                             "centos-7 or ubuntu-18.04): the script is made for one host.")
        profile = build_profile(_export_platform(args), report.vips)
        _write_output(render_script_text(profile, _version()), args.output,
                      script_filename(profile), 0o755)
        return ExitCode.OK
    from clb_wizard.export.ansible import PLAYBOOK_NAME, render_playbook

    platform = _export_platform(args) if args.os else None
    text = render_playbook(report.vips, platform=platform, method=args.method,
                           version=_version())
    _write_output(text, args.output, PLAYBOOK_NAME, 0o644)
    return ExitCode.OK


def cmd_report(args: argparse.Namespace) -> int:
    from clb_wizard.report import build_report, report_json, report_short, report_text

    service = Service(args.root)
    service.check_root()
    runner = service.runner(dry_run=False)
    report = build_report(runner, vips=tuple(args.vip or ()), os_override=args.os,
                          method=args.method)
    text = (report_json(report) if args.json else
            report_short(report) if args.short else report_text(report))
    if args.output:
        _write_output(text, args.output, "clb-wizard-report.json" if args.json
                      else "clb-wizard-report.txt", 0o600)
    else:
        sys.stdout.write(text)
    return ExitCode.OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add the fleet subcommands to the CLI's parser."""
    p = sub.add_parser(
        "export",
        help="write an Ansible playbook or a POSIX sh script that makes the same change",
        description="Export the change as an Ansible playbook (for a fleet) or as one POSIX "
        "sh script (for a host whose Python is older than 3.9). File contents come from "
        "the same renderers as `clb-wizard apply`.",
    )
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS,
                   help="ansible: one playbook file; script: one sh script for one host")
    p.add_argument("--vip", action="append", metavar="V",
                   help="a CLB VIP (repeat, or comma-separate, for several EIPs)")
    p.add_argument("--type", choices=CLB_TYPES,
                   help="internal CLB (private VIP) or external CLB (public EIPs)")
    p.add_argument("--force", action="store_true",
                   help="acknowledge warnings such as a public VIP for an internal CLB")
    p.add_argument("--os", metavar="ID",
                   help="the target OS (e.g. centos-7, ubuntu-18.04); required for a script. "
                   "For ansible: pin the playbook to that OS's method")
    p.add_argument("--method", choices=LINUX_METHODS,
                   help="override the persistence method")
    p.add_argument("--output", metavar="PATH",
                   help="write into this directory (or file) instead of stdout")
    p.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "report",
        help="what support asks for first: OS, stack, lo, our files, sysctls, last change",
        description="A support report: OS and network stack, the addresses on lo, the files "
        "clb-wizard manages, the ARP and rp_filter sysctls, the last transaction and the "
        "verification results. It holds no secrets (no keys, no passwords).",
    )
    p.add_argument("--root", default="/", metavar="DIR",
                   help="the system's root directory (default /); kernel facts only for /")
    p.add_argument("--os", metavar="ID", help="assume this OS")
    p.add_argument("--method", choices=METHODS, help="override the persistence method")
    p.add_argument("--vip", action="append", metavar="V",
                   help="verify these VIPs (default: those of the last change)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--short", action="store_true",
                   help="one 80x24 screen: the headline and the status code first")
    p.add_argument("--output", metavar="FILE", help="save the report to FILE (mode 0600)")
    p.set_defaults(func=cmd_report)
