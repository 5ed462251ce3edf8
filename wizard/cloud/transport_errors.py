"""Failures below the API (no connection, timeout, TLS, proxy) as a :class:`CloudError`
that names the real cause, and, on a UCloud instance that cannot reach the public
endpoint, offers the VPC-internal one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clb_wizard.cloud import errors as err
from clb_wizard.cloud.errors import FALLBACK, CloudError

if TYPE_CHECKING:
    from clb_wizard.cloud.client import Endpoint

INTERNAL_HINT = (
    " This host is a UCloud instance: if it has no internet access (no EIP, no NAT "
    "gateway), use UCloud's VPC-internal API endpoint instead (--internal-api; in the "
    "wizard, tick \"VPC-internal API\"). It is plain HTTP inside UCloud's network: see "
    "the README's cloud section."
)


def _on_ucloud_instance() -> bool:
    from clb_wizard.cloud.metadata import read_instance

    return read_instance(network=False).answered


def _causes() -> tuple[tuple[Any, str, bool, str], ...]:
    """(exception class, kind, may be "no internet", message), most specific first; the
    message has {url} and {timeout}."""
    import requests

    rex = requests.exceptions
    return (
        (rex.ProxyError, err.KIND_PROXY, False,
         "The HTTP proxy refused or failed the connection to the UCloud API at {url}. Check "
         "HTTPS_PROXY/HTTP_PROXY (and NO_PROXY), or unset them."),
        (rex.SSLError, err.KIND_TLS, False,
         "The TLS connection to the UCloud API at {url} failed: the certificate is not "
         "trusted or the server does not speak TLS (a TLS-intercepting proxy? an http URL "
         "given as https?). Check the API URL and, behind such a proxy, point "
         "REQUESTS_CA_BUNDLE at its CA certificate."),
        (rex.ConnectTimeout, err.KIND_NETWORK, True,
         "The UCloud API at {url} could not be reached within {timeout:g} s (no route: a "
         "firewall, or no internet access)."),
        (rex.Timeout, err.KIND_TIMEOUT, False,
         "The UCloud API at {url} did not answer within {timeout:g} s. Try again, or allow "
         "more time with --api-timeout."),
        (rex.ConnectionError, err.KIND_NETWORK, True,
         "Cannot reach the UCloud API at {url}: no network, DNS failure or connection "
         "refused. Check the network and the API URL."),
        ((rex.RequestException, OSError), err.KIND_NETWORK, False,
         "The request to the UCloud API at {url} failed ({name}). Check the API URL and the "
         "network."),
    )


def transport_error(exc: BaseException, url: str, timeout: float,
                    endpoint: Endpoint) -> CloudError:
    """The CloudError for a requests/urllib3 failure (``url`` already without userinfo)."""
    for cls, kind, unreachable, text in _causes():
        if isinstance(exc, cls):
            message = text.format(url=url, timeout=timeout, name=type(exc).__name__)
            if unreachable and not endpoint.internal and _on_ucloud_instance():
                return CloudError(message + INTERNAL_HINT + " " + FALLBACK, kind=kind,
                                  suggest_internal=True)
            return CloudError(message + " " + FALLBACK, kind=kind)
    return CloudError(
        f"Unexpected error while asking the UCloud API ({type(exc).__name__}). " + FALLBACK,
        kind=err.KIND_API)
