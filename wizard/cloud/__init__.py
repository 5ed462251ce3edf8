"""Ask the UCloud API which VIPs a Classic Load Balancer (CLB) has, and whether this
host's backends are healthy.

Everything goes through the vendor SDK (``ucloud-sdk-python3``: ``ucloud.client``,
``client.ulb().describe_ulb(...)``); nothing here signs requests by hand.

Secrets: the API keys live in memory only. They are never written to disk, never logged
(the SDK's own request/response logging is switched off, see ``_silence_sdk_logging``),
never part of an exception message or traceback (every SDK or transport exception is
replaced by a :class:`CloudError` whose text we write ourselves, raised outside the
``except`` block so no exception chain carries the original), and never in a ``repr``
(:class:`Credentials` redacts the private key).

Callers always have a fallback: when anything here raises :class:`CloudError`, the user
types the VIPs by hand.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

# The variable names UCloud's own tools read (terraform-provider-ucloud, packer, the SDK
# examples and acceptance tests): a user who already uses them has nothing to set up.
ENV_PUBLIC_KEY = "UCLOUD_PUBLIC_KEY"
ENV_PRIVATE_KEY = "UCLOUD_PRIVATE_KEY"
ENV_REGION = "UCLOUD_REGION"
ENV_PROJECT_ID = "UCLOUD_PROJECT_ID"
# Ours: a private API endpoint (or a fake one in tests), and the metadata service.
ENV_API_URL = "CLB_WIZARD_API_URL"
ENV_METADATA_URL = "CLB_WIZARD_METADATA_URL"

DEFAULT_API_URL = "https://api.ucloud.cn"
# UHost metadata service (docs.ucloud.cn/uhost/guide/metadata/metadata-server): the
# items below are relative to this, e.g. <base>/region and <base>/project-id.
DEFAULT_METADATA_URL = "http://100.80.80.80/meta-data/latest/uhost"
METADATA_TIMEOUT = 0.5
DEFAULT_TIMEOUT = 10.0
DEFAULT_PAGE_SIZE = 100

INTERNAL = "internal"
EXTERNAL = "external"
UNKNOWN = "unknown"
CLB_TYPES = (INTERNAL, EXTERNAL)
_ULB_TYPES = {"InnerMode": INTERNAL, "OuterMode": EXTERNAL}

REQUEST_PROXY = "RequestProxy"
PACKETS_TRANSMIT = "PacketsTransmit"

# RetCodes seen in UCloud's documentation and tools.
RETCODE_SIGNATURE = 171  # "Signature VerifyAC Error": wrong private key
RETCODE_NO_USER = 172  # "User Not Exists": unknown public key
RETCODES_NOT_FOUND = (4086, 4103)  # "ULB not exist" (as terraform-provider-ucloud treats them)

# Backend health (ULBBackendSet.Status): 0 healthy, 1 health check failing.
STATUS_HEALTHY = 0

# CloudError kinds
KIND_CONFIG = "config"
KIND_SDK_MISSING = "sdk-missing"
KIND_AUTH = "auth"
KIND_API = "api"
KIND_NOT_FOUND = "not-found"
KIND_TIMEOUT = "timeout"
KIND_NETWORK = "network"
KIND_RESPONSE = "response"

_FALLBACK = "You can also type the VIPs by hand."

_SDK_LOGGER = "ucloud"
_NULL_LOGGER_NAME = "clb_wizard.cloud.sdk"


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


# --------------------------------------------------------------------------- credentials


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
                    f"The {name.replace('_', ' ')} is empty: fill it in. {_FALLBACK}",
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


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ClbVip:
    """One address the CLB receives traffic on: its private IP (internal CLB) or one EIP
    (external CLB) with the EIP's operator line (Bgp, International, ...)."""

    address: str
    kind: str  # "private" | "eip"
    operator: Optional[str] = None

    def to_json(self) -> dict:
        return {"address": self.address, "kind": self.kind, "operator": self.operator}


