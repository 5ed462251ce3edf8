"""Finding CLBs: one by its id (:func:`fetch_clb`), or every CLB of this host's VPC (of
the region when the VPC is unknown), this host's first (:func:`discover_clbs`)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from clb_wizard.cloud.client import DEFAULT_TIMEOUT, Api
from clb_wizard.cloud.credentials import Credentials
from clb_wizard.cloud.errors import FALLBACK, KIND_RESPONSE, CloudError, empty_id
from clb_wizard.cloud.models import Clb, ThisHost
from clb_wizard.cloud.parsing import check_clb_type, dataset, describe_one, opt_int, parse_clb

DEFAULT_PAGE_SIZE = 100
# The most CLBs one discovery reads (an account's quota is a few hundred per region):
# paging that never ends stops here, after MAX_CLBS / page size requests.
MAX_CLBS = 5000


def natural_key(text: str) -> tuple:
    """Sort key putting "other-2" before "other-10"."""
    return tuple(int(part) if part.isdigit() else part.lower()
                 for part in re.split(r"(\d+)", text))


def as_host(host: Optional[ThisHost], private_ips: Optional[Sequence[str]]) -> Optional[ThisHost]:
    if host is not None:
        return host
    return ThisHost(private_ips=tuple(private_ips)) if private_ips else None


def fetch_clb(
    creds: Credentials,
    ulb_id: str,
    *,
    clb_type: Optional[str] = None,
    host_private_ips: Optional[Sequence[str]] = None,
    host: Optional[ThisHost] = None,
    api_url: Optional[str] = None,
    timeout: float = DEFAULT_TIMEOUT,
    internal: bool = False,
) -> Clb:
    """The CLB ``ulb_id`` and its VIPs: its private IP when internal (InnerMode), every
    EIP with its operator when external (OuterMode).

    ``clb_type`` ("internal"/"external"): what the user chose; a warning says when the CLB
    is the other kind. With ``host`` (or just ``host_private_ips``), ``matches_host`` says
    whether this host is one of its backends (and a warning when it is not). ``internal``:
    use the VPC-internal API endpoint. Raises :class:`CloudError`.
    """
    check_clb_type(clb_type)
    ulb_id = (ulb_id or "").strip()
    if not ulb_id:
        raise empty_id()
    host = as_host(host, host_private_ips)
    api = Api(creds, api_url, timeout, internal=internal)
    clb = parse_clb(describe_one(api, ulb_id), clb_type=clb_type, host=host)
    if host is not None and not clb.matches_host:
        note = (
            f"This host ({host.describe()}) is not a backend of any listener of "
            f"{clb.ulb_id}: add it as a backend in the console."
        )
        clb = dataclasses.replace(clb, warnings=(*clb.warnings, note))
    return clb


def _all_pages(api: Api, page_size: int, vpc_id: Optional[str]) -> list[Mapping[str, Any]]:
    seen: dict[str, Mapping[str, Any]] = {}
    offset = 0
    total: Optional[int] = None
    where = api.where() + (f", VPC {vpc_id}" if vpc_id else "")
    too_many = CloudError(
        f"{where} has more than {MAX_CLBS} CLBs (or the API's paging never ends): "
        "clb-wizard does not list them all. Give the CLB's id instead (--ulb-id). "
        + FALLBACK, kind=KIND_RESPONSE)
    while True:
        req: dict[str, Any] = {"Limit": page_size, "Offset": offset}
        if vpc_id:
            req["VPCId"] = vpc_id
        resp = api.describe(req)
        page = dataset(api, resp)
        count = opt_int(resp.get("TotalCount"))
        if count is not None:
            total = count
        if len(page) > page_size:
            raise api.bad_response(f"a page of {len(page)} CLBs when it asked for {page_size}")
        if (total or 0) > MAX_CLBS:
            raise too_many
        for ulb in page:
            key = str(ulb.get("ULBId") or f"#{offset}")
            seen.setdefault(key, ulb)
        offset += len(page)
        if total is None:
            if len(page) < page_size:
                return list(seen.values())
        elif offset >= total:
            return list(seen.values())
        if not page:
            raise CloudError(
                f"The CLB list of {where} stopped after {offset} of {total} CLBs "
                "(the list changed while it was read?). Try again. " + FALLBACK,
                kind=KIND_RESPONSE,
            )
        if offset >= MAX_CLBS:
            raise too_many


def discover_clbs(
    creds: Credentials,
    host_private_ips: Sequence[str],
    *,
    clb_type: Optional[str] = None,
    host: Optional[ThisHost] = None,
    api_url: Optional[str] = None,
    timeout: float = DEFAULT_TIMEOUT,
    page_size: int = DEFAULT_PAGE_SIZE,
    internal: bool = False,
) -> list[Clb]:
    """Every CLB this host could be a backend of (all pages), candidates first, each group
    in natural order of name: a CLB is a candidate (``matches_host``) when one of its
    listeners has this host as a backend. When ``host`` knows this host's VPCs, only their
    CLBs are asked for (DescribeULB's ``VPCId``: a backend is always in its CLB's VPC).
    Raises :class:`CloudError`; never returns a partial list."""
    check_clb_type(clb_type)
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    host = as_host(host, host_private_ips)
    api = Api(creds, api_url, timeout, internal=internal)
    vpcs: Sequence[Optional[str]] = (host.vpc_ids if host is not None else ()) or (None,)
    raw: dict[str, Mapping[str, Any]] = {}
    for vpc_id in vpcs:
        for ulb in _all_pages(api, page_size, vpc_id):
            raw.setdefault(str(ulb.get("ULBId") or f"#{len(raw)}"), ulb)
    clbs = [parse_clb(u, clb_type=clb_type, host=host) for u in raw.values()]
    clbs.sort(key=lambda c: (not c.matches_host, natural_key(c.name), natural_key(c.ulb_id)))
    return clbs
