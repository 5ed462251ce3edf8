"""`clb-wizard export --format script`: one POSIX sh script with the wizard's transaction
for a single host whose Python is too old for the wizard (CentOS 7, Ubuntu 16.04/18.04,
Debian 10).

This module also holds the export model both exports share (`Profile`, `build_profile`):
the method's files come from the engine's own renderers, and every command comes from
`method.transition(...)`, evaluated at export time for each situation a host can be in
(nothing live, files changed but VIPs live, one VIP missing, an old VIP to retire). At
run time the script (or playbook) only picks, with a fact it reads on the host, which of
those engine-made commands apply. Nothing here runs on a host: it renders text.

What the exports assume, and check before changing anything: our target files are
absent or ours (first line carries the marker), no file that is not ours already
configures one of the VIPs or the lo:N labels the export uses, and no other address on
`lo` holds those labels. The wizard renumbers around such files; an export refuses and
says to run the wizard on that host instead.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from clb_wizard.methods import get_method
from clb_wizard.methods.base import MARKER, Command, Method, RenderInput, TransitionInput
from clb_wizard.methods.ifupdown import MAIN
from clb_wizard.methods.netplan import NETWORKD_LO
from clb_wizard.methods.networkmanager import CONNECTION_UUID
from clb_wizard.platform import Platform, PlatformError, release_of

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
    reread: Optional[str] = None  # "ifquery", "networkd" or "nmcli": the tool's own view

    @property
    def tools(self) -> tuple[str, ...]:
        names = ["ip", "awk", "mktemp"]
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
            "reread": self.reread, "tools": list(self.tools),
        }


def pairs_of(texts: Sequence[str]) -> list[tuple[str, str]]:
    """(label number or "-", VIP) in our files, as PAIRS_AWK reads them (same rules)."""
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


# The same reading in awk, for the host: "LABEL VIP" per line ("-" when no label).
PAIRS_AWK = r"""FNR == 1 { cur = "-" }
{
    line = $0
    if (match(line, /lo:[0-9]+/)) cur = substr(line, RSTART + 3, RLENGTH - 3)
    while (match(line, /[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/)) {
        ip = substr(line, RSTART, RLENGTH)
        line = substr(line, RSTART + RLENGTH)
        if (ip ~ /^127\./ || ip == "255.255.255.255" || (ip in seen)) continue
        seen[ip] = 1
        print cur, ip
    }
}"""

# lo's addresses as "FAMILY ADDRESS PREFIXLEN LABEL" from `ip -o addr` (iproute2 of any
# age; `ip -j` needs iproute2 >= 4.13, newer than CentOS 7 and Ubuntu 16.04 have).
LO_AWK = r"""$3 == "inet" || $3 == "inet6" {
    split($4, a, "/")
    label = "lo"
    if ($3 == "inet") for (i = 5; i <= NF; i++) if ($i ~ /\\$/) {
        if (length($i) > 1) label = substr($i, 1, length($i) - 1)
        break
    }
    print $3, a[1], a[2], label
}"""


def _baseline(method: Method, platform: Platform) -> dict[str, Optional[str]]:
    """The files of a host where the wizard never ran (its stock configuration)."""
    return dict(method.stock_files(release_of(platform)))


def _same(a: Command, b: Command) -> bool:
    return a.argv == b.argv


def _in(command: Command, commands: Sequence[Command]) -> bool:
    return any(_same(command, c) for c in commands)


def _variant_key(platform: Platform) -> str:
    from clb_wizard.methods.netplan import NETWORKD_RECONFIGURE_MIN

    if platform.method == "ifcfg" and platform.packages:
        return "ifcfg-install"
    if platform.method == "netplan" and (
        (platform.stack.networkd_version or 0) < NETWORKD_RECONFIGURE_MIN
    ):
        return "netplan-legacy"
    return platform.method


def _template(argv: Sequence[str], vip: str, label: str) -> tuple[str, ...]:
    pattern = re.compile(rf"lo:{re.escape(label)}(?!\d)")
    return tuple(pattern.sub("lo:{label}", a.replace(vip, "{vip}")) for a in argv)


def _mentions(argv: Sequence[str], vip: str, label: str) -> bool:
    pattern = re.compile(rf"lo:{re.escape(label)}(?!\d)")
    return any(vip in a or (label != "-" and pattern.search(a)) for a in argv)


def build_profile(platform: Platform, vips: Sequence[str]) -> Profile:
    """The export model for `platform` (its method and stack) and these VIPs."""
    if platform.method == "windows":
        raise ExportError("Windows hosts take the PowerShell script of `clb-wizard plan --os "
                          "windows`, not a shell script or an Ansible play.")
    method = get_method(platform.method)
    vips = tuple(vips)
    every = set(vips)
    base = _baseline(method, platform)
    rendered = method.render(RenderInput(vips, base, platform))
    after = {**base, **rendered.files}
    files = tuple(
        ManagedFile(path, text, rendered.modes.get(path, 0o644))
        for path, text in sorted(rendered.files.items()) if text is not None
    )
    pairs = tuple(pairs_of([f.content for f in files]))

    def move(before, after_, live, preserve=()):
        return method.transition(TransitionInput(before, after_, platform, live, preserve))

    fresh = move(base, after, ())
    changed = move(base, after, every)
    missing = {v: move(after, after, every - {v}) for v in vips}

    def step(command: Command, phase: str) -> Step:
        in_changed = _in(command, getattr(changed, phase))
        tied = tuple(v for v in vips if _in(command, getattr(missing[v], phase)))
        return Step(command.argv, command.why, on_change=in_changed or not tied, vips=tied)

    prepare = [step(c, "prepare") for c in fresh.prepare]
    for package in platform.packages:  # as build_plan does: install first
        prepare.insert(0, Step(("dnf", "install", "-y", package),
                               f"install {package} (ifup for ifcfg files)",
                               unless_exists=("/etc/sysconfig/network-scripts/ifup-eth",
                                              "/usr/libexec/network-scripts/ifup-eth"),
                               always=True))
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

    # Retiring an old VIP of ours: ask the engine with a stand-in old VIP.
    placeholder = next(p for p in _PLACEHOLDERS if p not in every)
    old_rendered = method.render(RenderInput((*vips, placeholder), base, platform))
    old = {**base, **old_rendered.files}
    old_pairs = dict((v, label) for label, v in pairs_of(
        [t for t in old_rendered.files.values() if t is not None]))
    label = old_pairs.get(placeholder, "-")
    new_from_old = method.render(RenderInput(vips, old, platform))
    after_old = {**old, **new_from_old.files}
    retire_t = move(old, after_old, every | {placeholder})
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

    reload = tuple(c for c in (*changed.prepare, *changed.activate)
                   if not any(v in " ".join(c.argv) for v in vips))

    watch = (*method.watch_dirs, *method.watch_files)
    source_main = source_append = None
    if method.name == "ifupdown":
        ours = next(f.path for f in files)
        source_main = MAIN
        appended = method.render(RenderInput(vips, {MAIN: ""}, platform)).files.get(MAIN)
        source_append = appended or ""
        watch = tuple(w for w in watch if w != ours)
    conflict_re = conflict_why = None
    if method.name == "networkmanager":
        conflict_re = "^(type=loopback|interface-name=lo)[[:space:]]*$"
        conflict_why = ("already holds a profile for lo; lo can have only one active profile "
                        "and this export will not replace it (add the VIPs to that profile "
                        "with nmcli, or run clb-wizard on this host)")
    reread = {"ifupdown": "ifquery", "netplan": "networkd", "networkmanager": "nmcli"}.get(
        method.name)
    return Profile(
        key=_variant_key(platform), method=method.name, title=method.title,
        platform=platform, vips=vips, files=files, pairs=pairs,
        prepare=tuple(prepare), activate=tuple(activate), retire=tuple(retire),
        undo_prepare=undo_prepare, undo_activate=undo_activate, reload=reload,
        watch=watch, stale_glob=stale_glob, source_main=source_main,
        source_append=source_append, conflict_re=conflict_re, conflict_why=conflict_why or "",
        reread=reread,
    )


# -- shell pieces both exports use ----------------------------------------------------------
def q(text: str) -> str:
    return shlex.quote(text)


# The inspector: what is on the host now, as lines the script and the playbook both read.
#   target absent|ours|foreign PATH    stale PATH    old LABEL VIP    sourced yes|no
#   conflict MESSAGE (the export refuses to run; nothing is changed)
INSPECT_SH = r"""
clb_is_ours() { head -n 1 "$1" 2>/dev/null | grep -qF "$CLB_MARKER"; }
clb_lo_now() { ip -o addr show dev lo | awk "$CLB_LO_AWK"; }
clb_sources_file() {
    main_dir=$(dirname "$1")
    while read -r kw arg _rest; do
        case $kw in
            source|source-directory|source-dir) ;;
            *) continue ;;
        esac
        case $arg in
            /*) base=$arg ;;
            *) base=$main_dir/$arg ;;
        esac
        if [ "$kw" = source ]; then
            # shellcheck disable=SC2254
            case $2 in $base) return 0 ;; esac
        elif [ "$(dirname "$2")" = "${base%/}" ]; then
            return 0
        fi
    done < "$1"
    return 1
}
clb_inspect() {
    ours=''
    for f in $CLB_FILES; do
        if [ ! -e "$f" ]; then
            echo "target absent $f"
        elif clb_is_ours "$f"; then
            echo "target ours $f"
            ours="$ours $f"
        else
            echo "target foreign $f"
            echo "conflict $f exists and is not clb-wizard's: rename it, or run clb-wizard on this host"
        fi
    done
    if [ -n "$CLB_STALE_GLOB" ]; then
        for f in $CLB_STALE_GLOB; do
            [ -f "$f" ] || continue
            case " $CLB_FILES " in *" $f "*) continue ;; esac
            if clb_is_ours "$f"; then
                echo "stale $f"
                ours="$ours $f"
            fi
        done
    fi
    old_keys=' '
    if [ -n "$ours" ]; then
        # shellcheck disable=SC2086
        old_pairs=$(awk "$CLB_PAIRS_AWK" $ours)
        printf '%s\n' "$old_pairs" | sed -n 's/^\(..*\)$/old \1/p'
        old_keys=" $(printf '%s\n' "$old_pairs" | tr ' ' ':' | tr '\n' ' ')"
    fi
    for w in $CLB_WATCH; do
        if [ -d "$w" ]; then set -- "$w"/*; else set -- "$w"; fi
        for f in "$@"; do
            [ -f "$f" ] || continue
            case " $CLB_FILES " in *" $f "*) continue ;; esac
            clb_is_ours "$f" && continue
            for p in $CLB_PAIRS; do
                label=${p%%:*}
                vip=${p#*:}
                vre=$(printf '%s' "$vip" | sed 's/\./\\./g')
                if grep -Eq "(^|[^0-9.])$vre([^0-9]|\$)" "$f"; then
                    echo "conflict $vip is already configured in $f, a file that is not clb-wizard's: remove it there, or run clb-wizard on this host"
                fi
                if [ "$label" != - ] && grep -Eq "lo:$label([^0-9]|\$)" "$f"; then
                    echo "conflict $f already uses lo:$label: run clb-wizard on this host (it picks free lo:N numbers)"
                fi
            done
            if [ -n "$CLB_CONFLICT_RE" ] && grep -Eq "$CLB_CONFLICT_RE" "$f"; then
                echo "conflict $f $CLB_CONFLICT_WHY"
            fi
        done
    done
    clb_lo_now | while read -r fam addr plen label; do
        [ "$fam" = inet ] || continue
        # held by an old VIP of ours: retired before the new one comes up
        case $old_keys in *" ${label#lo:}:$addr "*) continue ;; esac
        for p in $CLB_PAIRS; do
            if [ "$label" = "lo:${p%%:*}" ] && [ "$addr" != "${p#*:}" ]; then
                echo "conflict lo:${p%%:*} is already taken on lo by $addr/$plen: run clb-wizard on this host (it picks free lo:N numbers)"
            fi
        done
    done
    if [ -n "$CLB_MAIN" ]; then
        if [ ! -f "$CLB_MAIN" ]; then
            echo "conflict $CLB_MAIN does not exist, so ifupdown is not configuring this host"
        elif clb_sources_file "$CLB_MAIN" "$CLB_DROPIN"; then
            echo "sourced yes"
        else
            echo "sourced no"
        fi
    fi
    return 0
}
"""  # noqa: E501


def inspect_env(profile: Profile) -> dict[str, str]:
    """The inspector's inputs (environment variables)."""
    return {
        "CLB_MARKER": MARKER,
        "CLB_FILES": " ".join(f.path for f in profile.files),
        "CLB_STALE_GLOB": profile.stale_glob or "",
        "CLB_WATCH": " ".join(profile.watch),
        "CLB_PAIRS": " ".join(f"{label}:{vip}" for label, vip in profile.pairs),
        "CLB_CONFLICT_RE": profile.conflict_re or "",
        "CLB_CONFLICT_WHY": profile.conflict_why,
        "CLB_MAIN": profile.source_main or "",
        "CLB_DROPIN": profile.files[0].path if profile.source_main else "",
        "CLB_PAIRS_AWK": PAIRS_AWK,
        "CLB_LO_AWK": LO_AWK,
    }


# -- the script ------------------------------------------------------------------------------
_EOF = "CLB_WIZARD_EOF"


def _emit_content(name: str, content: str) -> str:
    """A function printing `content` byte-exact: a quoted here-document (or printf when the
    content does not end with a newline)."""
    if not content.endswith("\n"):
        return f"\n{name}() {{\n    printf '%s' {q(content)}\n}}\n"
    eof = _EOF
    n = 1
    while eof in content.splitlines():
        n += 1
        eof = f"{_EOF}_{n}"
    return f"\n{name}() {{\n    cat <<'{eof}'\n{content}{eof}\n}}\n"


def _sh_words(argv: Sequence[str]) -> str:
    return " ".join(q(a) for a in argv)


def _template_words(argv: Sequence[str]) -> str:
    """argv with {vip}/{label} as shell variables, everything else quoted."""
    words = []
    for arg in argv:
        parts = re.split(r"(\{vip\}|\{label\})", arg)
        word = ""
        for part in parts:
            if part == "{vip}":
                word += '"$vip"'
            elif part == "{label}":
                word += '"$label"'
            elif part:
                word += q(part)
        words.append(word)
    return " ".join(words)


def _vip_condition(vips: Sequence[str]) -> str:
    return " || ".join(f"! clb_on_lo_at_start {q(v)}" for v in vips)


def render_script(profile: Profile, version: str = "") -> str:
    """The POSIX sh script for one host of `profile.platform`."""
    p = profile
    vips = " ".join(p.vips)
    out: list[str] = []
    w = out.append
    w("#!/bin/sh\n")
    w(f"# {MARKER}\n")
    w(f"# Exported by clb-wizard{(' ' + version) if version else ''} for "
      f"{p.platform.name} ({p.platform.key}): method {p.method}, variant {p.key}.\n")
    w(f"# VIPs: {vips}\n")
    w("#\n# The same transaction as `clb-wizard apply`, for a host without Python 3.9:\n")
    w("#   sh clb-wizard-lo.sh              back up, write atomically, activate, verify;\n")
    w("#                                     any failure rolls the host back (exit 3)\n")
    w("#   sh clb-wizard-lo.sh --verify     check the host only (exit 0 or 1)\n")
    w("#   sh clb-wizard-lo.sh --rollback   undo the last change this script made,\n")
    w("#                                     byte-exact from its backups\n")
    w("# Exit codes: 0 done (or nothing to change), 1 verification failed (--verify),\n")
    w("# 2 refused (nothing changed), 3 failed and rolled back, 4 the rollback failed too.\n")
    w("# State and backups: ${CLB_WIZARD_STATE_DIR:-/var/lib/clb-wizard}/script/\n\n")
    w("set -u\numask 022\nLC_ALL=C\nLANG=C\nexport LC_ALL LANG\n")
    w('PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"\nexport PATH\n\n')
    w(f"CLB_VIPS={q(vips)}\n")
    for name, value in inspect_env(p).items():
        if name.endswith("_AWK"):
            w("# shellcheck disable=SC2016\n")
        w(f"{name}={q(value)}\n")
    w('STATE="${CLB_WIZARD_STATE_DIR:-/var/lib/clb-wizard}/script"\n')
    w('ENGINE_JOURNAL="${CLB_WIZARD_STATE_DIR:-/var/lib/clb-wizard}/journal.json"\n')
    w(INSPECT_SH)
    w(_COMMON_SH)
    # file contents
    for n, f in enumerate(p.files, 1):
        w(_emit_content(f"clb_content_{n}", f.content))
    if p.source_append is not None:
        w(_emit_content("clb_source_append", p.source_append))
    w(_render_plan_fn(p))
    w(_render_steps_fn(p))
    w(_render_retire_fn(p))
    w(_render_undo_fn(p))
    w(_render_verify_fn(p))
    w(_MAIN_SH)
    return "".join(out)


_COMMON_SH = r"""
say() { printf '%s\n' "$*"; }
warn() { printf 'clb-wizard: %s\n' "$*" >&2; }
refuse() { warn "$*"; warn "Nothing was changed."; exit 2; }

clb_on_lo() { clb_lo_now | grep -q "^inet $1 32 "; }
clb_on_lo_at_start() { grep -q "^inet $1 32 " "$WORK/lo-start"; }
clb_routed_local() {
    set -- "$(ip route get "$1" 2>/dev/null | head -n 1)"
    case $1 in local\ *) return 0 ;; esac
    return 1
}
run() {
    say "  \$ $*"
    if ! "$@"; then
        warn "\`$*\` failed"
        return 1
    fi
}
try() { "$@" >/dev/null 2>&1 || say "  (ignored: \`$*\` failed)"; }
# write FILE MODE < content: temp file in the same directory, then rename (atomic)
atomic_write() {
    dir=$(dirname "$1")
    mkdir -p "$dir" || return 1
    tmp=$(mktemp "$dir/.clb-wizard.XXXXXX") || return 1
    if ! cat > "$tmp" || ! chmod "$2" "$tmp" || ! chown 0:0 "$tmp"; then
        rm -f "$tmp"
        return 1
    fi
    mv -f "$tmp" "$1" || { rm -f "$tmp"; return 1; }
}
# restore FILE from BACKUP byte-exact (content, mode, owner), or remove it
restore_file() {
    if [ -f "$2" ]; then
        dir=$(dirname "$1")
        tmp=$(mktemp "$dir/.clb-wizard.XXXXXX") || return 1
        if ! cp -p "$2" "$tmp" || ! mv -f "$tmp" "$1"; then
            rm -f "$tmp"
            return 1
        fi
    else
        rm -f "$1"
    fi
}
file_mode() { stat -c %a "$1" 2>/dev/null | sed 's/^/0/;s/^0\(....\)$/\1/'; }
# differs FILE MODE < content
differs() {
    [ -f "$1" ] || { cat >/dev/null; return 0; }
    if ! cmp -s - "$1"; then return 0; fi
    [ "$(file_mode "$1")" != "$2" ]
}
lock() {
    if ! mkdir -p "$STATE" || ! chmod 700 "$STATE"; then
        refuse "cannot create $STATE"
    fi
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$STATE/lock"
        flock -n 9 || refuse "another run of this script is changing this host"
    fi
    if [ -f "$ENGINE_JOURNAL" ] && grep -q '"state": "\(started\|prepared\|written\|activated\|verified\|awaiting-confirm\|rolling-back\)"' "$ENGINE_JOURNAL"; then
        refuse "a clb-wizard transaction is unfinished ($ENGINE_JOURNAL): run \`clb-wizard recover\` first"
    fi
}
"""  # noqa: E501


def _render_plan_fn(p: Profile) -> str:
    """plan: what would change (files, stale files, retired pairs, missing VIPs)."""
    lines = ["\n# What this host needs: sets CHANGED_FILES, RETIRE, MISSING.\nclb_plan() {\n"]
    lines.append("    CHANGED_FILES=''\n")
    for n, f in enumerate(p.files, 1):
        lines.append(f"    if clb_content_{n} | differs {q(f.path)} {f.mode:04o}; then\n"
                     f"        CHANGED_FILES=\"$CHANGED_FILES {f.path}\"\n    fi\n")
    if p.source_main:
        lines.append(f"    if grep -q '^sourced no$' \"$WORK/inspect\"; then\n"
                     f"        CHANGED_FILES=\"$CHANGED_FILES {p.source_main}\"\n    fi\n")
    lines.append("    while read -r f; do\n"
                 "        [ -n \"$f\" ] || continue\n"
                 "        CHANGED_FILES=\"$CHANGED_FILES $f\"\n"
                 "    done <<EOF\n$(sed -n 's/^stale //p' \"$WORK/inspect\")\nEOF\n")
    # old pairs to retire
    by_label = any(t.by_label for t in p.retire)
    new_keys = " ".join(f"{label}:{vip}" if by_label else vip for label, vip in p.pairs)
    lines.append(f"    RETIRE=''\n    new_keys={q(' ' + new_keys + ' ')}\n")
    lines.append("    while read -r label vip; do\n")
    lines.append("        [ -n \"$vip\" ] || continue\n")
    key = "$label:$vip" if by_label else "$vip"
    lines.append(f"        case $new_keys in *\" {key} \"*) continue ;; esac\n")
    lines.append('        RETIRE="$RETIRE $label:$vip"\n')
    lines.append("    done <<EOF\n$(sed -n 's/^old //p' \"$WORK/inspect\")\nEOF\n")
    lines.append("    MISSING=''\n    for vip in $CLB_VIPS; do\n"
                 "        clb_on_lo_at_start \"$vip\" || MISSING=\"$MISSING $vip\"\n    done\n}\n")
    return "".join(lines)


def _step_condition(step: Step) -> str:
    if step.always:
        cond = "true"
    else:
        parts = []
        if step.on_change:
            parts.append('[ -n "$CHANGED_FILES" ]')
        if step.vips:
            parts.append(" || ".join(f"! clb_on_lo_mid {q(v)}" for v in step.vips))
        cond = " || ".join(parts) or "false"
    if step.unless_exists:
        checks = " && ".join(f"[ ! -e {q(path)} ]" for path in step.unless_exists)
        cond = f"{{ {cond}; }} && {checks}"
    return cond


def _render_steps_fn(p: Profile) -> str:
    out = ["\n# The engine's commands (method.transition), each when this host needs it.\n"]
    for phase, steps in (("prepare", p.prepare), ("activate", p.activate)):
        out.append(f"clb_{phase}() {{\n")
        for step in steps:
            out.append(f"    # {step.why}\n")
            out.append(f"    if {_step_condition(step)}; then\n"
                       f"        run {_sh_words(step.argv)} || return 1\n    fi\n")
        out.append("    return 0\n}\n")
    return "".join(out)


def _render_retire_fn(p: Profile) -> str:
    out = ["\n# Old VIPs of ours this VIP set drops (the engine's way to retire one).\n"]
    for phase in ("prepare", "activate"):
        out.append(f"clb_retire_{phase}() {{\n    for pair in $RETIRE; do\n"
                   "        label=${pair%%:*}\n        vip=${pair#*:}\n")
        templates = [t for t in p.retire if t.phase == phase]
        for t in templates:
            out.append(f"        # {t.why}\n")
            if "{vip}" in " ".join(t.argv) and not t.by_label:
                out.append("        clb_on_lo \"$vip\" || continue\n")
            out.append(f"        run {_template_words(t.argv)} || return 1\n")
        out.append("        : \"$label\" \"$vip\"\n    done\n    return 0\n}\n")
    return "".join(out)


def _render_undo_fn(p: Profile) -> str:
    out = ["\n# Rollback commands (method.transition back to no config), best effort.\n"]
    for phase, steps in (("prepare", p.undo_prepare), ("activate", p.undo_activate)):
        out.append(f"clb_undo_{phase}() {{\n")
        for step in steps:
            out.append(f"    # {step.why}\n")
            if step.vips:
                cond = " || ".join(f"! clb_was_on_lo {q(v)}" for v in step.vips)
                out.append(f"    if {cond}; then\n        try {_sh_words(step.argv)}\n    fi\n")
            else:
                out.append(f"    try {_sh_words(step.argv)}\n")
        out.append("    return 0\n}\n")
    out.append("clb_reload() {\n")
    for command in p.reload:
        out.append(f"    try {_sh_words(command.argv)}\n")
    out.append("    return 0\n}\n")
    return "".join(out)


def _render_verify_fn(p: Profile) -> str:
    out = ["\n# Verification: facts, not exit codes (as `clb-wizard verify`).\nclb_verify() {\n"
           "    ok=0\n    for vip in $CLB_VIPS; do\n"
           "        if clb_on_lo \"$vip\"; then say \"  [ok] $vip/32 on lo\"\n"
           "        else say \"  [FAIL] $vip is not on lo as /32\"; ok=1; fi\n"
           "        if clb_routed_local \"$vip\"; then say \"  [ok] the kernel routes $vip "
           "locally\"\n"
           "        else say \"  [FAIL] ip route get $vip: not local\"; ok=1; fi\n    done\n"]
    for n, f in enumerate(p.files, 1):
        out.append(f"    if clb_content_{n} | cmp -s - {q(f.path)}; then\n"
                   f"        say \"  [ok] {f.path} as exported\"\n"
                   f"    else say \"  [FAIL] {f.path} differs from the export\"; ok=1; fi\n")
    expected = " ".join(sorted(p.vips))
    if p.reread == "ifquery":
        out.append("    got=''\n")
        for label, _vip in p.pairs:
            out.append(f"    got=\"$got $(ifquery lo:{label} 2>/dev/null | "
                       "sed -n 's/^address: *//p' | cut -d/ -f1)\"\n")
    elif p.reread == "networkd":
        out.append(f"    got=$(sed -n 's/^Address=\\(.*\\)\\/32$/\\1/p' {NETWORKD_LO} "
                   "2>/dev/null)\n")
    elif p.reread == "nmcli":
        out.append("    got=$(nmcli -g ipv4.addresses connection show uuid "
                   f"{CONNECTION_UUID} 2>/dev/null | tr -d '\\134' | tr ',' '\\n' | "
                   "sed 's/ //g;s/\\/.*//')\n")
    if p.reread:
        out.append("    # shellcheck disable=SC2086\n"
                   "    got=$(printf '%s\\n' $got | sort | tr '\\n' ' ' | sed 's/ $//')\n"
                   f"    if [ \"$got\" = {q(expected)} ]; then\n"
                   f"        say \"  [ok] {p.reread} reads back: $got\"\n"
                   f"    else say \"  [FAIL] {p.reread} reads back '$got', expected "
                   f"'{expected}'\"; ok=1; fi\n")
    out.append(
        "    if [ -f \"$WORK/keep\" ]; then\n"
        "        while read -r fam addr plen label; do\n"
        "            if ! clb_lo_now | grep -q \"^$fam $addr $plen \"; then\n"
        "                say \"  [FAIL] $addr/$plen was on lo before and is gone\"; ok=1\n"
        "            fi\n"
        "        done < \"$WORK/keep\"\n    fi\n"
        "    arp_ignore=$(cat /proc/sys/net/ipv4/conf/all/arp_ignore 2>/dev/null)\n"
        "    arp_announce=$(cat /proc/sys/net/ipv4/conf/all/arp_announce 2>/dev/null)\n"
        "    if [ \"$arp_ignore\" != 1 ] || [ \"$arp_announce\" != 2 ]; then\n"
        "        say \"  [warn] arp_ignore=$arp_ignore arp_announce=$arp_announce: the backend "
        "may answer ARP for the VIP; set 1 and 2\"\n    fi\n"
        "    return $ok\n}\n")
    return "".join(out)


