"""`clb-wizard`: with no COMMAND the wizard (screens/), with one the scriptable face
(clb_wizard.cli.commands). Neither the engine nor Textual is imported here up front, so the
wizard's first frame waits for neither (the TUI loads the engine as it needs it)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, Optional

from clb_wizard.errors import ExitCode


def add_wizard_flags(parser: Any, methods: Optional[Sequence[str]] = None) -> None:
    """The wizard's flags (no COMMAND), on the quick parser here and on the full one."""
    parser.add_argument("--root", dest="tui_root", default="/", metavar="DIR",
                        help="walk through the system under DIR (a preview: implies --dry-run)")
    parser.add_argument("--os", dest="tui_os", metavar="ID", help="assume this OS (a preview)")
    parser.add_argument("--method", dest="tui_method", choices=methods,
                        help="override the persistence method")
    parser.add_argument("--dry-run", dest="tui_dry_run", action="store_true",
                        help="show every step without changing anything")
    parser.add_argument("--keys-file", dest="tui_keys_file", metavar="FILE",
                        help="cloud API keys for Fetch, from FILE (UCLOUD_PUBLIC_KEY=... "
                        "lines, mode 0600)")


def _wizard_options(argv: list[str]) -> Optional[argparse.Namespace]:
    """The wizard's options when argv holds nothing else (no COMMAND, no --help)."""
    parser = argparse.ArgumentParser(prog="clb-wizard", add_help=False, exit_on_error=False)
    add_wizard_flags(parser)  # --method is checked by the wizard's detection
    try:
        known, rest = parser.parse_known_args(argv)
    except argparse.ArgumentError:
        return None  # the full parser in wizard.commands says what is wrong
    return None if rest else known


def _wizard_settings(args: argparse.Namespace) -> Optional[str]:
    """Check --os and --keys-file before the wizard opens (the Fetch form reads the keys
    file itself when it opens: the keys never go into this process's environment); the
    error to print, or None."""
    from clb_wizard.errors import ClbWizardError

    try:
        if args.tui_os:
            from clb_wizard.cli.os_choice import check_os

            check_os(args.tui_os)
        if getattr(args, "tui_keys_file", None):
            from clb_wizard.cloud.credentials import load_keys_file

            load_keys_file(args.tui_keys_file)  # refused now, with the fix, if unsafe
    except ClbWizardError as exc:
        return str(exc)
    return None


def run_wizard_with(args: argparse.Namespace) -> int:
    """The TUI (clb_wizard.service.Launch decides what the flags imply)."""
    problem = _wizard_settings(args)
    if problem:
        print(f"clb-wizard: {problem}", file=sys.stderr)
        return ExitCode.INVALID
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        print("clb-wizard: the wizard needs a terminal; use a COMMAND for scripts "
              "(clb-wizard --help).", file=sys.stderr)
        return ExitCode.INVALID
    os_override = args.tui_os
    if os_override:  # rocky-9: which minor? (9.0 and 9.1 get another method)
        from clb_wizard.cli.os_choice import ask_minor

        try:
            os_override = ask_minor(os_override, input)
        except (EOFError, KeyboardInterrupt):
            return ExitCode.INVALID
    from clb_wizard.screens.app import run_wizard

    return run_wizard(root=args.tui_root, os_override=os_override, method=args.tui_method,
                      dry_run=args.tui_dry_run, keys_file=getattr(args, "tui_keys_file", None))


def main(argv: Optional[list[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:
        from clb_wizard.version import version_text

        print(version_text())
        return ExitCode.OK
    wizard = _wizard_options(args)
    if wizard is not None:
        return run_wizard_with(wizard)
    from clb_wizard.cli.commands import main as run_command

    return run_command(args)


if __name__ == "__main__":
    sys.exit(main())
