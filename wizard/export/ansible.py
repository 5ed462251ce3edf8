"""`clb-wizard export --format ansible`: one playbook that makes the wizard's change on a
fleet, with ansible-core's builtin modules only.

Per host, at run time, the play reads the facts the engine reads (os_family, distribution
and version from Ansible's facts; which stack is installed from the same paths
`platform.detect_stack` probes; `nmcli --version`, `networkctl --version`) and picks the
method with Jinja generated at export time from the engine's own chooser
(export/choice.py: no hand-kept copy; a unit test renders it on every combination).
Everything else comes from the engine at export time (export.profile.build_profile): the
file contents from the methods' renderers,
the commands from `method.transition(...)`, each with the condition under which the
engine would run it. The play:

  probe -> choose -> inspect (refuse, changing nothing, when the host is not in a state
  the export can change safely) -> back up what will change into the state directory ->
  block: install / retire old VIPs / write files (copy: atomic) / activate / verify by
  facts (assert) -> rescue: undo, restore every backed-up file byte-exact, remove the
  VIPs it added, put back what went missing, check, fail.

Where it differs from the engine: see DIFFERENCES below (also written into the playbook).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import yaml

from clb_wizard.export.ansible_change import change, rescue, verify
from clb_wizard.export.ansible_guard import (
    arp_plan,
    lock,
    play_vars,
    remove_others,
    unlock,
)
from clb_wizard.export.ansible_identify import identify_vars, package_manager_paths
from clb_wizard.export.ansible_plan import (
    CHOOSE_VARIANT,
    back_up,
    choose_method,
    inspect_and_plan,
    probe_and_choose,
)
from clb_wizard.export.ansible_record import record
from clb_wizard.export.profile import ExportError, Profile, build_profile
from clb_wizard.export.shell import assignments, inspect_env, library_file
from clb_wizard.methods import get_method
from clb_wizard.methods.base import MARKER
from clb_wizard.platform import (
    KNOWN_RELEASES,
    STACK_PROBES,
    Platform,
    detect,
    with_method,
)
from clb_wizard.runner import Runner
from clb_wizard.sysctls import PATH as ARP_PATH
from clb_wizard.sysctls import render_conf as arp_conf

PLAYBOOK_NAME = "clb-wizard-lo.yml"

# One representative release per method variant (the commands depend on the stack only),
# and the method forced on it where no release picks that variant by itself.
VARIANT_RELEASES: dict[str, tuple[str, Optional[str]]] = {
    "ifupdown": ("debian-12", None),
    "netplan": ("ubuntu-22.04", None),
    "netplan-legacy": ("ubuntu-18.04", None),
    "networkmanager": ("rocky-9", None),
    "systemd-unit": ("rocky-9.1", None),
    "networkd": ("amzn-2023", None),
    "networkd-legacy": ("debian-10", "networkd"),
    "ifcfg": ("centos-7", None),
    "ifcfg-install": ("rocky-8", None),
    "ifupdown-ng": ("alpine-3", None),
}

DIFFERENCES = (
    "The family and release come from the host's os-release (ID, VERSION_ID, ID_LIKE) and "
    "its package manager with the wizard's own tables and rules, as `clb-wizard detect`, "
    "but read by Jinja rather than `distro` (which also consults lsb_release and "
    "/etc/*-release files when os-release lacks a field).",
    "NetworkManager's version comes from `nmcli --version` only (the wizard falls back to "
    "the release's stock version when nmcli is missing); networkd's from `networkctl "
    "--version`, else the release's stock version.",
    "Files are rendered for a host where the wizard never ran (lo:1, lo:2... for the "
    "VIPs in order). A host whose files are not in that state is refused before any "
    "change: a foreign file at our path, a foreign file that already configures a VIP or "
    "uses one of our lo:N labels, another address holding one of those labels, or (with "
    "NetworkManager) another profile for lo. The wizard renumbers around such files.",
    "Changing the VIP set retires each old (lo:N, VIP) of ours that the new files do not "
    "have with the engine's own command (ifdown --force lo:N, ip addr del); a VIP that "
    "keeps its address but changes its lo:N number is re-created (a short drop), where "
    "the wizard keeps its number.",
    "Backups go to {{ clb_state_dir }}/ansible/<run>/ (as the wizard's go to its state "
    "directory), not next to the file with copy's backup=yes: `source "
    "/etc/network/interfaces.d/*` would read such a backup as configuration.",
    "No confirm-or-revert timer: the play's own verification decides (run a canary "
    "first).",
)


# -- YAML ------------------------------------------------------------------------------------
class Unsafe(str):
    """A value Ansible must not template (file contents, shell programs)."""


class Literal(str):
    """A multi-line string shown as a YAML block."""


class _Dumper(yaml.SafeDumper):
    pass


def _unsafe(dumper: yaml.SafeDumper, data: Unsafe) -> yaml.Node:
    return dumper.represent_scalar("!unsafe", str(data), style="|" if "\n" in data else None)


def _literal(dumper: yaml.SafeDumper, data: Literal) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(data), style="|")


_Dumper.add_representer(Unsafe, _unsafe)
_Dumper.add_representer(Literal, _literal)


class UnsafeLoader(yaml.SafeLoader):
    """Reads a playbook back (tests): !unsafe values as plain strings."""


UnsafeLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


# -- the model in the playbook --------------------------------------------------------------
def _profile_var(profile: Profile) -> dict:
    data = profile.to_json()
    for f in data["files"]:
        f["content"] = Unsafe(f["content"])
    if data["source_append"] is not None:
        data["source_append"] = Unsafe(data["source_append"])
    data["inspect_sh"] = Unsafe(assignments(inspect_env(profile)) + library_file("inspect.sh")
                                + "clb_inspect\n")
    data["new_keys"] = [
        (f"{label}:{vip}" if any(t.by_label for t in profile.retire) else vip)
        for label, vip in profile.pairs
    ]
    data["retire_by_label"] = any(t.by_label for t in profile.retire)
    data["labels"] = [label for label, _ in profile.pairs if label != "-"]
    data["reread"] = profile.reread
    data["had_ours_reload"] = [list(c.argv) for c in profile.reload]
    data["platform"] = profile.platform.to_json()  # for the record clb-wizard reads
    data.pop("reload")
    return data


def playbook_profile(platform: Platform, vips: Sequence[str]) -> Profile:
    """The export profile, if the play can carry it: it writes whole files only."""
    profile = build_profile(platform, vips)
    if profile.block_path:
        raise ExportError(
            f"Method {profile.method} keeps the VIPs in a block inside {profile.block_path}, "
            "a file the OS ships, which the playbook does not edit. For these hosts use the "
            f"exported script (`clb-wizard export --format script --os {platform.key}`), or "
            "run clb-wizard on them.")
    return profile


def profiles_for(vips: Sequence[str], platform: Optional[Platform] = None,
                 method: Optional[str] = None) -> dict[str, Profile]:
    """Every variant the playbook may need: one for --os, those of --method, or all."""
    if platform is not None:
        profile = playbook_profile(platform, vips)
        return {profile.key: profile}
    found = {}
    for key, (release, forced) in VARIANT_RELEASES.items():
        variant_platform = detect(Runner(root="/nonexistent"), release)
        if forced:
            variant_platform = with_method(variant_platform, forced)
        if method and variant_platform.method != method:
            continue
        found[key] = playbook_profile(variant_platform, vips)
    if method and not found:
        # e.g. networkmanager on Debian: take the method on a release that allows it
        found[method] = playbook_profile(
            with_method(detect(Runner(root="/nonexistent"), "rocky-9"), method), vips)
    return found

def refused_variants(vips: Sequence[str]) -> dict[str, str]:
    """Variants the playbook cannot carry (playbook_profile refuses them), and why: the
    play names the reason on such a host instead of "export it for this OS"."""
    refused = {}
    for key in KNOWN_RELEASES:
        platform = detect(Runner(root="/nonexistent"), key)
        if platform.family == "windows":
            continue
        try:
            playbook_profile(platform, vips)
        except ExportError as exc:
            refused[get_method(platform.method).variant(platform)] = str(exc)
    return refused


def _stock_networkd() -> dict[str, int]:
    """networkd's version per known release, for a host whose networkctl does not say."""
    return {k: r.networkd_version for k, r in KNOWN_RELEASES.items() if r.networkd_version}


