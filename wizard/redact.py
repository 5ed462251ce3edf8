"""What `clb-wizard report` may show of a configuration file: redaction by allow-list.

Support needs our own files, the `lo` stanzas, addresses and the ARP/rp_filter sysctls;
everything else a file holds (Wi-Fi and WireGuard keys, passwords in `up` commands,
tokens, comments) is replaced by "<redacted>". Only names on the lists below keep their
values, so a secret under a name nobody thought of is hidden too (a list of secret names
would miss it). Key names and the file's structure stay, so support still sees its shape.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

REDACTED = "<redacted>"

# Keys whose values are safe and useful: interface names, methods, addresses, routes.
_SAFE_KEY = re.compile(
    r"^(auto|allow-[a-z-]+|iface|mapping|source|source-directory|source-dir|"
    r"address(es)?\d*|netmask\d*|network|broadcast|gateway[46]?\d*|label|scope|metric|mtu|"
    r"pointopoint|id|uuid|type|interface-name|autoconnect|method|route\d*|routes|"
    r"never-default|may-fail|description|name|device|onboot|bootproto|ipaddr\d*|prefix\d*|"
    r"defroute|nm_controlled|version|renderer|dhcp[46]|to|via|from|on-link|table|"
    r"set-name|optional|lifetime|link|interfaces|match|"
    r"net\.ipv4\.conf\.[a-z0-9_.:-]+\.(arp_ignore|arp_announce|rp_filter))$",
    re.IGNORECASE,
)
# netplan maps whose keys are interface names (kept), not settings.
_DEVICE_MAPS = {"ethernets", "bonds", "bridges", "vlans", "tunnels", "wifis", "modems",
                "dummy-devices", "virtual-ethernets", "vrfs", "nm-devices"}
_NETPLAN_TOP = {"network"} | _DEVICE_MAPS
# key=value (keyfiles, ifcfg, units, sysctl.d), key value (interfaces(5))
_KV = re.compile(r"^(\s*)([A-Za-z0-9_.:\-\"']+)(\s*=\s*|\s+)(\S.*)$")


def redact(path: str, text: str) -> tuple[str, bool]:
    """`text` with every value not on the allow-list replaced; (text, anything redacted)."""
    if path.endswith((".yaml", ".yml")):
        return _redact_yaml(text)
    out, redacted = [], False
    for line in text.splitlines(keepends=True):
        ending = "\n" if line.endswith("\n") else ""
        body = line.rstrip("\n")
        stripped = body.strip()
        if not stripped or (stripped.startswith("[") and stripped.endswith("]")):
            out.append(line)
            continue
        if stripped.startswith(("#", ";")):
            out.append(f"{body[:len(body) - len(stripped)]}# {REDACTED}{ending}")
            redacted = True
            continue
        match = _KV.match(body)
        if match and _SAFE_KEY.match(match.group(2).strip("\"'")):
            out.append(line)
            continue
        if match:
            out.append(f"{match.group(1)}{match.group(2)}{match.group(3)}{REDACTED}{ending}")
        else:  # a bare word or something odd: keep nothing of it
            out.append(f"{body[:len(body) - len(body.lstrip())]}{REDACTED}{ending}")
        redacted = True
    return "".join(out), redacted


def _redact_yaml(text: str) -> tuple[str, bool]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return f"{REDACTED} (not valid YAML)\n", True
    if data is None:
        return text if not text.strip() else "", False
    state = {"redacted": "#" in text}  # comments are dropped by the round trip
    cleaned = _walk(data, "", state)
    return yaml.safe_dump(cleaned, sort_keys=False, default_flow_style=False), state["redacted"]


def _walk(node: Any, parent: str, state: dict) -> Any:
    if isinstance(node, list):
        return [_walk(item, parent, state) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        name = str(key)
        if parent in _DEVICE_MAPS or name in _NETPLAN_TOP or _SAFE_KEY.match(name):
            out[key] = _walk(value, name, state)
        elif isinstance(value, (dict, list)):
            out[key] = _walk_all_redacted(value, state)
        else:
            out[key] = REDACTED
            state["redacted"] = True
    return out


def _walk_all_redacted(node: Any, state: dict) -> Any:
    """Under a key that is not on the list, even safe-looking names lose their values."""
    state["redacted"] = True
    if isinstance(node, list):
        return [_walk_all_redacted(item, state) for item in node]
    if isinstance(node, dict):
        return {k: _walk_all_redacted(v, state) for k, v in node.items()}
    return REDACTED
