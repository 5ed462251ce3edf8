"""The CLB's own view of this host: the health of this host's backends on the CLB's
message-forwarding listeners, polled until healthy or a deadline
(:func:`poll_backend_health`), and the one verification fact both faces show for it
(:func:`health_fact`).

What it proves: the CLB's health check probes each backend's own private IP and port
(ULBVServerSet.MonitorType "Port"/"Ping"/...), not the VIPs. So Status 0 shows that the
CLB can reach the service on this host and will send the listener's traffic here; it does
not show that the VIPs are on lo (the local facts do). Request-proxy listeners are left
out: their traffic reaches the backend without any VIP.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable, Optional

from clb_wizard.cloud.client import DEFAULT_TIMEOUT, Api
from clb_wizard.cloud.credentials import Credentials
from clb_wizard.cloud.discovery import as_host
from clb_wizard.cloud.errors import KIND_TIMEOUT, KIND_UNAVAILABLE, CloudError, empty_id
from clb_wizard.cloud.models import (
    PACKETS_TRANSMIT,
    BackendHealth,
    Clb,
    HealthResult,
    Listener,
    ThisHost,
)
from clb_wizard.cloud.parsing import describe_one, is_this_host, parse_clb
from clb_wizard.verify import Fact

HEALTH_FACT = "CLB health check"
# Failures worth waiting out inside the poll (after the client's own retries).
_WAITED_OUT = (KIND_UNAVAILABLE, KIND_TIMEOUT)


def forwards_packets(lis: Listener, clb: Clb) -> bool:
    """A message-forwarding (DSR) listener: the one kind whose traffic needs the VIPs."""
    return (lis.listen_type or clb.listen_type) == PACKETS_TRANSMIT


def host_backends(clb: Clb, host: ThisHost) -> tuple[BackendHealth, ...]:
    """This host's backends on the CLB's message-forwarding listeners."""
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
        if forwards_packets(lis, clb)
        for b in lis.backends
        if is_this_host(b, clb.vpc_id, host)
    )


def _not_mine(clb: Clb, host: ThisHost) -> str:
    if clb.matches_host:  # a backend, but only of request-proxy listeners
        return (f"This host is a backend of {clb.ulb_id} only on request-proxy listeners: "
                "they need no VIP, so the CLB's health check says nothing about this change.")
    return (f"This host ({host.describe()}) is not a backend of any listener of "
            f"{clb.ulb_id}: add it as a backend in the console.")


def _healthy(ulb_id: str, enabled: list[BackendHealth]) -> str:
    where = ", ".join(f"{b.private_ip}:{'?' if b.port is None else b.port}" for b in enabled)
    return (f"The health check of {ulb_id} reaches this host ({where}) on "
            f"{len({b.vserver_id for b in enabled})} message-forwarding listener(s): the CLB "
            "sends their traffic here. It probes this host's own address, not the VIPs: the "
            "facts above are what show the VIPs on lo.")


def _unhealthy(ulb_id: str, enabled: list[BackendHealth], waited: float) -> str:
    if not enabled:
        return (f"After {waited:.0f} s, {ulb_id}: every backend of this host is disabled: "
                "enable it in the console.")
    bad = "; ".join(b.describe() for b in enabled if not b.healthy)
    return (f"After {waited:.0f} s, the health check of {ulb_id} still fails for this host: "
            f"{bad}. It probes this host's own address and the backend port, not the VIPs: "
            "check that the service also listens there (0.0.0.0 or this host's address, not "
            "only the VIPs) and that the firewall lets the check in. The CLB reports a change "
            "only after several checks, so a service that just started may need a moment.")


@dataclass
class _Poll:
    ulb_id: str
    start: float
    attempts: int = 0

    def result(self, healthy: bool, backends: tuple[BackendHealth, ...], message: str,
               now: float, timed_out: bool = False) -> HealthResult:
        return HealthResult(ulb_id=self.ulb_id, healthy=healthy, backends=backends,
                            message=message, attempts=self.attempts,
                            elapsed=now - self.start, timed_out=timed_out)


def poll_backend_health(
    creds: Credentials,
    ulb_id: str,
    host_private_ips: Sequence[str],
    *,
    host: Optional[ThisHost] = None,
    timeout: float = 120.0,
    interval: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    api_url: Optional[str] = None,
    request_timeout: float = DEFAULT_TIMEOUT,
    internal: bool = False,
) -> HealthResult:
    """Ask DescribeULB every ``interval`` seconds until every enabled backend of this host
    on a message-forwarding listener reports Status 0 (healthy), or ``timeout`` seconds
    have passed. Returns at once (not healthy) when this host is no such backend. A
    transient API failure is waited out until the deadline; others raise CloudError."""
    if interval <= 0:
        raise ValueError("interval must be positive")
    ulb_id = (ulb_id or "").strip()
    if not ulb_id:
        raise empty_id()
    this = as_host(host, [ip for ip in host_private_ips if ip]) or ThisHost()
    api = Api(creds, api_url, request_timeout, internal=internal, sleep=sleep)
    poll = _Poll(ulb_id, clock())
    deadline = poll.start + max(0.0, timeout)
    while True:
        poll.attempts += 1
        try:
            clb = parse_clb(describe_one(api, ulb_id), host=this)
        except CloudError as exc:
            if exc.kind not in _WAITED_OUT or clock() >= deadline:
                raise
            sleep(max(0.0, min(interval, deadline - clock())))
            continue
        mine = host_backends(clb, this)
        now = clock()
        if not mine:
            return poll.result(False, (), _not_mine(clb, this), now)
        enabled = [b for b in mine if b.enabled is not False]
        if enabled and all(b.healthy for b in enabled):
            return poll.result(True, mine, _healthy(ulb_id, enabled), now)
        if now >= deadline:
            return poll.result(False, mine, _unhealthy(ulb_id, enabled, now - poll.start),
                               now, timed_out=True)
        sleep(max(0.0, min(interval, deadline - now)))


def health_fact(
    creds: Credentials,
    ulb_id: str,
    host_private_ips: Sequence[str],
    *,
    host: Optional[ThisHost] = None,
    timeout: float = 120.0,
    interval: float = 5.0,
    api_url: Optional[str] = None,
    internal: bool = False,
    fatal: bool = False,
) -> Fact:
    """The CLB's view of this host as one verification fact, the same for the CLI and the
    wizard. Not fatal unless asked (``verify --require-healthy``): it proves that the CLB
    reaches the service on this host, not that the VIPs are on lo."""
    try:
        result = poll_backend_health(creds, ulb_id, host_private_ips, host=host,
                                     timeout=timeout, interval=interval, api_url=api_url,
                                     internal=internal)
    except CloudError as exc:
        return Fact(HEALTH_FACT, False, str(exc), fatal=fatal)
    return Fact(HEALTH_FACT, result.healthy, result.message, fatal=fatal)
