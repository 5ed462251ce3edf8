"""`clb-wizard report`: what support staff ask for first, as one document.

`build_report(runner, ...)` gathers, read-only: the OS and network stack, the addresses
on `lo` (and the other NICs'), the content of the files the method watches, the ARP and
rp_filter sysctls, the last transaction from the journal (summarised: sizes and hashes,
never the base64 file contents), what the exported script or playbook left in the state
directory, and the verification results. It never raises: a section that cannot be read
is null and its reason goes to "errors". `report --output` writes it through
`files.write_output`.

No secrets: nothing from the environment goes in (cloud keys live there), and of the
files only our own are shown whole; the others by allow-list (clb_wizard.redact: lo
stanzas, addresses, sysctls keep their values, everything else is "<redacted>").
"""

from __future__ import annotations

import hashlib
import json
import os
import platform as _pyplatform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from clb_wizard import sysctls as _sysctls
from clb_wizard.facts import read_addresses, read_sysctl
from clb_wizard.files import printable, terminal_safe
from clb_wizard.methods import get_method
from clb_wizard.methods.base import is_ours
from clb_wizard.plan import watched_paths
from clb_wizard.platform import Platform, detect, with_method
from clb_wizard.redact import REDACTED, redact
from clb_wizard.runner import Runner
from clb_wizard.transaction.journal import FileRecord, Journal, Store
from clb_wizard.verify import verify

FORMAT = 1
# Top-level keys of the report, in order (tests/unit/test_report.py holds them golden).
KEYS = ("format", "generated", "tool", "host", "platform", "system", "lo", "interfaces",
        "files", "sysctls", "journal", "exports", "verification", "status_code", "errors")
# os-release fields a report keeps (what detection reads; nothing an admin adds).
OS_RELEASE_KEYS = ("ID", "ID_LIKE", "VERSION_ID", "VERSION", "NAME", "PRETTY_NAME",
                   "VERSION_CODENAME", "UBUNTU_CODENAME", "PLATFORM_ID", "VARIANT_ID")

def _sha256(data: Optional[bytes]) -> Optional[str]:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _file_side(data: Optional[bytes], mode: int) -> dict:
    return {"exists": data is not None, "size": None if data is None else len(data),
            "sha256": _sha256(data), "mode": f"{mode:04o}" if data is not None else None}


def summarise_record(record: FileRecord) -> dict:
    action = ("create" if record.before is None else
              "delete" if record.after is None else "modify")
    return {"path": record.path, "action": action,
            "before": {**_file_side(record.before, record.before_mode),
                       "uid": record.before_uid, "gid": record.before_gid},
            "after": _file_side(record.after, record.after_mode)}


def summarise_journal(journal: Optional[Journal]) -> Optional[dict]:
    """A transaction without its file contents (they stay in the state directory)."""
    if journal is None:
        return None
    platform = journal.platform or {}
    return {
        "id": journal.id,
        "state": journal.state,
        "method": journal.method,
        "vips": list(journal.vips),
        "foreign": list(journal.foreign),
        "platform": {k: platform.get(k) for k in ("os_id", "version", "name", "method")},
        "files": [summarise_record(r) for r in journal.files],
        "live_before": [f"{a.cidr} ({a.label})" if a.family == "inet" else a.cidr
                        for a in journal.live_before],
        "sysctls": [s.to_json() for s in journal.sysctls],
        "history": [{"state": s, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))}
                    for s, t in journal.history],
        "error": journal.error,
        "confirm_deadline": journal.confirm_deadline,
        "watchdog": journal.watchdog,
    }


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("clb-wizard")
    except Exception:
        return ""


def _platform(runner: Runner, os_override: Optional[str], method: Optional[str],
              last: Optional[Journal], errors: list[str]) -> Optional[Platform]:
    try:
        platform = detect(runner, os_override)
        return with_method(platform, method) if method else platform
    except Exception as exc:  # PlatformError and anything a broken root throws
        errors.append(f"platform: {exc}")
    if last is not None and not os_override:
        from clb_wizard.transaction import platform_from_json

        return platform_from_json(last.platform)
    return None


