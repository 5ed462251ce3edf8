"""The status code: a host's state in a dozen characters a console user can read aloud to
support over the phone, and `clb-wizard decode CODE` turns back into words.

    RK9.4-NM-2-S1-OK-2
    |     |  | |  |  `- check digit (Damm, over the rest)
    |     |  | |  `---- verdict: OK, WARN (passed, with a warning), FAIL, NONE (not verified)
    |     |  | `------- ARP sysctls: S1 set (arp_ignore=1, arp_announce=2), S0 not, SX unknown
    |     |  `--------- how many VIPs
    |     `------------ method (two letters, METHOD_CODES)
    `------------------ OS (two letters, OS_CODES; X + family letter for another OS) and
                        its version (os-release VERSION_ID: digits and dots only)

Letters and digits only, in short groups, so nothing depends on punctuation a console font
or a phone line garbles. Decoding accepts lower case, spaces instead of dashes, and no
separators at all. The check digit (Damm's algorithm, over the digits with each letter as
its two-digit base-36 value and a dot as 36) catches every mistyped digit, every two
neighbouring digits swapped, and about nine in ten other slips (a misheard letter that
still makes a valid code).

The tables are append-only: a code read out today must decode the same in a later version.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from clb_wizard.errors import InputError

if TYPE_CHECKING:
    from clb_wizard.platform import Platform
    from clb_wizard.verify import Verification

# os-release IDs (as clb-wizard's releases name them) -> two letters. Append only.
OS_CODES: dict[str, str] = {
    "centos": "CO", "rhel": "RH", "rocky": "RK", "almalinux": "AL", "ol": "OL",
    "openeuler": "OE", "opencloudos": "OC", "tencentos": "TC", "anolis": "AN",
    "alinux": "AC", "kylin": "KY", "uos": "UO", "fedora": "FE", "amzn": "AZ",
    "ubuntu": "UB", "debian": "DE", "sles": "SL", "opensuse-leap": "OS", "alpine": "AP",
    "arch": "AR", "windows": "WI",
}
# Another OS: X and its family's letter.
FAMILY_CODES: dict[str, str] = {"rhel": "XR", "debian": "XD", "suse": "XS", "alpine": "XA",
                                "linux": "XL", "windows": "XW"}
# Method names -> two letters. Append only.
METHOD_CODES: dict[str, str] = {
    "ifcfg": "IC", "networkmanager": "NM", "ifupdown": "IU", "netplan": "NP",
    "systemd-unit": "SU", "windows": "WS", "networkd": "ND", "wicked": "WK",
    "ifupdown-ng": "NG", "other": "XX",
}
VERDICTS: dict[str, str] = {
    "OK": "all checks passed",
    "WARN": "all checks passed, with a warning",
    "FAIL": "a check failed",
    "NONE": "not verified",
}
_SYSCTL_CODES = {True: "S1", False: "S0", None: "SX"}
ARP_FACT = "ARP sysctls"  # the name of verify.sysctl_facts' fact

_CODE = re.compile(
    r"(?P<os>[A-Z]{2})-?(?P<version>\d[\d.]*)?-?(?P<method>[A-Z]{2})-?(?P<vips>\d+)-?"
    r"(?P<sysctls>S[01X])-?(?P<verdict>OK|WARN|FAIL|NONE)-?(?P<check>\d)")

# Damm's quasigroup of order 10 (H. M. Damm, 2004): catches every single-digit error and
# every swap of two neighbouring digits.
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2), (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9), (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8), (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4), (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5), (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


@dataclass(frozen=True)
class StatusFacts:
    """What a status code says. `os_id` is an os-release ID of OS_CODES, or
    "other-FAMILY" for another OS; `arp_sysctls` None when unknown."""

    os_id: str
    version: str
    method: str
    vip_count: int
    arp_sysctls: Optional[bool]
    verdict: str  # a key of VERDICTS

    def describe(self) -> list[str]:
        """The facts in words, one per line (what `clb-wizard decode` prints)."""
        os_name = (f"another {self.os_id[len('other-'):]}-family OS"
                   if self.os_id.startswith("other-") else _os_name(self.os_id, self.version))
        arp = {True: "set (arp_ignore=1, arp_announce=2)", False: "not set",
               None: "unknown"}[self.arp_sysctls]
        version = f" ({self.version})" if self.version and self.version not in os_name else ""
        return [f"OS:          {os_name}{version}",
                f"Method:      {self.method}",
                f"VIPs:        {self.vip_count}",
                f"ARP sysctls: {arp}",
                f"Verdict:     {VERDICTS[self.verdict]}"]


def _os_name(os_id: str, version: str) -> str:
    """"Rocky Linux 9" for rocky 9.4: the release's name as clb-wizard knows it."""
    from clb_wizard.releases import KNOWN_RELEASES, release_key

    key = release_key(os_id, version or "0")
    return KNOWN_RELEASES[key].name if key in KNOWN_RELEASES else os_id


def _damm(digits: str) -> int:
    interim = 0
    for digit in digits:
        interim = _DAMM[interim][int(digit)]
    return interim


