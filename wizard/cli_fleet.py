"""`clb-wizard export` and `clb-wizard report`: for support staff and fleets (issue 6)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the fleet subcommands to the CLI's parser."""