_MAIN_SH = r"""
clb_on_lo_mid() { grep -q "^inet $1 32 " "$WORK/lo-mid"; }
# Activation may finish after its command returns (networkd reconfigures lo in the
# background): give the VIPs up to 10 s to appear; no wait when they are there.
clb_settle() {
    n=0
    while [ $n -lt 10 ]; do
        missing=0
        for vip in $CLB_VIPS; do clb_on_lo "$vip" || missing=1; done
        [ $missing -eq 0 ] && return 0
        sleep 1
        n=$((n + 1))
    done
    return 0
}
clb_was_on_lo() { grep -q "^inet $1 32 " "$RUN/lo-before"; }

# Back to the state recorded in $RUN: undo, restore files byte-exact, reconcile lo, check.
clb_rollback_run() {
    say "Rolling back ..."
    clb_undo_prepare
    while read -r path; do
        say "  restore $path"
        restore_file "$path" "$RUN/before$path" || warn "cannot restore $path"
    done < "$RUN/files"
    clb_undo_activate
    if [ -f "$RUN/had-ours" ]; then clb_reload; fi
    # kernel level: remove the VIPs this run added, put back what went missing
    clb_lo_now > "$RUN/lo-now"
    for vip in $CLB_VIPS; do
        if grep -q "^inet $vip " "$RUN/lo-now" && ! grep -q "^inet $vip " "$RUN/lo-before"; then
            plen=$(sed -n "s/^inet $vip \([0-9]*\) .*/\1/p" "$RUN/lo-now" | head -n 1)
            try ip addr del "$vip/$plen" dev lo
        fi
    done
    while read -r fam addr plen label; do
        grep -q "^$fam $addr $plen " "$RUN/lo-now" && continue
        if [ "$fam" = inet6 ]; then
            try ip -6 addr add "$addr/$plen" dev lo
        elif [ "$label" = lo ]; then
            try ip addr add "$addr/$plen" dev lo
        else
            try ip addr add "$addr/$plen" dev lo label "$label"
        fi
    done < "$RUN/lo-before"
    # check: files byte-exact and lo as before
    bad=0
    while read -r path; do
        if [ -f "$RUN/before$path" ]; then
            if ! cmp -s "$RUN/before$path" "$path" ||
                [ "$(file_mode "$path")" != "$(file_mode "$RUN/before$path")" ]; then
                warn "$path differs from its backup $RUN/before$path"; bad=1
            fi
        elif [ -e "$path" ]; then
            warn "$path should not exist"; bad=1
        fi
    done < "$RUN/files"
    # as the engine compares: family, address and prefix length (not the label)
    clb_lo_now | cut -d' ' -f1-3 | sort > "$RUN/lo-after"
    if ! cut -d' ' -f1-3 "$RUN/lo-before" | sort | cmp -s - "$RUN/lo-after"; then
        warn "lo's addresses are not as before:"
        cut -d' ' -f1-3 "$RUN/lo-before" | sort | diff - "$RUN/lo-after" >&2
        bad=1
    fi
    if [ $bad -ne 0 ]; then
        warn "The rollback failed. Put the host back by hand:"
        while read -r path; do
            if [ -f "$RUN/before$path" ]; then warn "  cp -p '$RUN/before$path' '$path'"
            else warn "  rm -f '$path'"; fi
        done < "$RUN/files"
        for vip in $CLB_VIPS; do
            clb_was_on_lo "$vip" || warn "  ip addr del $vip/32 dev lo"
        done
        return 1
    fi
    say "Rollback verified: the files are byte-exact and lo is as it was."
    return 0
}

clb_apply() {
    lock
    if [ -f "$STATE/current" ]; then
        refuse "an earlier run was interrupted ($STATE/$(cat "$STATE/current")): run this script with --rollback first"
    fi
    WORK=$(mktemp -d "$STATE/.work.XXXXXX") || refuse "cannot create a work directory in $STATE"
    trap 'rm -rf "$WORK"' EXIT
    for tool in $CLB_TOOLS; do
        command -v "$tool" >/dev/null 2>&1 || refuse "missing tool: $tool (install the package that provides it)"
    done
    clb_lo_now > "$WORK/lo-start"
    clb_inspect > "$WORK/inspect"
    if grep -q '^conflict ' "$WORK/inspect"; then
        sed -n 's/^conflict /clb-wizard: /p' "$WORK/inspect" >&2
        refuse "this host is not in a state this export can change safely."
    fi
    clb_plan
    if [ -z "$CHANGED_FILES" ] && [ -z "$RETIRE" ] && [ -z "$MISSING" ]; then
        say "No change needed: this host already has exactly this configuration."
        say "Verify:"
        if clb_verify; then return 0; fi
        warn "Nothing to change, but verification fails."
        return 3
    fi
    id=$(date +%Y%m%d-%H%M%S)-$$
    RUN="$STATE/$id"
    mkdir -p "$RUN/before" "$RUN/after" || refuse "cannot write $RUN"
    chmod 700 "$RUN"
    printf '%s\n' "$CLB_VIPS" > "$RUN/vips"
    cp "$WORK/lo-start" "$RUN/lo-before"
    : > "$RUN/files"
    for path in $CHANGED_FILES; do
        printf '%s\n' "$path" >> "$RUN/files"
        if [ -f "$path" ]; then
            mkdir -p "$RUN/before$(dirname "$path")"
            cp -p "$path" "$RUN/before$path" || refuse "cannot back up $path"
        fi
    done
    if grep -q '^target ours ' "$WORK/inspect" || grep -q '^stale ' "$WORK/inspect"; then
        : > "$RUN/had-ours"
    fi
    # VIPs leaving on purpose are not kept; every other address of lo must stay
    : > "$WORK/keep"
    while read -r fam addr plen label; do
        if [ "$fam" = inet ]; then
            case " $RETIRE " in *":$addr "*) continue ;; esac
        fi
        printf '%s %s %s %s\n' "$fam" "$addr" "$plen" "$label" >> "$WORK/keep"
    done < "$RUN/lo-before"
    printf '%s\n' "$id" > "$STATE/current.tmp" && mv -f "$STATE/current.tmp" "$STATE/current"
    say "Backups of $(wc -l < "$RUN/files") file(s) in $RUN"
    if clb_change; then
        say "Verify:"
        if clb_verify; then
            printf '%s\n' "$id" > "$STATE/last.tmp" && mv -f "$STATE/last.tmp" "$STATE/last"
            rm -f "$STATE/current"
            say "Applied and verified."
            return 0
        fi
        warn "verification failed"
    fi
    if clb_rollback_run; then
        rm -f "$STATE/current"
        warn "The change failed. The host was rolled back to exactly how it was."
        return 3
    fi
    return 4
}

clb_change() {
    say "Apply:"
    clb_retire_prepare || return 1
    clb_prepare || return 1
    for path in $CHANGED_FILES; do
        case $path in
"""  # noqa: E501