def _check_digit(payload: str) -> str:
    """Over the payload (separators aside): a digit as itself, so a digit slip or swap
    is one Damm catches; a letter as its base-36 value (10-35), a dot as 36."""
    digits = "".join(c if c.isdigit() else str(36 if c == "." else int(c, 36))
                     for c in payload if c != "-")
    return str(_damm(digits))


def _os_code(os_id: str) -> str:
    if os_id in OS_CODES:
        return OS_CODES[os_id]
    family = os_id[len("other-"):] if os_id.startswith("other-") else ""
    if family not in FAMILY_CODES:
        raise ValueError(f"no status code for the OS {os_id!r}")
    return FAMILY_CODES[family]


def encode(facts: StatusFacts) -> str:
    """The code for `facts`; ValueError for facts no code can hold (a method or OS the
    tables lack: status_facts never builds those)."""
    if facts.method not in METHOD_CODES:
        raise ValueError(f"no status code for the method {facts.method!r}")
    if facts.verdict not in VERDICTS:
        raise ValueError(f"unknown verdict {facts.verdict!r}")
    version = re.sub(r"[^\d.]", "", facts.version).strip(".")
    version = version if version[:1].isdigit() else ""
    parts = [_os_code(facts.os_id) + version, METHOD_CODES[facts.method],
             str(max(0, facts.vip_count)), _SYSCTL_CODES[facts.arp_sysctls], facts.verdict]
    payload = "-".join(parts)
    return f"{payload}-{_check_digit(payload)}"


def decode(code: str) -> StatusFacts:
    """The facts a code says. Raises InputError when it is not a status code or its check
    digit does not match (a letter or digit misheard or mistyped)."""
    text = re.sub(r"[\s_-]+", "-", code.strip().upper()).strip("-")
    found = _CODE.fullmatch(text)
    if found is None:
        raise InputError(
            f"{code.strip()!r} is not a clb-wizard status code: it looks like "
            "RK9.4-NM-2-S1-OK-2 (OS and version, method, VIP count, S1/S0/SX, verdict, a "
            "check digit). Ask for it again, group by group.")
    g = found.groupdict()
    payload = "-".join((g["os"] + (g["version"] or ""), g["method"], g["vips"], g["sysctls"],
                        g["verdict"]))
    if _check_digit(payload) != g["check"]:
        raise InputError(
            f"{code.strip()!r}: the check digit does not match, so a letter or digit was "
            "misheard or mistyped. Ask for the code again, group by group.")
    os_id = next((k for k, v in OS_CODES.items() if v == g["os"]), None)
    if os_id is None:
        family = next((k for k, v in FAMILY_CODES.items() if v == g["os"]), None)
        if family is None:
            raise InputError(f"{code.strip()!r}: {g['os']} names no OS this clb-wizard "
                             "knows (a newer version made it?).")
        os_id = f"other-{family}"
    method = next((k for k, v in METHOD_CODES.items() if v == g["method"]), None)
    if method is None:
        raise InputError(f"{code.strip()!r}: {g['method']} names no method this clb-wizard "
                         "knows (a newer version made it?).")
    arp = {"S1": True, "S0": False, "SX": None}[g["sysctls"]]
    return StatusFacts(os_id, (g["version"] or ""), method, int(g["vips"]), arp, g["verdict"])


def _fact_list(verification: Any) -> Optional[list[tuple[str, bool, bool]]]:
    """(name, ok, fatal) of a Verification or of its JSON (a report's), None if none."""
    if verification is None:
        return None
    if isinstance(verification, dict):
        return [(f["name"], bool(f["ok"]), bool(f.get("fatal", True)))
                for f in verification.get("facts") or []]
    return [(f.name, f.ok, f.fatal) for f in verification.facts]


def status_facts(platform: Platform | dict, vips: Sequence[str],
                 verification: Verification | dict | None) -> StatusFacts:
    """What a face holds after a verify, as StatusFacts: the platform (or its JSON), the
    VIPs checked, and the verification (or its JSON; None: not verified)."""
    data = platform if isinstance(platform, dict) else platform.to_json()
    os_id = data["os_id"]
    if os_id not in OS_CODES:
        family = data.get("family")
        os_id = f"other-{family if family in FAMILY_CODES else 'linux'}"
    facts = _fact_list(verification)
    if not facts:  # nothing verified (no verification, or no VIPs to check)
        arp, verdict = None, "NONE"
    else:
        arp_fact = next((ok for name, ok, _ in facts if name == ARP_FACT), None)
        arp = arp_fact
        failed = any(fatal and not ok for _, ok, fatal in facts)
        warned = any(not fatal and not ok and name != ARP_FACT for name, ok, fatal in facts)
        verdict = "FAIL" if failed else ("WARN" if warned else "OK")
    method = data["method"] if data["method"] in METHOD_CODES else "other"
    return StatusFacts(os_id, str(data.get("version") or ""), method, len(vips), arp, verdict)


def status_code(platform: Platform | dict, vips: Sequence[str],
                verification: Verification | dict | None) -> str:
    """encode(status_facts(...)): the code a face shows after a verify."""
    return encode(status_facts(platform, vips, verification))


__all__ = ["METHOD_CODES", "OS_CODES", "VERDICTS", "StatusFacts", "decode", "encode",
           "status_code", "status_facts"]
