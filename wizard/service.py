"""The one door to the engine: the CLI (clb_wizard.cli) and the wizard (screens/) call
`Service` and only present what it decides; neither builds an engine object itself.

What a user chooses is `Options`; `Launch` is how a run starts (which root, preview or
not, dry run or not, the confirm timer's default); `Service` is everything either face does
to the system under one root: detect, read this host, check VIPs, plan, apply, verify, roll
back, recover, confirm, history, report, ask the cloud. The rules live here once:
- `--root DIR` or `--os ID` describes another system: a preview, so always a dry run;
- without root only a dry run can work;
- the confirm timer is on by default (CONFIRM_SECONDS) only in an interactive SSH session
  that really changes something, so `ssh host clb-wizard apply --yes` is never reverted;
- a run that changes the host holds the lock from before its plan is made until its apply
  ends (`Service.changing`, `Service.apply`): the plan applied is never one made while
  another run changed the host.

The engine modules are imported inside the methods that use them: the wizard imports this
module before its first frame, which must not wait for them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    # The data the door hands out ("X as X": re-exported) are named here for the faces'
    # annotations too: the screens import engine types from this module only (the
    # contracts in pyproject.toml's [tool.importlinter]).
    from clb_wizard.cloud import Clb as Clb
    from clb_wizard.cloud import Credentials as Credentials
    from clb_wizard.cloud import Instance
    from clb_wizard.cloud import ThisHost as ThisHost
    from clb_wizard.facts import HostAddresses as HostAddresses
    from clb_wizard.plan import Plan as Plan
    from clb_wizard.platform import Platform as Platform
    from clb_wizard.runner import FileState, Runner
    from clb_wizard.transaction import Outcome as Outcome
    from clb_wizard.transaction import Progress as Progress
    from clb_wizard.transaction import Transaction
    from clb_wizard.transaction.apply import ConfirmPoll
    from clb_wizard.transaction.journal import Journal as Journal
    from clb_wizard.transaction.journal import Store
    from clb_wizard.verify import Fact as Fact
    from clb_wizard.verify import Verification as Verification
    from clb_wizard.vips import VipReport

    OnProgress = Optional[Callable[[Progress], None]]

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


# -- rules on plain data (no host is read) ----------------------------------------------------
def host_ipv4s(addresses: Optional[HostAddresses]) -> tuple[str, ...]:
    """This host's IPv4 addresses on its network cards (not lo), e.g. to find it among a
    CLB's backends; () when unknown (a preview)."""
    if addresses is None:
        return ()
    return tuple(a.split("/")[0] for addrs in addresses.others.values() for a in addrs
                 if ":" not in a)


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


def key_checksum(key: str) -> str:
    """Six characters of the key's SHA-256, the same `printf %s KEY | sha256sum` gives
    where it was copied from: a key typed on a console is checked by reading six."""
    from clb_wizard.cloud.credentials import key_checksum as checksum

    return checksum(key)


def leaving_service(removed: Sequence[str]) -> str:
    """The plain words for VIPs a plan takes out of service (both faces show them)."""
    these = ", ".join(removed)
    one = len(removed) == 1
    return (f"{these} {'is' if one else 'are'} on this host now and will be taken out of "
            f"service: {'it stops' if one else 'they stop'} answering here.")


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


def plan_difference(approved: Plan, fresh: Plan) -> Optional[str]:
    """What makes `fresh` (planned again under the lock) another change than `approved`
    (the plan the user saw), in words; None when they are the same change."""
    if fresh == approved:
        return None
    if (fresh.platform, fresh.method) != (approved.platform, approved.method):
        return f"the system is now seen as {fresh.platform.name}, method {fresh.method}"
    files = {c.path: c for c in approved.files}
    now = {c.path: c for c in fresh.files}
    changed = sorted(p for p in files.keys() | now.keys() if files.get(p) != now.get(p))
    if changed:
        return f"{', '.join(changed)} changed"
    if fresh.live != approved.live:
        return "the addresses on lo changed"
    if fresh.sysctls != approved.sysctls:
        return "the ARP sysctls changed"
    return "the plan made now differs from the one shown"