def _files(runner: Runner, method: str, errors: list[str]) -> Optional[list[dict]]:
    try:
        paths = watched_paths(runner, method)
    except Exception as exc:
        errors.append(f"files: {exc}")
        return None
    found = []
    for path in paths:
        try:
            state = runner.file_state(path)
        except Exception as exc:
            errors.append(f"files: {exc}")
            continue
        entry = {"path": path, "exists": state.exists,
                 "mode": f"{state.mode:04o}" if state.exists else None,
                 "uid": state.uid if state.exists else None,
                 "gid": state.gid if state.exists else None,
                 "size": None if state.content is None else len(state.content),
                 "sha256": _sha256(state.content), "ours": is_ours(state.text),
                 "redacted": False, "content": None}
        if state.text is not None:
            text = printable(state.text)
            if entry["ours"]:  # only what clb-wizard wrote: addresses
                entry["content"] = text
            else:
                entry["content"], entry["redacted"] = redact(path, text)
        found.append(entry)
    return found


def _sysctl_values(interfaces: Sequence[str]) -> dict[str, Optional[str]]:
    names = [*_sysctls.WANTED]
    for scope in ("all", "default", "lo", *interfaces):
        for key in ("arp_ignore", "arp_announce", "rp_filter"):
            name = f"net.ipv4.conf.{scope}.{key}"
            if name not in names:
                names.append(name)
    return {name: read_sysctl(name) for name in names}


def _exports(runner: Runner, store: Store) -> dict:
    """What `export --format script` and the playbook left in the state directory."""
    base = str(store.dir / "script")
    script = {}
    for name in ("last", "current"):
        text = runner.read_text(f"{base}/{name}")
        script[name] = text.strip() if text else None
    run = script["current"] or script["last"]
    if run:
        vips = runner.read_text(f"{base}/{run}/vips")
        files = runner.read_text(f"{base}/{run}/files")
        script["vips"] = vips.split() if vips else []
        script["files"] = files.split() if files else []
    runs = [n for n in runner.list_dir(str(store.dir / "ansible")) if not n.startswith(".")]
    return {"script": script, "ansible_runs": runs[-5:]}


def build_report(runner: Runner, vips: Sequence[str] = (), os_override: Optional[str] = None,
                 method: Optional[str] = None, store: Optional[Store] = None) -> dict:
    """The support report for the system under `runner.root` (kernel facts: live root only).

    `vips`: verify these; by default the VIPs of the last change, else those our files
    configure. Never raises; unreadable sections are None, with the reason in "errors".
    """
    errors: list[str] = []
    store = store or Store(runner)
    live = runner.is_live_root
    report: dict = {key: None for key in KEYS}
    report.update({
        "format": FORMAT,
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tool": {"name": "clb-wizard", "version": _version()},
        "host": {"hostname": _pyplatform.node() if live else None,
                 "kernel": _pyplatform.release() if live else None,
                 "root": str(runner.root), "live": live},
        "errors": errors,
    })
    last = active = None
    readable = True
    if live and state_hidden(runner.host_path(str(store.dir))):
        readable = False
    else:
        try:
            last, active = store.last(), store.active()
        except Exception as exc:
            errors.append(f"journal: {exc}")
            readable = False
    platform = _platform(runner, os_override, method, last, errors)
    report["platform"] = platform.to_json() if platform else None
    try:
        report["system"] = _system(runner)
    except Exception as exc:
        errors.append(f"system: {exc}")
    addresses = None
    if live:
        try:
            addresses = read_addresses(runner)
            report["lo"] = [{"address": a.address, "prefixlen": a.prefixlen, "label": a.label,
                             "family": a.family} for a in addresses.lo]
            report["interfaces"] = {k: list(v) for k, v in addresses.others.items()}
        except Exception as exc:
            errors.append(f"addresses: {exc}")
        report["sysctls"] = _sysctl_values(list(addresses.others) if addresses else [])
    if platform is not None and _on_linux(platform):
        report["files"] = _files(runner, platform.method, errors)
    log_tail: list[str] = []
    journal = active or last
    if journal is not None:
        log = runner.read_text(store.log_path(journal.id)) or ""
        log_tail = log.splitlines()[-40:]
    report["journal"] = {"state_dir": str(store.dir), "readable": readable,
                         "active": summarise_journal(active),
                         "last": summarise_journal(last), "log_tail": log_tail}
    try:
        report["exports"] = _exports(runner, store) if readable else None
    except Exception as exc:
        errors.append(f"exports: {exc}")
    report["verification"] = _verification(runner, platform, vips, last, report, errors)
    report["status_code"] = _status_code(report)
    return report


