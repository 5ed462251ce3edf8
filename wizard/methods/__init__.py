"""One module per persistence method; `get_method` maps a platform's method name."""

from __future__ import annotations

from clb_wizard.methods.base import Method, MethodError
from clb_wizard.methods.ifcfg import IfcfgMethod
from clb_wizard.methods.ifupdown import IfupdownMethod
from clb_wizard.methods.netplan import NetplanMethod
from clb_wizard.methods.networkmanager import NetworkManagerMethod
from clb_wizard.methods.systemd_unit import SystemdUnitMethod
from clb_wizard.methods.windows import WindowsMethod

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
