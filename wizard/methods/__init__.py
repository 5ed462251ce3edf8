"""One module per persistence method; `get_method` maps a platform's method name."""

from __future__ import annotations

from .base import Method, MethodError
from .ifcfg import IfcfgMethod
from .ifupdown import IfupdownMethod
from .netplan import NetplanMethod
from .networkmanager import NetworkManagerMethod
from .systemd_unit import SystemdUnitMethod
from .windows import WindowsMethod

_METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        IfcfgMethod(),
        NetworkManagerMethod(),
        IfupdownMethod(),
        NetplanMethod(),
        SystemdUnitMethod(),
        WindowsMethod(),
    )
}


def get_method(name: str) -> Method:
    return _METHODS[name]


__all__ = ["Method", "MethodError", "get_method"]
