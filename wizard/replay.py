"""`clb-wizard replay REPORT.json`: a customer's system rebuilt from their (redacted) support
report, as a root directory the wizard can preview (`--root DIR`), so support sees the
customer's own Preview.

What goes in: os-release (the report keeps its allow-listed fields), a marker at each path
detection probes that was present (the tools, the package manager, NetworkManager's
plugin folder named after its version, enabled-service links), and every network file the
method watches with its mode and its content as the report has it (values redacted by the
report stay "<redacted>"). lo's addresses are in the summary; a preview reads no kernel.

The report is a customer's file: it is read as data only (a size limit, absolute normal
paths, writes through a Runner on the new root, so nothing lands outside it).
"""

from __future__ import annotations

import json
import posixpath
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from clb_wizard.errors import InputError
from clb_wizard.runner import Runner, RunnerError
from clb_wizard.wording import count

MAX_REPORT_BYTES = 8 * 1024 * 1024
MAX_FILES = 1000
NOTE_DIR = "/.clb-wizard-replay"


class ReplayError(InputError):
    """Not a report replay can use (exit 2)."""


@dataclass
class Replayed:
    root: Path
    method: str  # the customer's method
    method_override: Optional[str]  # --method for the wizard when detection here differs
    vips: list[str]  # the VIPs the report verified, or its last change's
    files: int = 0
    markers: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self, report: dict) -> list[str]:
        host, platform = report.get("host") or {}, report.get("platform") or {}
        lines = [f"Replaying the report of {host.get('hostname') or 'a host'} "
                 f"({report.get('generated', '?')}, clb-wizard "
                 f"{(report.get('tool') or {}).get('version') or '?'}):",
                 f"  {platform.get('name', '?')}, method {self.method}"
                 + (f"; status code {report['status_code']}" if report.get("status_code")
                    else "")]
        lo = [f"{a.get('address')}/{a.get('prefixlen')}"
              + (f" {a.get('label')}" if a.get("label") not in ("", "lo", None) else "")
              for a in report.get("lo") or [] if isinstance(a, dict)]
        if lo:
            lines.append(f"  lo on that host: {', '.join(lo)}")
        if self.vips:
            lines.append(f"  its VIPs: {', '.join(self.vips)}")
        lines.append(f"  rebuilt in {self.root}: os-release, "
                     f"{count(self.files, 'network file')}, {count(self.markers, 'marker')} "
                     "of what is installed")
        lines += [f"  note: {note}" for note in self.notes]
        return lines


def load_report(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_REPORT_BYTES + 1)
    except OSError as exc:
        raise ReplayError(f"cannot read {path}: {exc.strerror}.") from None
    if len(data) > MAX_REPORT_BYTES:
        raise ReplayError(f"{path} is larger than {MAX_REPORT_BYTES >> 20} MB: not a report.")
    try:
        report = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ReplayError(f"{path} is not JSON: ask for the file `clb-wizard report --json "
                          "--output FILE` wrote (not the readable report).") from None
    if not isinstance(report, dict) or report.get("format") != 1 or \
            not isinstance(report.get("platform"), dict):
        raise ReplayError(f"{path} is not a clb-wizard report with a platform (made by "
                          "`clb-wizard report --json`).")
    return report


def _target(path: object) -> str:
    """An absolute, normal path, or ReplayError."""
    if not isinstance(path, str) or not path.startswith("/") or "\0" in path or \
            posixpath.normpath(path) != path or path == "/":
        raise ReplayError(f"the report names an unusable path {str(path)[:80]!r}.")
    return path


def _os_release(report: dict) -> str:
    system = report.get("system") or {}
    fields = dict(system.get("os_release") or {})
    if not fields:  # a report without "system": what its platform says
        platform = report["platform"]
        fields = {"ID": platform.get("os_id", ""), "VERSION_ID": platform.get("version", ""),
                  "NAME": platform.get("name", ""), "PRETTY_NAME": platform.get("name", "")}
    lines = []
    for name, value in fields.items():
        if isinstance(name, str) and name.isidentifier() and isinstance(value, str):
            quoted = shlex.quote(value.replace("\n", " ")) if value else '""'
            lines.append(f"{name}={quoted}")
    return "\n".join(lines) + "\n"