@dataclass(frozen=True)
class Backend:
    """One backend (real server) of a listener."""

    private_ip: str
    port: Optional[int]
    status: Optional[int]  # 0 healthy, 1 failing, None not reported
    enabled: Optional[bool]
    resource_id: Optional[str] = None

    @property
    def healthy(self) -> bool:
        return self.status == STATUS_HEALTHY

    def to_json(self) -> dict:
        return {
            "private_ip": self.private_ip,
            "port": self.port,
            "status": self.status,
            "healthy": self.healthy,
            "enabled": self.enabled,
            "resource_id": self.resource_id,
        }


@dataclass(frozen=True)
class Listener:
    """A VServer (listener) of the CLB."""

    vserver_id: str
    name: str
    protocol: Optional[str]
    frontend_port: Optional[int]
    listen_type: Optional[str]  # RequestProxy | PacketsTransmit
    backends: tuple[Backend, ...] = ()

    def to_json(self) -> dict:
        return {
            "vserver_id": self.vserver_id,
            "name": self.name,
            "protocol": self.protocol,
            "frontend_port": self.frontend_port,
            "listen_type": self.listen_type,
            "backends": [b.to_json() for b in self.backends],
        }


@dataclass(frozen=True)
class Clb:
    """What the wizard needs to know about one CLB."""

    ulb_id: str
    name: str
    ulb_type: str  # "internal" | "external" | "unknown"
    listen_type: Optional[str]  # RequestProxy | PacketsTransmit | Comprehensive | Pending
    vips: tuple[ClbVip, ...]
    backend_private_ips: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    matches_host: bool = False
    listeners: tuple[Listener, ...] = ()

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(v.address for v in self.vips)

    def to_json(self) -> dict:
        return {
            "ulb_id": self.ulb_id,
            "name": self.name,
            "ulb_type": self.ulb_type,
            "listen_type": self.listen_type,
            "vips": [v.to_json() for v in self.vips],
            "backend_private_ips": list(self.backend_private_ips),
            "warnings": list(self.warnings),
            "matches_host": self.matches_host,
            "listeners": [lis.to_json() for lis in self.listeners],
        }


@dataclass(frozen=True)
class BackendHealth:
    """Health of one of this host's backends, on one listener."""

    vserver_id: str
    listener: str
    protocol: Optional[str]
    frontend_port: Optional[int]
    private_ip: str
    port: Optional[int]
    status: Optional[int]
    enabled: Optional[bool]

    @property
    def healthy(self) -> bool:
        return self.status == STATUS_HEALTHY

    def describe(self) -> str:
        where = (self.listener or self.vserver_id) + _frontend(self.protocol, self.frontend_port)
        if self.enabled is False:
            state = "disabled"
        elif self.status is None:
            state = "no status reported"
        else:
            state = "healthy" if self.healthy else "health check failing"
        port = "?" if self.port is None else self.port
        return f"{where} -> {self.private_ip}:{port}: {state}"

    def to_json(self) -> dict:
        return {
            "vserver_id": self.vserver_id,
            "listener": self.listener,
            "protocol": self.protocol,
            "frontend_port": self.frontend_port,
            "private_ip": self.private_ip,
            "port": self.port,
            "status": self.status,
            "enabled": self.enabled,
            "healthy": self.healthy,
        }


@dataclass(frozen=True)
class HealthResult:
    """The outcome of :func:`poll_backend_health`."""

    ulb_id: str
    healthy: bool
    backends: tuple[BackendHealth, ...]
    message: str
    attempts: int
    elapsed: float
    timed_out: bool = False

    def to_json(self) -> dict:
        return {
            "ulb_id": self.ulb_id,
            "healthy": self.healthy,
            "backends": [b.to_json() for b in self.backends],
            "message": self.message,
            "attempts": self.attempts,
            "elapsed": round(self.elapsed, 3),
            "timed_out": self.timed_out,
        }


# --------------------------------------------------------------------------- metadata

