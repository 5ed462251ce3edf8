"""What a state record (journal.json, history/<id>.json, last.json) may say, checked before
anything acts on it: `rollback` and `recover` write the files a record names, run `ip` and
`sysctl` with its values and kill the watchdog it names, all as root.

A record is refused as damaged (StateError, exit 2, nothing changed) unless:
  - its id matches ID (it names files in the state directory: no "/" and no "..");
  - its method is one of the registry's methods for a Linux host, and every file it
    restores is one that method owns (ask the method: its watched files, and the files
    directly in its watched directories) or the ARP sysctl file, written as a normalised
    absolute path (no "..", ".", "//"), each once;
  - its VIPs are IPv4 addresses written plainly; lo's addresses are addresses, with a
    prefix length that fits and an interface label of at most 15 plain characters;
  - its sysctls are the ARP ones (clb_wizard.sysctls.WANTED), set to our values, with an
    old value that is a number;
  - its modes, owners and extended attributes are what a file can have (no file
    capabilities), its watchdog is the one this change armed, and every field has its type.
The checksum detects damage; it is not a signature (anyone who can write the state
directory can compute it). What keeps another user's records out is the directory's own
check (Store: owned by root, writable by nobody else, and each record file likewise).
"""

from __future__ import annotations

import math
import posixpath
import re
from typing import Any

import netaddr

from clb_wizard import sysctls
from clb_wizard.files import terminal_safe
from clb_wizard.methods import REGISTRY
from clb_wizard.platform import NetworkStack, Platform
from clb_wizard.vips import VipError, parse_vip

# "20250102-030405-0a1b2c": Journal.new; "20250102T030405-123456-ansible": the playbook's
# record (clb_wizard/export/ansible_record.py).
ID = re.compile(r"\A(?:\d{8}-\d{6}-[0-9a-f]{6}|\d{8}T\d{6}-\d{1,6}-ansible)\Z")
_LABEL = re.compile(r"\A[A-Za-z0-9_.:-]{0,15}\Z")
_SYSCTL_VALUE = re.compile(r"\A-?\d{1,10}\Z")
_XATTR = re.compile(r"\A(?:user|trusted|security|system)\.[\x21-\x7e]{1,250}\Z")
_FORBIDDEN_XATTRS = ("security.capability",)  # file capabilities: privileges, not metadata
MAX_FILES = 256
MAX_VIPS = 1024
MAX_TEXT = 64 * 1024


class RecordRefused(ValueError):
    """The record says something clb-wizard will not act on (the message says what)."""


def check_record(data: dict) -> None:
    """Raise RecordRefused (or KeyError/TypeError) unless `data` is a record clb-wizard
    may act on (see the module docstring). `data` is the parsed JSON object."""
    _check_id(data["id"])
    method = data["method"]
    if not (isinstance(method, str) and method in REGISTRY
            and REGISTRY[method].host_os == "linux"):
        raise RecordRefused(f"it names the method {_show(method)}, which clb-wizard does not "
                            "apply")
    for key in ("vips", "foreign"):
        _check_list(data.get(key, []), key, MAX_VIPS)
        for vip in data.get(key, []):
            if not is_plain_ipv4(vip):
                raise RecordRefused(f"{key} holds {_show(vip)}, which is not an IPv4 address")
    _check_files(data["files"], method)
    _check_list(data["live_before"], "live_before", MAX_VIPS)
    for addr in data["live_before"]:
        _check_lo_address(addr)
    _check_list(data.get("sysctls", []), "sysctls", len(sysctls.WANTED))
    for change in data.get("sysctls", []):
        _check_sysctl(change)
    deadline = data.get("confirm_deadline")
    if deadline is not None and not _is_number(deadline):
        raise RecordRefused("confirm_deadline is not a time")
    _check_watchdog(data.get("watchdog"), data["id"])
    error = data.get("error")
    if error is not None and not (isinstance(error, str) and len(error) <= MAX_TEXT):
        raise RecordRefused("error is not a text")
    history = data.get("history", [])
    _check_list(history, "history", 1024)
    for step in history:
        if not (isinstance(step, list) and len(step) == 2 and isinstance(step[0], str)
                and _is_number(step[1])):
            raise RecordRefused("history holds a step that is not [state, time]")
    platform_from_json(data["platform"])


def _check_id(tx_id: Any) -> None:
    if not (isinstance(tx_id, str) and ID.match(tx_id)):
        raise RecordRefused(f"its id {_show(tx_id)} is not one clb-wizard makes")


def _check_files(files: Any, method: str) -> None:
    _check_list(files, "files", MAX_FILES)
    seen = set()
    for record in files:
        if not isinstance(record, dict):
            raise RecordRefused("files holds an entry that is not an object")
        path = record["path"]
        if not is_clean_path(path):
            raise RecordRefused(f"it names the path {_show(path)}, which is not a plain "
                                "absolute path")
        if not owns(method, path):
            raise RecordRefused(f"it names {path}, which is not a file of the {method} method: "
                                "clb-wizard never wrote it")
        if path in seen:
            raise RecordRefused(f"it names {path} twice")
        seen.add(path)
        for key in ("before_mode", "after_mode"):
            if not (_is_int(record[key]) and 0 <= record[key] <= 0o7777):
                raise RecordRefused(f"{key} of {path} is not a file mode")
        for key in ("before_uid", "before_gid"):
            if not (_is_int(record[key]) and 0 <= record[key] < 2**32 - 1):
                raise RecordRefused(f"{key} of {path} is not an owner")
        for key in ("before", "after"):
            if record[key] is not None and not isinstance(record[key], str):
                raise RecordRefused(f"{key} of {path} is not base64 text")
        link = record.get("before_link")
        if link is not None and not (isinstance(link, str) and 0 < len(link) <= 4096
                                     and "\0" not in link):
            raise RecordRefused(f"before_link of {path} is not a link target")
        xattrs = record.get("before_xattrs", {})
        if not isinstance(xattrs, dict):
            raise RecordRefused(f"before_xattrs of {path} is not an object")
        for name, value in xattrs.items():
            if not _XATTR.match(name) or name in _FORBIDDEN_XATTRS:
                raise RecordRefused(f"{path} would get the extended attribute {_show(name)}")
            if not isinstance(value, str):
                raise RecordRefused(f"the extended attribute {name} of {path} is not base64")