def _present(report: dict) -> list[str]:
    system = report.get("system") or {}
    if system.get("present") is not None:
        return [p for p in system["present"] if isinstance(p, str)]
    from clb_wizard.platform import STACK_PROBES  # an older report: from the stack

    stack = report["platform"].get("stack") or {}
    wanted = {"netplan": "netplan", "network_scripts": "network_scripts",
              "ifupdown": "ifup", "ifupdown_ng": "ifupdown_ng",
              "networkmanager": "networkmanager", "systemd": "systemd",
              "networkd_enabled": "networkd_enabled", "wicked": "wicked"}
    present = [STACK_PROBES[probe][0] for key, probe in wanted.items() if stack.get(key)]
    if stack.get("ifupdown") or stack.get("ifupdown_ng"):
        present.append("/etc/network/interfaces")
    if stack.get("wicked"):
        present.append(STACK_PROBES["wicked_enabled"][0])
    if stack.get("networkd_version"):
        present.append(STACK_PROBES["networkd"][0])
    return present


def _mode(text: object, default: int) -> int:
    try:
        return int(str(text), 8) & 0o777 if text is not None else default
    except ValueError:
        return default


def build_root(report: dict, root: Path) -> Replayed:
    """Write the customer's system under `root` (an empty directory). Raises ReplayError."""
    runner = Runner(root=root)
    written: set[str] = set()
    replayed = Replayed(root, str(report["platform"].get("method", "?")), None, _vips(report))

    def put(path: str, data: bytes, mode: int) -> None:
        path = _target(path)
        try:
            runner.make_dir(posixpath.dirname(path))
            runner.write_file(path, data, mode)
        except RunnerError as exc:
            raise ReplayError(f"cannot rebuild {path}: {exc}") from None
        written.add(path)

    put("/etc/os-release", _os_release(report).encode(), 0o644)
    files = report.get("files") or []
    if not isinstance(files, list) or len(files) > MAX_FILES:
        raise ReplayError("the report's file list is not usable.")
    for entry in files:
        if not isinstance(entry, dict) or not entry.get("exists"):
            continue
        content = entry.get("content")
        if not isinstance(content, str):
            replayed.notes.append(f"{entry.get('path')}: no content in the report (not text); "
                                  "rebuilt empty")
            content = ""
        put(entry.get("path"), content.encode("utf-8", "surrogateescape"),
            _mode(entry.get("mode"), 0o644))
        replayed.files += 1
        if entry.get("redacted"):
            replayed.notes.append(f"{entry['path']}: values the report redacted show as "
                                  "<redacted>")
    renderer = (report["platform"].get("stack") or {}).get("netplan_renderer") or "networkd"
    for path in _present(report)[:MAX_FILES]:
        if path.endswith("/"):
            try:
                runner.make_dir(_target(path.rstrip("/")))
            except RunnerError as exc:
                raise ReplayError(f"cannot rebuild {path}: {exc}") from None
        elif path not in written:
            if path.startswith("/etc/netplan/"):  # a netplan file the method did not watch
                put(path, f"network:\n  version: 2\n  renderer: {renderer}\n".encode(), 0o600)
            else:
                put(path, b"", 0o755)
        replayed.markers += 1
    replayed.method_override = _method_here(runner, replayed)
    return replayed


def _vips(report: dict) -> list[str]:
    verification = report.get("verification") or {}
    if verification.get("vips"):
        return [v for v in verification["vips"] if isinstance(v, str)]
    last = (report.get("journal") or {}).get("last") or {}
    return [v for v in last.get("vips") or [] if isinstance(v, str)]


def _method_here(runner: Runner, replayed: Replayed) -> Optional[str]:
    """--method for the wizard when detection on the rebuilt root picks another method
    than the customer's host did (live facts a root cannot hold, such as a running
    systemd-networkd), so the Preview is the customer's."""
    from clb_wizard.errors import PlatformError
    from clb_wizard.platform import METHODS, detect

    try:
        here = detect(runner).method
    except PlatformError as exc:
        replayed.notes.append(f"detection on the rebuilt root: {exc}")
        here = None
    if here == replayed.method or replayed.method not in METHODS:
        return None
    replayed.notes.append(f"detection here picks {here}; the customer's host used "
                          f"{replayed.method}, so the wizard gets --method {replayed.method}")
    return replayed.method


__all__ = ["ReplayError", "Replayed", "build_root", "load_report"]