_META_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def metadata_defaults(
    url: Optional[str] = None,
    timeout: float = METADATA_TIMEOUT,
    env: Optional[Mapping[str, str]] = None,
) -> dict[str, Optional[str]]:
    """Region and project of this host from the UHost metadata service.

    ``{"region": ..., "project_id": ...}``, each None when unknown: silently, and after at
    most about one ``timeout`` when this host is not a UCloud instance. ``url`` (or
    ``CLB_WIZARD_METADATA_URL``) replaces ``http://100.80.80.80/meta-data/latest/uhost``.
    """
    env = os.environ if env is None else env
    base = (url or env.get(ENV_METADATA_URL) or DEFAULT_METADATA_URL).rstrip("/")
    # The metadata service is on the instance's own network: never through a proxy.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    result: dict[str, Optional[str]] = {"region": None, "project_id": None}
    for key, item in (("region", "region"), ("project_id", "project-id")):
        try:
            with opener.open(f"{base}/{item}", timeout=timeout) as resp:
                if resp.status != 200:
                    continue
                text = resp.read(256).decode("ascii", "replace").strip()
        except urllib.error.HTTPError:
            continue  # the service answered: try the other item
        except Exception:  # noqa: BLE001 - unreachable, timeout, refused: not a cloud host
            break
        if _META_VALUE.match(text):
            result[key] = text
    return result


# --------------------------------------------------------------------------- SDK plumbing


def resolve_api_url(api_url: Optional[str] = None, env: Optional[Mapping[str, str]] = None) -> str:
    """The API base URL: the argument, else ``CLB_WIZARD_API_URL``, else api.ucloud.cn."""
    env = os.environ if env is None else env
    url = (api_url or env.get(ENV_API_URL) or DEFAULT_API_URL).strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CloudError(
            f"The API URL {_safe_url(url)!r} is not an http(s) URL: fix it or leave it "
            f"empty for {DEFAULT_API_URL}.",
            kind=KIND_CONFIG,
        )
    return url


def _safe_url(url: str) -> str:
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


