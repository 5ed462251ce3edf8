"""Plain words for what the engine records in its own terms, so that neither face shows a
journal state name or a "file(s)": how far an interrupted change got, counts, and what a
rollback's check of a file means."""

from __future__ import annotations

from typing import Optional

# How far a transaction got, by its journal state (transaction/journal.py).
_STOPPED = {
    "started": "after saving its journal and backups, before changing anything",
    "prepared": "after its preparing commands, before writing any file",
    "written": "after writing the files, before activating them",
    "activated": "after activating the change, before verifying it",
    "verified": "after the change was verified, before it was kept",
    "awaiting-confirm": "while waiting for the change to be confirmed",
    "committed": "after the change was kept, before its record was complete",
    "rolling-back": "in the middle of rolling back",
    "rolled-back": "after rolling back",
    "rollback-failed": "after a rollback that did not finish",
}


def stopped(state: str) -> str:
    """'stopped after writing the files, before activating them' for "written"."""
    return "stopped " + _STOPPED.get(state, f"in the step {state!r}")


def count(n: int, singular: str, plural: Optional[str] = None) -> str:
    """'1 file', '2 files', '0 commands'."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def restored(detail: str, ok: bool, existed_before: Optional[bool]) -> str:
    """A rollback's check of one file in words: a file the change created was removed
    again, not "restored byte-exact"."""
    if ok and existed_before is False:
        return "removed again (it did not exist before the change)"
    if ok:
        return "restored, byte for byte as it was"
    return detail


__all__ = ["count", "restored", "stopped"]
