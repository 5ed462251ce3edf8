"""Finding CLBs: one by its id (:func:`fetch_clb`), or every CLB of the region with this
host's first (:func:`discover_clbs`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from clb_wizard.cloud.client import DEFAULT_TIMEOUT, Api
from clb_wizard.cloud.credentials import Credentials
from clb_wizard.cloud.errors import FALLBACK, KIND_RESPONSE, CloudError, empty_id
from clb_wizard.cloud.models import Clb
from clb_wizard.cloud.parsing import check_clb_type, dataset, describe_one, opt_int, parse_clb

DEFAULT_PAGE_SIZE = 100


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
    check_clb_type(clb_type)
    ulb_id = (ulb_id or "").strip()
    if not ulb_id:
        raise empty_id()
    api = Api(creds, api_url, timeout)
    clb = parse_clb(describe_one(api, ulb_id), clb_type=clb_type, host_ips=host_private_ips)
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
    check_clb_type(clb_type)
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    api = Api(creds, api_url, timeout)
    seen: dict[str, Mapping[str, Any]] = {}
    offset = 0
    total: Optional[int] = None
    # A bound on the number of pages, in case the API's paging misbehaves.
    for _ in range(10_000):
        resp = api.describe({"Limit": page_size, "Offset": offset})
        page = dataset(api, resp)
        count = opt_int(resp.get("TotalCount"))
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
                f"The CLB list of {api.where()} stopped after {offset} of {total} CLBs "
                "(the list changed while it was read?). Try again. " + FALLBACK,
                kind=KIND_RESPONSE,
            )
    else:
        raise CloudError(
            "The CLB list did not end: the API's paging misbehaves. " + FALLBACK,
            kind=KIND_RESPONSE,
        )
    clbs = [parse_clb(u, clb_type=clb_type, host_ips=host_private_ips) for u in seen.values()]
    clbs.sort(key=lambda c: (not c.matches_host, c.name.lower(), c.ulb_id))
    return clbs
