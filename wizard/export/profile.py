"""The export model both exports share: what a host of one kind needs, as data.

`build_profile` asks the engine: the method's files come from its own renderers, and every
command comes from `method.transition(...)`, evaluated at export time for each situation a
host can be in (nothing live, files changed but VIPs live, one VIP missing, an old VIP to
retire). At run time the script (or playbook) only picks, with a fact it reads on the host,
which of those engine-made commands apply. Nothing here runs on a host.

What the exports assume, and check before changing anything: our target files are
absent or ours (first line carries the marker), no file that is not ours already
configures one of the VIPs or the lo:N labels the export uses, and no other address on
`lo` holds those labels. The wizard renumbers around such files; an export refuses and
says to run the wizard on that host instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from clb_wizard.errors import PlatformError
from clb_wizard.methods import get_method
from clb_wizard.methods.base import Command, Method, RenderInput, TransitionInput
from clb_wizard.platform import Platform, release_of

# Documentation addresses used as a stand-in old VIP to learn from the engine how a
# method retires a VIP it no longer configures.
_PLACEHOLDERS = ("192.0.2.254", "192.0.2.253", "192.0.2.252")
_LABEL = re.compile(r"lo:(\d+)")
_IPV4 = re.compile(r"\d+\.\d+\.\d+\.\d+")


class ExportError(PlatformError):
    """An export that cannot be made (e.g. Windows as a shell script)."""


# -- the model ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """An engine command, and when a host needs it."""

    argv: tuple[str, ...]
    why: str
    on_change: bool = False  # run when the method's files change
    vips: tuple[str, ...] = ()  # run when one of these VIPs is not on lo
    unless_exists: tuple[str, ...] = ()  # skip when one of these paths exists
    always: bool = False

    def to_json(self) -> dict:
        return {"argv": list(self.argv), "why": self.why, "on_change": self.on_change,
                "vips": list(self.vips), "unless_exists": list(self.unless_exists),
                "always": self.always}


@dataclass(frozen=True)
class UndoStep:
    """A command of the rollback; skipped when every VIP it removes was on lo before."""

    argv: tuple[str, ...]
    why: str
    vips: tuple[str, ...] = ()  # empty: always runs

    def to_json(self) -> dict:
        return {"argv": list(self.argv), "why": self.why, "vips": list(self.vips)}


@dataclass(frozen=True)
class Template:
    """How the method retires an old (label, VIP) of ours: argv with {vip} and {label}."""

    argv: tuple[str, ...]
    why: str
    phase: str  # "prepare" (before the files are written) or "activate" (after)

    @property
    def by_label(self) -> bool:
        return any("{label}" in a for a in self.argv)

    def to_json(self) -> dict:
        return {"argv": list(self.argv), "why": self.why, "phase": self.phase,
                "by_label": self.by_label}


@dataclass(frozen=True)
class ManagedFile:
    path: str
    content: str
    mode: int


@dataclass(frozen=True)
class Profile:
    """Everything an export needs for one method variant on one kind of host."""

    key: str  # variant: ifupdown, ifcfg, ifcfg-install, netplan, netplan-legacy, ...
    method: str
    title: str
    platform: Platform  # the platform the commands were made for
    vips: tuple[str, ...]
    files: tuple[ManagedFile, ...]
    pairs: tuple[tuple[str, str], ...]  # (label number or "-", VIP) our files configure
    prepare: tuple[Step, ...]
    activate: tuple[Step, ...]
    retire: tuple[Template, ...]
    undo_prepare: tuple[UndoStep, ...]
    undo_activate: tuple[UndoStep, ...]
    reload: tuple[Command, ...]  # re-read a restored config of ours (rollback)
    watch: tuple[str, ...]  # watched dirs and files (foreign VIPs and labels)
    stale_glob: Optional[str] = None  # ifcfg: our alias files the new set drops
    source_main: Optional[str] = None  # ifupdown: the file that must read our drop-in
    source_append: Optional[str] = None  # ...and the text added when it does not
    conflict_re: Optional[str] = None  # in a file not ours: refuse (NM loopback profile)
    conflict_why: str = ""
    reread: Optional[str] = None  # one of methods.base.REREAD_KINDS: the tool's own view
    reread_file: Optional[str] = None
    # wicked: our block (between block_begin/end lines) at the end of the admin's file
    block_path: Optional[str] = None
    block_begin: str = ""
    block_end: str = ""
    block_text: str = ""

    @property
    def tools(self) -> tuple[str, ...]:
        names = ["ip", "awk", "mktemp", "flock"]
        for step in (*self.prepare, *self.activate, *self.undo_prepare, *self.undo_activate):
            if step.argv[0] not in names and not getattr(step, "unless_exists", ()):
                names.append(step.argv[0])
        for template in self.retire:
            if template.argv[0] not in names:
                names.append(template.argv[0])
        return tuple(names)

    def to_json(self) -> dict:
        return {
            "key": self.key, "method": self.method, "title": self.title,
            "files": [{"path": f.path, "content": f.content, "mode": f"{f.mode:04o}"}
                      for f in self.files],
            "pairs": [list(p) for p in self.pairs],
            "prepare": [s.to_json() for s in self.prepare],
            "activate": [s.to_json() for s in self.activate],
            "retire": [t.to_json() for t in self.retire],
            "undo_prepare": [s.to_json() for s in self.undo_prepare],
            "undo_activate": [s.to_json() for s in self.undo_activate],
            "reload": [list(c.argv) for c in self.reload],
            "watch": list(self.watch), "stale_glob": self.stale_glob,
            "source_main": self.source_main, "source_append": self.source_append,
            "conflict_re": self.conflict_re, "conflict_why": self.conflict_why,
            "reread": self.reread, "reread_file": self.reread_file,
            "block_path": self.block_path, "block_text": self.block_text,
            "tools": list(self.tools),
        }


def pairs_of(texts: Sequence[str]) -> list[tuple[str, str]]:
    """(label number or "-", VIP) in our files, as sh/pairs.awk reads them (same rules)."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for text in texts:
        current = "-"
        for line in text.splitlines():
            label = _LABEL.search(line)
            if label:
                current = label.group(1)
            for ip in _IPV4.findall(line):
                if ip.startswith("127.") or ip == "255.255.255.255" or ip in seen:
                    continue
                seen.add(ip)
                found.append((current, ip))
    return found


