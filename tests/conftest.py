"""Shared fixtures. Live tests need root (CI runs as root): without root they skip;
as root, a missing tool is a failure that names tests/setup-system.sh, never a skip."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.sandbox import NMROOT, Sandbox

IS_ROOT = os.geteuid() == 0


def require(*tools: str) -> None:
    if not IS_ROOT:
        pytest.skip("live test: needs root and namespaces (CI runs as root)")
    missing = [t for t in tools if shutil.which(t) is None and not os.path.exists(t)]
    if "NetworkManager" in tools and (NMROOT / "usr/sbin/NetworkManager").exists():
        missing = [t for t in missing if t != "NetworkManager"]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run `sudo bash tests/setup-system.sh`")


@pytest.fixture
def sandbox():
    require("unshare", "nsenter", "ip")
    box = Sandbox()
    try:
        yield box
    finally:
        box.close()
