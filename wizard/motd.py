"""The note a user sees at the next login after an unconfirmed change was reverted.

A change applied with a confirm timer is rolled back when nobody confirms it in time: by
the apply itself or, when its session is gone, by the watchdog. Either way the user, who
has perhaps lost the connection the change cut, learns it only at the next login: this
module leaves one line there, and the next successful change removes it.

Where: `/run/motd.d/clb-wizard` where the host's pam_motd reads /run/motd.d (Linux-PAM
1.3 and later: Debian 10+, Ubuntu 20.04+, RHEL 8+, SUSE 15; found by looking for its
motd_dir option in pam_motd.so); /run is cleared at boot, as the note should be. Elsewhere
(CentOS 7's PAM, Alpine without PAM) sshd and login print /etc/motd, so the line is
put first there (where it is seen), starting with NOTE_PREFIX, and removed again so the
admin's file is byte-exact as it was.

Nothing here raises: a note that cannot be written must never stop a rollback or an apply;
the functions return what went wrong instead.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from clb_wizard.runner import Runner
    from clb_wizard.transaction.journal import Journal

MOTD_DIR_NOTE = "/run/motd.d/clb-wizard"
ETC_MOTD = "/etc/motd"
NOTE_PREFIX = "clb-wizard note: "
# Where distributions install pam_motd.so.
PAM_MOTD = tuple(f"{base}/security/pam_motd.so" for base in (
    "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"))


def reads_motd_dir(runner: Runner) -> bool:
    """Does this root's pam_motd show /run/motd.d? (its motd_dir option says so)"""
    for path in PAM_MOTD:
        try:
            state = runner.file_state(path)
        except Exception:
            continue
        if state.content is not None:
            return b"motd_dir" in state.content
    return False


def note_text(journal: Optional[Journal] = None, when: Optional[float] = None) -> str:
    """The one line: what was reverted, when, and what to do."""
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(when or time.time()))
    vips = f" (VIPs {', '.join(journal.vips)})" if journal is not None and journal.vips else ""
    return (f"{NOTE_PREFIX}the change{vips} was not confirmed in time and was rolled back "
            f"at {stamp}. Apply it again and confirm it in time.")


def where(runner: Runner) -> str:
    return MOTD_DIR_NOTE if reads_motd_dir(runner) else ETC_MOTD


def leave_note(runner: Runner, text: str) -> Optional[str]:
    """Leave the note (replacing an earlier one). Returns None, or why it could not."""
    if runner.dry_run:
        return None
    line = text.replace("\n", " ").strip()
    if not line.startswith(NOTE_PREFIX):  # how clear_note finds it in /etc/motd
        line = NOTE_PREFIX + line
    try:
        if where(runner) == MOTD_DIR_NOTE:
            runner.make_dir("/run/motd.d", 0o755)
            runner.write_file(MOTD_DIR_NOTE, (line + "\n").encode(), 0o644)
            return None
        state = runner.file_state(ETC_MOTD)
        kept = _without_note(state.content or b"")
        runner.write_file(ETC_MOTD, line.encode() + b"\n" + kept,
                          state.mode if state.exists else 0o644,
                          state.uid if state.exists else 0, state.gid if state.exists else 0)
        return None
    except Exception as exc:  # never in the way of the rollback that called us
        return f"cannot leave the login note: {exc}"


def clear_note(runner: Runner) -> Optional[str]:
    """Remove the note, wherever it is. Returns None, or why it could not."""
    if runner.dry_run:
        return None
    try:
        if runner.file_state(MOTD_DIR_NOTE).exists:
            runner.remove_file(MOTD_DIR_NOTE)
        state = runner.file_state(ETC_MOTD)
        if state.content is not None:
            kept = _without_note(state.content)
            if kept != state.content:
                runner.write_file(ETC_MOTD, kept, state.mode, state.uid, state.gid)
        return None
    except Exception as exc:
        return f"cannot remove the login note: {exc}"


def current_note(runner: Runner) -> Optional[str]:
    """The note now shown at login, if any (for the faces' Start and `report`)."""
    try:
        text = runner.read_text(MOTD_DIR_NOTE)
        if text:
            return text.strip()
        motd = runner.read_text(ETC_MOTD) or ""
    except Exception:
        return None
    lines = [line for line in motd.splitlines() if line.startswith(NOTE_PREFIX)]
    return lines[-1] if lines else None


def _without_note(content: bytes) -> bytes:
    """/etc/motd less our lines: every other byte as it was."""
    prefix = NOTE_PREFIX.encode()
    return b"".join(line for line in content.splitlines(keepends=True)
                    if not line.startswith(prefix))


__all__ = ["after_unconfirmed", "clear_note", "current_note", "leave_note", "note_text",
           "reads_motd_dir"]


def after_unconfirmed(runner: Runner, journal: Journal, outcome):
    """The apply's hook: an unconfirmed change its own session rolled back leaves the note
    (the user may have lost the session the change cut). Returns `outcome` unchanged."""
    from clb_wizard.errors import Status

    if outcome.status == Status.ROLLED_BACK:
        leave_note(runner, note_text(journal))
    return outcome
