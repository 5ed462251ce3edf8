"""Text from the cloud made safe for a terminal: CLB names, EIPs, ids and API messages are
written by whoever can edit the account, and a terminal obeys escape sequences (colours,
the window title, cursor moves, even "report" sequences that type into the shell)."""

from __future__ import annotations

import unicodedata
from typing import Any

# Invisible characters that reorder or hide text (Trojan Source, CVE-2021-42574).
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(value: Any) -> str:
    """``value`` as text with every control character (C0, DEL, C1: ESC, CSI, BEL, CR, ...)
    and bidi control written as a visible escape (``\\x1b``), so it prints as itself."""
    text = "" if value is None else str(value)
    if text.isprintable() and not _BIDI.intersection(text):
        return text
    return "".join(
        _escape(ch) if unicodedata.category(ch) in ("Cc", "Cf") and ch != "\u200d"
        or ch in _BIDI else ch
        for ch in text
    )
