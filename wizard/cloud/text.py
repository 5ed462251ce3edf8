"""Text from the cloud made safe for a terminal: CLB names, EIPs, ids and API messages are
written by whoever can edit the account, and a terminal obeys escape sequences (colours,
the window title, cursor moves, even "report" sequences that type into the shell).
The escaping itself is `clb_wizard.files.terminal_safe`, shared with the state records."""

from __future__ import annotations

from clb_wizard.files import terminal_safe

__all__ = ["terminal_safe"]
