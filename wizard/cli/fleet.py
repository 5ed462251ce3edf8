"""`clb-wizard export` and `clb-wizard report`: for support staff and fleets (issue 6).

    clb-wizard export --format ansible --vip V [--vip V...] [--type T] [--method M]
                      [--bundle FILE] --output DIR
    clb-wizard export --format script [--vip V...] [--bundle FILE] --output PATH
    clb-wizard report [--json] [--root DIR] [--vip V...] [--output FILE]

`--format ansible` writes a playbook that installs the portable bundle on each host and
runs clb-wizard there (clb_wizard.export.playbook). `--format script` is the name the
retired sh export had (issue 20): it now writes the bundle itself, which is a POSIX sh
file too, and says how to run it on the host.

Errors follow cli.main: invalid input raises one of the engine's input errors (VipError,
PlatformError, RunnerError, ExportError), which main turns into exit 2 with the reason on
stderr.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from clb_wizard.errors import ExitCode
from clb_wizard.files import FileRefused, write_output
from clb_wizard.methods import LINUX_METHODS
from clb_wizard.platform import METHODS, PlatformError
from clb_wizard.runner import RunnerError
from clb_wizard.service import Options, Service, checked_vips
from clb_wizard.vips import CLB_TYPES

EXPORT_FORMATS = ("ansible", "script")


def _write_output(text: str, output: str | None, default_name: str, mode: int) -> str | None:
    """Write to stdout, or into OUTPUT (a directory, created if needed, or a file path)
    in a directory no other user can change (files.write_output)."""
    if output is None:
        sys.stdout.write(text)
        return None
    try:
        target = write_output(output, text.encode(), mode, default_name)
    except FileRefused as exc:
        raise RunnerError(str(exc)) from None
    except OSError as exc:
        raise RunnerError(f"cannot write {output}: {exc.strerror}") from None
    print(f"Wrote {target}", file=sys.stderr)
    return str(target)


def _export_bundle(args: argparse.Namespace):
    from clb_wizard.export.playbook import find_bundle
    from clb_wizard.version import project_version

    return find_bundle(args.bundle, os.environ, project_version(unknown=""))


def cmd_export(args: argparse.Namespace) -> int:
    if args.format == "script":
        return _export_script(args)
    from clb_wizard.export.playbook import ExportError, playbook_vars, write_playbook
    from clb_wizard.version import project_version

    report = checked_vips(Options(vips=tuple(args.vip or ()), clb_type=args.type,
                                  force=args.force))
    if not args.output:
        raise ExportError("give a directory with --output: the playbook is several files "
                          "(the play, its variables and the bundle it installs).")
    if args.os:
        raise ExportError("--os is for previews: the playbook lets clb-wizard detect each "
                          "host's OS and method (--method M forces a method on every host).")
    bundle = _export_bundle(args)
    data = playbook_vars(report.vips, bundle, method=args.method)
    exported_by = f"clb-wizard {project_version(unknown='')}".strip()
    for path in write_playbook(Path(args.output), data, bundle, exported_by):
        print(f"Wrote {path}", file=sys.stderr)
    return ExitCode.OK


def _export_script(args: argparse.Namespace) -> int:
    """The retired sh script's name: the bundle (a POSIX sh file that installs and runs
    clb-wizard itself on the host), with a note on how to run it there."""
    from clb_wizard.export.playbook import ExportError, write_file

    if args.os:  # the old export needed one; a Windows host never ran it
        platform = Service().preview_platform(Options(os_override=args.os))
        if platform.family == "windows":
            raise PlatformError("Windows hosts get a PowerShell script: `clb-wizard plan "
                                "--os windows --vip V` shows it.")
    vips = checked_vips(Options(vips=tuple(args.vip or ()), clb_type=args.type,
                                force=args.force)).vips if args.vip else ()
    if not args.output:
        raise ExportError("give a file or directory with --output: the script is the "
                          "portable bundle (about 20 MB), not text for a terminal.")
    bundle = _export_bundle(args)
    target = Path(args.output)
    if target.is_dir() and not target.is_symlink():
        target = target / bundle.name
    write_file(target, bundle.content, 0o755)
    run = f"sudo sh {shlex.quote(target.name)}"
    change = " ".join(["apply", *(f"--vip {v}" for v in vips)]) if vips else "apply --vip V..."
    print(f"Wrote {target}: clb-wizard's portable bundle, {bundle.version} for "
          f"{bundle.arch} Linux.\n"
          "note: the exported sh script is retired: there is one engine, clb-wizard itself, "
          "and this file brings it to any Linux host, even one without Python (POSIX sh "
          "is enough). Copy it to the host, then run there:\n"
          f"  {run}    (the wizard)\n"
          f"  {run} {change}    (the change, verified, rolled back on failure)\n"
          f"  {run} rollback    (undo it)", file=sys.stderr)
    return ExitCode.OK


def cmd_report(args: argparse.Namespace) -> int:
    from clb_wizard.report import report_json, report_short, report_text

    service = Service(args.root)
    service.check_root()
    report = service.report(tuple(args.vip or ()), os_override=args.os, method=args.method)
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
        help="write an Ansible playbook that runs clb-wizard on every host of a fleet",
        description="Write an Ansible playbook into a directory, with the portable bundle "
        "it installs on each host (no Python needed there) and the variables of this "
        "change; each host then runs `clb-wizard apply` itself. `--format script` writes "
        "the bundle alone (it replaces the retired sh script).",
    )
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS,
                   help="ansible: the playbook, its variables and the bundle; script: the "
                   "bundle alone, to copy to one host")
    p.add_argument("--vip", action="append", metavar="V",
                   help="a CLB VIP (repeat, or comma-separate, for several EIPs)")
    p.add_argument("--type", choices=CLB_TYPES,
                   help="internal CLB (private VIP) or external CLB (public EIPs)")
    p.add_argument("--force", action="store_true",
                   help="acknowledge warnings such as a public VIP for an internal CLB")
    p.add_argument("--os", metavar="ID", help=argparse.SUPPRESS)  # the retired script's
    p.add_argument("--method", choices=LINUX_METHODS,
                   help="force this persistence method on every host (default: each host's "
                   "clb-wizard chooses, as `clb-wizard detect` shows)")
    p.add_argument("--bundle", metavar="FILE",
                   help="the portable bundle (clb-wizard-VERSION-linux-ARCH.run) to install "
                   "on the hosts (default: the one this clb-wizard was started from)")
    p.add_argument("--output", metavar="PATH",
                   help="ansible: a directory; script: a file or directory")
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
