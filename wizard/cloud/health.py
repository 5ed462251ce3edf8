"""The CLB's own view of this host: the health of this host's backends, polled until
healthy or a deadline (:func:`poll_backend_health`), and the one verification fact both
faces show for it (:func:`health_fact`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Callable, Optional

from clb_wizard.cloud.client import DEFAULT_TIMEOUT, Api
from clb_wizard.cloud.credentials import Credentials
from clb_wizard.cloud.errors import CloudError, empty_id
from clb_wizard.cloud.models import BackendHealth, Clb, HealthResult
from clb_wizard.cloud.parsing import describe_one, parse_clb
from clb_wizard.verify import Fact


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
        raise empty_id()
    hosts = {ip for ip in host_private_ips if ip}
    api = Api(creds, api_url, request_timeout)
    start = clock()
    deadline = start + max(0.0, timeout)
    attempts = 0
    while True:
        attempts += 1
        clb = parse_clb(describe_one(api, ulb_id), host_ips=hosts)
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


HEALTH_FACT = "CLB health check"


def health_fact(
    creds: Credentials,
    ulb_id: str,
    host_private_ips: Sequence[str],
    *,
    timeout: float = 120.0,
    interval: float = 5.0,
    api_url: Optional[str] = None,
    fatal: bool = False,
) -> Fact:
    """The CLB's view of this host as one verification fact, the same for the CLI and the
    wizard: polls :func:`poll_backend_health`; an API failure is a failed fact."""
    try:
        result = poll_backend_health(creds, ulb_id, host_private_ips, timeout=timeout,
                                     interval=interval, api_url=api_url)
    except CloudError as exc:
        return Fact(HEALTH_FACT, False, str(exc), fatal=fatal)
    return Fact(HEALTH_FACT, result.healthy, result.message, fatal=fatal)