def _tasks() -> list[dict]:
    done = {"name": "Done", "ansible.builtin.debug": {
        "msg": "{{ clb_vips | join(', ') }} on lo, verified ({{ clb_method }})."}}
    change_or_undo = {"name": "Change, verify, or roll back",
                      "block": [*change(), *verify(), *record()], "rescue": rescue()}
    return [
        *probe_and_choose(),
        {"name": "Under clb-wizard's lock", "block": [
            *lock(), *arp_plan(), *inspect_and_plan(), *remove_others(), *back_up(),
            change_or_undo, done], "always": unlock()},
    ]


def _probe_paths() -> list[str]:
    paths: list[str] = []
    for group in (*STACK_PROBES.values(), package_manager_paths()):
        paths.extend(p for p in group if p not in paths)
    return paths


def playbook_data(vips: Sequence[str], platform: Optional[Platform] = None,
                  method: Optional[str] = None) -> list[dict]:
    profiles = profiles_for(vips, platform, method)
    pin = method or ""  # --method: forced on every host, as `clb-wizard apply --method`
    expect = platform.method if platform is not None and not method else ""  # --os
    return [{
        "name": f"CLB VIPs on the loopback: {', '.join(vips)} (clb-wizard)",
        "hosts": "{{ clb_hosts | default('all') }}",
        "gather_facts": True,
        # batches: -e clb_serial=N or N% (default one host at a time); a batch with more
        # failed hosts than clb_max_fail_percentage (default 0) stops the rollout
        "serial": "{{ clb_serial }}",
        "max_fail_percentage": "{{ clb_max_fail_percentage }}",
        "vars": {
            "clb_serial": 1,
            "clb_max_fail_percentage": 0,
            **play_vars(),
            "clb_arp_file": {"path": ARP_PATH, "content": Unsafe(arp_conf()), "mode": "0644"},
            "clb_hold_lock_sh": Unsafe(library_file("hold-lock.sh")),
            "clb_vips": list(vips),
            "clb_state_dir": "/var/lib/clb-wizard",
            "clb_pin_method": pin,
            "clb_expect_method": expect,
            "clb_expect_os": platform.key if platform is not None else "",
            "clb_marker": Unsafe(MARKER),
            "clb_stock_networkd": _stock_networkd(),
            **identify_vars(),
            "clb_probes": {k: list(v) for k, v in STACK_PROBES.items()},
            "clb_probe_paths": _probe_paths() + sorted(
                {p for prof in profiles.values() for s in prof.prepare
                 for p in s.unless_exists} - set(_probe_paths())),
            "clb_lo_awk": Unsafe(library_file("lo.awk")),
            "clb_profiles": {k: _profile_var(p) for k, p in profiles.items()},
            "clb_refused_variants": refused_variants(vips),
        },
        "tasks": _tasks(),
    }]


