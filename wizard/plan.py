"""A plan: the exact file changes and commands that configure the VIPs on `lo`.

`build_plan` is pure: platform + validated VIPs + a snapshot of the current files (+ the
live lo addresses when planning for this very host) in, a `Plan` out. `gather` is the
I/O half that reads the snapshot through the runner.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

from clb_wizard import sysctls
from clb_wizard.facts import HostAddresses
from clb_wizard.files import printable
from clb_wizard.methods import get_method
from clb_wizard.methods.base import (
    Command,
    Files,
    LoAddress,
    MethodError,
    RenderInput,
    TransitionInput,
    cmd,
    is_ours,
)
from clb_wizard.platform import Platform
from clb_wizard.runner import FileState, Runner
from clb_wizard.sysctls import SysctlChange
from clb_wizard.vips import VipReport


@dataclass(frozen=True)
class FileChange:
    path: str
    before: Optional[str]  # None: the file does not exist yet
    after: Optional[str]  # None: the file is removed
    mode: int  # mode of the new file (or of the removed one)

    @property
    def action(self) -> str:
        if self.before is None:
            return "create"
        return "delete" if self.after is None else "modify"

    def diff(self) -> str:
        before = [] if self.before is None else self.before.splitlines(keepends=True)
        after = [] if self.after is None else self.after.splitlines(keepends=True)
        # "a/" + the path without its leading "/": git-style names that `patch -p1` reads,
        # also for paths that do not start with "/" (Windows: "b/C:\ProgramData\...",
        # not "bC:\ProgramData\...").
        name = self.path.lstrip("/")
        lines = difflib.unified_diff(
            before,
            after,
            fromfile="/dev/null" if self.before is None else "a/" + name,
            tofile="/dev/null" if self.after is None else "b/" + name,
        )
        return printable("".join(line if line.endswith("\n") else line + "\n"
                                 for line in lines))

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "action": self.action,
            "before": self.before,
            "after": self.after,
            "mode": f"{self.mode:04o}",
            "diff": self.diff(),
        }


@dataclass(frozen=True)
class Check:
    """A fact verification will establish."""

    kind: str  # "on-lo", "routed-local", "config-rereads"
    target: str
    description: str

    def to_json(self) -> dict:
        return {"kind": self.kind, "target": self.target, "description": self.description}


@dataclass(frozen=True)
class Plan:
    platform: Platform
    method: str
    vips: tuple[str, ...]
    clb_type: Optional[str]
    files: tuple[FileChange, ...] = ()
    prepare: tuple[Command, ...] = ()  # before the files are written
    activate: tuple[Command, ...] = ()  # after the files are written
    checks: tuple[Check, ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    foreign: tuple[str, ...] = ()  # VIPs a file that is not ours already configures
    removed: tuple[str, ...] = ()  # VIPs of ours this plan takes out of service
    sysctls: tuple[SysctlChange, ...] = ()  # with --arp-sysctls
    live: Optional[tuple[LoAddress, ...]] = None  # lo's addresses when planned (live host)
    snapshot: dict[str, FileState] = field(default_factory=dict, compare=False, repr=False)

    @property
    def changed(self) -> bool:
        return bool(self.files or self.prepare or self.activate)

    @property
    def commands(self) -> tuple[Command, ...]:
        return self.prepare + self.activate

    def diff(self) -> str:
        return "".join(change.diff() for change in self.files)

    def to_json(self) -> dict:
        return {
            "platform": self.platform.to_json(),
            "method": self.method,
            "clb_type": self.clb_type,
            "vips": list(self.vips),
            "changed": self.changed,
            "files": [f.to_json() for f in self.files],
            "commands": [c.to_json() for c in self.commands],
            "prepare": [c.to_json() for c in self.prepare],
            "activate": [c.to_json() for c in self.activate],
            "checks": [c.to_json() for c in self.checks],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "foreign": list(self.foreign),
            "removed": list(self.removed),
            "sysctls": [c.to_json() for c in self.sysctls],
        }


def watched_paths(runner: Runner, method_name: str) -> list[str]:
    method = get_method(method_name)
    paths = [*method.watch_files, sysctls.PATH]
    for directory in method.watch_dirs:
        for name in runner.list_dir(directory):
            path = f"{directory}/{name}"
            if not name.startswith(".") and not runner.is_dir(path):
                paths.append(path)
    return paths


def gather(runner: Runner, method_name: str) -> dict[str, FileState]:
    """Read every file the method looks at (I/O through the runner)."""
    return {path: runner.file_state(path) for path in watched_paths(runner, method_name)}


def _texts(snapshot: dict[str, FileState]) -> dict[str, Optional[str]]:
    return {path: state.text for path, state in snapshot.items()}


def build_plan(
    platform: Platform,
    report: VipReport,
    snapshot: dict[str, FileState],
    addresses: Optional[HostAddresses] = None,
    sysctl_values: Optional[Mapping[str, Optional[str]]] = None,
) -> Plan:
    """Everything that must change for exactly `report.vips` to be on lo, persistently.

    `sysctl_values` (the current ARP sysctls) asks for the ARP sysctls too (--arp-sysctls).

    Raises MethodError when the current configuration stops the method (broken file).
    """
    method = get_method(platform.method)
    live_addrs = addresses.lo if addresses is not None else ()
    before: Files = _texts(snapshot)
    rendered = method.render(RenderInput(report.vips, before, platform, live_addrs))
    after = {**before, **rendered.files}
    wanted = dict(rendered.files)
    modes = dict(rendered.modes)
    sysctl_changes: tuple[sysctls.SysctlChange, ...] = ()
    if sysctl_values is not None:
        wanted[sysctls.PATH] = sysctls.render_conf()
        modes[sysctls.PATH] = 0o644
        sysctl_changes = sysctls.plan_sysctls(sysctl_values)
    changes = []
    for path, content in sorted(wanted.items()):
        old = snapshot.get(path, FileState(None))
        # An admin's file we edit keeps its mode (owner and ACLs: the transaction keeps
        # those); our own files get the mode their method wants.
        if old.exists and not is_ours(old.text):
            mode = old.mode
        else:
            mode = modes.get(path, old.mode if old.exists else 0o644)
        if content == old.text and (content is None or old.mode == mode):
            continue
        changes.append(FileChange(path, old.text, content, mode))
    # Unknown live state (a preview for another root): assume the configured VIPs are up.
    live = (
        {a.address for a in live_addrs}
        if addresses is not None
        else set(method.configured_vips(before)) | set(rendered.foreign)
    )
    transition = method.transition(TransitionInput(before, after, platform, live=live))
    activate = transition.activate + sysctls.apply_commands(sysctl_changes)
    prepare = list(transition.prepare)
    for package in platform.packages:
        prepare.insert(0, cmd(f"install {package} (needed by {method.title})",
                              *platform.install_command(), package))
    checks = []
    if method.host_os == "linux":  # the Windows script checks its own result
        for vip in report.vips:
            checks.append(Check("on-lo", vip, f"{vip}/32 is an address of lo"))
            checks.append(Check("routed-local", vip, f"the kernel routes {vip} locally"))
        checks.append(Check("config-rereads", platform.method,
                            f"the {method.title} config re-reads to exactly these VIPs"))
    notes = list(report.notes) + list(platform.reasons) + list(rendered.notes)
    if not changes and not prepare and not activate:
        notes.append("No change needed: this host already has exactly this configuration.")
    return Plan(
        platform=platform,
        method=platform.method,
        vips=report.vips,
        clb_type=report.clb_type,
        files=tuple(changes),
        prepare=tuple(prepare),
        activate=activate,
        checks=tuple(checks),
        warnings=report.warnings + rendered.warnings,
        notes=tuple(notes),
        foreign=rendered.foreign,
        removed=tuple(v for v in method.configured_vips(before) if v not in report.vips),
        sysctls=sysctl_changes,
        live=tuple(live_addrs) if addresses is not None else None,
        snapshot=snapshot,
    )


__all__ = ["Check", "FileChange", "MethodError", "Plan", "build_plan", "gather"]