def state_hidden(directory: Path) -> bool:
    """The state directory is there but this user (not root) cannot read it."""
    if os.geteuid() == 0:
        return False
    try:
        os.stat(directory)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return not os.access(directory, os.R_OK | os.X_OK)


def _status_code(report: dict) -> Optional[str]:
    """The code support can be read aloud (statuscode.py) for what this report found."""
    from clb_wizard.statuscode import status_code

    verification, platform = report["verification"], report["platform"]
    if platform is None:
        return None
    vips = verification["vips"] if verification else []
    try:
        return status_code(platform, vips, verification if verification
                           and verification["facts"] else None)
    except (ValueError, KeyError):
        return None


def _os_release(runner: Runner) -> dict[str, str]:
    """The allow-listed fields of the root's os-release, as distro reads them."""
    text = runner.read_text("/etc/os-release") or runner.read_text("/usr/lib/os-release") or ""
    found = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() in OS_RELEASE_KEYS:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            found[name.strip()] = printable(value)[:200]
    return found


def _system(runner: Runner) -> dict:
    """What detection looks at besides the network files, so `clb-wizard replay` can
    rebuild a root that detects the same: os-release, and which of the paths detection
    probes are present (tools, the package manager, NetworkManager's plugin folder named
    after its version, the netplan files)."""
    from clb_wizard.platform import PACKAGE_MANAGERS, STACK_PROBES

    present = []
    for path in dict.fromkeys([*(p for paths in STACK_PROBES.values() for p in paths),
                               *(p for _, paths in PACKAGE_MANAGERS for p in paths)]):
        if runner.exists(path):
            present.append(path + ("/" if runner.is_dir(path) else ""))
    for base in ("/usr/lib64/NetworkManager", "/usr/lib/NetworkManager",
                 "/usr/lib/x86_64-linux-gnu/NetworkManager",
                 "/usr/lib/aarch64-linux-gnu/NetworkManager"):
        present += [f"{base}/{name}/" for name in runner.list_dir(base)
                    if name[:1].isdigit() and runner.is_dir(f"{base}/{name}")]
    present += [f"/etc/netplan/{name}" for name in runner.list_dir("/etc/netplan")
                if not name.startswith(".")]
    return {"os_release": _os_release(runner), "present": present}


def _on_linux(platform: Platform) -> bool:
    """The method configures this Linux host (not a script for a Windows one)."""
    return get_method(platform.method).host_os == "linux"


def _verification(runner: Runner, platform: Optional[Platform], vips: Sequence[str],
                  last: Optional[Journal], report: dict, errors: list[str]) -> Optional[dict]:
    if not runner.is_live_root or platform is None or not _on_linux(platform):
        return None
    foreign: list[str] = []
    if vips:
        source = "given"
        from clb_wizard.vips import check_vips

        try:
            vips = list(check_vips(vips).vips)
        except Exception as exc:
            errors.append(f"verification: {exc}")
            return None
    elif last is not None:
        source, vips, foreign = "last-change", list(last.vips), list(last.foreign)
    else:
        files = {f["path"]: None if not f["exists"] else runner.read_text(f["path"])
                 for f in report.get("files") or []}
        vips = get_method(platform.method).configured_vips(files)
        source = "configured"
    if not vips:
        return {"vips": [], "source": "none", "ok": None, "facts": []}
    try:
        result = verify(runner, platform, vips, foreign=foreign)
    except Exception as exc:
        errors.append(f"verification: {exc}")
        return None
    return {"vips": list(vips), "source": source, **result.to_json()}


