"""`clb-wizard export --format ansible`: a playbook that runs clb-wizard itself on every host.

The play is static YAML kept as package data (`play/clb-wizard-lo.yml`); Python makes only
its variables (`clb-wizard-vars.yml`: the VIPs, the options given at export, the bundle's
name, version and architecture) and puts the portable bundle beside it. On each host the
play installs the bundle with `sh FILE --install-only` (no Python needed there) and runs
`clb-wizard apply --json --yes` with the bundle's own Python: the host runs the one engine
(wizard/transaction/) with its lock, journal, verification and rollback. Nothing here
knows how a host is configured.

The bundle (issue 19, packaging/build-bundle) is `clb-wizard-VERSION-linux-ARCH.run`: the
file given with --bundle (or $CLB_WIZARD_BUNDLE), else, when this clb-wizard runs from an
installed bundle, the copy its `.run` file kept beside the install
(/opt/clb-wizard/clb-wizard-VERSION-linux-ARCH.run).
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Optional

import yaml

from clb_wizard.errors import InputError
from clb_wizard.files import FileRefused, read_regular, write_output
from clb_wizard.methods.base import MARKER

PLAYBOOK_NAME = "clb-wizard-lo.yml"
VARS_NAME = "clb-wizard-vars.yml"
BUNDLE_ENV = "CLB_WIZARD_BUNDLE"
BUNDLE_NAME = re.compile(r"^clb-wizard-(?P<version>[0-9][0-9A-Za-z.+]*)-linux-"
                         r"(?P<arch>x86_64|aarch64)\.run$")


class ExportError(InputError):
    """The export cannot be made as asked (exit 2; the message says what to do)."""


@dataclass(frozen=True)
class Bundle:
    """A portable bundle file and what its name says about it."""

    path: Path
    version: str
    arch: str
    content: bytes

    @property
    def name(self) -> str:
        return self.path.name


def how_to_get_a_bundle(version: str) -> str:
    return ("The playbook installs clb-wizard on each host from its portable bundle, "
            f"clb-wizard-{version or 'VERSION'}-linux-x86_64.run (one file, no Python needed "
            "on the host). Give it with --bundle FILE, or run this export from it "
            "(`sh clb-wizard-...run export ...`). To make one: `sudo bash "
            "packaging/build-bundle` in clb-wizard's source tree writes it into dist/.")


def kept_bundle(prefix: Optional[str] = None) -> Optional[str]:
    """The `.run` file this clb-wizard was installed from, when it runs from a bundle: the
    installer keeps a copy beside the install folder (packaging/bundle/run-header.sh)."""
    from clb_wizard.version import bundle_manifest

    manifest = bundle_manifest(prefix)
    if manifest is None:
        return None
    home = Path(prefix or sys.prefix)
    kept = home.parent / f"clb-wizard-{manifest.get('version')}-linux-{manifest.get('arch')}.run"
    return str(kept) if kept.is_file() else None


def find_bundle(given: Optional[str], env: Mapping[str, str], version: str) -> Bundle:
    """--bundle FILE, else $CLB_WIZARD_BUNDLE, else the `.run` file this clb-wizard was
    installed from."""
    where = given or env.get(BUNDLE_ENV) or kept_bundle()
    if not where:
        raise ExportError(how_to_get_a_bundle(version))
    path = Path(where).absolute()
    found = BUNDLE_NAME.match(path.name)
    if not found:
        raise ExportError(f"{path.name} is not named like a clb-wizard bundle "
                          "(clb-wizard-VERSION-linux-ARCH.run): the playbook takes the "
                          "version and architecture from the name. Give the file as "
                          "packaging/build-bundle wrote it.")
    try:
        read = read_regular(path)
    except FileRefused as exc:
        raise ExportError(f"{path} {exc}.") from None
    except OSError as exc:
        raise ExportError(f"cannot read {path}: {exc.strerror}.") from None
    if read is None:
        raise ExportError(f"{path} does not exist. " + how_to_get_a_bundle(version))
    content, st = read
    if not content.startswith(b"#!"):
        raise ExportError(f"{path} is not a self-extracting sh file: give the .run file.")
    _check_sidecar(path, content)
    return Bundle(path, found["version"], found["arch"], content)


def _check_sidecar(path: Path, content: bytes) -> None:
    """A FILE.sha256 beside the bundle (packaging writes one) must match it."""
    sidecar = path.with_name(path.name + ".sha256")
    try:
        read = read_regular(sidecar)
    except (FileRefused, OSError):
        return
    if read is None:
        return
    words = read[0].decode(errors="replace").split()
    if words and words[0].lower() != hashlib.sha256(content).hexdigest():
        raise ExportError(f"{path} does not match {sidecar.name}: the file is damaged or "
                          "not the one that was built. Copy it again.")


def playbook_vars(vips: Sequence[str], bundle: Bundle, method: Optional[str] = None) -> dict:
    """What the static play needs to know, and nothing else (the VIPs were checked here,
    --type and --force included, so the hosts get them as checked)."""
    return {
        "clb_vips": list(vips),
        "clb_method": method or "",
        "clb_bundle": bundle.name,
        "clb_version": bundle.version,
        "clb_arch": bundle.arch,
    }


def render_vars(data: dict, exported_by: str) -> str:
    header = (f"---\n# {MARKER}\n# The variables of {PLAYBOOK_NAME}, written by {exported_by}.\n"
              "# Export again rather than editing: the VIPs are checked there.\n")
    return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def static_playbook() -> bytes:
    return files("clb_wizard.export").joinpath("play", PLAYBOOK_NAME).read_bytes()


def write_playbook(directory: Path, data: dict, bundle: Bundle,
                   exported_by: str) -> list[Path]:
    """The play, its variables and the bundle in `directory` (created if needed)."""
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise ExportError(f"{directory} is not a directory: the playbook is several files "
                          "(the play, its variables and the bundle). Give a directory "
                          "with --output.")
    written = []  # write_file creates the directory, checked on the way
    for name, content, mode in (
            (PLAYBOOK_NAME, static_playbook(), 0o644),
            (VARS_NAME, render_vars(data, exported_by).encode(), 0o644),
            (bundle.name, bundle.content, 0o755)):
        written.append(write_file(directory / name, content, mode))
    sidecar = bundle.path.with_name(bundle.name + ".sha256")
    if sidecar.is_file() and not sidecar.is_symlink():
        written.append(write_file(directory / sidecar.name, sidecar.read_bytes(), 0o644))
    return written


def write_file(target: Path, content: bytes, mode: int) -> Path:
    """`write_output` into target's directory, with the export's messages: a directory
    another user could change is refused (a .run file root runs later must not be one they
    can swap), the final name is never followed, the file never reused."""
    try:
        write_output(f"{target.parent}/", content, mode, target.name)
    except FileRefused as exc:
        raise ExportError(str(exc)) from None
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {exc.strerror}") from None
    return target

