"""The one place the vendor SDK is called: a configured ULB client whose DescribeULB calls
come back as plain dicts, every failure translated into a :class:`CloudError`.

Secrets: the SDK's own request/response logging is switched off (see
``_silence_sdk_logging``); every SDK or transport exception is replaced by a CloudError
raised outside the ``except`` block, so no exception chain carries the request.
"""

from __future__ import annotations

import logging
import math
import os
import urllib.parse
from collections.abc import Mapping
from typing import Any, Optional

from clb_wizard.cloud.credentials import Credentials
from clb_wizard.cloud.errors import (
    FALLBACK,
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

# Ours: a private API endpoint (or a fake one in tests).
ENV_API_URL = "CLB_WIZARD_API_URL"
DEFAULT_API_URL = "https://api.ucloud.cn"
DEFAULT_TIMEOUT = 10.0

_SDK_LOGGER = "ucloud"
_NULL_LOGGER_NAME = "clb_wizard.cloud.sdk"


def resolve_api_url(api_url: Optional[str] = None, env: Optional[Mapping[str, str]] = None) -> str:
    """The API base URL: the argument, else ``CLB_WIZARD_API_URL``, else api.ucloud.cn."""
    env = os.environ if env is None else env
    url = (api_url or env.get(ENV_API_URL) or DEFAULT_API_URL).strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CloudError(
            f"The API URL {safe_url(url)!r} is not an http(s) URL: fix it or leave it "
            f"empty for {DEFAULT_API_URL}.",
            kind=KIND_CONFIG,
        )
    return url


def safe_url(url: str) -> str:
    """The URL without any user:password part, for messages."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _silence_sdk_logging() -> None:
    """The SDK adds a StreamHandler (stderr, INFO) to the "ucloud" logger at import time
    and logs every request and response through it (ucloud/core/utils/log.py). Remove that
    handler, drop the level below everything and stop propagation, so nothing of it ever
    reaches the screen or a log file. Idempotent."""
    sdk_logger = logging.getLogger(_SDK_LOGGER)
    for handler in list(sdk_logger.handlers):
        if not isinstance(handler, logging.NullHandler):
            sdk_logger.removeHandler(handler)
    if not any(isinstance(h, logging.NullHandler) for h in sdk_logger.handlers):
        sdk_logger.addHandler(logging.NullHandler())
    sdk_logger.setLevel(logging.CRITICAL + 1)
    sdk_logger.propagate = False
    sdk_logger.disabled = True


def _null_logger() -> logging.Logger:
    """The logger handed to the SDK client: it emits nothing, whatever the root config."""
    logger = logging.getLogger(_NULL_LOGGER_NAME)
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    logger.setLevel(logging.CRITICAL + 1)
    logger.propagate = False
    logger.disabled = True
    return logger


class Api:
    """One configured SDK ULB client, and DescribeULB calls with errors translated."""

    def __init__(self, creds: Credentials, api_url: Optional[str], timeout: float):
        if not isinstance(creds, Credentials):
            raise TypeError("creds must be a Credentials")
        self.creds = creds
        self.url = resolve_api_url(api_url)
        self.timeout = float(timeout)
        if not self.timeout > 0:
            raise ValueError("timeout must be positive")
        self._ulb = self._client()

    def _client(self) -> Any:
        try:
            from ucloud.client import Client
            from ucloud.core.transport import RequestsTransport
            from ucloud.core.utils.middleware import Middleware
        except ImportError:
            error = CloudError(
                "The UCloud SDK is not installed: install it with "
                "`pip install 'clb-wizard[cloud]'` (package ucloud-sdk-python3). " + FALLBACK,
                kind=KIND_SDK_MISSING,
            )
        else:
            error = None
        if error is not None:
            raise error
        _silence_sdk_logging()
        client = Client(
            {
                "region": self.creds.region,
                "project_id": self.creds.project_id,
                "public_key": self.creds.public_key,
                "private_key": self.creds.private_key,
                "base_url": self.url,
                # The SDK config keeps whole seconds; the real per-call timeout (float)
                # is passed on every call.
                "timeout": max(1, math.ceil(self.timeout)),
                # Retries would log to the root logger with the request arguments
                # (ucloud/core/client/_client.py) and make timeouts unpredictable.
                "max_retries": 0,
                "log_level": logging.CRITICAL,
            },
            transport=RequestsTransport(max_retries=0),
            # An empty middleware: the default one logs every request and response.
            middleware=Middleware(),
            logger=_null_logger(),
        )
        return client.ulb()

    def describe(self, req: dict, *, ulb_id: Optional[str] = None) -> dict:
        error: Optional[CloudError] = None
        try:
            resp = self._ulb.describe_ulb(dict(req), timeout=self.timeout, max_retries=0)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a CloudError
            error = self._translate(exc, ulb_id)
        else:
            if not isinstance(resp, dict):
                error = self.bad_response()
        if error is not None:
            # Raised here, outside the except block: no __context__ holding the SDK's
            # exception (and with it the request) in a traceback.
            error.__cause__ = None
            error.__suppress_context__ = True
            raise error
        return resp

    def where(self) -> str:
        project = f", project {self.creds.project_id}" if self.creds.project_id else ""
        return f"region {self.creds.region}{project}"

    def bad_response(self) -> CloudError:
        return CloudError(
            f"The API at {safe_url(self.url)} gave an answer that is not a UCloud API "
            f"response: check the API URL. {FALLBACK}",
            kind=KIND_RESPONSE,
        )

    def _scrub(self, text: Any) -> str:
        """Server text for a message: short, one line, without the private key."""
        text = " ".join(str(text or "").split())[:200]
        key = self.creds.private_key
        if key and key in text:
            text = text.replace(key, "***")
        return text

    def _translate(self, exc: BaseException, ulb_id: Optional[str]) -> CloudError:
        import requests
        from ucloud.core import exc as sdk_exc

        url = safe_url(self.url)
        if isinstance(exc, sdk_exc.RetCodeException):
            code = int(exc.code)
            if code == RETCODE_SIGNATURE:
                return CloudError(
                    f"The UCloud API refused the request signature (RetCode {code}): the "
                    "private key does not belong to the public key. Copy both keys again "
                    "from the console (API keys page), without spaces or line breaks. " + FALLBACK,
                    kind=KIND_AUTH,
                    code=code,
                )
            if code == RETCODE_NO_USER:
                return CloudError(
                    f"The UCloud API does not know this public key (RetCode {code}). Copy "
                    "the public key again from the console (API keys page). " + FALLBACK,
                    kind=KIND_AUTH,
                    code=code,
                )
            if code in RETCODES_NOT_FOUND and ulb_id:
                return self.not_found(ulb_id, code)
            message = self._scrub(exc.message) or "no message"
            return CloudError(
                f"The UCloud API refused DescribeULB in {self.where()} (RetCode {code}: "
                f"{message}). Check the region, the project and that the keys may read "
                "load balancers. " + FALLBACK,
                kind=KIND_API,
                code=code,
            )
        if isinstance(exc, requests.exceptions.Timeout):
            return CloudError(
                f"The UCloud API at {url} did not answer within {self.timeout:g} s. Check "
                "the network (proxy, firewall) and try again. " + FALLBACK,
                kind=KIND_TIMEOUT,
            )
        if isinstance(exc, requests.exceptions.ConnectionError):
            return CloudError(
                f"Cannot reach the UCloud API at {url}: no network, DNS failure or "
                "connection refused. Check the network, the proxy settings and the API URL. "
                + FALLBACK,
                kind=KIND_NETWORK,
            )
        if isinstance(exc, sdk_exc.HTTPStatusException):
            return CloudError(
                f"The UCloud API at {url} answered with HTTP status {exc.status_code}. "
                "Check the API URL, or try again later. " + FALLBACK,
                kind=KIND_API,
            )
        if isinstance(exc, (requests.exceptions.RequestException, OSError)):
            return CloudError(
                f"The request to the UCloud API at {url} failed ({type(exc).__name__}). "
                "Check the API URL and the network. " + FALLBACK,
                kind=KIND_NETWORK,
            )
        if isinstance(exc, (sdk_exc.InvalidResponseException, sdk_exc.ValidationException)):
            return self.bad_response()
        return CloudError(
            f"Unexpected error while asking the UCloud API ({type(exc).__name__}). " + FALLBACK,
            kind=KIND_API,
        )

    def not_found(self, ulb_id: str, code: Optional[int] = None) -> CloudError:
        return CloudError(
            f"No CLB {ulb_id!r} in {self.where()}. Check the CLB id (ulb-...) and that "
            "the region and project are the CLB's. " + FALLBACK,
            kind=KIND_NOT_FOUND,
            code=code,
        )
