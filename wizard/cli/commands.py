"""The scriptable face: `clb-wizard detect|plan|apply|...` (clb_wizard/cli/__init__.py sends the
no-COMMAND case to the TUI before this module, and the engine it imports, loads). It parses
arguments and prints; everything it does to a host goes through clb_wizard.service.Service.

Exit codes: 0 success (or nothing to change), 1 `verify` found a failing fact, 2 invalid
input (nothing changed; the reason on stderr), 3 activation or verification failed and the
host was rolled back, 4 the rollback itself failed (the manual steps are printed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import shutil
import sys
import textwrap
from typing import Callable, Optional

from clb_wizard.cli import add_wizard_flags
from clb_wizard.cli.change import (
    APPLY_COMMANDS,
    add_apply_args,
    add_arp_sysctls,
    removal_refused,
)
from clb_wizard.cli.fleet import register as register_fleet
from clb_wizard.cli.saying import say, waiting
from clb_wizard.cli.support import register as register_support
from clb_wizard.errors import ClbWizardError, ExitCode, UsageError
from clb_wizard.export.userdata import render_userdata
from clb_wizard.files import terminal_safe
from clb_wizard.plan import Plan
from clb_wizard.platform import METHODS
from clb_wizard.service import (
    Options,
    Service,
    checked_vips,
    default_confirm_seconds,
    is_preview,
    leaving_service,
)
from clb_wizard.transaction import Outcome, Progress
from clb_wizard.verify import Fact
from clb_wizard.vips import CLB_TYPES


def _emit_json(data: dict) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def _service(args: argparse.Namespace) -> Service:
    """The command's one Service, on --root (checked to be a directory)."""
    service = Service(getattr(args, "root", "/"))
    service.check_root()
    return service


def _options(args: argparse.Namespace) -> Options:
    return Options(
        vips=tuple(getattr(args, "vip", None) or ()),
        clb_type=getattr(args, "type", None),
        os_override=getattr(args, "os", None),
        method=getattr(args, "method", None),
        force=getattr(args, "force", False),
        arp_sysctls=getattr(args, "arp_sysctls", False),
    )


def print_plan(plan: Plan, out=None) -> None:
    out = out or sys.stdout  # looked up now: stdout may have been redirected since import
    p = plan.platform
    out.write(f"Host: {p.name} ({p.key}); method: {plan.method}\n")
    kind = f" ({plan.clb_type} CLB)" if plan.clb_type else ""
    out.write(f"VIPs: {', '.join(plan.vips)}{kind}\n")
    if plan.removed:
        out.write(f"REMOVED: {leaving_service(plan.removed)}\n")
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
    platform = _service(args).detect(_options(args))
    if args.json:
        _emit_json(platform.to_json())
        return ExitCode.OK
    print(f"OS:      {platform.name} ({platform.key})")
    print(f"Stack:   {platform.stack.describe()}")
    print(f"Method:  {platform.method}")
    for reason in platform.reasons:
        print(f"         {reason}")
    for package in platform.packages:
        print(f"Needs:   package {package}")
    return ExitCode.OK


def _not_root_note(service: Service, what: str, command: str) -> None:
    from clb_wizard.invocation import root_command

    say(f"note: not root, so {what} (the journal in {service.state_dir} is root's only; "
        f"`{root_command(command)}` includes it).")


def _warn_if_interrupted(service: Service, command: str = "plan") -> None:
    if service.is_live:
        if service.journal_hidden():
            if command == "plan":  # (verify says it with its VIPs)
                _not_root_note(service, "no check for an interrupted change", command)
            return
        pending = service.pending()
        if pending is not None:
            from clb_wizard.wording import stopped

            print(f"clb-wizard: warning: transaction {pending.id} was interrupted: it "
                  f"{stopped(pending.state)}; run `clb-wizard recover`.", file=sys.stderr)


def cmd_plan(args: argparse.Namespace) -> int:
    service = _service(args)
    _warn_if_interrupted(service)
    if args.ulb_id:
        _vips_from_clb(args, service)
    plan = service.plan(_options(args))
    old_host = _old_host(plan)
    if args.json:
        _emit_json({**plan.to_json(), **({"old_host": old_host} if old_host else {})})
    else:
        print_plan(plan)
        if old_host:
            print("\nThe wizard on that host:")
            print("\n".join(f"  {line}" if line else "" for line in old_host["steps"]))
    return ExitCode.OK


