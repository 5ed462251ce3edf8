"""API keys, region and project: :class:`Credentials`, and the environment names they come
from. The private key stays in memory: ``repr``/``str`` never show it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

from clb_wizard.cloud.errors import FALLBACK, KIND_CONFIG, CloudError

# The variable names UCloud's own tools read (terraform-provider-ucloud, packer, the SDK
# examples and acceptance tests): a user who already uses them has nothing to set up.
ENV_PUBLIC_KEY = "UCLOUD_PUBLIC_KEY"
ENV_PRIVATE_KEY = "UCLOUD_PRIVATE_KEY"
ENV_REGION = "UCLOUD_REGION"
ENV_PROJECT_ID = "UCLOUD_PROJECT_ID"


@dataclass(frozen=True)
class Credentials:
    """API keys, region and project. ``repr``/``str`` never show the private key."""

    public_key: str
    private_key: str = field(repr=False)
    region: str
    project_id: Optional[str] = None

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
        public = (env.get(ENV_PUBLIC_KEY) or "").strip()
        private = (env.get(ENV_PRIVATE_KEY) or "").strip()
        region = (env.get(ENV_REGION) or "").strip() or (default_region or "").strip()
        project = (env.get(ENV_PROJECT_ID) or "").strip() or (default_project_id or "").strip()
        if not (public and private and region):
            return None
        return cls(public, private, region, project or None)