class _Api:
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
                "`pip install 'clb-wizard[cloud]'` (package ucloud-sdk-python3). " + _FALLBACK,
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
                error = self._bad_response()
        if error is not None:
            # Raised here, outside the except block: no __context__ holding the SDK's
            # exception (and with it the request) in a traceback.
            error.__cause__ = None
            error.__suppress_context__ = True
            raise error
        return resp

    def _where(self) -> str:
        project = f", project {self.creds.project_id}" if self.creds.project_id else ""
        return f"region {self.creds.region}{project}"

    def _bad_response(self) -> CloudError:
        return CloudError(
            f"The API at {_safe_url(self.url)} gave an answer that is not a UCloud API "
            f"response: check the API URL. {_FALLBACK}",
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

        url = _safe_url(self.url)
        if isinstance(exc, sdk_exc.RetCodeException):
            code = int(exc.code)
            if code == RETCODE_SIGNATURE:
                return CloudError(
                    f"The UCloud API refused the request signature (RetCode {code}): the "
                    "private key does not belong to the public key. Copy both keys again "
                    "from the console (API keys page), without spaces or line breaks. " + _FALLBACK,
                    kind=KIND_AUTH,
                    code=code,
                )
            if code == RETCODE_NO_USER:
                return CloudError(
                    f"The UCloud API does not know this public key (RetCode {code}). Copy "
                    "the public key again from the console (API keys page). " + _FALLBACK,
                    kind=KIND_AUTH,
                    code=code,
                )
            if code in RETCODES_NOT_FOUND and ulb_id:
                return self._not_found(ulb_id, code)
            message = self._scrub(exc.message) or "no message"
            return CloudError(
                f"The UCloud API refused DescribeULB in {self._where()} (RetCode {code}: "
                f"{message}). Check the region, the project and that the keys may read "
                "load balancers. " + _FALLBACK,
                kind=KIND_API,
                code=code,
            )
        if isinstance(exc, requests.exceptions.Timeout):
            return CloudError(
                f"The UCloud API at {url} did not answer within {self.timeout:g} s. Check "
                "the network (proxy, firewall) and try again. " + _FALLBACK,
                kind=KIND_TIMEOUT,
            )
        if isinstance(exc, requests.exceptions.ConnectionError):
            return CloudError(
                f"Cannot reach the UCloud API at {url}: no network, DNS failure or "
                "connection refused. Check the network, the proxy settings and the API URL. "
                + _FALLBACK,
                kind=KIND_NETWORK,
            )
        if isinstance(exc, sdk_exc.HTTPStatusException):
            return CloudError(
                f"The UCloud API at {url} answered with HTTP status {exc.status_code}. "
                "Check the API URL, or try again later. " + _FALLBACK,
                kind=KIND_API,
            )
        if isinstance(exc, (requests.exceptions.RequestException, OSError)):
            return CloudError(
                f"The request to the UCloud API at {url} failed ({type(exc).__name__}). "
                "Check the API URL and the network. " + _FALLBACK,
                kind=KIND_NETWORK,
            )
        if isinstance(exc, (sdk_exc.InvalidResponseException, sdk_exc.ValidationException)):
            return self._bad_response()
        return CloudError(
            f"Unexpected error while asking the UCloud API ({type(exc).__name__}). " + _FALLBACK,
            kind=KIND_API,
        )

    def _not_found(self, ulb_id: str, code: Optional[int] = None) -> CloudError:
        return CloudError(
            f"No CLB {ulb_id!r} in {self._where()}. Check the CLB id (ulb-...) and that "
            "the region and project are the CLB's. " + _FALLBACK,
            kind=KIND_NOT_FOUND,
            code=code,
        )


# --------------------------------------------------------------------------- parsing


def _opt_int(value: Any) -> Optional[int]:
    try:
        return None if value is None or value == "" else int(value)
    except (TypeError, ValueError):
        return None


def _opt_bool(value: Any) -> Optional[bool]:
    v = _opt_int(value)
    return None if v is None else bool(v)


def _listeners(ulb: Mapping[str, Any]) -> tuple[Listener, ...]:
    out = []
    for vs in ulb.get("VServerSet") or ():
        backends = tuple(
            Backend(
                private_ip=str(b.get("PrivateIP")),
                port=_opt_int(b.get("Port")),
                status=_opt_int(b.get("Status")),
                enabled=_opt_bool(b.get("Enabled")),
                resource_id=b.get("ResourceId") or None,
            )
            for b in (vs.get("BackendSet") or ())
            if b.get("PrivateIP")
        )
        out.append(
            Listener(
                vserver_id=str(vs.get("VServerId") or ""),
                name=str(vs.get("VServerName") or ""),
                protocol=vs.get("Protocol") or None,
                frontend_port=_opt_int(vs.get("FrontendPort")),
                listen_type=vs.get("ListenType") or None,
                backends=backends,
            )
        )
    return tuple(out)


def _listener_label(lis: Listener) -> str:
    return (lis.name or lis.vserver_id or "?") + _frontend(lis.protocol, lis.frontend_port)


def _frontend(protocol: Optional[str], port: Optional[int]) -> str:
    """The ' (TCP:80)' part of a listener label; empty when neither is known."""
    if not protocol and port is None:
        return ""
    return f" ({protocol or '?'}:{'?' if port is None else port})"


def _parse_clb(
    ulb: Mapping[str, Any],
    *,
    clb_type: Optional[str] = None,
    host_ips: Optional[Iterable[str]] = None,
) -> Clb:
    ulb_id = str(ulb.get("ULBId") or "")
    name = str(ulb.get("Name") or ulb.get("ULBName") or "")
    raw_type = ulb.get("ULBType") or ""
    ulb_type = _ULB_TYPES.get(raw_type, UNKNOWN)
    listen_type = ulb.get("ListenType") or None
    listeners = _listeners(ulb)
    warnings: list[str] = []

    private_vip = []
    if ulb.get("PrivateIP"):
        private_vip = [ClbVip(str(ulb["PrivateIP"]), "private", None)]
    eips = [
        ClbVip(str(ip["EIP"]), "eip", ip.get("OperatorName") or None)
        for ip in (ulb.get("IPSet") or ())
        if ip.get("EIP")
    ]
    if ulb_type == INTERNAL:
        vips = private_vip
    elif ulb_type == EXTERNAL:
        vips = eips
    else:
        vips = private_vip + eips
        warnings.append(
            f"CLB {ulb_id} has an unrecognised type {raw_type!r}: check its VIPs in the console."
        )
    if not vips:
        warnings.append(f"CLB {ulb_id} has no VIP yet (no private IP and no EIP bound).")

    if listen_type == REQUEST_PROXY:
        warnings.append(
            f"CLB {ulb_id} is in request proxy mode (RequestProxy): its backends receive "
            "connections from the CLB's proxy addresses, so no VIP is needed on the loopback."
        )
    else:
        for lis in listeners:
            if lis.listen_type == REQUEST_PROXY:
                warnings.append(
                    f"Listener {_listener_label(lis)} of CLB {ulb_id} is in request proxy "
                    "mode (RequestProxy): its traffic needs no VIP on the loopback."
                )
    if clb_type is not None and ulb_type in CLB_TYPES and clb_type != ulb_type:
        what = "its private IP" if ulb_type == INTERNAL else "its EIPs"
        warnings.append(
            f"You chose an {clb_type} CLB, but {ulb_id} is {ulb_type} ({raw_type}): "
            f"its VIPs are {what}."
        )

    backend_ips: list[str] = []
    for lis in listeners:
        for b in lis.backends:
            if b.private_ip not in backend_ips:
                backend_ips.append(b.private_ip)
    hosts = set(host_ips or ())
    matches = bool(hosts) and any(ip in hosts for ip in backend_ips)
    return Clb(
        ulb_id=ulb_id,
        name=name,
        ulb_type=ulb_type,
        listen_type=listen_type,
        vips=tuple(vips),
        backend_private_ips=tuple(backend_ips),
        warnings=tuple(warnings),
        matches_host=matches,
        listeners=listeners,
    )


def _empty_id() -> CloudError:
    return CloudError("The CLB id is empty: fill it in (ulb-...). " + _FALLBACK, kind=KIND_CONFIG)


def _check_clb_type(clb_type: Optional[str]) -> None:
    if clb_type is not None and clb_type not in CLB_TYPES:
        raise ValueError(f"clb_type must be one of {CLB_TYPES} or None, not {clb_type!r}")


def _dataset(api: _Api, resp: Mapping[str, Any]) -> list:
    data = resp.get("DataSet")
    if data is None:
        return []
    if not isinstance(data, list):
        raise api._bad_response()
    return data


def _describe_one(api: _Api, ulb_id: str) -> Mapping[str, Any]:
    resp = api.describe({"ULBId": ulb_id}, ulb_id=ulb_id)
    for ulb in _dataset(api, resp):
        if ulb.get("ULBId") == ulb_id:
            return ulb
    raise api._not_found(ulb_id)


# --------------------------------------------------------------------------- public API


def fetch_clb(
    creds: Credentials,
    ulb_id: str,
    *,
    clb_type: Optional[str] = None,
    host_private_ips: Optional[Sequence[str]] = None,
    api_url: Optional[str] = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Clb:
    """The CLB ``ulb_id`` and its VIPs: its private IP when internal (InnerMode), every
    EIP with its operator when external (OuterMode).

    ``clb_type`` ("internal"/"external"): what the user chose; a warning says when the CLB
    is the other kind. With ``host_private_ips``, ``matches_host`` says whether this host is
    one of its backends (and a warning when it is not). Raises :class:`CloudError`.
    """
    _check_clb_type(clb_type)
    ulb_id = (ulb_id or "").strip()
    if not ulb_id:
        raise _empty_id()
    api = _Api(creds, api_url, timeout)
    clb = _parse_clb(_describe_one(api, ulb_id), clb_type=clb_type, host_ips=host_private_ips)
    if host_private_ips and not clb.matches_host:
        note = (
            f"This host ({', '.join(host_private_ips)}) is not a backend of any listener of "
            f"{clb.ulb_id}: add it as a backend in the console."
        )
        clb = dataclasses.replace(clb, warnings=(*clb.warnings, note))
    return clb


def discover_clbs(
    creds: Credentials,
    host_private_ips: Sequence[str],
    *,
    clb_type: Optional[str] = None,
    api_url: Optional[str] = None,
    timeout: float = DEFAULT_TIMEOUT,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> list[Clb]:
    """Every CLB of the region (all pages), candidates first: a CLB is a candidate
    (``matches_host``) when one of its listeners has one of ``host_private_ips`` as a
    backend. Raises :class:`CloudError`; never returns a partial list."""
    _check_clb_type(clb_type)
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    api = _Api(creds, api_url, timeout)
    seen: dict[str, Mapping[str, Any]] = {}
    offset = 0
    total: Optional[int] = None
    # A bound on the number of pages, in case the API's paging misbehaves.
    for _ in range(10_000):
        resp = api.describe({"Limit": page_size, "Offset": offset})
        page = _dataset(api, resp)
        count = _opt_int(resp.get("TotalCount"))
        if count is not None:
            total = count
        for ulb in page:
            key = str(ulb.get("ULBId") or f"#{offset}")
            seen.setdefault(key, ulb)
        offset += len(page)
        if total is None:
            if len(page) < page_size:
                break
        elif offset >= total:
            break
        if not page:
            raise CloudError(
                f"The CLB list of {api._where()} stopped after {offset} of {total} CLBs "
                "(the list changed while it was read?). Try again. " + _FALLBACK,
                kind=KIND_RESPONSE,
            )
    else:
        raise CloudError(
            "The CLB list did not end: the API's paging misbehaves. " + _FALLBACK,
            kind=KIND_RESPONSE,
        )
    clbs = [_parse_clb(u, clb_type=clb_type, host_ips=host_private_ips) for u in seen.values()]
    clbs.sort(key=lambda c: (not c.matches_host, c.name.lower(), c.ulb_id))
    return clbs


def _host_backends(clb: Clb, host_ips: set[str]) -> tuple[BackendHealth, ...]:
    return tuple(
        BackendHealth(
            vserver_id=lis.vserver_id,
            listener=lis.name,
            protocol=lis.protocol,
            frontend_port=lis.frontend_port,
            private_ip=b.private_ip,
            port=b.port,
            status=b.status,
            enabled=b.enabled,
        )
        for lis in clb.listeners
        for b in lis.backends
        if b.private_ip in host_ips
    )


def poll_backend_health(
    creds: Credentials,
    ulb_id: str,
    host_private_ips: Sequence[str],
    *,
    timeout: float = 120.0,
    interval: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    api_url: Optional[str] = None,
    request_timeout: float = DEFAULT_TIMEOUT,
) -> HealthResult:
    """Ask DescribeULB every ``interval`` seconds until every enabled backend of this host
    (matched by private IP, on every listener) reports Status 0 (healthy), or ``timeout``
    seconds have passed. Returns at once (not healthy) when this host is no backend of
    the CLB. API failures raise :class:`CloudError`."""
    if interval <= 0:
        raise ValueError("interval must be positive")
    ulb_id = (ulb_id or "").strip()
    if not ulb_id:
        raise _empty_id()
    hosts = {ip for ip in host_private_ips if ip}
    api = _Api(creds, api_url, request_timeout)
    start = clock()
    deadline = start + max(0.0, timeout)
    attempts = 0
    while True:
        attempts += 1
        clb = _parse_clb(_describe_one(api, ulb_id), host_ips=hosts)
        mine = _host_backends(clb, hosts)
        now = clock()
        if not mine:
            return HealthResult(
                ulb_id=ulb_id,
                healthy=False,
                backends=(),
                message=(
                    f"This host ({', '.join(sorted(hosts)) or 'no address'}) is not a backend "
                    f"of any listener of {ulb_id}: add it as a backend in the console."
                ),
                attempts=attempts,
                elapsed=now - start,
            )
        enabled = [b for b in mine if b.enabled is not False]
        if enabled and all(b.healthy for b in enabled):
            return HealthResult(
                ulb_id=ulb_id,
                healthy=True,
                backends=mine,
                message=f"All {len(enabled)} backend(s) of this host on {ulb_id} are healthy.",
                attempts=attempts,
                elapsed=now - start,
            )
        if now >= deadline:
            if not enabled:
                why = "every backend of this host is disabled: enable it in the console."
            else:
                bad = "; ".join(b.describe() for b in enabled if not b.healthy)
                why = (
                    f"not healthy yet: {bad}. Check that the service listens on the VIPs "
                    "and that the health check can reach it."
                )
            return HealthResult(
                ulb_id=ulb_id,
                healthy=False,
                backends=mine,
                message=f"After {now - start:.0f} s, {ulb_id}: {why}",
                attempts=attempts,
                elapsed=now - start,
                timed_out=True,
            )
        sleep(max(0.0, min(interval, deadline - now)))