@dataclass(frozen=True)
class Checked:
    """What `Service.verify` checked: the VIPs, the facts, and whether the VIPs are those
    clb-wizard's files configure (a user who is not root cannot read the last change)."""

    vips: tuple[str, ...]
    verification: Verification
    from_files: bool = False

    def with_fact(self, fact: Fact) -> Checked:
        return replace(self, verification=self.verification.plus(fact))

    def outcome(self) -> Outcome:
        from clb_wizard.errors import ExitCode, Status
        from clb_wizard.transaction import Outcome

        result = self.verification
        return Outcome(ExitCode.OK if result.ok else ExitCode.CHECK_FAILED,
                       Status.VERIFIED if result.ok else Status.FAILED,
                       "All checks passed." if result.ok else "Verification failed: "
                       + result.summary(), verification=result)


class Change:
    """A plan made by `Service.changing`, with the lock held when the run changes the host:
    apply it inside the `with` block, or leave the block to drop it. Either way the lock is
    released when the block ends."""

    def __init__(self, plan: Plan, transaction: Transaction) -> None:
        self.plan = plan
        self._transaction = transaction
        self.open = True

    def apply(self, *, confirm_timeout: Optional[float] = None,
              confirm: Optional[ConfirmPoll] = None, ports: tuple[int, ...] = ()) -> Outcome:
        """Apply the plan. Raises TransactionError (nothing changed), LockBusy, StateError."""
        if not self.open:  # the lock is gone: another run may have changed the host since
            raise RuntimeError("Change.apply() after its `with Service.changing()` block")
        return self._transaction.apply(self.plan, confirm_timeout=confirm_timeout,
                                       confirm=confirm, ports=ports)


