"""Ask the UCloud API which VIPs a Classic Load Balancer (CLB) has, and whether this
host's backends are healthy.

Everything goes through the vendor SDK (``ucloud-sdk-python3``); nothing here signs
requests by hand. Modules by role:

- ``errors``: :class:`CloudError`, its kinds and the RetCodes the program knows;
- ``credentials``: API keys, region and project (:class:`Credentials`);
- ``metadata``: what the UHost metadata service says about this host;
- ``client``: the one place the SDK is called, and its failures translated;
- ``parsing``: the program's own tolerant reading of DescribeULB answers;
- ``models``: the result types (:class:`Clb`, :class:`HealthResult`, ...);
- ``discovery``: one CLB by id, or every CLB of the region;
- ``health``: the CLB's view of this host's backends.

Secrets: the API keys live in memory only. They are never written to disk, never logged,
never part of an exception message or traceback, and never in a ``repr``.

Callers always have a fallback: when anything here raises :class:`CloudError`, the user
types the VIPs by hand.
"""

from clb_wizard.cloud.client import DEFAULT_API_URL, DEFAULT_TIMEOUT, ENV_API_URL, resolve_api_url
from clb_wizard.cloud.credentials import (
    ENV_PRIVATE_KEY,
    ENV_PROJECT_ID,
    ENV_PUBLIC_KEY,
    ENV_REGION,
    Credentials,
)
from clb_wizard.cloud.discovery import DEFAULT_PAGE_SIZE, discover_clbs, fetch_clb
from clb_wizard.cloud.errors import (
    KIND_API,
    KIND_AUTH,
    KIND_CONFIG,
    KIND_NETWORK,
    KIND_NOT_FOUND,
    KIND_RESPONSE,
    KIND_SDK_MISSING,
    KIND_TIMEOUT,
    RETCODE_NO_USER,
    RETCODE_SIGNATURE,
    RETCODES_NOT_FOUND,
    CloudError,
)
from clb_wizard.cloud.health import HEALTH_FACT, health_fact, poll_backend_health
from clb_wizard.cloud.metadata import (
    DEFAULT_METADATA_URL,
    ENV_METADATA_URL,
    METADATA_TIMEOUT,
    metadata_defaults,
)
from clb_wizard.cloud.models import (
    CLB_TYPES,
    EXTERNAL,
    INTERNAL,
    PACKETS_TRANSMIT,
    REQUEST_PROXY,
    STATUS_HEALTHY,
    UNKNOWN,
    Backend,
    BackendHealth,
    Clb,
    ClbVip,
    HealthResult,
    Listener,
)

__all__ = [
    "CLB_TYPES", "DEFAULT_API_URL", "DEFAULT_METADATA_URL", "DEFAULT_PAGE_SIZE",
    "DEFAULT_TIMEOUT", "ENV_API_URL", "ENV_METADATA_URL", "ENV_PRIVATE_KEY", "ENV_PROJECT_ID",
    "ENV_PUBLIC_KEY", "ENV_REGION", "EXTERNAL", "INTERNAL", "KIND_API", "KIND_AUTH",
    "KIND_CONFIG", "KIND_NETWORK", "KIND_NOT_FOUND", "KIND_RESPONSE", "KIND_SDK_MISSING",
    "KIND_TIMEOUT", "METADATA_TIMEOUT", "PACKETS_TRANSMIT", "REQUEST_PROXY",
    "RETCODES_NOT_FOUND", "RETCODE_NO_USER", "RETCODE_SIGNATURE", "STATUS_HEALTHY", "UNKNOWN",
    "Backend", "BackendHealth", "Clb", "ClbVip", "CloudError", "Credentials", "HealthResult",
    "HEALTH_FACT", "health_fact",
    "Listener", "discover_clbs", "fetch_clb", "metadata_defaults", "poll_backend_health",
    "resolve_api_url",
]
