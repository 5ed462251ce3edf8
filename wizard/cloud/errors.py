"""The cloud's errors: :class:`CloudError`, its kinds, and the RetCodes the program knows.

Every failure while asking the cloud becomes a :class:`CloudError` whose text we write
ourselves (never the SDK's, which may quote the request): it says what to do, and never
holds a key, a signature or a request.
"""

from __future__ import annotations

from typing import Optional

# RetCodes seen in UCloud's documentation and tools.
RETCODE_SIGNATURE = 171  # "Signature VerifyAC Error": wrong private key
RETCODE_NO_USER = 172  # "User Not Exists": unknown public key
RETCODES_NOT_FOUND = (4086, 4103)  # "ULB not exist" (as terraform-provider-ucloud treats them)

# CloudError kinds
KIND_CONFIG = "config"
KIND_SDK_MISSING = "sdk-missing"
KIND_AUTH = "auth"
KIND_API = "api"
KIND_NOT_FOUND = "not-found"
KIND_TIMEOUT = "timeout"
KIND_NETWORK = "network"
KIND_RESPONSE = "response"

FALLBACK = "You can also type the VIPs by hand."


class CloudError(Exception):
    """Anything that went wrong while asking the cloud: the message says what to do.

    ``kind`` is one of the ``KIND_*`` constants; ``code`` is the API RetCode when the API
    answered with one. The text never holds a key, a signature or a request.
    """

    def __init__(self, message: str, *, kind: str = KIND_API, code: Optional[int] = None):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.code = code

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"CloudError({self.message!r}, kind={self.kind!r}, code={self.code!r})"

    def to_json(self) -> dict:
        return {"error": self.message, "kind": self.kind, "code": self.code}


def empty_id() -> CloudError:
    return CloudError("The CLB id is empty: fill it in (ulb-...). " + FALLBACK, kind=KIND_CONFIG)
