"""Ask the UCloud API which VIPs a Classic Load Balancer (CLB) has, and whether this
host's backends are healthy.

Everything goes through the vendor SDK (``ucloud-sdk-python3``); nothing here signs
requests by hand. Modules by role:

- ``errors``: :class:`CloudError`, its kinds, the RetCodes the program knows and hints;
- ``credentials``: API keys, region and project, and which source each came from;
- ``metadata``: what the UHost metadata service says about this host;
- ``client``: the one place the SDK is called (endpoint, retries, failures translated);
- ``transport_errors``: network, TLS and proxy failures, named for what they are;
- ``parsing``: the program's own tolerant reading of DescribeULB answers;
- ``text``: API strings made safe for a terminal;
- ``models``: the result types (:class:`Clb`, :class:`HealthResult`, ...);
- ``discovery``: one CLB by id, or every CLB of this host's VPC;
- ``health``: the CLB's view of this host's backends, and its verification fact.

Secrets: the API keys live in memory only. They are never written to disk, never logged,
never part of an exception message or traceback, and never in a ``repr``.

Callers always have a fallback: when anything here raises :class:`CloudError`, the user
types the VIPs by hand.
"""

from clb_wizard.cloud.client import (
    DEFAULT_API_URL,
    DEFAULT_TIMEOUT,
    ENV_API_URL,
    ENV_INTERNAL_API_URL,
    INTERNAL_API_URL,
    Endpoint,
    resolve_api_url,
    resolve_endpoint,
)
from clb_wizard.cloud.credentials import (
    ENV_PRIVATE_KEY,
    ENV_PROJECT_ID,
    ENV_PUBLIC_KEY,
    ENV_REGION,
    Credentials,
    resolve_credentials,
)
from clb_wizard.cloud.discovery import DEFAULT_PAGE_SIZE, discover_clbs, fetch_clb
from clb_wizard.cloud.errors import *  # noqa: F403 - CloudError, KIND_*, RETCODE_*
from clb_wizard.cloud.errors import CloudError
from clb_wizard.cloud.health import HEALTH_FACT, health_fact, poll_backend_health
from clb_wizard.cloud.metadata import (
    DEFAULT_METADATA_URL,
    ENV_METADATA_URL,
    METADATA_TIMEOUT,
    Instance,
    metadata_defaults,
    read_instance,
    this_host,
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
    ThisHost,
)
from clb_wizard.cloud.text import terminal_safe

__all__ = [  # noqa: F405 - the errors module's names are star-imported above
    "CLB_TYPES", "DEFAULT_API_URL", "DEFAULT_METADATA_URL", "DEFAULT_PAGE_SIZE",
    "DEFAULT_TIMEOUT", "ENV_API_URL", "ENV_INTERNAL_API_URL", "ENV_METADATA_URL",
    "ENV_PRIVATE_KEY", "ENV_PROJECT_ID", "ENV_PUBLIC_KEY", "ENV_REGION", "EXTERNAL",
    "HEALTH_FACT", "INTERNAL", "INTERNAL_API_URL", "METADATA_TIMEOUT", "PACKETS_TRANSMIT",
    "REQUEST_PROXY", "STATUS_HEALTHY", "UNKNOWN", "Backend", "BackendHealth", "Clb",
    "ClbVip", "CloudError", "Credentials", "Endpoint", "HealthResult", "Instance",
    "Listener", "ThisHost", "discover_clbs", "fetch_clb", "health_fact", "metadata_defaults",
    "poll_backend_health", "read_instance", "resolve_api_url", "resolve_credentials",
    "resolve_endpoint", "terminal_safe", "this_host",
]