# -- the door -----------------------------------------------------------------------------------
class Service:
    """Everything either face does to a host, on the system under `root`. Every Runner
    and Transaction either face uses is made here (`runner`, `transaction`); the wizard's
    tests hand the app a subclass that scripts `transaction` (a real apply needs a network
    namespace, which a Pilot test in-process cannot have: tests/fakes/engine.py)."""

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

    @property
    def is_live(self) -> bool:
        """The root is this host's own / (its kernel state is the one that counts)."""
        return self.runner().is_live_root

    @property
    def state_dir(self) -> Path:
        """Where the journal, history, backups and the lock are kept."""
        from clb_wizard.transaction.journal import state_dir

        return state_dir()

    def journal_hidden(self) -> bool:
        """Is the state directory there but root's only (0700), so this user cannot read
        the journal or the history?"""
        from clb_wizard.report import state_hidden

        return state_hidden(self.runner().host_path(str(self.state_dir)))

    def _store(self) -> Store:
        from clb_wizard.transaction.journal import Store

        return Store(self.runner())

    # -- finding out -------------------------------------------------------------------------
    def detect(self, options: Options) -> Platform:
        """The platform and its method. Raises PlatformError (a host no method fits gets
        the commands that put these VIPs on lo by hand; nothing is changed)."""
        return _detect(self.runner(), options)

    def preview_platform(self, options: Options) -> Platform:
        """The stock platform of `options.os_override` (--os), for a system that is not
        this one (export, UserData): nothing of this machine is read."""
        from clb_wizard.runner import Runner

        return _detect(Runner(root=Path("/nonexistent")), options)

    def addresses(self, options: Options, platform: Platform) -> Optional[HostAddresses]:
        """This host's addresses (lo and the others) when it is the live host, else None.
        Raises RunnerError."""
        return _live_addresses(self.runner(), platform, options)

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
        """The unresolved transaction the journal holds (a run was interrupted, or its
        rollback failed), or None. Raises StateError for a damaged record."""
        return self._store().active()

    def last_change(self) -> Optional[Journal]:
        """The newest kept change (what `rollback` undoes next), or None. Raises
        StateError for a damaged record."""
        return self._store().last()

    def history(self) -> list[Journal]:
        """The kept changes, newest first: what `rollback` undoes, one per call."""
        return list(reversed(self._store().history()))

    def arp_sysctls_set(self) -> Optional[bool]:
        """The ARP sysctls have the values --arp-sysctls sets, on the live host (None for
        another system)."""
        from clb_wizard.facts import read_sysctl
        from clb_wizard.sysctls import WANTED

        if not self.is_live:
            return None
        return all(read_sysctl(name) == value for name, value in WANTED.items())

    def report(self, vips: Sequence[str] = (), os_override: Optional[str] = None,
               method: Optional[str] = None) -> dict:
        """What support asks for first (clb_wizard.report formats it)."""
        from clb_wizard.report import build_report

        return build_report(self.runner(dry_run=False), vips=tuple(vips),
                            os_override=os_override, method=method)

    # -- choosing and planning ---------------------------------------------------------------
    def check_vips(self, options: Options, addresses: Optional[HostAddresses] = None
                   ) -> VipReport:
        """The VIPs checked (not this host's own addresses); warnings are returned, not
        raised. Raises VipError (the message is for the user as it is)."""
        from clb_wizard.vips import check_vips

        return check_vips(options.vips, options.clb_type,
                          addresses.others if addresses is not None else None)

    def plan(self, options: Options, platform: Optional[Platform] = None, *,
             change: str = "replace") -> Plan:
        """Detect (unless `platform` is given), validate and plan; changes nothing and takes
        no lock (a preview). `change`: "replace" (the VIPs as given), "add" or "remove"
        (the VIPs clb-wizard manages here, plus or minus the given ones). Type-mismatch
        warnings raise VipError unless `options.force` acknowledges them. Raises VipError,
        PlatformError, MethodError, RunnerError."""
        platform = platform or self.detect(options)
        if change != "replace":
            options = replace(options, vips=combine_vips(change, self.managed_vips(platform),
                                                         options.vips))
        return _plan(self.runner(), options, platform)

    # -- changing ------------------------------------------------------------------------------
    def transaction(self, dry_run: bool, on_progress: OnProgress = None) -> Transaction:
        """The one place a Transaction is made. tests/fakes/engine.py returns a scripted one here:
        it needs what `changing` and the other calls use: `hold()` (a context manager),
        `apply`, and `rollback_last`/`recover`/`confirm_pending` where a test reaches them."""
        from clb_wizard.transaction import Transaction

        return Transaction(self.runner(dry_run=dry_run), on_progress=on_progress)

    def changes_host(self, dry_run: bool) -> bool:
        """Would a run change the host (so it must hold the lock)? Not a dry run, and root
        (without root the transaction refuses, saying so, before anything is written)."""
        return not dry_run and self.is_root

    @contextlib.contextmanager
    def changing(self, options: Options, *, change: str = "replace", dry_run: bool = False,
                 on_progress: OnProgress = None) -> Iterator[Change]:
        """Plan a change to apply: for a run that changes the host, the lock is taken and
        an unresolved earlier change refused (TransactionError) before the plan is made,
        and held until the block ends, whichever way it ends. The CLI shows the plan and
        asks in between (`with service.changing(...) as c: show(c.plan); c.apply()`).
        Raises what `plan` raises, LockBusy, StateError, TransactionError."""
        transaction = self.transaction(dry_run, on_progress)
        held = transaction.hold() if self.changes_host(dry_run) else contextlib.nullcontext()
        with held:
            pending = Change(self.plan(options, change=change), transaction)
            try:
                yield pending
            finally:
                pending.open = False

    def apply(self, options: Options, *, approved: Optional[Plan] = None,
              change: str = "replace", dry_run: bool = False, on_progress: OnProgress = None,
              confirm_timeout: Optional[float] = None, confirm: Optional[ConfirmPoll] = None,
              ports: tuple[int, ...] = ()) -> Outcome:
        """Plan under the lock and apply, in one call. `approved`: the plan the user saw (the
        wizard's Preview, made earlier without the lock): the plan made now under the lock
        must be the same change, or PlanChanged is raised and nothing is applied.
        Raises TransactionError (PlanChanged), LockBusy, StateError, and what `plan` raises."""
        from clb_wizard.errors import PlanChanged

        with self.changing(options, change=change, dry_run=dry_run,
                           on_progress=on_progress) as pending:
            if approved is not None:
                difference = plan_difference(approved, pending.plan)
                if difference:
                    raise PlanChanged(
                        f"This host changed since the Preview ({difference}), so the change "
                        "shown there is not the one that would be made now. Nothing was "
                        "changed. Go back to the Preview to see the new plan, then apply.")
            return pending.apply(confirm_timeout=confirm_timeout, confirm=confirm,
                                 ports=ports)

    def verify(self, options: Options, *, ports: tuple[int, ...] = ()) -> Checked:
        """Check the host against `options.vips`; without VIPs, against the last change
        (and the method it used), or, for a user who cannot read the state directory,
        against the VIPs clb-wizard's files configure. Raises InputError when there is
        nothing to check against, PlatformError, VipError."""
        from clb_wizard.errors import InputError
        from clb_wizard.transaction import platform_from_json
        from clb_wizard.verify import verify
        from clb_wizard.vips import check_vips

        vips: Sequence[str] = options.vips
        platform: Optional[Platform] = None
        foreign: Sequence[str] = ()
        from_files = False
        if not vips and self.journal_hidden():  # not root: what our files configure
            platform = self.detect(options)
            vips, from_files = self.managed_vips(platform), True
            if not vips:
                raise InputError("no VIP in clb-wizard's files on this host: give the VIPs "
                                 "with --vip (or run it as root to check the last change).")
        if not vips:
            last = self.last_change()
            if last is None:
                raise InputError("no change recorded on this host: give the VIPs with --vip.")
            vips, foreign = last.vips, last.foreign
            if not (options.os_override or options.method):
                platform = platform_from_json(last.platform)
        platform = platform or self.detect(options)
        report = check_vips(vips)
        return Checked(tuple(report.vips), verify(self.runner(), platform, report.vips,
                                                  ports=ports, foreign=foreign), from_files)

    def rollback_last(self, on_progress: OnProgress = None) -> Outcome:
        """Undo the last kept change. Raises TransactionError, LockBusy, StateError."""
        return self.transaction(False, on_progress).rollback_last()

    def recover(self, on_progress: OnProgress = None, *, expired_id: Optional[str] = None,
                wait: bool = False) -> Outcome:
        """Finish the interrupted transaction. `expired_id`: the confirm watchdog's call
        when that change's confirm window ran out (waiting for the lock when `wait`); a
        change it rolls back leaves a note for the next login (a note that cannot be left
        is a warning step). Raises TransactionError, LockBusy, StateError."""
        from clb_wizard.errors import ClbWizardError, Status

        journal = None
        if expired_id:  # read first what may be rolled back, for the note
            with contextlib.suppress(ClbWizardError):
                journal = self.pending()
        transaction = self.transaction(False, on_progress)
        outcome = transaction.recover(expired_id=expired_id, wait=wait)
        if expired_id and outcome.status == Status.RECOVERED_BACK:
            from clb_wizard import motd
            from clb_wizard.transaction import Progress

            mine = journal if journal is not None and journal.id == expired_id else None
            problem = motd.leave_note(self.runner(dry_run=False), motd.note_text(mine))
            if problem and on_progress is not None:
                on_progress(Progress(0, 0, problem, warning=True))
        return outcome

    def confirm(self) -> Outcome:
        """Keep a change that is waiting for confirmation (`clb-wizard confirm`)."""
        return self.transaction(False).confirm_pending()

    # -- the cloud -------------------------------------------------------------------------
    def keys_file(self, path: str) -> dict[str, str]:
        """The cloud settings a keys file holds (UCLOUD_PUBLIC_KEY=..., as the environment
        names them). Raises CloudError when others could read or change it, or for a line
        it does not understand."""
        from clb_wizard.cloud.credentials import load_keys_file

        return load_keys_file(path)

    def credentials(self, public_key: str, private_key: str, region: str,
                    project_id: Optional[str] = None, *, region_source: str = "",
                    project_source: str = "") -> Credentials:
        """Keys, region and project as typed, checked (blanks around them dropped; the
        sources name where each came from, for messages). Raises CloudError for an empty
        one."""
        from clb_wizard.cloud import Credentials

        return Credentials(public_key, private_key, region, project_id, region_source,
                           project_source)

    def metadata_defaults(self) -> dict[str, Optional[str]]:
        """This instance's region and project from its metadata (each None when unknown,
        e.g. not a cloud host)."""
        from clb_wizard.cloud import metadata_defaults

        return metadata_defaults()

    def this_host(self, instance: Optional[Instance] = None,
                  private_ips: Optional[Sequence[str]] = None) -> Optional[ThisHost]:
        """How a CLB's backends name this host: its instance id and VPCs from the instance
        metadata (read now unless given), and its addresses (`private_ips` as the caller
        read them, e.g. the wizard at its start; else read now). None for another system."""
        if private_ips is None:
            if not self.is_live:
                return None
            private_ips = self.host_ipv4s()
        from clb_wizard.cloud import this_host

        return this_host(private_ips, instance)

    def clbs(self, creds: Credentials, ulb_id: Optional[str] = None, *,
             clb_type: Optional[str] = None, host: Optional[ThisHost] = None,
             api_url: Optional[str] = None, timeout: Optional[float] = None,
             internal: bool = False) -> list[Clb]:
        """The CLB `ulb_id` (a list of one), or without it every CLB this host could be a
        backend of (of its VPCs when `host` knows them), this host's first. Raises
        CloudError."""
        from clb_wizard import cloud

        api: dict[str, Any] = {"api_url": api_url, "internal": internal,
                               **({"timeout": timeout} if timeout is not None else {})}
        if ulb_id:
            return [cloud.fetch_clb(creds, ulb_id, clb_type=clb_type, host=host, **api)]
        return cloud.discover_clbs(creds, (), clb_type=clb_type, host=host, **api)

    def health_fact(self, creds: Credentials, ulb_id: str, host: Optional[ThisHost], *,
                    timeout: float, interval: Optional[float] = None,
                    api_url: Optional[str] = None, internal: bool = False,
                    fatal: bool = False) -> Fact:
        """The CLB's view of this host's backends, as one verification fact (asking every
        `interval` s, for up to `timeout` s, until they are seen healthy)."""
        from clb_wizard.cloud import health_fact

        every = {"interval": interval} if interval is not None else {}
        return health_fact(creds, ulb_id, host.private_ips if host else (), host=host,
                           timeout=timeout, api_url=api_url, internal=internal, fatal=fatal,
                           **every)