def _old_host(plan: Plan) -> Optional[dict]:
    """For an --os preview of a release whose Python is too old for clb-wizard: how to run
    the wizard there (the portable file, and how to get it onto the host)."""
    from clb_wizard import handoff

    python = handoff.stock_python(plan.platform)
    if plan.platform.detected or python is None:
        return None
    return {"python": python, "file": handoff.bundle_name(),
            "steps": handoff.old_host_steps(plan.platform, vips=plan.vips)}


def _progress_printer(args: argparse.Namespace):
    stream = sys.stderr if args.json else sys.stdout

    def show(progress: Progress) -> None:
        mark = "warn" if progress.warning else {None: "  ", True: "ok", False: "!!"}[progress.ok]
        if progress.message.startswith(("not confirmed within", "declined at the")):
            mark = "  "  # the change worked; nobody kept it (not a failure)
        stream.write(f"[{mark}] {progress.message}\n")
        stream.flush()

    return show


def _ask(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def _terminal_confirm(seconds_left: float) -> Optional[bool]:
    """Polled by the transaction: True once the user types yes, None until then."""
    if not sys.stdin.isatty():
        return None  # confirm from another session with `clb-wizard confirm`
    if not getattr(_terminal_confirm, "asked", False):
        print(f"Keep this change? Type y and Enter within {seconds_left:.0f} s "
              "(or run `clb-wizard confirm`); otherwise it is rolled back.", flush=True)
        _terminal_confirm.asked = True  # type: ignore[attr-defined]
    ready, _, _ = select.select([sys.stdin], [], [], 0.2)
    if not ready:
        return None
    answer = sys.stdin.readline().strip().lower()
    return True if answer in ("y", "yes") else (False if answer in ("n", "no") else None)


def _confirm_timeout(args: argparse.Namespace) -> Optional[float]:
    """--confirm-timeout S; by default the service's (an interactive SSH session)."""
    if args.confirm_timeout is not None:
        return args.confirm_timeout or None
    return default_confirm_seconds(os.environ, interactive=sys.stdin.isatty(),
                                   dry_run=args.dry_run)


def _wrapped(line: str, indent: int) -> str:
    """On a terminal, wrapped at word boundaries (it would cut words); piped, as it is."""
    if not sys.stdout.isatty():
        return line
    width = shutil.get_terminal_size().columns
    return textwrap.fill(line, width=max(40, width - 1), subsequent_indent=" " * indent,
                         break_long_words=False, break_on_hyphens=False)


def _report(outcome: Outcome, args: argparse.Namespace, plan: Optional[Plan] = None,
            confirm_timeout: Optional[float] = None) -> int:
    from clb_wizard.cli.outcome_text import headline, not_confirmed, outcome_lines

    if args.json:
        data = outcome.to_json()
        if plan is not None:
            data["plan"] = plan.to_json()
        data["not_confirmed"] = not_confirmed(outcome)
        _emit_json(data)
    else:
        for line, indent in outcome_lines(outcome, confirm_timeout):
            print(_wrapped(line, indent=indent))
        if outcome.manual_steps:
            print("Put the host back by hand with:")
            for step in outcome.manual_steps:
                print(f"  {step}")
        if outcome.log_path:
            print(f"Log: {outcome.log_path}")
    if outcome.exit_code != ExitCode.OK:
        print(f"clb-wizard: {headline(outcome)}", file=sys.stderr)
    return outcome.exit_code


def cmd_apply(args: argparse.Namespace) -> int:
    if is_preview(args.root, args.os) and not args.dry_run:
        raise UsageError("--root and --os describe another system, so this is a preview: "
                         "add --dry-run (or use `clb-wizard plan`). Nothing was changed.")
    service = _service(args)
    if args.ulb_id:
        _vips_from_clb(args, service)
    # The lock is held from before the plan until the change is done (Service.changing):
    # the plan shown, asked about and applied is never one made while another run changed
    # the host.
    with service.changing(_options(args), change=args.change, dry_run=args.dry_run,
                          on_progress=_progress_printer(args)) as change:
        plan = change.plan
        if not args.json:
            print_plan(plan)
        refused = removal_refused(args, plan)
        if refused:
            raise UsageError(refused)
        if plan.changed and not (args.yes or args.dry_run):
            if not sys.stdin.isatty():
                raise UsageError("not a terminal: add --yes to apply without asking.")
            question = (f"Take {', '.join(plan.removed)} out of service and apply this "
                        "change?" if plan.removed else "Apply this change?")
            if not _ask(question):
                print("Nothing was changed.")
                return ExitCode.OK
        confirm_timeout = _confirm_timeout(args)
        outcome = change.apply(confirm_timeout=confirm_timeout, confirm=_terminal_confirm,
                               ports=tuple(args.port or ()))
    if (args.ulb_id and outcome.exit_code == ExitCode.OK and outcome.verification
            and not args.dry_run):  # (the change is done: the wait needs no lock)
        fact = _health_fact(args, service)
        if fact is not None:
            outcome.verification = outcome.verification.plus(fact)
    return _report(outcome, args, plan, confirm_timeout)


def cmd_verify(args: argparse.Namespace) -> int:
    service = _service(args)
    _warn_if_interrupted(service, "verify")
    checked = service.verify(_options(args), ports=tuple(args.port or ()))
    if checked.from_files:
        _not_root_note(service, "no check for an interrupted change, and the VIPs checked "
                       f"are those clb-wizard's files configure ({', '.join(checked.vips)}), "
                       "not the last change's", "verify")
    if args.ulb_id:
        fact = _health_fact(args, service)
        if fact is None:
            raise UsageError("--ulb-id needs the cloud API keys to ask the CLB for its view.")
        checked = checked.with_fact(fact)
    return _report(checked.outcome(), args)


def cmd_rollback(args: argparse.Namespace) -> int:
    return _report(_service(args).rollback_last(_progress_printer(args)), args)


def cmd_recover(args: argparse.Namespace) -> int:
    outcome = _service(args).recover(_progress_printer(args), expired_id=args.expired,
                                     wait=args.wait)
    return _report(outcome, args)


def cmd_confirm(args: argparse.Namespace) -> int:
    return _report(_service(args).confirm(), args)


def cmd_history(args: argparse.Namespace) -> int:
    """The kept changes, newest first: what `rollback` undoes, one per call."""
    from clb_wizard.invocation import root_command
    from clb_wizard.report import summarise_journal

    service = _service(args)
    if service.journal_hidden():
        raise UsageError(f"the change history ({service.state_dir}) is root's only: run "
                         f"{root_command('history')}")
    entries = [summarise_journal(j) for j in service.history()]
    if args.json:
        _emit_json({"ok": True, "history": entries})
        return ExitCode.OK
    if not entries:
        print("No change made by clb-wizard is recorded on this host.")
    for n, entry in enumerate(entries):
        kept = next((h["at"] for h in reversed(entry["history"]) if h["state"] == "committed"),
                    "?")
        print(terminal_safe(f"{entry['id']}  kept {kept}  {entry['method']}  VIPs "
                            f"{', '.join(entry['vips'])}")
              + ("   <- `clb-wizard rollback` undoes this one next" if n == 0 else ""))
        for f in entry["files"]:
            print(terminal_safe(f"    {f['action']} {f['path']}"))
    return ExitCode.OK


@contextlib.contextmanager
def _cloud_errors_are_usage_errors():
    """clb_wizard.cloud is imported only when used (it costs ~40 ms at start-up)."""
    from clb_wizard.cloud import CloudError

    try:
        yield
    except CloudError as exc:
        raise UsageError(str(exc)) from None


def _cloud_instance(args: argparse.Namespace):
    """This instance's metadata, read once per command (quietly empty off UCloud)."""
    from clb_wizard import cloud

    if getattr(args, "cloud_instance", None) is None:
        with waiting("Reading this host's instance metadata (region, project, VPC)",
                     "the metadata service is slow to answer"):
            args.cloud_instance = cloud.read_instance()
    return args.cloud_instance


def _cloud_env(args: argparse.Namespace) -> dict:
    """The environment, with the settings of --keys-file over it (the file was named on
    the command line, so it wins)."""
    from clb_wizard.cloud.credentials import load_keys_file

    env = dict(os.environ)
    if getattr(args, "keys_file", None):
        env.update(load_keys_file(args.keys_file))
    return env


def _cloud_credentials(args: argparse.Namespace):
    """Keys from --keys-file or the environment; region and project from the flag, else
    the file or the environment, else this instance's metadata (each message says which
    was used). A missing piece is named: the keys (which) or the region."""
    from clb_wizard import cloud

    def from_metadata() -> dict:
        instance = _cloud_instance(args)
        return {"region": instance.region, "project_id": instance.project_id}

    env = _cloud_env(args)
    creds = cloud.resolve_credentials(region=getattr(args, "region", None),
                                      project_id=getattr(args, "project_id", None),
                                      env=env, metadata=from_metadata)
    if creds is None:
        missing = [n for n in (cloud.ENV_PUBLIC_KEY, cloud.ENV_PRIVATE_KEY)
                   if not (env.get(n) or "").strip()]
        if missing:
            one = len(missing) == 1
            raise UsageError(
                f"no cloud API key: {' and '.join(missing)} {'is' if one else 'are'} not set. "
                f"Set {'it' if one else 'them'} in the environment or in a --keys-file (mode "
                f"0600, lines {cloud.ENV_PUBLIC_KEY}=... {cloud.ENV_PRIVATE_KEY}=...), or "
                "give the VIPs with --vip.")
        raise UsageError(
            "no region: the API keys are there, but neither --region nor "
            f"{cloud.ENV_REGION} gives one, and this host's instance metadata did not (not a "
            "UCloud host, or its metadata service did not answer). Give --region (e.g. "
            "cn-bj2), or give the VIPs with --vip.")
    return creds


def _asking(args: argparse.Namespace, creds, what: str):
    """Say which API is asked what, and keep saying it while it retries or waits."""
    from clb_wizard.cloud import resolve_endpoint
    from clb_wizard.cloud.client import RETRY_DELAYS, safe_url

    endpoint = resolve_endpoint(getattr(args, "api_url", None), internal=args.internal_api)
    return waiting(f"Asking the UCloud API at {safe_url(endpoint.url)} for {what} in "
                   f"{creds.where()}",
                   f"busy answers are retried for up to {sum(RETRY_DELAYS):g} s, and one "
                   f"request may take up to {args.api_timeout:g} s (--api-timeout)")


def _this_host(args: argparse.Namespace, service: Service):
    """How the CLB's backends recognise this host: its uhost-id and VPCs from the instance
    metadata (read once, saying so), and its addresses; None for another system."""
    return service.this_host(_cloud_instance(args)) if service.is_live else None


def _api(args: argparse.Namespace) -> dict:
    """The endpoint and timeout options every cloud call takes."""
    return {"api_url": getattr(args, "api_url", None), "timeout": args.api_timeout,
            "internal": args.internal_api}


def _vips_from_clb(args: argparse.Namespace, service: Service) -> None:
    """--ulb-id: fetch the CLB's VIPs (all its EIPs when external) into args.vip."""
    with _cloud_errors_are_usage_errors():
        creds = _cloud_credentials(args)
        host = _this_host(args, service)
        with _asking(args, creds, f"CLB {args.ulb_id}"):
            [clb] = service.clbs(creds, args.ulb_id, clb_type=args.type, host=host,
                                 **_api(args))
    if not clb.addresses:
        raise UsageError(f"CLB {clb.ulb_id} has no VIP yet: bind an EIP or give --vip.")
    if clb.warnings and not args.force:
        raise UsageError(" ".join(clb.warnings) + " Acknowledge with --force.")
    if not args.json:
        print(f"CLB {clb.ulb_id} ({clb.name}, {clb.ulb_type}) in {creds.where()}: "
              f"{', '.join(clb.addresses)}")
    args.vip = list(clb.addresses)
    args.type = args.type or (clb.ulb_type if clb.ulb_type in CLB_TYPES else None)


def _health_fact(args: argparse.Namespace, service: Service) -> Optional[Fact]:
    """The load balancer's own view: is this host's backend healthy? (needs keys)"""
    try:
        creds = _cloud_credentials(args)
    except UsageError:
        return None
    host = _this_host(args, service)
    with waiting(f"Asking CLB {args.ulb_id} whether its health check reaches this host",
                 f"a new backend takes a while to be seen healthy; up to "
                 f"{args.health_timeout:g} s (--health-timeout)"):
        return service.health_fact(creds, args.ulb_id, host, timeout=args.health_timeout,
                                   api_url=getattr(args, "api_url", None),
                                   internal=args.internal_api,
                                   fatal=getattr(args, "require_healthy", False))


def cmd_fetch(args: argparse.Namespace) -> int:
    service = Service()
    with _cloud_errors_are_usage_errors():
        creds = _cloud_credentials(args)
        host = _this_host(args, service)
        what = (f"CLB {args.ulb_id}" if args.ulb_id else "the CLBs" + (
            " of this host's VPC" if host and host.vpc_ids else ""))
        with _asking(args, creds, what):
            clbs = service.clbs(creds, args.ulb_id, clb_type=args.type, host=host,
                                **_api(args))
    if args.json:
        _emit_json({"ok": True, "region": creds.region, "region_source": creds.region_source,
                    "project_id": creds.project_id, "project_source": creds.project_source,
                    "host": host.to_json() if host else None,
                    "clbs": [c.to_json() for c in clbs]})
        return ExitCode.OK
    vpcs = f", VPC {', '.join(host.vpc_ids)}" if host and host.vpc_ids else ""
    print(f"CLBs in {creds.where()}{vpcs}:" if clbs else f"No CLB in {creds.where()}{vpcs}.")
    for clb in clbs:
        mark = "*" if clb.matches_host else " "
        print(f"{mark} {clb.ulb_id}  {clb.name}  ({clb.ulb_type}, {clb.listen_type})")
        for vip in clb.vips:
            operator = f" [{vip.operator}]" if vip.operator else ""
            print(f"      {vip.address}{operator}")
        for warning in clb.warnings:
            print(f"      warning: {warning}")
    if any(c.matches_host for c in clbs):
        print("* this host is one of its backends")
    return ExitCode.OK


def cmd_userdata(args: argparse.Namespace) -> int:
    platform = Service().preview_platform(_options(args))
    report = checked_vips(_options(args))
    sys.stdout.write(render_userdata(platform, report.vips))
    return ExitCode.OK


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
        if root:
            _cloud_args(p, "take the VIPs from this CLB (cloud API) instead of --vip")
        p.add_argument("--type", choices=CLB_TYPES,
                       help="internal CLB (private VIP) or external CLB (public EIPs)")
        p.add_argument("--force", action="store_true",
                       help="acknowledge warnings such as a public VIP for an internal CLB")


def _cloud_args(p: argparse.ArgumentParser, ulb_help: str) -> None:
    p.add_argument("--ulb-id", metavar="ID", help=ulb_help)
    p.add_argument("--region", help="cloud region; wins over $UCLOUD_REGION, which wins over "
                   "this instance's metadata (the output says which was used)")
    p.add_argument("--project-id", help="cloud project (org-...); wins over $UCLOUD_PROJECT_ID, "
                   "which wins over this instance's metadata")
    p.add_argument("--api-url",
                   help="API base URL (default: $CLB_WIZARD_API_URL or https://api.ucloud.cn)")
    p.add_argument("--internal-api", action="store_true",
                   help="use UCloud's VPC-internal API endpoint (http://api.service.ucloud.cn), "
                   "for hosts without internet access: plain HTTP inside UCloud's network")
    p.add_argument("--api-timeout", type=float, default=30.0, metavar="S",
                   help="how long one API request may take (default 30)")
    p.add_argument("--health-timeout", type=float, default=120.0, metavar="S",
                   help="how long to wait for the CLB to see this backend healthy")
    p.add_argument("--keys-file", metavar="FILE",
                   help="read the API keys (and region, project) from FILE: lines "
                   "UCLOUD_PUBLIC_KEY=..., UCLOUD_PRIVATE_KEY=... (UCLOUD_REGION=..., "
                   "UCLOUD_PROJECT_ID=...), mode 0600; they win over the environment")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clb-wizard",
        description="Put a Classic Load Balancer's VIPs on this backend's loopback "
        "(message forwarding mode). Without a command, opens the wizard.",
    )
    add_wizard_flags(parser.add_argument_group("the wizard (no COMMAND)"), METHODS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("detect", help="show the OS, network stack and method")
    _common(p, vips=False)
    p.set_defaults(func=cmd_detect)
    p = sub.add_parser("plan", help="show the exact change (diff and commands); changes nothing")
    _common(p, vips=True)
    add_arp_sysctls(p)
    p.set_defaults(func=cmd_plan)
    for change, name, help_text in APPLY_COMMANDS:
        p = sub.add_parser(name, help=help_text)
        _common(p, vips=True)
        add_apply_args(p, change, cmd_apply)
    p = sub.add_parser("verify", help="check the host against the VIPs (or the last change)")
    _common(p, vips=False)
    p.add_argument("--vip", action="append", metavar="V", help="the VIPs to check")
    p.add_argument("--port", type=int, action="append", metavar="P",
                   help="warn when the service on port P listens on 127.0.0.1 only")
    _cloud_args(p, "also ask this CLB whether its health check reaches this backend")
    p.add_argument("--require-healthy", action="store_true",
                   help="with --ulb-id: fail (exit 1) when the CLB does not see this backend "
                   "healthy (by default a warning)")
    p.set_defaults(func=cmd_verify)
    p = sub.add_parser("fetch", help="list the CLBs (or one) and their VIPs from the cloud API")
    p.add_argument("--type", choices=CLB_TYPES, help="the CLB type you expect")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _cloud_args(p, "this CLB only (default: every CLB of the region, this host's first)")
    p.set_defaults(func=cmd_fetch)
    p = sub.add_parser("rollback", help="undo the last change clb-wizard applied")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_rollback, root="/")
    p = sub.add_parser("recover", help="finish a transaction a crash interrupted")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--expired", metavar="ID", help=argparse.SUPPRESS)  # the watchdog
    p.add_argument("--wait", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_recover, root="/")
    p = sub.add_parser("confirm", help="keep a change that is waiting for confirmation")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_confirm, root="/")
    p = sub.add_parser("history", help="list the kept changes, newest first (rollback walks "
                       "back through them)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_history, root="/")
    p = sub.add_parser("userdata", help="print cloud-init UserData for a new host")
    _common(p, vips=True, root=False)
    p.set_defaults(func=cmd_userdata)
    register_fleet(sub)
    register_support(sub)
    return parser


def _check_os(args: argparse.Namespace) -> None:
    """A near-miss --os gets "did you mean"; ID-MAJOR of a release whose minors differ
    says which it assumed (on stderr)."""
    from clb_wizard.cli.os_choice import assumed_minor, check_os

    check_os(args.os)
    assumed = assumed_minor(args.os)
    if assumed is not None:
        say(f"note: {assumed.note()}")


def _fail(message: str, as_json: bool, code: ExitCode = ExitCode.INVALID) -> int:
    print(f"clb-wizard: {message}", file=sys.stderr)
    if as_json:
        _emit_json({"ok": False, "error": message})
    return code


def main(argv: Optional[list[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Optional[Callable[[argparse.Namespace], int]] = getattr(args, "func", None)
    if func is None:  # wizard options the quick path in cli/__init__.py did not take
        from clb_wizard.cli import run_wizard_with

        return run_wizard_with(args)
    if (getattr(args, "vip", "unset") is None and not getattr(args, "ulb_id", None)
            and args.command in ("plan", "apply", "add", "remove", "userdata")):
        return _fail("give at least one --vip (the CLB's VIP, or each EIP), or --ulb-id.",
                     args.json)
    if args.command == "userdata" and not args.os:
        return _fail("userdata needs --os ID (the new host's OS, e.g. ubuntu-22.04).", args.json)
    try:
        if getattr(args, "os", None):
            _check_os(args)
        return func(args)
    except ClbWizardError as exc:
        return _fail(str(exc), getattr(args, "json", False), exc.exit_code)
    except BrokenPipeError:  # `clb-wizard plan ... | head`
        sys.stderr.close()
        return ExitCode.OK