def _render_change_cases(p: Profile) -> str:
    out = []
    for n, f in enumerate(p.files, 1):
        out.append(f"            {q(f.path)})\n"
                   f"                say \"  write {f.path}\"\n"
                   f"                clb_content_{n} | atomic_write {q(f.path)} {f.mode:04o} "
                   "|| return 1 ;;\n")
    if p.source_main:
        out.append(f"            {q(p.source_main)})\n"
                   f"                say \"  add a 'source' line to {p.source_main}\"\n"
                   "                {\n"
                   f"                    cat {q(p.source_main)}\n"
                   f"                    if [ -s {q(p.source_main)} ] && "
                   f"[ \"$(tail -c 1 {q(p.source_main)} | wc -l)\" -eq 0 ]; then echo; fi\n"
                   "                    clb_source_append\n"
                   f"                }} | atomic_write {q(p.source_main)} 0644 || return 1 ;;\n")
    out.append("            *)\n                say \"  remove $path\"\n"
               "                rm -f \"$path\" || return 1 ;;\n")
    return "".join(out)


_TAIL_SH = r"""        esac
        mkdir -p "$RUN/after$(dirname "$path")"
        if [ -f "$path" ]; then cp -p "$path" "$RUN/after$path"; fi
    done
    clb_lo_now > "$WORK/lo-mid"
    clb_activate || return 1
    clb_retire_activate || return 1
    clb_settle
    # a renderer taking over lo may drop addresses it does not know: put them back
    clb_lo_now > "$WORK/lo-now"
    while read -r fam addr plen label; do
        grep -q "^$fam $addr $plen " "$WORK/lo-now" && continue
        if [ "$fam" = inet6 ]; then set -- ip -6 addr add "$addr/$plen" dev lo
        elif [ "$label" = lo ]; then set -- ip addr add "$addr/$plen" dev lo
        else set -- ip addr add "$addr/$plen" dev lo label "$label"; fi
        # the manager may have put it back by itself meanwhile (networkd reconfiguring lo)
        run "$@" || clb_lo_now | grep -q "^$fam $addr $plen " || return 1
    done < "$WORK/keep"
    return 0
}

clb_rollback_last() {
    lock
    if [ -f "$STATE/current" ]; then
        id=$(cat "$STATE/current")
    elif [ -f "$STATE/last" ]; then
        id=$(cat "$STATE/last")
    else
        say "Nothing to roll back: no change made by this script is recorded on this host."
        return 0
    fi
    RUN="$STATE/$id"
    [ -f "$RUN/files" ] || refuse "$RUN is incomplete: restore by hand from $RUN/before"
    if [ "$(cat "$RUN/vips")" != "$CLB_VIPS" ]; then
        refuse "$RUN was made for VIPs $(cat "$RUN/vips"); run the script that made it"
    fi
    if [ ! -f "$STATE/current" ]; then
        while read -r path; do
            if [ -f "$RUN/after$path" ]; then
                cmp -s "$RUN/after$path" "$path" || refuse "$path was changed after this script wrote it; rolling back would lose that edit. Restore it by hand from $RUN/before$path"
            elif [ -e "$path" ]; then
                refuse "$path was created after this script removed it"
            fi
        done < "$RUN/files"
    fi
    say "Rolling back the change $id"
    if clb_rollback_run; then
        rm -f "$STATE/current"
        [ "$(cat "$STATE/last" 2>/dev/null)" = "$id" ] && rm -f "$STATE/last"
        say "Rolled back: the host is as it was before."
        return 0
    fi
    return 4
}

usage() {
    sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
}

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        warn "this changes the network configuration: run it as root (sudo sh $0)."
        exit 2
    fi
}
case ${1:-} in
    '') need_root; clb_apply; exit $? ;;
    --rollback) need_root; clb_rollback_last; exit $? ;;
    --verify)
        WORK=$(mktemp -d) || exit 2
        trap 'rm -rf "$WORK"' EXIT
        say "Verify:"
        if clb_verify; then exit 0; fi
        exit 1 ;;
    -h|--help) usage; exit 0 ;;
    *) warn "unknown option: $1 (use --rollback, --verify or --help)"; exit 2 ;;
esac
"""  # noqa: E501


def render_script_text(profile: Profile, version: str = "") -> str:
    """The whole script (the tool list and change cases are filled in here)."""
    text = render_script(profile, version)
    tools = " ".join(profile.tools)
    text = text.replace('STATE="${CLB_WIZARD_STATE_DIR',
                        f"CLB_TOOLS={q(tools)}\nSTATE=\"${{CLB_WIZARD_STATE_DIR", 1)
    return text + _render_change_cases(profile) + _TAIL_SH


def script_filename(profile: Profile) -> str:
    return "clb-wizard-lo.sh"


__all__ = [
    "ExportError", "ManagedFile", "Profile", "Step", "Template", "UndoStep", "build_profile",
    "inspect_env", "pairs_of", "render_script_text", "script_filename",
]
