"""`--os ID`, checked before anything uses it: a near miss gets "did you mean ...?", the
supported list comes in columns that fit the terminal, and a release whose minor version
changes the method (RHEL 9.0/9.1 ship a NetworkManager that cannot keep addresses on lo;
9.2+ can) says which minor it assumed and how to choose another.

The release tables stay in releases.py; this only asks them (and the detection itself:
the minors are compared by the method detection gives each).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from clb_wizard.errors import PlatformError

if TYPE_CHECKING:
    from clb_wizard.platform import Platform

# os-release IDs whose VERSION_ID carries a minor version (9.4), so `ID-MAJOR` leaves one
# to assume.
WITH_MINORS = ("rhel", "rocky", "almalinux", "ol", "anolis", "opencloudos", "tencentos",
               "alinux")


def columns(items: list[str], width: Optional[int] = None, indent: int = 2) -> list[str]:
    """`items` in as many columns as fit `width` (the terminal's, at most 100), filled
    down the columns like `ls`."""
    width = width or min(100, shutil.get_terminal_size((80, 24)).columns)
    if not items:
        return []
    cell = max(len(i) for i in items) + 2
    per_line = max(1, (width - indent) // cell)
    rows = -(-len(items) // per_line)
    lines = []
    for r in range(rows):
        row = [items[c * rows + r] for c in range(per_line) if c * rows + r < len(items)]
        lines.append(" " * indent + "".join(i.ljust(cell) for i in row).rstrip())
    return lines


def supported_list(width: Optional[int] = None) -> str:
    from clb_wizard.releases import KNOWN_RELEASES

    def natural(key: str) -> tuple:
        return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", key))

    return "\n".join(columns(sorted(KNOWN_RELEASES, key=natural), width))


def _candidates(value: str) -> list[str]:
    """What the user probably meant: `centos7` -> `centos-7`, `Rocky 9.4` -> `rocky-9.4`,
    else the closest known release names."""
    from clb_wizard.releases import KNOWN_RELEASES, parse_os_arg, release_key

    text = value.strip().lower().replace("_", "-").replace(" ", "-")
    fixed = re.sub(r"^([a-z][a-z-]*?)-?v?(\d[\d.]*)$", r"\1-\2", text)
    if fixed != value:
        try:
            os_id, version = parse_os_arg(fixed)
            if release_key(os_id, version):
                return [fixed]  # only the spelling was off
        except PlatformError:
            pass
    import difflib  # only for a near miss: the wizard's first frame waits for --os's check

    return difflib.get_close_matches(text, list(KNOWN_RELEASES), n=3, cutoff=0.6)


def check_os(value: str, width: Optional[int] = None) -> str:
    """The --os value as given when clb-wizard knows it; otherwise PlatformError saying
    what was probably meant and listing what is supported."""
    from clb_wizard.releases import parse_os_arg, release_key

    try:
        os_id, version = parse_os_arg(value)
        if release_key(os_id, version):
            return value
    except PlatformError:
        pass
    guesses = _candidates(value)
    listed = ", ".join(guesses[:-1]) + " or " + guesses[-1] if len(guesses) > 1 else \
        "".join(guesses)
    meant = f" Did you mean {listed}?" if guesses else ""
    raise PlatformError(
        f"Unsupported OS {value!r} (--os): not a release clb-wizard knows.{meant} Give the "
        "os-release ID-VERSION_ID of the host (e.g. rocky-9.4, ubuntu-22.04). Supported:\n"
        f"{supported_list(width)}")


@dataclass(frozen=True)
class MinorAssumed:
    """`--os ID-MAJOR` of a release whose minors differ: what was assumed."""

    value: str
    os_id: str
    major: str
    assumed_from: str  # the first minor that gets the assumed method, e.g. "9.2"
    method: str
    nm_version: Optional[str]
    others: dict[str, str]  # minor -> the method it gets instead

    def note(self) -> str:
        them = ", ".join(self.others)
        methods = ", ".join(sorted(set(self.others.values())))
        example = f"{self.os_id}-{next(iter(self.others))}"
        nm = f"NetworkManager {self.nm_version}, " if self.nm_version else ""
        return (f"--os {self.value}: assumed {self.assumed_from} or later ({nm}method "
                f"{self.method}); {them} get {methods} instead: for those give the minor, "
                f"e.g. --os {example}.")


def assumed_minor(value: str) -> Optional[MinorAssumed]:
    """For `ID-MAJOR` of a release whose minors differ (rocky-9): what was assumed; None
    when the minor does not matter or was given."""
    from clb_wizard.releases import parse_os_arg
    from clb_wizard.service import Options, Service

    os_id, version = parse_os_arg(value)
    if os_id not in WITH_MINORS or not version.isdigit():
        return None
    service = Service()

    def preview(os_value: str) -> Platform:
        return service.preview_platform(Options(os_override=os_value))

    assumed = preview(value)
    others = {}
    for minor in range(10):
        method = preview(f"{os_id}-{version}.{minor}").method
        if method != assumed.method:
            others[f"{version}.{minor}"] = method
    same = [f"{version}.{m}" for m in range(10) if f"{version}.{m}" not in others]
    if not others or not same:
        return None
    return MinorAssumed(value, os_id, version, same[0], assumed.method,
                        assumed.stack.nm_version, others)


def ask_minor(value: str, ask) -> str:
    """At a terminal, before the wizard opens: `ask(question) -> answer`; the --os value
    with the minor the user chose (Enter keeps the assumption)."""
    found = assumed_minor(value)
    if found is None:
        return value
    question = (f"{found.note()}\nWhich {found.os_id} {found.major}.x is the host? "
                f"Enter for {found.assumed_from} or later, or type the minor (e.g. "
                f"{next(iter(found.others))}): ")
    while True:
        answer = ask(question).strip()
        if not answer:
            return value
        minor = answer if "." in answer else f"{found.major}.{answer}"
        if re.fullmatch(rf"{re.escape(found.major)}\.\d+", minor):
            return f"{found.os_id}-{minor}"
        question = f"{answer!r} is not a {found.major}.x version; try again: "


__all__ = ["MinorAssumed", "ask_minor", "assumed_minor", "check_os", "columns",
           "supported_list"]
