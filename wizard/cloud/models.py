"""What the program knows about a CLB, as plain frozen dataclasses: its VIPs, listeners
and backends (:class:`Clb`), and the health of this host's backends (:class:`HealthResult`).
Each has ``to_json`` for the CLI's ``--json``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

INTERNAL = "internal"
EXTERNAL = "external"
UNKNOWN = "unknown"
CLB_TYPES = (INTERNAL, EXTERNAL)

REQUEST_PROXY = "RequestProxy"
PACKETS_TRANSMIT = "PacketsTransmit"

# Backend health (ULBBackendSet.Status): 0 healthy, 1 health check failing.
STATUS_HEALTHY = 0


def frontend_label(protocol: Optional[str], port: Optional[int]) -> str:
    """The ' (TCP:80)' part of a listener label; empty when neither is known."""
    if not protocol and port is None:
        return ""
    return f" ({protocol or '?'}:{'?' if port is None else port})"


@dataclass(frozen=True)
class ThisHost:
    """How to recognise this host among a CLB's backends: its instance id and VPCs (from
    the instance metadata, when this is a UHost) and its private addresses."""

    private_ips: tuple[str, ...] = ()
    uhost_id: Optional[str] = None
    vpc_ids: tuple[str, ...] = ()

    def describe(self) -> str:
        ips = ", ".join(self.private_ips) or "no address"
        return f"{self.uhost_id}, {ips}" if self.uhost_id else ips

    def to_json(self) -> dict:
        return {"private_ips": list(self.private_ips), "uhost_id": self.uhost_id,
                "vpc_ids": list(self.vpc_ids)}


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
    resource_id: Optional[str] = None  # the instance (uhost-...) behind the backend
    sub_resource_id: Optional[str] = None  # its virtual NIC (uni-...), if bound to one
    vpc_id: Optional[str] = None

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
            "sub_resource_id": self.sub_resource_id,
            "vpc_id": self.vpc_id,
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
    vpc_id: Optional[str] = None

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
            "vpc_id": self.vpc_id,
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
        where = self.listener or self.vserver_id
        where += frontend_label(self.protocol, self.frontend_port)
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
