"""API keys, region and project: :class:`Credentials`, the environment names they come
from, and which source won (:func:`resolve_credentials`: a flag, then the environment,
then this instance's metadata). The private key stays in memory: ``repr``/``str`` never
show it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable, Optional

from clb_wizard.cloud.errors import FALLBACK, KIND_CONFIG, CloudError

# The variable names UCloud's own tools read (terraform-provider-ucloud, packer, the SDK
# examples and acceptance tests): a user who already uses them has nothing to set up.
ENV_PUBLIC_KEY = "UCLOUD_PUBLIC_KEY"
ENV_PRIVATE_KEY = "UCLOUD_PRIVATE_KEY"
ENV_REGION = "UCLOUD_REGION"
ENV_PROJECT_ID = "UCLOUD_PROJECT_ID"

SOURCE_METADATA = "instance metadata"


@dataclass(frozen=True)
class Credentials:
    """API keys, region and project. ``repr``/``str`` never show the private key.
    ``region_source``/``project_source`` say where the value came from ("--region",
    "UCLOUD_REGION", "instance metadata", "typed"), for messages."""

    public_key: str
    private_key: str = field(repr=False)
    region: str
    project_id: Optional[str] = None
    region_source: str = ""
    project_source: str = ""

    def __post_init__(self) -> None:
        for name in ("public_key", "private_key", "region"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise CloudError(
                    f"The {name.replace('_', ' ')} is empty: fill it in. {FALLBACK}",
                    kind=KIND_CONFIG,
                )
            if value != value.strip():
                # A pasted key with a trailing newline gives a signature error later.
                object.__setattr__(self, name, value.strip())
        if self.project_id is not None:
            project = self.project_id.strip()
            object.__setattr__(self, "project_id", project or None)

    def __repr__(self) -> str:
        return (
            f"Credentials(public_key={self.public_key!r}, private_key='***', "
            f"region={self.region!r}, project_id={self.project_id!r})"
        )

    __str__ = __repr__

    def where(self) -> str:
        """'region cn-bj2 (from --region), project org-x (from UCLOUD_PROJECT_ID)'."""
        def sourced(what: str, value: str, source: str) -> str:
            return f"{what} {value}" + (f" (from {source})" if source else "")

        text = sourced("region", self.region, self.region_source)
        if self.project_id:
            text += ", " + sourced("project", self.project_id, self.project_source)
        return text

    @classmethod
    def from_env(
        cls,
        env: Optional[Mapping[str, str]] = None,
        *,
        default_region: Optional[str] = None,
        default_project_id: Optional[str] = None,
    ) -> Optional[Credentials]:
        """Keys from ``UCLOUD_PUBLIC_KEY``/``UCLOUD_PRIVATE_KEY``, region and project from
        ``UCLOUD_REGION``/``UCLOUD_PROJECT_ID`` or the defaults given (e.g. from
        :func:`metadata_defaults`). None when a key or the region is missing."""
        env = os.environ if env is None else env
        region = (env.get(ENV_REGION) or "").strip() or (default_region or "").strip()
        project = (env.get(ENV_PROJECT_ID) or "").strip() or (default_project_id or "").strip()
        return _keys(env, region, project or None)


def _keys(env: Mapping[str, str], region: str, project: Optional[str],
          region_source: str = "", project_source: str = "") -> Optional[Credentials]:
    public = (env.get(ENV_PUBLIC_KEY) or "").strip()
    private = (env.get(ENV_PRIVATE_KEY) or "").strip()
    if not (public and private and region):
        return None
    return Credentials(public, private, region, project, region_source, project_source)


def pick(choices: tuple[tuple[Optional[str], str], ...]) -> tuple[Optional[str], str]:
    """The first non-empty value and its source name, else (None, "")."""
    for value, source in choices:
        if value and value.strip():
            return value.strip(), source
    return None, ""


def resolve_credentials(
    *,
    region: Optional[str] = None,
    project_id: Optional[str] = None,
    env: Optional[Mapping[str, str]] = None,
    metadata: Optional[Callable[[], Mapping[str, Optional[str]]]] = None,
) -> Optional[Credentials]:
    """Keys from the environment; region and project each from, in this order: the flag
    (``region``/``project_id``), ``UCLOUD_REGION``/``UCLOUD_PROJECT_ID``, then this
    instance's metadata (``metadata()``, asked only when still needed). None without keys
    or a region."""
    env = os.environ if env is None else env
    chosen_region, region_source = pick(((region, "--region"), (env.get(ENV_REGION), ENV_REGION)))
    chosen_project, project_source = pick(
        ((project_id, "--project-id"), (env.get(ENV_PROJECT_ID), ENV_PROJECT_ID)))
    if metadata is not None and not (chosen_region and chosen_project):
        meta = metadata()
        if not chosen_region:
            chosen_region, region_source = pick(((meta.get("region"), SOURCE_METADATA),))
        if not chosen_project:
            chosen_project, project_source = pick(((meta.get("project_id"), SOURCE_METADATA),))
    return _keys(env, chosen_region or "", chosen_project, region_source, project_source)


# -- checking a typed key without reading it aloud, and keys from a file --------------------
KEYS_FILE_NAMES = (ENV_PUBLIC_KEY, ENV_PRIVATE_KEY, ENV_REGION, ENV_PROJECT_ID)
CHECKSUM_LENGTH = 6


def key_checksum(text: str) -> str:
    """Six hex characters of the key's SHA-256 (surrounding blanks dropped, as the keys
    are used): the same as `printf %s 'KEY' | sha256sum | cut -c1-6` gives on the machine
    the key was copied from, so a key typed on a console can be checked against the
    original by reading six characters, never the key."""
    import hashlib

    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:CHECKSUM_LENGTH]


def _keys_file_value(raw: str) -> str:
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def load_keys_file(path: str) -> dict[str, str]:
    """The cloud settings in a keys file: `NAME=VALUE` lines with the environment's names
    (UCLOUD_PUBLIC_KEY, UCLOUD_PRIVATE_KEY, UCLOUD_REGION, UCLOUD_PROJECT_ID), `export `
    and quotes allowed, `#` comments and blank lines skipped (a file `. FILE` could also
    read). Refused with the fix (CloudError, kind config) when others could read or change
    it: not a regular file, owned by another user than this one or root, readable or
    writable by group or others; and on an unknown name or a malformed line."""
    import errno
    import stat

    def refuse(why: str) -> CloudError:
        return CloudError(f"--keys-file {path}: {why}", kind=KIND_CONFIG)

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # the last component is a symbolic link
            raise refuse("is a symbolic link; give the file itself.") from None
        raise refuse(f"cannot open it: {exc.strerror}.") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise refuse("is not a regular file.")
        if info.st_uid not in (0, os.geteuid()):
            raise refuse(f"belongs to uid {info.st_uid}, not to you or root: another user "
                         f"could change the keys. Fix: chown {os.geteuid()} {path}")
        if info.st_mode & 0o077:
            raise refuse(f"mode {stat.S_IMODE(info.st_mode):04o} lets other users read or "
                         f"change the keys. Fix: chmod 600 {path}")
        with os.fdopen(fd, "rb") as f:
            fd = -1
            data = f.read(65536)
    finally:
        if fd >= 0:
            os.close(fd)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise refuse("is not UTF-8 text.") from None
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep:
            raise refuse(f"line {number} is not NAME=VALUE.")
        if name not in KEYS_FILE_NAMES:
            raise refuse(f"line {number}: unknown name {name[:40]!r}; the names are "
                         f"{', '.join(KEYS_FILE_NAMES)}.")
        found[name] = _keys_file_value(value)
    if not found:
        raise refuse(f"holds none of {', '.join(KEYS_FILE_NAMES)}.")
    return found