def _baseline(method: Method, platform: Platform) -> dict[str, Optional[str]]:
    """The files of a host where the wizard never ran (its stock configuration)."""
    return dict(method.stock_files(release_of(platform)))


def _same(a: Command, b: Command) -> bool:
    return a.argv == b.argv


def _in(command: Command, commands: Sequence[Command]) -> bool:
    return any(_same(command, c) for c in commands)


def _template(argv: Sequence[str], vip: str, label: str) -> tuple[str, ...]:
    pattern = re.compile(rf"lo:{re.escape(label)}(?!\d)")
    return tuple(pattern.sub("lo:{label}", a.replace(vip, "{vip}")) for a in argv)


def _mentions(argv: Sequence[str], vip: str, label: str) -> bool:
    pattern = re.compile(rf"lo:{re.escape(label)}(?!\d)")
    return any(vip in a or (label != "-" and pattern.search(a)) for a in argv)


def _block_of(text: str, begin: str, end: str) -> str:
    """Our block at the end of `text`: from the blank line before the `begin` line
    through the `end` line (what the methods' strip_block takes away)."""
    lines = text.splitlines(keepends=True)
    start = lines.index(begin + "\n")
    if start > 0 and not lines[start - 1].strip():
        start -= 1
    stop = next(i for i in range(start, len(lines)) if lines[i].rstrip("\n") == end)
    if stop != len(lines) - 1:
        raise ExportError(f"the block of ours must end the file ({lines[stop + 1]!r} follows)")
    return "".join(lines[start:])


def _install_steps(method: Method, platform: Platform) -> list[Step]:
    """As build_plan does: install the method's packages first, unless already there."""
    needs = method.prerequisites(release_of(platform), platform.stack)
    return [Step((*platform.install_command(), package),
                 f"install {package} (needed by {method.title})",
                 unless_exists=needs.present_when, always=True)
            for package in platform.packages]


def _retirements(method: Method, platform: Platform, base: dict[str, Optional[str]],
                 vips: tuple[str, ...]) -> tuple[list[Template], Optional[str]]:
    """How the engine retires an old VIP of ours, asked with a stand-in old VIP: the
    command templates, and a glob of our files a smaller VIP set drops (ifcfg)."""
    every = set(vips)
    placeholder = next(p for p in _PLACEHOLDERS if p not in every)
    old_rendered = method.render(RenderInput((*vips, placeholder), base, platform))
    old = {**base, **old_rendered.files}
    old_pairs = dict((v, label) for label, v in pairs_of(
        [t for t in old_rendered.files.values() if t is not None]))
    label = old_pairs.get(placeholder, "-")
    new_from_old = method.render(RenderInput(vips, old, platform))
    after_old = {**old, **new_from_old.files}
    retire_t = method.transition(TransitionInput(old, after_old, platform,
                                                 every | {placeholder}))
    retire = []
    for phase in ("prepare", "activate"):
        for command in getattr(retire_t, phase):
            if _mentions(command.argv, placeholder, label):
                retire.append(Template(_template(command.argv, placeholder, label),
                                       command.why.replace(placeholder, "{vip}")
                                       .replace(f"lo:{label}", "lo:{label}"), phase))
    stale_glob = None
    for path, text in new_from_old.files.items():
        if text is None and old_rendered.files.get(path) is not None and label != "-":
            stale_glob = re.sub(rf"lo:{label}(?!\d)", "lo:*", path)
    return retire, stale_glob


