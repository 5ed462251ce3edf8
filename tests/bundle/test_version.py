"""`clb-wizard --version` (wizard/version.py): one line from a pip install; from a bundle
(a Python whose prefix holds the bundle's manifest) the runtime it brings as well. The
bundle's own output is checked in test_bare_root.py."""

from __future__ import annotations

import json
import os
import ssl
import sys
from pathlib import Path

from clb_wizard.version import BUNDLE_MANIFEST, project_version, version_text


def test_a_pip_install_shows_one_line(tmp_path: Path) -> None:
    assert version_text(str(tmp_path)) == f"clb-wizard {project_version()}"
    (tmp_path / BUNDLE_MANIFEST).write_text('{"name": "something else"}')
    assert version_text(str(tmp_path)) == f"clb-wizard {project_version()}"
    (tmp_path / BUNDLE_MANIFEST).write_text("not json")
    assert version_text(str(tmp_path)) == f"clb-wizard {project_version()}"


def test_a_bundle_names_its_python_c_library_openssl_and_build_date(tmp_path: Path) -> None:
    (tmp_path / BUNDLE_MANIFEST).write_text(json.dumps({
        "name": "clb-wizard", "arch": "x86_64", "build_date": "2026-01-02T03:04:05Z",
        "debian": [{"package": "libc6", "version": "2.36-9+deb12u99"},
                   {"package": "libssl3", "version": "3.0.99-1"}]}))
    lines = version_text(str(tmp_path)).splitlines()
    assert lines[0] == f"clb-wizard {project_version()}"
    assert lines[1] == f"portable bundle for linux-x86_64, built 2026-01-02T03:04:05Z, " \
                       f"in {sys.prefix}"
    assert lines[2] == f"Python {sys.version.split()[0]}"  # no Debian entry for it: no claim
    assert lines[3] == f"C library {os.confstr('CS_GNU_LIBC_VERSION')} (Debian libc6 " \
                       "2.36-9+deb12u99)"
    assert lines[4] == f"{ssl.OPENSSL_VERSION} (Debian libssl3 3.0.99-1)"