def owns(method: str, path: str) -> bool:
    """`path` is a file the method writes or edits (the registry's watched files, and the
    files directly in its watched directories) or the ARP sysctl file."""
    m = REGISTRY[method]
    if path == sysctls.PATH or path in m.watch_files:
        return True
    directory, name = posixpath.split(path)
    return directory in m.watch_dirs and bool(name) and not name.startswith(".")


def is_clean_path(path: Any) -> bool:
    """An absolute path written plainly: normalised, no "..", no control characters."""
    return (isinstance(path, str) and path.startswith("/") and len(path) <= 4096
            and posixpath.normpath(path) == path and not path.startswith("//")
            and ".." not in path.split("/") and path.isprintable())


def is_plain_ipv4(value: Any) -> bool:
    """A VIP as clb-wizard writes it ("203.0.113.10": vips.parse_vip's, no prefix)."""
    try:
        return isinstance(value, str) and str(parse_vip(value)) == value
    except VipError:
        return False


def _check_lo_address(addr: Any) -> None:
    if not isinstance(addr, dict):
        raise RecordRefused("live_before holds an entry that is not an object")
    family, address, prefix = addr["family"], addr["address"], addr["prefixlen"]
    version = {"inet": 4, "inet6": 6}.get(family) if isinstance(family, str) else None
    if version is None:
        raise RecordRefused(f"live_before holds the address family {_show(family)}")
    try:  # (any spelling `ip` accepts: it goes to `ip addr add` as one argument)
        ok = (isinstance(address, str) and address.isprintable() and len(address) <= 64
              and netaddr.IPAddress(address, version) is not None)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        ok = False
    if not ok:
        raise RecordRefused(f"live_before holds {_show(address)}, which is not an address")
    if not (_is_int(prefix) and 0 <= prefix <= (32 if version == 4 else 128)):
        raise RecordRefused(f"live_before holds the prefix length {_show(prefix)}")
    label = addr.get("label", "lo")
    if not (isinstance(label, str) and _LABEL.match(label)):
        raise RecordRefused(f"live_before holds the label {_show(label)}")


def _check_sysctl(change: Any) -> None:
    if not isinstance(change, dict):
        raise RecordRefused("sysctls holds an entry that is not an object")
    name, before, after = change["name"], change["before"], change["after"]
    if name not in sysctls.WANTED or after != sysctls.WANTED[name]:
        raise RecordRefused(f"it would set the sysctl {_show(name)}={_show(after)}: clb-wizard "
                            "only sets " + ", ".join(f"{k}={v}" for k, v in
                                                     sysctls.WANTED.items()))
    if before is not None and not (isinstance(before, str) and _SYSCTL_VALUE.match(before)):
        raise RecordRefused(f"the old value of {name} is {_show(before)}, not a number")


def _check_watchdog(watchdog: Any, tx_id: str) -> None:
    if watchdog is None:
        return
    if not isinstance(watchdog, dict):
        raise RecordRefused("watchdog is not an object")
    kind = watchdog.get("kind")
    if kind == "systemd" and watchdog.get("unit") == f"clb-wizard-revert-{tx_id}":
        return
    if kind == "process" and _is_int(watchdog.get("pid")) and 0 <= watchdog["pid"] < 2**22:
        return
    raise RecordRefused("its watchdog is not one this change armed")


def platform_from_json(data: Any) -> Platform:
    """The Platform a record names; KeyError/TypeError/RecordRefused when it is not one.
    Stack fields this version does not know are left out (a record of another version)."""
    if not isinstance(data, dict) or not isinstance(data.get("stack", {}), dict):
        raise RecordRefused("platform is not an object")
    for key in ("os_id", "version", "name", "family", "release", "method"):
        if not isinstance(data[key], str) or len(data[key]) > 256:
            raise RecordRefused(f"platform {key} is not a text")
    stack = data.get("stack", {})
    if not all(v is None or isinstance(v, (bool, int, str)) for v in stack.values()):
        raise RecordRefused("platform stack holds a value that is not plain")
    lists = [data.get(k, ()) for k in ("reasons", "packages")]
    if not all(isinstance(v, (list, tuple)) and all(isinstance(i, str) for i in v)
               for v in lists):
        raise RecordRefused("platform reasons or packages are not texts")
    return Platform(  # the texts that are only shown, made safe to show
        os_id=data["os_id"], version=data["version"], name=terminal_safe(data["name"]),
        family=data["family"], release=data["release"], stack=NetworkStack.from_json(stack),
        method=data["method"], reasons=tuple(terminal_safe(r) for r in lists[0]),
        packages=tuple(terminal_safe(p) for p in lists[1]),
        detected=bool(data.get("detected", True)),
    )


def _check_list(value: Any, key: str, limit: int) -> None:
    if not isinstance(value, list):
        raise RecordRefused(f"{key} is not a list")
    if len(value) > limit:
        raise RecordRefused(f"{key} has {len(value)} entries (at most {limit})")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _show(value: Any) -> str:
    """A value from the record, short and safe to print."""
    text = terminal_safe(repr(value))
    return text if len(text) <= 80 else text[:77] + "..."