def report_json(report: dict) -> str:
    return json.dumps(report, indent=2, sort_keys=False) + "\n"


def report_text(report: dict) -> str:
    """A readable rendering for a terminal or a ticket."""
    lines = [f"clb-wizard report {report['generated']} "
             f"(clb-wizard {report['tool']['version'] or 'dev'})"]
    if report.get("status_code"):
        lines.append(f"Status code: {report['status_code']} (clb-wizard decode CODE)")
    host = report["host"]
    lines.append(f"Host: {host['hostname'] or '-'} kernel {host['kernel'] or '-'} "
                 f"root {host['root']}")
    platform = report["platform"]
    if platform:
        lines.append(f"OS: {platform['name']} ({platform['os_id']}-{platform['version']}), "
                     f"method {platform['method']}")
        lines += [f"  {reason}" for reason in platform["reasons"]]
        stack = platform["stack"]
        lines.append("Stack: " + ", ".join(f"{k}={v}" for k, v in stack.items()))
    if report["lo"] is not None:
        lines.append("lo: " + ", ".join(f"{a['address']}/{a['prefixlen']} ({a['label']})"
                                        for a in report["lo"]))
    if report["interfaces"]:
        lines.append("Other NICs: " + "; ".join(f"{k} {' '.join(v) or '-'}"
                                                for k, v in report["interfaces"].items()))
    if report["sysctls"]:
        lines.append("Sysctls: " + ", ".join(
            f"{k.replace('net.ipv4.conf.', '')}={v}" for k, v in report["sysctls"].items()
            if v is not None))
    journal = report["journal"] or {}
    for kind in ("active", "last"):
        entry = journal.get(kind)
        if entry:
            lines.append(f"{kind.capitalize()} transaction {entry['id']}: {entry['state']}, "
                         f"{entry['method']}, VIPs {', '.join(entry['vips'])}"
                         + (f", error: {entry['error']}" if entry["error"] else ""))
            lines += [f"  {f['action']} {f['path']}" for f in entry["files"]]
    if journal.get("readable") is False:
        lines.append(f"Transactions: not read (the journal in {journal.get('state_dir')} is "
                     "root's only): run the report as root to include them.")
    elif not (journal.get("active") or journal.get("last")):
        lines.append("No transaction recorded by clb-wizard.")
    exports = report.get("exports") or {}
    script = exports.get("script") or {}
    if script.get("last") or script.get("current"):
        lines.append(f"Exported script: last {script.get('last') or '-'}, "
                     f"interrupted {script.get('current') or '-'}")
    if exports.get("ansible_runs"):
        lines.append("Ansible runs: " + ", ".join(exports["ansible_runs"]))
    verification = report["verification"]
    if verification:
        status = {True: "passed", False: "FAILED", None: "nothing to verify"}[verification["ok"]]
        lines.append(f"Verification ({verification['source']}: "
                     f"{', '.join(verification['vips']) or '-'}): {status}")
        for fact in verification["facts"]:
            mark = "ok" if fact["ok"] else ("FAIL" if fact["fatal"] else "warn")
            lines.append(f"  [{mark:>4}] {fact['name']}: {fact['detail']}")
    for entry in report["files"] or []:
        state = (f"mode {entry['mode']}, {entry['size']} bytes"
                 + (", ours" if entry["ours"] else "") + (", redacted" if entry["redacted"]
                                                         else "")) if entry["exists"] \
            else "absent"
        lines.append(f"== {entry['path']} ({state})")
        if entry["content"]:
            lines.append(entry["content"].rstrip("\n"))
    for error in report["errors"]:
        lines.append(f"error: {error}")
    # every line may hold text from a state record or a file: none of it drives the terminal
    return "\n".join(terminal_safe(line, keep="\n\t") for line in lines) + "\n"


SHORT_WIDTH, SHORT_LINES = 79, 22  # an 80x24 console, with room for the prompt


