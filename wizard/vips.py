"""Parse and validate CLB VIPs (IPv4, one address each, /32) with netaddr.

Every rejection raises `VipError` whose message says what is wrong and what to do.
The internal/external policy only produces warnings: the caller decides whether the
user acknowledged them (`--force`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

import netaddr

from clb_wizard.errors import InputError

CLB_TYPES = ("internal", "external")

# Text that can only be an IPv4 address with an optional prefix length. netaddr then
# decides whether it is a real address; this keeps out shell metacharacters, spaces,
# hostnames and inet_aton oddities ("0x7f.1", "127.1") before netaddr ever sees them.
_VIP_TEXT = re.compile(r"^[0-9.]+(/[0-9]{1,3})?$")
_SEPARATORS = re.compile(r"[\s,;]+")

# (network, what it is, why it cannot be a VIP)
_REJECTED = (
    (netaddr.IPNetwork("255.255.255.255/32"), "the limited broadcast address"),
    (netaddr.IPNetwork("0.0.0.0/8"), "in 0.0.0.0/8 ('this network')"),
    (netaddr.IPNetwork("127.0.0.0/8"), "a loopback address (127.0.0.0/8)"),
    (netaddr.IPNetwork("169.254.0.0/16"), "a link-local address (169.254.0.0/16)"),
    (netaddr.IPNetwork("224.0.0.0/4"), "a multicast address (224.0.0.0/4)"),
    (netaddr.IPNetwork("240.0.0.0/4"), "a reserved class E address (240.0.0.0/4)"),
)
PRIVATE_RANGES = tuple(
    netaddr.IPNetwork(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
DOCUMENTATION_RANGES = tuple(
    netaddr.IPNetwork(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)


class VipError(InputError, ValueError):
    """A VIP the wizard refuses; the message tells the user what to do."""


@dataclass(frozen=True)
class VipReport:
    """The outcome of validating a set of VIPs against a CLB type and this host."""

    vips: tuple[str, ...]
    clb_type: Optional[str]
    warnings: tuple[str, ...] = field(default=())  # must be acknowledged (--force)
    notes: tuple[str, ...] = field(default=())  # for information only


def split_vip_text(text: str) -> list[str]:
    """Split "a, b c" (commas, semicolons or whitespace) into single entries."""
    return [part for part in _SEPARATORS.split(text.strip()) if part]


def parse_vip(text: str) -> netaddr.IPAddress:
    """One VIP: dotted-quad IPv4 with an optional /32. Raises VipError."""
    raw = text.strip()
    if not raw:
        raise VipError("The VIP is empty: type the CLB's IPv4 address, e.g. 10.9.8.7.")
    shown = raw if len(raw) <= 60 else raw[:57] + "..."
    if ":" in raw:
        raise VipError(
            f"{shown!r} is an IPv6 address: clb-wizard configures IPv4 VIPs only. "
            "Enter the CLB's IPv4 VIP or EIP."
        )
    if not _VIP_TEXT.match(raw):
        raise VipError(
            f"{shown!r} is not an IPv4 address: only digits, dots and an optional /32 are allowed, "
            "e.g. 10.9.8.7 or 10.9.8.7/32."
        )
    address, _, prefix = raw.partition("/")
    try:
        ip = netaddr.IPAddress(address, version=4, flags=netaddr.INET_PTON)
    except (netaddr.AddrFormatError, ValueError):
        raise VipError(
            f"{shown!r} is not a valid IPv4 address: it needs four numbers 0-255 without "
            "leading zeros, e.g. 10.9.8.7."
        ) from None
    if prefix and int(prefix) != 32:
        raise VipError(
            f"{shown!r} has prefix /{int(prefix)}: a VIP is a single address and goes on the "
            f"loopback as /32. Enter it as {ip} (or {ip}/32)."
        )
    for network, what in _REJECTED:
        if ip in network:
            raise VipError(
                f"{ip} is {what} and cannot be a CLB VIP. Copy the VIP (internal CLB) or the "
                "EIP (external CLB) from the load balancer's details page."
            )
    return ip


def parse_vips(entries: Iterable[str]) -> list[netaddr.IPAddress]:
    """Many VIPs; each entry may itself hold several. Rejects duplicates."""
    seen: dict[netaddr.IPAddress, str] = {}
    for entry in entries:
        for text in split_vip_text(entry) or [entry]:
            ip = parse_vip(text)
            if ip in seen:
                raise VipError(f"{ip} is listed twice: give each VIP once.")
            seen[ip] = text
    if not seen:
        raise VipError("No VIP given: enter at least one CLB VIP (e.g. --vip 10.9.8.7).")
    return list(seen)


def address_kind(ip: netaddr.IPAddress) -> str:
    """'documentation', 'private' (RFC 1918 or shared 100.64/10) or 'public'."""
    if any(ip in net for net in DOCUMENTATION_RANGES):
        return "documentation"
    if any(ip in net for net in PRIVATE_RANGES):
        return "private"
    return "public"


def infer_clb_type(vips: Sequence[netaddr.IPAddress]) -> Optional[str]:
    kinds = {address_kind(ip) for ip in vips} - {"documentation"}
    if kinds == {"private"}:
        return "internal"
    if kinds == {"public"}:
        return "external"
    return None


def check_vips(
    entries: Iterable[str],
    clb_type: Optional[str] = None,
    host_addresses: Optional[Mapping[str, Iterable[str]]] = None,
) -> VipReport:
    """Validate VIPs for a CLB type against this host's non-loopback addresses.

    `host_addresses` maps an interface name (never "lo") to its addresses, with or
    without a prefix. A VIP equal to one of them would take the host's own address
    onto the loopback and break its networking, so that is an error, not a warning.
    """
    if clb_type is not None and clb_type not in CLB_TYPES:
        raise VipError(f"Unknown CLB type {clb_type!r}: choose 'internal' or 'external'.")
    vips = parse_vips(entries)
    for ifname, addresses in (host_addresses or {}).items():
        if ifname == "lo":
            continue
        own = {netaddr.IPAddress(str(a).split("/")[0]) for a in addresses if ":" not in str(a)}
        for ip in vips:
            if ip in own:
                raise VipError(
                    f"{ip} is already this host's own address on {ifname}: putting it on the "
                    "loopback would cut the host off. Use the CLB's VIP, not the backend's IP."
                )
    warnings: list[str] = []
    notes: list[str] = []
    for ip in vips:
        kind = address_kind(ip)
        if kind == "documentation":
            notes.append(
                f"{ip} is in a documentation range (RFC 5737): fine for tests, "
                "but no real CLB uses it."
            )
        elif clb_type == "internal" and kind == "public":
            warnings.append(
                f"{ip} is a public address, but an internal CLB's VIP is private "
                "(10/8, 172.16/12, 192.168/16 or 100.64/10). Check the CLB type."
            )
        elif clb_type == "external" and kind == "private":
            warnings.append(
                f"{ip} is a private address, but an external CLB is reached on its public "
                "EIPs. Check the CLB type, or enter every EIP bound to it."
            )
    effective = clb_type or infer_clb_type(vips)
    if clb_type is None and effective is not None:
        notes.append(f"CLB type not given: the VIPs look like an {effective} CLB's.")
    return VipReport(
        vips=tuple(str(ip) for ip in vips),
        clb_type=effective,
        warnings=tuple(warnings),
        notes=tuple(notes),
    )