def render_playbook(vips: Sequence[str], platform: Optional[Platform] = None,
                    method: Optional[str] = None, version: str = "") -> str:
    """The playbook as YAML text, with a header that says how to run it."""
    data = playbook_data(vips, platform, method)
    scope = (f"pinned to {platform.name} (method {platform.method})" if platform is not None
             else f"method {method} on every host" if method
             else "the method is chosen per host, as clb-wizard chooses it")
    header = [
        "---",
        f"# {MARKER}",
        f"# Exported by clb-wizard{(' ' + version) if version else ''}: VIPs "
        f"{', '.join(vips)}; {scope}.",
        "#",
        "# Run:    ansible-playbook -i INVENTORY -b clb-wizard-lo.yml [-e clb_hosts=GROUP]",
        "# Canary: ansible-playbook -i INVENTORY -b clb-wizard-lo.yml --limit HOST",
        "#         (a second run reports changed=0; verification runs every time)",
        "# Options (-e NAME=VALUE):",
        "#   clb_serial=N or N%            hosts per batch (default 1: one host at a time)",
        "#   clb_max_fail_percentage=P     a batch with more than P% failed hosts stops the",
        "#                                 rollout before the next batch (default 0)",
        "#   clb_remove_others=true        take out of service the VIPs clb-wizard configured",
        "#                                 on a host that this playbook does not list",
        "#                                 (without it such a host fails, unchanged)",
        "#   clb_arp_sysctls=true          also set arp_ignore=1 and arp_announce=2, in the",
        "#                                 same change and rescue",
        "# It takes clb-wizard's lock ({{ clb_state_dir }}/lock): a host the wizard is",
        "# changing fails with a clear message, unchanged, and the wizard waits for no one.",
        "# On any failure after the backup, the rescue block restores the files byte-exact,",
        "# removes the VIPs this run added and fails the host. Backups and a manifest stay",
        "# in {{ clb_state_dir }}/ansible/<run>/ (default /var/lib/clb-wizard).",
        "#",
        "# Where this playbook differs from `clb-wizard apply`:",
    ]
    for difference in DIFFERENCES:
        words, line = difference.split(), "#  -"
        for word in words:
            if len(line) + len(word) > 92:
                header.append(line)
                line = "#   "
            line += " " + word
        header.append(line)
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=100,
                     default_flow_style=False, allow_unicode=True)
    return "\n".join(header) + "\n" + body


__all__ = ["CHOOSE_VARIANT", "choose_method", "DIFFERENCES", "PLAYBOOK_NAME", "STACK_PROBES",
           "UnsafeLoader", "playbook_data", "profiles_for", "render_playbook"]