def _headline(report: dict) -> str:
    from clb_wizard.wording import stopped

    active = (report["journal"] or {}).get("active")
    verification = report["verification"]
    if active:
        if active["state"] == "rollback-failed":
            return (f"ATTENTION: the rollback of change {active['id']} did not finish; the host "
                    "may be half changed: clb-wizard recover")
        return (f"ATTENTION: change {active['id']} was interrupted ({stopped(active['state'])})"
                ": clb-wizard recover")
    if not verification:
        return ("not verified: " + ("a preview of another system" if not report["host"]["live"]
                                    else "no platform could be read (see the errors)"))
    if verification["ok"] is None:
        return "nothing to verify: no VIP recorded or configured by clb-wizard here"
    failed = [f for f in verification["facts"] if f["fatal"] and not f["ok"]]
    warned = [f for f in verification["facts"] if not f["fatal"] and not f["ok"]]
    if failed:
        return f"a check FAILED: {failed[0]['name']}: {failed[0]['detail']}"
    from clb_wizard.wording import count

    return "all checks passed" + (f", {count(len(warned), 'warning')}" if warned else "")


def report_short(report: dict) -> str:
    """The report on one 80x24 screen: the headline and the status code first, then the
    few lines support asks next. The full report (`report_text`) has the rest."""
    from clb_wizard.wording import count

    lines = [f"clb-wizard: {_headline(report)}"]
    if report.get("status_code"):
        lines.append(f"Status code: {report['status_code']}  (read it to support; "
                     "clb-wizard decode CODE)")
    host, platform = report["host"], report["platform"]
    about = [host["hostname"] or ("root " + host["root"] if not host["live"] else "")]
    if platform:
        about.append(f"{platform['name']}, method {platform['method']}")
    if host["kernel"]:
        about.append(f"kernel {host['kernel']}")
    lines.append("Host: " + ", ".join(a for a in about if a))
    verification = report["verification"]
    if verification and verification["vips"]:
        source = {"given": "as given", "last-change": "of the last change",
                  "configured": "in clb-wizard's files"}.get(verification["source"], "")
        lines.append(f"VIPs {source}: {', '.join(verification['vips'])}")
    if report["lo"] is not None:
        lo = [f"{a['address']}/{a['prefixlen']}" + (f" {a['label']}" if a["label"] not in
                                                       ("", "lo") else "")
              for a in report["lo"] if a["family"] == "inet"]
        lines.append("lo: " + (", ".join(lo) or "-"))
    if verification and verification["facts"]:
        facts = verification["facts"]
        bad = [f for f in facts if not f["ok"]]
        failed = sum(1 for f in bad if f["fatal"])
        lines.append(f"Checks: {count(len(facts) - len(bad), 'passed', 'passed')}, "
                     f"{count(failed, 'failed', 'failed')}, "
                     f"{count(len(bad) - failed, 'warning')}")
        for fact in bad[:6]:
            mark = "FAIL" if fact["fatal"] else "warn"
            lines.append(f"  [{mark}] {fact['name']}: {fact['detail']}")
        if len(bad) > 6:
            lines.append(f"  (and {len(bad) - 6} more in the full report)")
    journal = report["journal"] or {}
    last = journal.get("last")
    if journal.get("readable") is False:
        lines.append("Last change: not read (root's only): run it as root")
    elif last:
        kept = next((h["at"] for h in reversed(last["history"]) if h["state"] == "committed"),
                    "?")
        lines.append(f"Last change: {last['id']}, kept {kept}, "
                     f"{count(len(last['files']), 'file')}")
    else:
        lines.append("Last change: none recorded by clb-wizard")
    if report["errors"]:
        lines.append(f"Could not read: {count(len(report['errors']), 'part')} (see the full "
                     "report)")
    lines.append("More: clb-wizard report; to send: clb-wizard report --json --output FILE")
    fitted = [line if len(line) <= SHORT_WIDTH else line[:SHORT_WIDTH - 3] + "..."
              for line in lines]
    if len(fitted) > SHORT_LINES:
        fitted = fitted[:SHORT_LINES - 1] + [fitted[-1]]
    return "\n".join(fitted) + "\n"


__all__ = ["KEYS", "REDACTED", "build_report", "redact", "report_json", "report_short",
           "report_text", "summarise_journal"]
