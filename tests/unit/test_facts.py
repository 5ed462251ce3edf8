"""Reading addresses and routes on an iproute2 without JSON output (CentOS 7 ships 3.10,
Ubuntu 16.04 ships 4.3). A shim `ip` that refuses -j stands in for the old iproute2 and
passes everything else to the real one, so the text parser reads real kernel output."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from clb_wizard.facts import read_addresses, route_types
from clb_wizard.runner import Runner

OLD_IP = """#!/bin/sh
for a in "$@"; do
  case "$a" in -j|-json|--json) echo 'Option "-j" is unknown, try "ip -help".' >&2; exit 255;; esac
done
exec {real} "$@"
"""


@pytest.fixture
def old_iproute2(tmp_path, monkeypatch):
    real = shutil.which("ip")
    if real is None:
        pytest.fail("ip (iproute2) is missing: run `sudo bash tests/setup-system.sh`")
    shim = tmp_path / "ip"
    shim.write_text(OLD_IP.format(real=real))
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    return Path(real)


def test_text_fallback_reads_the_same_addresses(old_iproute2, monkeypatch):
    text = read_addresses(Runner())
    monkeypatch.undo()  # the real ip with JSON again
    as_json = read_addresses(Runner())
    assert text.lo == as_json.lo
    assert text.others == {name: addrs for name, addrs in as_json.others.items() if addrs}
    assert any(a.address == "127.0.0.1" and a.prefixlen == 8 for a in text.lo)


def test_text_fallback_routes(old_iproute2):
    types = route_types(Runner(), ["127.0.0.1", "127.0.0.2"])
    assert types == {"127.0.0.1": "local", "127.0.0.2": "local"}
