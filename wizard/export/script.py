"""`clb-wizard export --format script`: one POSIX sh script with the wizard's transaction
for a single host whose Python is too old for the wizard (CentOS 7, Ubuntu 16.04/18.04,
Debian 10).

The script is the shell library in `sh/` (package data) as it is, after a data section
made here from the export model (`profile.build_profile`): variables, the files' contents
as quoted here-documents, and tables of the engine's commands with when each runs.
"""

from __future__ import annotations

from clb_wizard.export.profile import Profile, Step
from clb_wizard.export.shell import (
    LIBRARY,
    assignments,
    content_function,
    inspect_env,
    library_file,
    table_function,
    words,
)
from clb_wizard.methods.base import MARKER
from clb_wizard.methods.networkmanager import CONNECTION_UUID
from clb_wizard.sysctls import PATH as ARP_PATH
from clb_wizard.sysctls import WANTED as ARP_WANTED
from clb_wizard.sysctls import render_conf as arp_conf
from clb_wizard.transaction.journal import UNRESOLVED

SCRIPT_NAME = "clb-wizard-lo.sh"


def _header(p: Profile, version: str) -> str:
    return (
        "#!/bin/sh\n"
        f"# {MARKER}\n"
        f"# Exported by clb-wizard{(' ' + version) if version else ''} for {p.platform.name} "
        f"({p.platform.key}): method {p.method}, variant {p.key}.\n"
        f"# VIPs: {' '.join(p.vips)}\n"
        "#\n# The same transaction as `clb-wizard apply`, for a host without Python 3.9:\n"
        "#   sh clb-wizard-lo.sh              back up, write atomically, activate, verify;\n"
        "#                                     any failure rolls the host back (exit 3)\n"
        "#   sh clb-wizard-lo.sh --verify     check the host only (exit 0 or 1)\n"
        "#   sh clb-wizard-lo.sh --rollback   undo the last change this script made,\n"
        "#                                     byte-exact from its backups\n"
        "# Options of a change:\n"
        "#   --arp-sysctls     also set arp_ignore=1 and arp_announce=2 (now and in\n"
        f"#                     {ARP_PATH}), in the same change and rollback\n"
        "#   --remove-others   take out of service the VIPs clb-wizard configured on this\n"
        "#                     host that this script does not list (refused without it)\n"
        "# Exit codes: 0 done (or nothing to change), 1 verification failed (--verify),\n"
        "# 2 refused (nothing changed), 3 failed and rolled back, 4 the rollback failed too.\n"
        "# It takes clb-wizard's lock: a host the wizard is changing is refused.\n"
        "# State and backups: ${CLB_WIZARD_STATE_DIR:-/var/lib/clb-wizard}/script/\n\n"
    )


def _variables(p: Profile) -> str:
    by_label = any(t.by_label for t in p.retire)
    values = {
        "CLB_VIPS": " ".join(p.vips),
        "CLB_TOOLS": " ".join(p.tools),
        **inspect_env(p),
        "CLB_NEW_KEYS": " ".join(f"{label}:{vip}" if by_label else vip
                                 for label, vip in p.pairs),
        "CLB_RETIRE_BY_LABEL": "1" if by_label else "0",
        "CLB_REREAD": p.reread or "",
        "CLB_LABELS": " ".join(label for label, _ in p.pairs if label != "-"),
        "CLB_REREAD_FILE": p.reread_file or "",
        "CLB_NM_UUID": CONNECTION_UUID,
        "CLB_ARP_PATH": ARP_PATH,
        "CLB_ARP_WANTED": " ".join(f"{k}={v}" for k, v in ARP_WANTED.items()),
        "CLB_UNRESOLVED": "\\|".join(UNRESOLVED),
    }
    return ("# -- data: this export (everything below it is clb-wizard's sh library) --\n"
            + assignments(values))


def _step_row(phase: str, step: Step) -> tuple[str, str]:
    row = " ".join((phase, "1" if step.always else "0", "1" if step.on_change else "0",
                    ",".join(step.vips) or "-", ",".join(step.unless_exists) or "-",
                    words(step.argv)))
    return step.why, row


def _tables(p: Profile) -> str:
    out = [content_function(f"clb_content_{n}", f.content) for n, f in enumerate(p.files, 1)]
    if p.source_append is not None:
        out.append(content_function("clb_source_append", p.source_append))
    if p.block_path:
        out.append(content_function("clb_block_content", p.block_text))
    out.append(content_function("clb_arp_conf", arp_conf()))
    out.append(table_function("clb_file_table", "N MODE PATH: our files (clb_content_N)",
                              [(f"{f.path}, mode {f.mode:04o}", f"{n} {f.mode:04o} {f.path}")
                               for n, f in enumerate(p.files, 1)]))
    out.append(table_function(
        "clb_step_table", "PHASE ALWAYS ON_CHANGE VIPS UNLESS_EXISTS WORDS: method.transition",
        [_step_row("prepare", s) for s in p.prepare]
        + [_step_row("activate", s) for s in p.activate]))
    out.append(table_function(
        "clb_retire_table", "PHASE BY_LABEL NEEDS_VIP WORDS: how the engine retires an old VIP",
        [(t.why, " ".join((t.phase, "1" if t.by_label else "0",
                           "1" if "{vip}" in " ".join(t.argv) else "0", words(t.argv))))
         for t in p.retire]))
    out.append(table_function(
        "clb_undo_table", "PHASE VIPS WORDS: back to no config (skipped for VIPs there before)",
        [(s.why, f"{phase} {','.join(s.vips) or '-'} {words(s.argv)}")
         for phase, steps in (("prepare", p.undo_prepare), ("activate", p.undo_activate))
         for s in steps]))
    out.append(table_function("clb_reload_table", "WORDS: re-read a restored config of ours",
                              [(c.why, words(c.argv)) for c in p.reload]))
    return "\n".join(out)


def render_script_text(profile: Profile, version: str = "") -> str:
    """The whole script: header, the data of this export, then the library as shipped."""
    parts = [_header(profile, version), library_file("prelude.sh"), "\n",
             _variables(profile), "\n", _tables(profile)]
    for name in LIBRARY:
        parts += ["\n", library_file(name)]
    parts.append('\nclb_main "$@"\n')
    return "".join(parts)


def script_filename(profile: Profile) -> str:
    return SCRIPT_NAME


__all__ = ["SCRIPT_NAME", "render_script_text", "script_filename"]
