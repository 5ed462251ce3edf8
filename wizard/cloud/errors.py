"""The cloud's errors: :class:`CloudError`, its kinds, the RetCodes the program knows and
the hint each one gets.

Every failure while asking the cloud becomes a :class:`CloudError` whose text we write
ourselves (never the SDK's, which may quote the request): it says what to do, and never
holds a key, a signature or a request.

RetCodes, from UCloud's API quick start (docs.ucloud.cn/api/summary/public, "错误码说明")
and the ULB error table (docs.ucloud.cn/api/ulb-api/error_code):

- 110 API response timeout, 130 gateway or auth service fault, 150 service unavailable,
  153 rate limited: transient, retried;
- 4086 "获取Vserver信息失败，请稍后重试。" and 4103 "获取信息失败，请稍后重试。" (fetch
  failed, retry later): transient too, retried; not "no such CLB";
- 171 wrong signature, 172 unknown public key, 292 no such project, 294 access IP
  refused, 299 IAM permission check failed: each with its own hint.
"""

from __future__ import annotations

from typing import Optional

from clb_wizard.errors import ClbWizardError

RETCODE_TIMEOUT = 110
RETCODE_GATEWAY = 130
RETCODE_UNAVAILABLE = 150
RETCODE_RATE_LIMIT = 153
RETCODE_SIGNATURE = 171  # "Signature VerifyAC Error": wrong private key
RETCODE_NO_USER = 172  # "User Not Exists": unknown public key
RETCODE_NO_PROJECT = 292
RETCODE_IP_REFUSED = 294
RETCODE_IAM = 299
RETCODES_FETCH_FAILED = (4086, 4103)  # "fetch failed, retry later" (ULB error table)
RETCODES_TRANSIENT = frozenset(
    {RETCODE_TIMEOUT, RETCODE_GATEWAY, RETCODE_UNAVAILABLE, RETCODE_RATE_LIMIT,
     *RETCODES_FETCH_FAILED})
HTTP_TRANSIENT = frozenset({429, 502, 503, 504})

# CloudError kinds
KIND_CONFIG = "config"
KIND_SDK_MISSING = "sdk-missing"
KIND_AUTH = "auth"
KIND_PERMISSION = "permission"
KIND_API = "api"
KIND_NOT_FOUND = "not-found"
KIND_UNAVAILABLE = "unavailable"  # transient: still failing after the retries
KIND_TIMEOUT = "timeout"
KIND_NETWORK = "network"
KIND_TLS = "tls"
KIND_PROXY = "proxy"
KIND_RESPONSE = "response"

FALLBACK = "You can also type the VIPs by hand."
APIKEY_PAGE = "https://console.ucloud.cn/uapi/apikey"
# From docs.ucloud.cn/api/summary/gateway: requests to the VPC-internal endpoint reach
# the API from this address, so a key's IP whitelist must list it.
INTERNAL_SOURCE_IP = "10.10.10.10"


class CloudError(ClbWizardError):
    """Anything that went wrong while asking the cloud: the message says what to do.

    ``kind`` is one of the ``KIND_*`` constants; ``code`` is the API RetCode when the API
    answered with one; ``suggest_internal`` is True when the public endpoint could not be
    reached from a UCloud instance (the VPC-internal endpoint may work). The text never
    holds a key, a signature or a request.
    """

    def __init__(self, message: str, *, kind: str = KIND_API, code: Optional[int] = None,
                 suggest_internal: bool = False):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.code = code
        self.suggest_internal = suggest_internal

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"CloudError({self.message!r}, kind={self.kind!r}, code={self.code!r})"

    def to_json(self) -> dict:
        return {"error": self.message, "kind": self.kind, "code": self.code}


def empty_id() -> CloudError:
    return CloudError("The CLB id is empty: fill it in (ulb-...). " + FALLBACK, kind=KIND_CONFIG)


_HINTS: dict[int, tuple[str, str]] = {  # RetCode: (kind, message; {said} {where} {source})
    RETCODE_SIGNATURE: (KIND_AUTH,
        "The UCloud API refused the request signature ({said}): the private key does not "
        "belong to the public key. Copy both keys again from the console (API keys page), "
        "without spaces or line breaks."),
    RETCODE_NO_USER: (KIND_AUTH,
        "The UCloud API does not know this public key ({said}). Copy the public key again "
        "from the console (API keys page)."),
    RETCODE_NO_PROJECT: (KIND_PERMISSION,
        "The UCloud API knows no such project for these keys ({said}; {where}). Give the "
        "project id (org-...) with --project-id or UCLOUD_PROJECT_ID: a sub-account must "
        "name a project it belongs to."),
    RETCODE_IP_REFUSED: (KIND_PERMISSION,
        "The UCloud API refused the address this request came from ({said}): the API key "
        "has an IP whitelist. Add {source} to the key's whitelist at " + APIKEY_PAGE
        + ", or use a key without one."),
    RETCODE_IAM: (KIND_PERMISSION,
        "These keys may not read load balancers ({said}): the sub-user's IAM policy does "
        "not allow DescribeULB. Ask the account's administrator to grant read access to "
        "ULB (CLB), or use keys that have it."),
}
_OTHER = (KIND_API, "The UCloud API refused DescribeULB in {where} ({said}). Check the "
          "region, the project and that the keys may read load balancers.")


def retcode_error(code: int, api_message: str, where: str, internal: bool) -> CloudError:
    """The CloudError for an API answer with RetCode ``code`` (not a transient one)."""
    kind, text = _HINTS.get(code, _OTHER)
    source = (f"the VPC-internal endpoint's source address {INTERNAL_SOURCE_IP}" if internal
              else "this host's public (egress) address")
    said = f"RetCode {code}: {api_message}" if api_message else f"RetCode {code}"
    message = text.format(said=said, where=where, source=source)
    return CloudError(message + " " + FALLBACK, kind=kind, code=code)


__all__ = [name for name in dir() if name.isupper() and not name.startswith("_")]
__all__ += ["CloudError", "empty_id", "retcode_error"]
