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