# -- the engine's calls on one runner (Service's methods) ------------------------------------
def _detect(runner: Runner, options: Options) -> Platform:
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


def _live_addresses(runner: Runner, platform: Platform, options: Options
                    ) -> Optional[HostAddresses]:
    """The host's addresses, only when planning for this very host (not a preview)."""
    from clb_wizard.facts import read_addresses
    from clb_wizard.methods import get_method

    host_os = get_method(platform.method).host_os
    if runner.is_live_root and not options.os_override and host_os == "linux":
        return read_addresses(runner)
    return None


def _plan(runner: Runner, options: Options, platform: Optional[Platform] = None) -> Plan:
    from clb_wizard import sysctls
    from clb_wizard.facts import read_sysctl
    from clb_wizard.plan import build_plan, gather

    platform = platform or _detect(runner, options)
    addresses = _live_addresses(runner, platform, options)
    report = checked_vips(options, addresses)
    sysctl_values = None
    if options.arp_sysctls:
        sysctl_values = {name: read_sysctl(name) for name in sysctls.WANTED}
    snapshot = gather(runner, platform.method)
    if not platform.detected:
        snapshot = _assume_stock_files(snapshot, platform)
    return build_plan(platform, report, snapshot, addresses, sysctl_values)


def _assume_stock_files(snapshot: dict[str, FileState], platform: Platform
                        ) -> dict[str, FileState]:
    """An --os preview of a system we are not on: files the OS always ships that are
    missing under the root are taken as shipped (Debian's interfaces sources the dir)."""
    from clb_wizard.methods import get_method
    from clb_wizard.platform import release_of
    from clb_wizard.runner import FileState

    stock = get_method(platform.method).stock_files(release_of(platform))
    missing = {path: FileState(text.encode()) for path, text in stock.items()
               if not snapshot.get(path, FileState(None)).exists}
    return {**snapshot, **missing}