def build_profile(platform: Platform, vips: Sequence[str]) -> Profile:
    """The export model for `platform` (its method and stack) and these VIPs."""
    method = get_method(platform.method)
    if method.host_os != "linux":
        raise ExportError("Windows hosts take the PowerShell script of `clb-wizard plan --os "
                          "windows`, not a shell script or an Ansible play.")
    vips = tuple(vips)
    every = set(vips)
    base = _baseline(method, platform)
    rendered = method.render(RenderInput(vips, base, platform))
    after = {**base, **rendered.files}
    hints = method.export_hints(platform)
    shared = sorted(set(rendered.files) & set(base) - {hints.sourced_by})
    block_path, block_text = None, ""
    if shared and hints.block is not None and len(shared) == 1:
        block_path = shared[0]
        block_text = _block_of(rendered.files[block_path] or "", *hints.block)
    elif shared:
        raise ExportError(
            f"Method {method.name} changes {shared[0]}, a file the OS ships, and says no "
            "block of its own in it; an export only writes files of its own or such a "
            "block. Run clb-wizard on the host, or use `clb-wizard userdata`.")
    # The file that must read our drop-in (ifupdown's, ifupdown-ng's interfaces) is the
    # admin's: the exports append the source line to it (source_append), never own it.
    files = tuple(
        ManagedFile(path, text, rendered.modes.get(path, 0o644))
        for path, text in sorted(rendered.files.items())
        if text is not None and path not in (hints.sourced_by, block_path)
    )
    pairs = tuple(pairs_of([f.content for f in files] + ([block_text] if block_path else [])))

    def move(before, after_, live, preserve=()):
        return method.transition(TransitionInput(before, after_, platform, live, preserve))

    fresh = move(base, after, ())
    changed = move(base, after, every)
    missing = {v: move(after, after, every - {v}) for v in vips}

    def step(command: Command, phase: str) -> Step:
        in_changed = _in(command, getattr(changed, phase))
        tied = tuple(v for v in vips if _in(command, getattr(missing[v], phase)))
        return Step(command.argv, command.why, on_change=in_changed or not tied, vips=tied)

    prepare = [*_install_steps(method, platform), *(step(c, "prepare") for c in fresh.prepare)]
    activate = [step(c, "activate") for c in fresh.activate]

    # Undo (rollback): from the new files back to none; a command that goes away when a
    # VIP is preserved removes that VIP, and is skipped when the VIP was there before.
    undo = move(after, base, every)
    kept = {v: move(after, base, every, {v}) for v in vips}

    def undo_step(command: Command, phase: str) -> UndoStep:
        tied = tuple(v for v in vips if not _in(command, getattr(kept[v], phase)))
        return UndoStep(command.argv, command.why, tied)

    undo_prepare = tuple(undo_step(c, "prepare") for c in undo.prepare)
    undo_activate = tuple(undo_step(c, "activate") for c in undo.activate)

    retire, stale_glob = _retirements(method, platform, base, vips)
    reload = tuple(c for c in (*changed.prepare, *changed.activate)
                   if not any(v in " ".join(c.argv) for v in vips))

    watch = (*method.watch_dirs, *method.watch_files)
    source_main = source_append = None
    if hints.sourced_by is not None:  # ifupdown: the file that must read our drop-in
        ours = next(f.path for f in files)
        source_main = hints.sourced_by
        appended = method.render(RenderInput(vips, {source_main: ""}, platform)).files.get(
            source_main)
        source_append = appended or ""
        watch = tuple(w for w in watch if w != ours)
    return Profile(
        key=method.variant(platform), method=method.name, title=method.title,
        platform=platform, vips=vips, files=files, pairs=pairs,
        prepare=tuple(prepare), activate=tuple(activate), retire=tuple(retire),
        undo_prepare=undo_prepare, undo_activate=undo_activate, reload=reload,
        watch=watch, stale_glob=stale_glob, source_main=source_main,
        source_append=source_append, conflict_re=hints.conflict_re, conflict_why=hints.conflict_why,
        reread=hints.reread, reread_file=hints.reread_file, block_path=block_path,
        block_begin=hints.block[0] if block_path else "",
        block_end=hints.block[1] if block_path else "", block_text=block_text,
    )
