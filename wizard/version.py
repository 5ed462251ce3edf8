"""`clb-wizard --version`: the project's version, and from the portable bundle what it
brings: its Python, C library and OpenSSL (as running now) and its build date."""

from __future__ import annotations

import json
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Optional

# The manifest at the root of the portable bundle (packaging/build-bundle writes it); the
# bundle's Python has that folder as its prefix.
BUNDLE_MANIFEST = "clb-wizard-bundle.json"


def project_version(unknown: str = "unknown") -> str:
    try:
        return metadata.version("clb-wizard")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return unknown


def bundle_manifest(prefix: Optional[str] = None) -> Optional[dict]:
    """The bundle's manifest when this Python is the bundle's, else None."""
    path = Path(prefix or sys.prefix) / BUNDLE_MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("name") == "clb-wizard" \
        else None


def version_text(prefix: Optional[str] = None) -> str:
    lines = [f"clb-wizard {project_version()}"]
    manifest = bundle_manifest(prefix)
    if manifest is not None:
        import ssl

        debs = {d.get("package"): d.get("version") for d in manifest.get("debian", [])
                if isinstance(d, dict)}

        def debian(package: str) -> str:
            return f" (Debian {package} {debs[package]})" if debs.get(package) else ""

        libc = os.confstr("CS_GNU_LIBC_VERSION") or "unknown C library"
        lines += [f"portable bundle for linux-{manifest.get('arch', '?')}, "
                  f"built {manifest.get('build_date', '?')}, in {sys.prefix}",
                  f"Python {sys.version.split()[0]}{debian('python3.11-minimal')}",
                  f"C library {libc}{debian('libc6')}",
                  f"{ssl.OPENSSL_VERSION}{debian('libssl3')}"]
    return "\n".join(lines)
