"""The one place the vendor SDK is called: a configured SDK client that signs DescribeULB
requests and checks their RetCode, answers come back as plain dicts (the program's own
parser reads them, see ``parsing``), transient failures are retried with backoff, and
every failure becomes a :class:`CloudError`.

Why ``Client.invoke`` and not ``ULBClient.describe_ulb``: the latter also loads the answer
through the SDK's strict response schema (ucloud/services/ulb/client.py,
``DescribeULBResponseSchema().loads``), which rejects the whole answer when one integer
field of any CLB in the region is malformed. ``invoke`` (ucloud/core/client/_client.py)
still signs the request and raises ``RetCodeException`` for a RetCode other than 0.

Secrets: the SDK's own request/response logging is switched off (see
``_silence_sdk_logging``); every SDK or transport exception is replaced by a CloudError
raised outside the ``except`` block, so no exception chain carries the request.
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
import unicodedata
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Optional

from clb_wizard.cloud import errors as err
from clb_wizard.cloud.credentials import Credentials
from clb_wizard.cloud.errors import FALLBACK, CloudError
from clb_wizard.files import terminal_safe

# Ours: the API endpoint (a private one, or a fake one in tests).
ENV_API_URL = "CLB_WIZARD_API_URL"
DEFAULT_API_URL = "https://api.ucloud.cn"
# UCloud's VPC-internal endpoint (docs.ucloud.cn/api/summary/gateway, "VPC 内网访问"):
# reachable from UHosts without internet access; HTTP only ("目前不支持 HTTPS 协议").
INTERNAL_API_URL = "http://api.service.ucloud.cn"
ENV_INTERNAL_API_URL = "CLB_WIZARD_INTERNAL_API_URL"  # tests point it at the fake
INTERNAL = "internal"  # --api-url internal, CLB_WIZARD_API_URL=internal
# The SDK's own default (ucloud/core/client/_cfg.py: timeout 30): a page of 100 CLBs
# with their listeners and backends can take a while to build on the API's side.
DEFAULT_TIMEOUT = 30.0
# Waits between tries of a transient failure: 5 tries, at most 7.5 s of waiting.
RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
# Bounds on what the API may send (after decompression): one answer (a page of 100 CLBs
# with their listeners and backends is well under 1 MiB), and all answers of one Api.
MAX_ANSWER_BYTES = 8 << 20
MAX_TOTAL_BYTES = 64 << 20
# The most of a server's own text (a RetCode's Message) that goes into a message, and
# the most of it that is looked at (for the private key) at all.
MESSAGE_CHARS = 200
_SCANNED_CHARS = 64 << 10
# Terminal escape sequences (CSI, OSC, two-byte ESC x, 8-bit CSI): a key split by one
# must still be found.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]"
    r"|\x9b[0-?]*[ -/]*[@-~]")

_SDK_LOGGER = "ucloud"
_NULL_LOGGER_NAME = "clb_wizard.cloud.sdk"


@dataclass(frozen=True)
class Endpoint:
    url: str
    internal: bool  # the VPC-internal endpoint (plain HTTP)


def resolve_endpoint(api_url: Optional[str] = None, env: Optional[Mapping[str, str]] = None,
                     *, internal: bool = False) -> Endpoint:
    """The API endpoint: the VPC-internal one when ``internal`` (or the URL is the word
    "internal"), else ``api_url``, else ``CLB_WIZARD_API_URL``, else api.ucloud.cn."""
    env = os.environ if env is None else env
    url = (api_url or env.get(ENV_API_URL) or DEFAULT_API_URL).strip()
    if internal or url.lower() == INTERNAL:
        url = (env.get(ENV_INTERNAL_API_URL) or INTERNAL_API_URL).strip()
        internal = True
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CloudError(
            f"The API URL {safe_url(url)!r} is not an http(s) URL: fix it or leave it "
            f"empty for {DEFAULT_API_URL}.",
            kind=err.KIND_CONFIG,
        )
    return Endpoint(url, internal or url.rstrip("/") == INTERNAL_API_URL)


def resolve_api_url(api_url: Optional[str] = None, env: Optional[Mapping[str, str]] = None) -> str:
    """The API base URL (see :func:`resolve_endpoint`)."""
    return resolve_endpoint(api_url, env).url


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


def _sdk_missing() -> CloudError:
    return CloudError(
        "The UCloud SDK (package ucloud-sdk-python3, a dependency of clb-wizard) cannot be "
        "imported: reinstall clb-wizard, or `pip install ucloud-sdk-python3` into its "
        "environment. " + FALLBACK,
        kind=err.KIND_SDK_MISSING,
    )


class AnswerTooLarge(Exception):
    """An API answer passed MAX_ANSWER_BYTES (or the Api's MAX_TOTAL_BYTES)."""


class _Budget:
    """Bytes the API may still send through one Api."""

    def __init__(self, total: int) -> None:
        self.left = total


class _CappedBody:
    """A urllib3 response whose body stops with AnswerTooLarge past the bound (counted
    after decompression, so a small gzip bomb is stopped too)."""

    def __init__(self, raw: Any, budget: _Budget) -> None:
        self._raw = raw
        self._budget = budget

    def stream(self, amt: Any = None, decode_content: Any = None) -> Any:
        limit = min(MAX_ANSWER_BYTES, self._budget.left)
        seen = 0
        for chunk in self._raw.stream(amt, decode_content=decode_content):
            seen += len(chunk)
            if seen > limit:
                self._raw.close()
                raise AnswerTooLarge()
            yield chunk
        self._budget.left -= seen

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def _capped_transport(budget: _Budget) -> Any:
    """The SDK's requests transport, its bodies read through _CappedBody."""
    from requests.adapters import HTTPAdapter
    from ucloud.core.transport import RequestsTransport

    class CappedAdapter(HTTPAdapter):
        def build_response(self, req: Any, resp: Any) -> Any:
            response = super().build_response(req, resp)
            response.raw = _CappedBody(response.raw, budget)
            return response

    class CappedTransport(RequestsTransport):
        def _load_adapter(self, max_retries: Optional[int] = None) -> Any:
            adapter = CappedAdapter()
            adapter.max_retries = super()._load_adapter(max_retries).max_retries
            return adapter

    return CappedTransport(max_retries=0)


def scrub_secret(text: Any, secret: Optional[str], limit: int = MESSAGE_CHARS) -> str:
    """Server text for a message: one line, terminal-safe, at most `limit` characters,
    with every run of 8 or more characters of `secret` replaced by "***", even when the
    server split it with spaces, control characters or escape sequences. The key goes
    first and the cut comes last, so no cut leaves a piece of the key behind."""
    text = str(text or "")
    if len(text) > _SCANNED_CHARS:  # no key can straddle this cut: its tail goes too
        text = text[:_SCANNED_CHARS - len(secret or "")]
    if secret:
        text = _masked(text, secret)
    text = " ".join(terminal_safe(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _masked(text: str, secret: str) -> str:
    skip = [ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in text]
    for match in _ESCAPE_SEQUENCE.finditer(text):
        skip[match.start():match.end()] = [True] * (match.end() - match.start())
    index = [i for i, skipped in enumerate(skip) if not skipped]
    visible = "".join(text[i] for i in index)
    width = min(8, len(secret))
    hidden = [False] * len(text)
    for k in range(len(secret) - width + 1):
        piece = secret[k:k + width]
        at = visible.find(piece)
        while at != -1:
            first, last = index[at], index[at + width - 1]
            hidden[first:last + 1] = [True] * (last + 1 - first)
            at = visible.find(piece, at + 1)
    out, n = [], 0
    while n < len(text):
        if hidden[n]:
            out.append("***")
            while n < len(text) and hidden[n]:
                n += 1
        else:
            out.append(text[n])
            n += 1
    return "".join(out)


def _reject_empty_answers(resp: Any) -> Any:
    """Transport response hook: the SDK turns an empty body into None and then fails with
    AttributeError (``data.get``); make it the SDK's own "invalid response" instead."""
    from ucloud.core import exc as sdk_exc

    if not resp.content or not isinstance(resp.json(), dict):
        raise sdk_exc.InvalidResponseException(resp.content[:0], "not a JSON object")
    return resp


class Api:
    """One configured SDK client, and DescribeULB calls with errors translated."""

    def __init__(self, creds: Credentials, api_url: Optional[str], timeout: float, *,
                 internal: bool = False, sleep: Callable[[float], None] = time.sleep):
        if not isinstance(creds, Credentials):
            raise TypeError("creds must be a Credentials")
        self.creds = creds
        self.endpoint = resolve_endpoint(api_url, internal=internal)
        self.url = self.endpoint.url
        self.timeout = float(timeout)
        if not self.timeout > 0:
            raise ValueError("timeout must be positive")
        self.sleep = sleep
        self._budget = _Budget(MAX_TOTAL_BYTES)
        self._client = self._make_client()

    def _make_client(self) -> Any:
        try:
            from ucloud.core.client import Client
            from ucloud.core.utils.middleware import Middleware

            transport = _capped_transport(self._budget)
        except ImportError:
            error: Optional[CloudError] = _sdk_missing()
        else:
            error = None
        if error is not None:
            raise error
        _silence_sdk_logging()
        transport.middleware.response(_reject_empty_answers)
        return Client(
            {
                "region": self.creds.region,
                "project_id": self.creds.project_id,
                "public_key": self.creds.public_key,
                "private_key": self.creds.private_key,
                "base_url": self.url,
                # The SDK config keeps whole seconds; the real per-call timeout (float)
                # is passed on every call.
                "timeout": max(1, math.ceil(self.timeout)),
                # Our own retries (describe): the SDK's would log the request arguments to
                # the root logger (ucloud/core/client/_client.py). No "log_level": the SDK
                # reads Config.log_level nowhere; the null logger below keeps it quiet.
                "max_retries": 0,
            },
            transport=transport,
            # An empty middleware: the default one logs every request and response.
            middleware=Middleware(),
            logger=_null_logger(),
        )

    def describe(self, req: dict, *, ulb_id: Optional[str] = None) -> dict:
        """One DescribeULB answer (a dict); transient failures retried RETRY_DELAYS."""
        delays = list(RETRY_DELAYS)
        tries = 0
        while True:
            tries += 1
            resp, error, transient = self._call(req)
            if error is None:
                return resp
            if not (transient and delays):
                break
            self.sleep(delays.pop(0))
        if transient:
            error = self._still_failing(error, tries, ulb_id)
        # Raised here, outside any except block: no __context__ holding the SDK's
        # exception (and with it the request) in a traceback.
        error.__cause__ = None
        error.__suppress_context__ = True
        raise error

    def _call(self, req: dict) -> tuple[dict, Optional[CloudError], bool]:
        """(answer, None, False), or ({}, the error, whether it is worth another try)."""
        try:
            resp = self._client.invoke("DescribeULB", dict(req), timeout=self.timeout,
                                       max_retries=0)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a CloudError
            error, transient = self._translate(exc)
            return {}, error, transient
        return resp, None, False

    def where(self) -> str:
        return self.creds.where()

    def bad_response(self, what: str = "an answer that is not a UCloud API response") -> CloudError:
        return CloudError(
            f"The API at {safe_url(self.url)} gave {what}: check the API URL, or try "
            f"again later. {FALLBACK}",
            kind=err.KIND_RESPONSE,
        )

    def scrub(self, text: Any) -> str:
        """Server text for a message: short, one line, terminal-safe, without the key."""
        return scrub_secret(text, self.creds.private_key)

    def _translate(self, exc: BaseException) -> tuple[CloudError, bool]:
        from ucloud.core import exc as sdk_exc

        if isinstance(exc, AnswerTooLarge):
            limit = min(MAX_ANSWER_BYTES, MAX_TOTAL_BYTES) >> 20
            return self.bad_response(f"an answer larger than clb-wizard reads ({limit} MiB "
                                     "per answer, 64 MiB in all)"), False

        if isinstance(exc, sdk_exc.RetCodeException):
            code = int(exc.code)
            message = self.scrub(exc.message)
            if code in err.RETCODES_TRANSIENT:
                said = f"RetCode {code}: {message}" if message else f"RetCode {code}"
                return CloudError(said, kind=err.KIND_UNAVAILABLE, code=code), True
            return err.retcode_error(code, message, self.where(), self.endpoint.internal), False
        if isinstance(exc, sdk_exc.HTTPStatusException):
            status = exc.status_code
            return CloudError(
                f"The UCloud API at {safe_url(self.url)} answered with HTTP status {status}. "
                "Check the API URL, or try again later. " + FALLBACK,
                kind=err.KIND_UNAVAILABLE if status in err.HTTP_TRANSIENT else err.KIND_API,
            ), status in err.HTTP_TRANSIENT
        if isinstance(exc, (sdk_exc.InvalidResponseException, sdk_exc.ValidationException)):
            if isinstance(exc, sdk_exc.InvalidResponseException) and not exc.content:
                return self.bad_response("an empty answer"), False
            return self.bad_response(), False
        from clb_wizard.cloud.transport_errors import transport_error

        return transport_error(exc, safe_url(self.url), self.timeout, self.endpoint), False

    def _still_failing(self, last: CloudError, tries: int, ulb_id: Optional[str]) -> CloudError:
        what = f"CLB {ulb_id}" if ulb_id else "the CLB list"
        hint = ""
        if last.code in err.RETCODES_FETCH_FAILED and ulb_id:
            hint = (f" If it keeps failing, check that {ulb_id} exists in {self.where()}.")
        return CloudError(
            f"The UCloud API could not read {what} in {self.where()} ({last.message}), "
            f"still after {tries} tries over {sum(RETRY_DELAYS[:tries - 1]):g} s: the "
            f"service says to try again later.{hint} {FALLBACK}",
            kind=err.KIND_UNAVAILABLE, code=last.code)

    def not_found(self, ulb_id: str, code: Optional[int] = None) -> CloudError:
        return CloudError(
            f"No CLB {ulb_id!r} in {self.where()}. Check the CLB id (ulb-...) and that "
            "the region and project are the CLB's. " + FALLBACK,
            kind=err.KIND_NOT_FOUND,
            code=code,
        )
