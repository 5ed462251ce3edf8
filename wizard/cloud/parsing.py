"""The program's own reading of DescribeULB answers: from the response's dicts to
:class:`~clb_wizard.cloud.models.Clb`, with the warnings the user should see.

Tolerant by design (the SDK's strict schema is not used, see ``client``): a number that
is not one reads as unknown, an entry that is not an object is skipped, so one odd value
on another CLB does not fail the whole answer. Every string is made terminal-safe here,
once, before any face prints it.

Field names are the SDK's (ucloud/services/ulb/client.py, DescribeULB's ULBSet,
ULBVServerSet, ULBBackendSet; ResourceId, SubResourceId and VPCId included).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from clb_wizard.cloud.client import Api
from clb_wizard.cloud.models import (
    CLB_TYPES,
    EXTERNAL,
    INTERNAL,
    REQUEST_PROXY,
    UNKNOWN,
    Backend,
    Clb,
    ClbVip,
    Listener,
    ThisHost,
    frontend_label,
)
from clb_wizard.cloud.text import terminal_safe
from clb_wizard.vips import VipError, parse_vip

_ULB_TYPES = {"InnerMode": INTERNAL, "OuterMode": EXTERNAL}
# Bounds on what one CLB of an answer may hold (the API's own quotas are far lower):
# beyond them, the rest is left out with a warning.
MAX_TEXT = 256  # characters of a name, id or any other string
MAX_LISTENERS = 256
MAX_BACKENDS = 1024  # per listener
MAX_EIPS = 64


def opt_int(value: Any) -> Optional[int]:
    try:
        return None if value is None or value == "" or isinstance(value, bool) else int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def opt_bool(value: Any) -> Optional[bool]:
    v = opt_int(value)
    return None if v is None else bool(v)


def opt_text(value: Any) -> Optional[str]:
    """A string field, terminal-safe and at most MAX_TEXT characters ("..." ends a longer
    one); None when empty or not a scalar."""
    if value is None or value == "" or isinstance(value, (dict, list)):
        return None
    text = terminal_safe(str(value)[:MAX_TEXT + 1])
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 3] + "..."


def objects(value: Any, limit: Optional[int] = None) -> list[Mapping[str, Any]]:
    """The objects of a list field (the first `limit`); anything else (a malformed entry)
    is skipped."""
    if not isinstance(value, list):
        return []
    return [v for v in value[:limit] if isinstance(v, Mapping)]


def _too_many(value: Any, limit: int, what: str, ulb_id: str) -> list[str]:
    if isinstance(value, list) and len(value) > limit:
        return [f"CLB {ulb_id} has {len(value)} {what}: only the first {limit} were read. "
                "Check it in the console."]
    return []


def one_address(value: Any, field: str, ulb_id: str, warnings: list[str]) -> Optional[str]:
    """The VIP an API field holds: exactly one IPv4 address (vips.parse_vip), never split
    into several as typed input is. Anything else is left out, with a warning."""
    if value is None or value == "":
        return None
    try:
        if not isinstance(value, str):
            raise VipError("not a text")
        return str(parse_vip(value))
    except VipError:
        warnings.append(f"CLB {ulb_id}: its {field} is {opt_text(value)!r}, not one IPv4 "
                        "address, so it was left out. Check the CLB in the console, or "
                        "type its VIPs.")
        return None


def _backend(b: Mapping[str, Any]) -> Optional[Backend]:
    ip = opt_text(b.get("PrivateIP"))
    if ip is None:
        return None
    return Backend(
        private_ip=ip,
        port=opt_int(b.get("Port")),
        status=opt_int(b.get("Status")),
        enabled=opt_bool(b.get("Enabled")),
        resource_id=opt_text(b.get("ResourceId")),
        sub_resource_id=opt_text(b.get("SubResourceId")),
        vpc_id=opt_text(b.get("VPCId")),
    )


def _listeners(ulb: Mapping[str, Any]) -> tuple[Listener, ...]:
    out = []
    for vs in objects(ulb.get("VServerSet"), MAX_LISTENERS):
        backends = (_backend(b) for b in objects(vs.get("BackendSet"), MAX_BACKENDS))
        out.append(
            Listener(
                vserver_id=opt_text(vs.get("VServerId")) or "",
                name=opt_text(vs.get("VServerName")) or "",
                protocol=opt_text(vs.get("Protocol")),
                frontend_port=opt_int(vs.get("FrontendPort")),
                listen_type=opt_text(vs.get("ListenType")),
                backends=tuple(b for b in backends if b is not None),
            )
        )
    return tuple(out)


def listener_label(lis: Listener) -> str:
    return (lis.name or lis.vserver_id or "?") + frontend_label(lis.protocol, lis.frontend_port)


def is_this_host(backend: Backend, clb_vpc: Optional[str], host: ThisHost) -> bool:
    """Whether ``backend`` is this host. By instance id where both sides have one (a UHost
    backend's ResourceId is the uhost-id; SubResourceId names its UNI); else by private IP,
    and then only within one of this host's VPCs: VPCs in one region reuse address
    ranges, and a CLB's backends are in the CLB's VPC (ULB error 63032)."""
    ids = {i for i in (backend.resource_id, backend.sub_resource_id) if i}
    if host.uhost_id and ids:
        return host.uhost_id in ids
    if backend.private_ip not in host.private_ips:
        return False
    vpc = backend.vpc_id or clb_vpc
    if host.vpc_ids:
        return vpc in host.vpc_ids
    return True  # no instance metadata (not a UHost): the address is all there is


def _vips(ulb: Mapping[str, Any], ulb_id: str, ulb_type: str, raw_type: str,
          warnings: list[str]) -> list[ClbVip]:
    kept: list[str] = []  # this CLB's kind of VIP only: the other's odd fields do not matter
    private_ip = one_address(ulb.get("PrivateIP"), "PrivateIP", ulb_id, kept)
    private_vip = [ClbVip(private_ip, "private", None)] if private_ip else []
    eips = []
    eip_warnings: list[str] = _too_many(ulb.get("IPSet"), MAX_EIPS, "EIPs", ulb_id)
    for ip in objects(ulb.get("IPSet"), MAX_EIPS):
        eip = one_address(ip.get("EIP"), "EIP", ulb_id, eip_warnings)
        if eip:
            eips.append(ClbVip(eip, "eip", opt_text(ip.get("OperatorName"))))
    warnings += (kept if ulb_type != EXTERNAL else []) + (
        eip_warnings if ulb_type != INTERNAL else [])
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
    return vips


def _mode_warnings(ulb_id: str, listen_type: Optional[str],
                   listeners: tuple[Listener, ...]) -> list[str]:
    if listen_type == REQUEST_PROXY:
        return [
            f"CLB {ulb_id} is in request proxy mode (RequestProxy): its backends receive "
            "connections from the CLB's proxy addresses, so no VIP is needed on the loopback."
        ]
    return [
        f"Listener {listener_label(lis)} of CLB {ulb_id} is in request proxy "
        "mode (RequestProxy): its traffic needs no VIP on the loopback."
        for lis in listeners
        if lis.listen_type == REQUEST_PROXY
    ]


def parse_clb(
    ulb: Mapping[str, Any],
    *,
    clb_type: Optional[str] = None,
    host: Optional[ThisHost] = None,
) -> Clb:
    ulb_id = opt_text(ulb.get("ULBId")) or ""
    name = opt_text(ulb.get("Name")) or opt_text(ulb.get("ULBName")) or ""
    raw_type = opt_text(ulb.get("ULBType")) or ""
    ulb_type = _ULB_TYPES.get(raw_type, UNKNOWN)
    listen_type = opt_text(ulb.get("ListenType"))
    vpc_id = opt_text(ulb.get("VPCId"))
    listeners = _listeners(ulb)
    warnings = _too_many(ulb.get("VServerSet"), MAX_LISTENERS, "listeners", ulb_id)
    for vs in objects(ulb.get("VServerSet"), MAX_LISTENERS):
        warnings += _too_many(vs.get("BackendSet"), MAX_BACKENDS, "backends on a listener",
                              ulb_id)
    vips = _vips(ulb, ulb_id, ulb_type, raw_type, warnings)
    warnings += _mode_warnings(ulb_id, listen_type, listeners)
    if clb_type is not None and ulb_type in CLB_TYPES and clb_type != ulb_type:
        what = "its private IP" if ulb_type == INTERNAL else "its EIPs"
        warnings.append(
            f"You chose an {clb_type} CLB, but {ulb_id} is {ulb_type} ({raw_type}): "
            f"its VIPs are {what}."
        )
    backends = [b for lis in listeners for b in lis.backends]
    matches = host is not None and any(is_this_host(b, vpc_id, host) for b in backends)
    return Clb(
        ulb_id=ulb_id,
        name=name,
        ulb_type=ulb_type,
        listen_type=listen_type,
        vips=tuple(vips),
        backend_private_ips=tuple(dict.fromkeys(b.private_ip for b in backends)),
        warnings=tuple(warnings),
        matches_host=matches,
        listeners=listeners,
        vpc_id=vpc_id,
    )


def check_clb_type(clb_type: Optional[str]) -> None:
    if clb_type is not None and clb_type not in CLB_TYPES:
        raise ValueError(f"clb_type must be one of {CLB_TYPES} or None, not {clb_type!r}")


def dataset(api: Api, resp: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    data = resp.get("DataSet")
    if data is None:
        return []
    if not isinstance(data, list):
        raise api.bad_response()
    return objects(data)


def describe_one(api: Api, ulb_id: str) -> Mapping[str, Any]:
    resp = api.describe({"ULBId": ulb_id}, ulb_id=ulb_id)
    for ulb in dataset(api, resp):
        if ulb.get("ULBId") == ulb_id:
            return ulb
    raise api.not_found(ulb_id)
