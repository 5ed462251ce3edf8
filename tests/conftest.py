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


# Time per layer (tests/unit, tests/ui, ...), printed at the end of every run so the
# README's per-layer times can be checked against any run, CI's included. A session
# fixture (the boot roots, the bundle) counts in the layer of the first test that uses it.
_LAYER_SECONDS: dict[str, float] = {}
_LAYER_TESTS: dict[str, int] = {}


def _layer(nodeid: str) -> str:
    parts = nodeid.split("/")
    return "/".join(parts[:2]) if parts[0] == "tests" and len(parts) > 2 else parts[0]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    layer = _layer(report.nodeid)
    _LAYER_SECONDS[layer] = _LAYER_SECONDS.get(layer, 0.0) + report.duration
    if report.when == "call":
        _LAYER_TESTS[layer] = _LAYER_TESTS.get(layer, 0) + 1


def pytest_terminal_summary(terminalreporter) -> None:
    if not _LAYER_SECONDS:
        return
    terminalreporter.write_sep("-", "time per layer")
    for layer, seconds in sorted(_LAYER_SECONDS.items()):
        terminalreporter.write_line(
            f"{layer:<14} {_LAYER_TESTS.get(layer, 0):>5} tests {seconds:7.0f} s"
            f" ({seconds / 60:.1f} min)")
