"""The program's own reading of DescribeULB answers: from the response's dicts to
:class:`~clb_wizard.cloud.models.Clb`, tolerant of odd values (a field that is not a
number reads as unknown), with the warnings the user should see."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
    frontend_label,
)

_ULB_TYPES = {"InnerMode": INTERNAL, "OuterMode": EXTERNAL}


def opt_int(value: Any) -> Optional[int]:
    try:
        return None if value is None or value == "" else int(value)
    except (TypeError, ValueError):
        return None


def opt_bool(value: Any) -> Optional[bool]:
    v = opt_int(value)
    return None if v is None else bool(v)


def _listeners(ulb: Mapping[str, Any]) -> tuple[Listener, ...]:
    out = []
    for vs in ulb.get("VServerSet") or ():
        backends = tuple(
            Backend(
                private_ip=str(b.get("PrivateIP")),
                port=opt_int(b.get("Port")),
                status=opt_int(b.get("Status")),
                enabled=opt_bool(b.get("Enabled")),
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
                frontend_port=opt_int(vs.get("FrontendPort")),
                listen_type=vs.get("ListenType") or None,
                backends=backends,
            )
        )
    return tuple(out)


def _listener_label(lis: Listener) -> str:
    return (lis.name or lis.vserver_id or "?") + frontend_label(lis.protocol, lis.frontend_port)



def parse_clb(
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



def check_clb_type(clb_type: Optional[str]) -> None:
    if clb_type is not None and clb_type not in CLB_TYPES:
        raise ValueError(f"clb_type must be one of {CLB_TYPES} or None, not {clb_type!r}")


def dataset(api: Api, resp: Mapping[str, Any]) -> list:
    data = resp.get("DataSet")
    if data is None:
        return []
    if not isinstance(data, list):
        raise api.bad_response()
    return data


def describe_one(api: Api, ulb_id: str) -> Mapping[str, Any]:
    resp = api.describe({"ULBId": ulb_id}, ulb_id=ulb_id)
    for ulb in dataset(api, resp):
        if ulb.get("ULBId") == ulb_id:
            return ulb
    raise api.not_found(ulb_id)
