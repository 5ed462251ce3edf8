"""`clb-wizard export --format ansible`: one playbook that makes the wizard's change on a
fleet, with ansible-core's builtin modules only.

Per host, at run time, the play reads the facts the engine reads (os_family, distribution
and version from Ansible's facts; which stack is installed from the same paths
`platform.detect_stack` probes; `nmcli --version`, `networkctl --version`) and picks the
method with the same rules as `platform.choose_method` (a Jinja copy of it; a unit test
compares the two on every combination). Everything else comes from the engine at export
time (clb_wizard.export.script.build_profile): the file contents from the methods' renderers,
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

from clb_wizard.export.script import (
    INSPECT_SH,
    LO_AWK,
    NETWORKD_LO,
    Profile,
    build_profile,
    inspect_env,
)
from clb_wizard.methods.base import MARKER
from clb_wizard.methods.netplan import CONFIG_PATTERN as NETPLAN_CONFIG
from clb_wizard.methods.netplan import NETWORKD_RECONFIGURE_MIN
from clb_wizard.methods.networkmanager import CONNECTION_UUID
from clb_wizard.platform import (
    KNOWN_RELEASES,
    STACK_PROBES,
    Platform,
    detect,
    with_method,
)
from clb_wizard.runner import Runner

PLAYBOOK_NAME = "clb-wizard-lo.yml"

# One representative release per method variant (the commands depend on the stack only).
VARIANT_RELEASES = {
    "ifupdown": ("debian-12", None),
    "netplan": ("ubuntu-22.04", None),
    "netplan-legacy": ("ubuntu-18.04", None),
    "networkmanager": ("rocky-9", None),
    "systemd-unit": ("rocky-9.1", None),
    "networkd": ("amzn-2023", None),
    "ifcfg": ("centos-7", None),
    "ifcfg-install": ("rocky-8", None),
}

DIFFERENCES = (
    "The method is chosen from Ansible's facts (os_family RedHat or Debian; Ubuntu and "
    "Debian releases the wizard knows; RHEL-family majors 7-10, not Fedora or Amazon), not "
    "from /etc/os-release through `distro`; derivatives Ansible does not put in those "
    "families are refused.",
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
    "No lock against a concurrent `clb-wizard apply`, no confirm-or-revert timer and no "
    "--arp-sysctls: run the wizard for those.",
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
    data["inspect_env"] = {k: Unsafe(v) for k, v in inspect_env(profile).items()}
    data["new_keys"] = [
        (f"{label}:{vip}" if any(t.by_label for t in profile.retire) else vip)
        for label, vip in profile.pairs
    ]
    data["retire_by_label"] = any(t.by_label for t in profile.retire)
    data["labels"] = [label for label, _ in profile.pairs if label != "-"]
    data["reread"] = profile.reread
    data["had_ours_reload"] = [list(c.argv) for c in profile.reload]
    data.pop("reload")
    return data


def profiles_for(vips: Sequence[str], platform: Optional[Platform] = None,
                 method: Optional[str] = None) -> dict[str, Profile]:
    """Every variant the playbook may need: one for --os, those of --method, or all."""
    if platform is not None:
        profile = build_profile(platform, vips)
        return {profile.key: profile}
    found = {}
    for key, (release, _) in VARIANT_RELEASES.items():
        variant_platform = detect(Runner(root="/nonexistent"), release)
        if method and variant_platform.method != method:
            continue
        found[key] = build_profile(variant_platform, vips)
    if method and not found:
        # e.g. networkmanager on Debian: take the method on a release that allows it
        found[method] = build_profile(
            with_method(detect(Runner(root="/nonexistent"), "rocky-9"), method), vips)
    return found


# Mirror of platform.choose_method (tests/unit/test_export.py proves they agree).
CHOOSE_METHOD = (
    "{% if clb_family == 'rhel' %}"
    "{% if clb_stack.network_scripts and (clb_major | int) <= 8 %}ifcfg"
    "{% elif clb_stack.nm_ok %}networkmanager"
    "{% elif clb_stack.networkd_enabled and not (clb_stack.netplan and "
    "clb_stack.netplan_configured) %}networkd"
    "{% elif (clb_major | int) <= 8 %}ifcfg"
    "{% elif clb_stack.systemd %}systemd-unit{% else %}none{% endif %}"
    "{% else %}"
    "{% if clb_stack.netplan and clb_stack.netplan_configured %}netplan"
    "{% elif clb_stack.netplan and clb_stack.networkd_enabled and not clb_stack.ifupdown %}"
    "netplan"
    "{% elif clb_stack.networkd_enabled %}networkd"
    "{% elif clb_stack.ifupdown %}ifupdown"
    "{% elif clb_stack.nm_ok %}networkmanager"
    "{% elif clb_stack.systemd %}systemd-unit"
    "{% else %}none{% endif %}"
    "{% endif %}"
)
CHOOSE_VARIANT = (
    "{% if clb_method == 'ifcfg' and not clb_stack.network_scripts %}ifcfg-install"
    "{% elif clb_method == 'netplan' and (clb_stack.networkd_version | int) < "
    f"{NETWORKD_RECONFIGURE_MIN} %}}netplan-legacy"
    "{% else %}{{ clb_method }}{% endif %}"
)


def _supported() -> dict:
    ubuntu = sorted(k.split("-", 1)[1] for k in KNOWN_RELEASES if k.startswith("ubuntu-"))
    debian = sorted(int(k.split("-", 1)[1]) for k in KNOWN_RELEASES if k.startswith("debian-"))
    rhel = sorted({int(k.split("-", 1)[1]) for k, r in KNOWN_RELEASES.items()
                   if r.family == "rhel"})
    networkd = {k: r.networkd_version for k, r in KNOWN_RELEASES.items() if r.networkd_version}
    return {"ubuntu": ubuntu, "debian": debian, "rhel": rhel, "networkd": networkd}


# -- task builders ---------------------------------------------------------------------------
def _cmd(name: str, argv, register: str, **extra) -> dict:
    task = {"name": name, "ansible.builtin.command": {"argv": argv}, "register": register,
            "changed_when": False, "failed_when": False}
    task.update(extra)
    return task


def _read_lo(var: str, when: Optional[str] = None) -> list[dict]:
    """Tasks setting `var` to lo's addresses as "FAMILY ADDRESS PREFIXLEN LABEL" strings:
    `ip -j addr`, or `ip -o addr` + awk where iproute2 has no JSON (CentOS 7)."""
    info = (f"((clb_r_{var}.stdout | from_json)[0].addr_info | selectattr('local', 'defined') "
            "| list)")
    as_list = (f"{info} | map(attribute='family') | zip({info} | map(attribute='local'), "
               f"{info} | map(attribute='prefixlen'), "
               f"{info} | map(attribute='label', default='lo')) | map('join', ' ') | list")
    json_ok = f"(clb_r_{var}.rc == 0 and clb_r_{var}.stdout.startswith('['))"
    tasks = [
        _cmd(f"Read lo's addresses ({var})", ["ip", "-j", "addr", "show", "dev", "lo"],
             f"clb_r_{var}"),
        {"name": f"Read lo's addresses without JSON ({var})",
         "ansible.builtin.command": {"argv": ["sh", "-c",
                                              'ip -o addr show dev lo | awk "$CLB_LO_AWK"']},
         "environment": {"CLB_LO_AWK": "{{ clb_lo_awk }}"},
         "register": f"clb_t_{var}", "changed_when": False, "when": f"not {json_ok}"},
        {"name": f"Keep lo's addresses ({var})",
         "ansible.builtin.set_fact": {
             var: f"{{{{ ({as_list}) if {json_ok} else clb_t_{var}.stdout_lines }}}}"}},
        {"name": f"Keys of lo's addresses: family, address, prefix length ({var})",
         "ansible.builtin.set_fact": {
             f"{var}_keys": f"{{{{ {var} | map('regex_replace', ' [^ ]*$', '') | list }}}}"}},
    ]
    if when:
        for task in tasks:
            task["when"] = f"({when}) and ({task['when']})" if "when" in task else when
    return tasks


def _vip_on_lo(lo_var: str, vip_expr: str) -> str:
    return (f"({lo_var} | select('match', '^inet ' ~ ({vip_expr} | regex_escape) ~ ' 32 ') "
            "| list | length > 0)")


_STEP_WHEN = (
    "item.always or (item.on_change and clb_changed_paths | length > 0) or "
    "(item.vips | difference(clb_lo_mid_vips) | length > 0)"
)
_UNLESS = "(item.unless_exists | select('in', clb_present) | list | length == 0)"
_UNDO_WHEN = "(item.vips | length == 0) or (item.vips | difference(clb_lo_start_vips) | length > 0)"


def _argv_of_template(pair: str = "item.0", template: str = "item.1") -> str:
    return (f"{{{{ {template}.argv | map('replace', '{{vip}}', {pair}.split(':')[1]) "
            f"| map('replace', '{{label}}', {pair}.split(':')[0]) | list }}}}")


def _tasks() -> list[dict]:
    t: list[dict] = []
    # -- probe and choose -------------------------------------------------------------------
    t.append({"name": "Probe the network stack (the paths clb-wizard's detection looks at)",
              "ansible.builtin.stat": {"path": "{{ item }}", "get_checksum": False},
              "loop": "{{ clb_probe_paths }}", "register": "clb_probe"})
    t.append({"name": "Find netplan configuration",
              "ansible.builtin.find": {"paths": "/etc/netplan", "patterns": NETPLAN_CONFIG},
              "register": "clb_netplan_yaml"})
    t.append(_cmd("Ask NetworkManager its version", ["nmcli", "--version"], "clb_nmcli"))
    t.append(_cmd("Ask systemd-networkd its version", ["networkctl", "--version"],
                  "clb_networkctl"))
    # running counts as enabled (as in platform.detect_stack): networkctl warns when not
    t.append(_cmd("Ask whether systemd-networkd runs", ["networkctl", "--no-pager", "list"],
                  "clb_networkd_list"))
    present = ("clb_probe.results | selectattr('stat.exists') | map(attribute='item') | list")
    any_of = "(clb_probes.{k} | select('in', clb_present) | list | length > 0)"
    release_key = ("(ansible_facts.distribution | lower) ~ '-' ~ "
                   "(ansible_facts.distribution_version if ansible_facts.distribution == "
                   "'Ubuntu' else ansible_facts.distribution_major_version)")
    t.append({"name": "Read the stack", "ansible.builtin.set_fact": {
        "clb_present": f"{{{{ {present} }}}}",
        "clb_nm_version": "{{ clb_nmcli.stdout | default('') | regex_search("
                          "'version (\\d+(\\.\\d+)*)', '\\1') | default([''], true) "
                          "| first }}",
        "clb_release_key": f"{{{{ {release_key} }}}}",
    }})
    t.append({"name": "Describe the stack", "ansible.builtin.set_fact": {"clb_stack": {
        "netplan": "{{ " + any_of.format(k="netplan") + " }}",
        "netplan_configured": "{{ clb_netplan_yaml.matched | default(0) > 0 }}",
        "network_scripts": "{{ " + any_of.format(k="network_scripts") + " }}",
        "ifupdown": "{{ not " + any_of.format(k="network_scripts") + " and "
                    + any_of.format(k="ifup") + " and " + any_of.format(k="interfaces")
                    + " }}",
        "networkmanager": "{{ " + any_of.format(k="networkmanager")
                          + " or clb_nm_version != '' }}",
        "nm_version": "{{ clb_nm_version }}",
        "nm_ok": "{{ clb_nm_version != '' and clb_nm_version is version('1.42', '>=') }}",
        "networkd_version": "{{ (clb_networkctl.stdout | default('') | regex_search("
                            "'systemd (\\d+)', '\\1') | default([''], true) | first) or "
                            "clb_supported.networkd[clb_release_key] | default(0) }}",
        "networkd_enabled": "{{ " + any_of.format(k="networkd") + " and ("
                            + any_of.format(k="networkd_enabled")
                            + " or (clb_networkd_list.rc == 0 and 'not running' not in "
                            "(clb_networkd_list.stdout ~ clb_networkd_list.stderr))) }}",
        "systemd": "{{ " + any_of.format(k="systemd") + " or "
                   + any_of.format(k="networkd") + " }}",
    }}})
    family = ("{{ 'rhel' if ansible_facts.os_family == 'RedHat' and ansible_facts.distribution "
              "not in ['Fedora', 'Amazon'] else ('debian' if ansible_facts.os_family == "
              "'Debian' else 'unsupported') }}")
    t.append({"name": "Which OS family", "ansible.builtin.set_fact": {
        "clb_family": family,
        "clb_major": "{{ ansible_facts.distribution_major_version | int }}",
    }})
    supported = (
        "(clb_family == 'rhel' and clb_major | int in clb_supported.rhel) or "
        "(ansible_facts.distribution == 'Ubuntu' and ansible_facts.distribution_version in "
        "clb_supported.ubuntu) or (ansible_facts.distribution == 'Debian' and "
        "clb_major | int in clb_supported.debian)")
    t.append({"name": "Check that clb-wizard supports this OS", "ansible.builtin.assert": {
        "that": [supported],
        "fail_msg": "Unsupported OS {{ ansible_facts.distribution }} "
                    "{{ ansible_facts.distribution_version }}: clb-wizard knows Ubuntu "
                    "{{ clb_supported.ubuntu | join(', ') }}, Debian "
                    "{{ clb_supported.debian | join(', ') }} and RHEL-family "
                    "{{ clb_supported.rhel | join(', ') }}. Nothing was changed.",
        "quiet": True}})
    t.append({"name": "Choose the method (as clb-wizard does)", "ansible.builtin.set_fact": {
        "clb_chosen": CHOOSE_METHOD}})
    t.append({"name": "Method: the chosen one, or the one this playbook is pinned to",
              "ansible.builtin.set_fact": {"clb_method": "{{ clb_pin_method or clb_chosen }}"}})
    t.append({"name": "Choose the variant", "ansible.builtin.set_fact": {
        "clb_variant": CHOOSE_VARIANT}})
    t.append({"name": "Check that this host is of the OS the playbook was exported for",
              "ansible.builtin.assert": {
                  "that": ["not clb_expect_method or clb_chosen == clb_expect_method"],
                  "fail_msg": "This host needs method {{ clb_chosen }}; this playbook was "
                              "exported for {{ clb_expect_os }} (method "
                              "{{ clb_expect_method }}). Export it without --os. "
                              "Nothing was changed.",
                  "quiet": True}})
    t.append({"name": "Check that this playbook carries the method this host needs",
              "ansible.builtin.assert": {
                  "that": ["clb_variant in clb_profiles"],
                  "fail_msg": "This host needs method {{ clb_method }} ({{ clb_variant }}); "
                              "this playbook was exported for {{ clb_profiles.keys() | list "
                              "| join(', ') }}. Export it without --os, or for this host's "
                              "OS. Nothing was changed.",
                  "quiet": True}})
    t.append({"name": "Method for this host", "ansible.builtin.set_fact": {
        "clb_profile": "{{ clb_profiles[clb_variant] }}"}})
    t.append({"name": "Show the method", "ansible.builtin.debug": {
        "msg": "{{ ansible_facts.distribution }} {{ ansible_facts.distribution_version }}: "
               "method {{ clb_method }} ({{ clb_variant }}), {{ clb_profile.title }}"}})
    # -- inspect (refuse before any change) --------------------------------------------------
    t.append({"name": "Inspect our files, foreign files and lo's labels",
              "ansible.builtin.command": {"argv": ["sh", "-c", "{{ clb_inspect_sh }}",
                                                   "clb-inspect"]},
              "environment": "{{ clb_profile.inspect_env }}",
              "register": "clb_inspect", "changed_when": False})
    t.append({"name": "Refuse a host this export cannot change safely",
              "ansible.builtin.assert": {
                  "that": ["clb_conflicts | length == 0"],
                  "fail_msg": "{{ clb_conflicts | join('; ') }}. Nothing was changed.",
                  "quiet": True},
              "vars": {"clb_conflicts": "{{ clb_inspect.stdout_lines | select('match', "
                                        "'^conflict ') | map('regex_replace', '^conflict ', "
                                        "'') | list }}"}})
    t.extend(_read_lo("clb_lo_start"))
    t.append({"name": "Read our files as they are",
              "ansible.builtin.stat": {"path": "{{ item.path }}", "checksum_algorithm": "sha1"},
              "loop": "{{ clb_profile.files }}", "loop_control": {"label": "{{ item.path }}"},
              "register": "clb_file_stat"})
    t.append({"name": "Read the file that must source our drop-in",
              "ansible.builtin.slurp": {"src": "{{ clb_profile.source_main }}"},
              "register": "clb_main",
              "when": "clb_profile.source_main and 'sourced no' in clb_inspect.stdout_lines"})
    t.append({"name": "Plan: what changes on this host", "ansible.builtin.set_fact": {
        "clb_write": "{{ clb_file_stat.results | selectattr('stat.exists', 'equalto', false) "
                     "| map(attribute='item.path') | list }}",
        "clb_source_needed": "{{ 'sourced no' in clb_inspect.stdout_lines }}",
        "clb_stale": "{{ clb_inspect.stdout_lines | select('match', '^stale ') "
                     "| map('regex_replace', '^stale ', '') | list }}",
        "clb_old": "{{ clb_inspect.stdout_lines | select('match', '^old ') "
                   "| map('regex_replace', '^old (\\S+) (\\S+)$', '\\1:\\2') | list }}",
        "clb_lo_start_vips": "{{ clb_lo_start | select('match', '^inet \\S+ 32 ') "
                             "| map('split', ' ') | map('list') | map(attribute=1) | list }}",
        "clb_had_ours": "{{ clb_inspect.stdout_lines | select('match', '^(target ours|stale) ')"
                        " | list | length > 0 }}",
    }})
    t.append({"name": "Plan: files whose content or mode differs",
              "ansible.builtin.set_fact": {
                  "clb_write": "{{ clb_write + [item.item.path] }}"},
              "loop": "{{ clb_file_stat.results }}",
              "loop_control": {"label": "{{ item.item.path }}"},
              "when": "item.stat.exists and (item.stat.checksum != (item.item.content | "
                      "hash('sha1')) or item.stat.mode != item.item.mode)"})
    t.append({"name": "Plan: old VIPs of ours to retire, VIPs missing from lo",
              "ansible.builtin.set_fact": {
                  "clb_retire": "{{ clb_old | reject('in', clb_profile.new_keys "
                                "if clb_profile.retire_by_label else []) | list "
                                "if clb_profile.retire_by_label else clb_old | "
                                "map('regex_replace', '^[^:]*:', '') | reject('in', "
                                "clb_vips) | map('regex_replace', '^', '-:') | list }}",
                  "clb_missing": "{{ clb_vips | difference(clb_lo_start_vips) }}",
                  "clb_changed_paths": "{{ clb_write + (([clb_profile.source_main] if "
                                       "clb_source_needed else []) + clb_stale) }}",
              }})
    t.append({"name": "Plan: summary", "ansible.builtin.set_fact": {
        "clb_needed": "{{ (clb_changed_paths + clb_retire + clb_missing) | length > 0 }}",
        "clb_backup": "{{ clb_state_dir }}/ansible/"
                      "{{ ansible_facts.date_time.iso8601_basic_short }}-{{ 999999 | "
                      "random(seed=inventory_hostname ~ ansible_facts.date_time.epoch) }}",
    }})
    t.append({"name": "Show the plan", "ansible.builtin.debug": {
        "msg": "{{ 'No change needed: this host already has exactly this configuration.' "
               "if not clb_needed else 'Write: ' ~ (clb_changed_paths | join(', ') or '-') ~ "
               "'; retire: ' ~ (clb_retire | join(', ') or '-') ~ '; bring up: ' ~ "
               "(clb_missing | join(', ') or '-') }}"}})
    # -- back up ------------------------------------------------------------------------------
    t.append({"name": "Read the files that change (owner, mode, checksum)",
              "ansible.builtin.stat": {"path": "{{ item }}", "checksum_algorithm": "sha1"},
              "loop": "{{ clb_changed_paths }}", "register": "clb_before",
              "when": "clb_needed"})
    t.append({"name": "Create the backup directory",
              "ansible.builtin.file": {"path": "{{ clb_backup }}/before{{ item | dirname }}",
                                       "state": "directory", "mode": "0700"},
              "loop": "{{ clb_changed_paths + ['/'] }}", "when": "clb_needed"})
    t.append({"name": "Back up every file that changes (byte-exact, mode kept)",
              "ansible.builtin.copy": {"src": "{{ item.item }}", "remote_src": True,
                                       "dest": "{{ clb_backup }}/before{{ item.item }}",
                                       "mode": "preserve"},
              "loop": "{{ clb_before.results | default([]) }}",
              "loop_control": {"label": "{{ item.item | default('') }}"},
              "when": "clb_needed and item.stat is defined and item.stat.exists"})
    t.append({"name": "Record what this run changes (for a manual restore)",
              "ansible.builtin.copy": {
                  "dest": "{{ clb_backup }}/manifest",
                  "mode": "0600",
                  "content": "{{ {'vips': clb_vips, 'files': clb_changed_paths, "
                             "'lo_before': clb_lo_start, 'variant': clb_variant} "
                             "| to_nice_json }}\n"},
              "when": "clb_needed"})
    # -- the change ---------------------------------------------------------------------------
    block: list[dict] = []
    block.append({"name": "Install what the method needs",
                  "ansible.builtin.command": {"argv": "{{ item.argv }}"},
                  "loop": "{{ clb_profile.prepare }}",
                  "loop_control": {"label": "{{ item.why }}"},
                  "changed_when": True,
                  "when": f"clb_needed and {_UNLESS} and (item.always or "
                          "(item.on_change and clb_changed_paths | length > 0) or "
                          "(item.vips | difference(clb_lo_start_vips) | length > 0))"})
    for phase in ("prepare", "activate"):
        retire = {"name": f"Retire old VIPs of ours ({phase})",
                  "ansible.builtin.command": {"argv": _argv_of_template()},
                  "loop": "{{ clb_retire | product(clb_profile.retire | selectattr('phase', "
                          f"'equalto', '{phase}') | list) | list }}}}",
                  "loop_control": {"label": "{{ item.0 }}: {{ item.1.why }}"},
                  "changed_when": True,
                  "when": "item.1.by_label or (item.0.split(':')[1] in clb_lo_start_vips)"}
        if phase == "prepare":
            block.append(retire)
            block.append({"name": "Write our files (atomically)",
                          "ansible.builtin.copy": {"dest": "{{ item.path }}",
                                                   "content": "{{ item.content }}",
                                                   "mode": "{{ item.mode }}",
                                                   "owner": "root", "group": "root"},
                          "loop": "{{ clb_profile.files }}",
                          "loop_control": {"label": "{{ item.path }}"},
                          "when": "item.path in clb_write"})
            block.append({"name": "Make the interfaces file read our drop-in",
                          "ansible.builtin.copy": {
                              "dest": "{{ clb_profile.source_main }}",
                              "content": "{{ clb_main_text ~ ('\\n' if clb_main_text and not "
                                         "clb_main_text.endswith('\\n') else '') ~ "
                                         "clb_profile.source_append }}",
                              "mode": "0644", "owner": "root", "group": "root"},
                          "vars": {"clb_main_text": "{{ clb_main.content | b64decode }}"},
                          "when": "clb_source_needed"})
            block.append({"name": "Remove our old alias files the new VIP set drops",
                          "ansible.builtin.file": {"path": "{{ item }}", "state": "absent"},
                          "loop": "{{ clb_stale }}"})
            block.extend(_read_lo("clb_lo_mid", when="clb_needed"))
            block.append({"name": "VIPs on lo now", "ansible.builtin.set_fact": {
                "clb_lo_mid_vips": "{{ (clb_lo_mid | default(clb_lo_start)) | select('match', "
                                   "'^inet \\S+ 32 ') | map('split', ' ') | map('list') "
                                   "| map(attribute=1) | list }}"}})
            block.append({"name": "Activate (the method's least-disruptive commands)",
                          "ansible.builtin.command": {"argv": "{{ item.argv }}"},
                          "loop": "{{ clb_profile.activate }}",
                          "loop_control": {"label": "{{ item.why }}"},
                          "changed_when": True, "when": _STEP_WHEN})
        else:
            block.append(retire)
    block.append({"name": "Wait for the VIPs on lo (networkd reconfigures lo in the background)",
                  "ansible.builtin.command": {"argv": ["ip", "-o", "-4", "addr", "show", "dev",
                                                       "lo"]},
                  "register": "clb_settle", "changed_when": False, "failed_when": False,
                  "until": "clb_vips | reject('in', clb_settle.stdout | regex_findall("
                           "'inet (\\S+)/32 ')) | list | length == 0",
                  "retries": 10, "delay": 1, "when": "clb_needed"})
    block.extend(_read_lo("clb_lo_act", when="clb_needed"))
    keep = ("clb_lo_start | reject('match', '^inet (' ~ (clb_retire | map('regex_replace', "
            "'^[^:]*:', '') | map('regex_escape') | join('|') or 'none') ~ ') ') | list")
    block.append({"name": "Put back lo's addresses a renderer dropped",
                  "ansible.builtin.command": {"argv": "{{ ['ip'] + (['-6'] if "
                                              "item.split(' ')[0] == 'inet6' else []) + "
                                              "['addr', 'add', item.split(' ')[1] ~ '/' ~ "
                                              "item.split(' ')[2], 'dev', 'lo'] + (['label', "
                                              "item.split(' ')[3]] if item.split(' ')[0] == "
                                              "'inet' and item.split(' ')[3] != 'lo' else []) "
                                              "}}"},
                  "loop": f"{{{{ {keep} }}}}", "changed_when": True,
                  "register": "clb_put_back",
                  # the manager may have put it back by itself meanwhile (networkd)
                  "failed_when": "clb_put_back.rc != 0 and 'already assigned' not in "
                                 "(clb_put_back.stderr | lower)",
                  "when": "clb_needed and (item.split(' ')[:3] | join(' ')) not in "
                          "clb_lo_act_keys"})
    # -- verification -------------------------------------------------------------------------
    block.extend(_read_lo("clb_lo_now"))
    block.append(_cmd("Ask the kernel how it routes each VIP (JSON)",
                      ["ip", "-j", "route", "get", "{{ item }}"], "clb_route_j",
                      loop="{{ clb_vips }}"))
    block.append(_cmd("Ask the kernel how it routes each VIP", ["ip", "route", "get",
                                                                 "{{ item }}"],
                      "clb_route_t", loop="{{ clb_vips }}"))
    block.append(_cmd("Read the config back with ifquery", ["ifquery", "lo:{{ item }}"],
                      "clb_ifquery", loop="{{ clb_profile.labels }}",
                      when="clb_profile.reread == 'ifquery'"))
    block.append({"name": "Read the config back as systemd-networkd has it",
                  "ansible.builtin.slurp": {"src": NETWORKD_LO}, "register": "clb_networkd",
                  "failed_when": False, "when": "clb_profile.reread == 'networkd'"})
    block.append(_cmd("Read the config back with nmcli",
                      ["nmcli", "-g", "ipv4.addresses", "connection", "show", "uuid",
                       CONNECTION_UUID], "clb_nmcli_show",
                      when="clb_profile.reread == 'nmcli'"))
    reread = (
        "{{ (clb_ifquery.results | map(attribute='stdout_lines') | flatten | select('match', "
        "'^address:') | map('regex_replace', '^address:\\s*([^/]+).*$', '\\1') | list) "
        "if clb_profile.reread == 'ifquery' else ((clb_networkd.content | default('') | "
        "b64decode | regex_findall('(?m)^Address=(\\S+)/32$')) if clb_profile.reread == "
        "'networkd' else ((clb_nmcli_show.stdout | default('') | replace('\\\\', '') | "
        "split(',') | map('trim') | reject('equalto', '') | map('regex_replace', '/.*$', '') "
        "| list) if clb_profile.reread == 'nmcli' else clb_vips)) }}")
    block.append({"name": "Collect the facts", "ansible.builtin.set_fact": {
        "clb_reread": reread,
    }})
    block.append({"name": "Verify: each VIP is on lo as /32",
                  "ansible.builtin.assert": {
                      "that": [_vip_on_lo("clb_lo_now", "item")],
                      "fail_msg": "{{ item }} is not on lo as /32",
                      "success_msg": "{{ item }}/32 is on lo", "quiet": True},
                  "loop": "{{ clb_vips }}"})
    route_local = (
        "((clb_route_j.results[idx].rc == 0 and clb_route_j.results[idx].stdout.startswith('[') "
        "and ((clb_route_j.results[idx].stdout | from_json)[0].type | default('unicast')) == "
        "'local') or ((clb_route_j.results[idx].rc != 0 or not clb_route_j.results[idx].stdout"
        ".startswith('[')) and clb_route_t.results[idx].stdout.startswith('local ')))")
    block.append({"name": "Verify: the kernel routes each VIP locally",
                  "ansible.builtin.assert": {
                      "that": [route_local],
                      "fail_msg": "ip route get {{ item }}: not local "
                                  "({{ clb_route_t.results[idx].stdout | default('') | trim }})",
                      "quiet": True},
                  "loop": "{{ clb_vips }}", "loop_control": {"index_var": "idx"}})
    block.append({"name": "Verify: the config re-reads to exactly the VIPs",
                  "ansible.builtin.assert": {
                      "that": ["(clb_reread | sort) == (clb_vips | sort)"],
                      "fail_msg": "{{ clb_profile.reread }} reads back "
                                  "{{ clb_reread | join(', ') or 'no VIPs' }}, expected "
                                  "{{ clb_vips | join(', ') }}",
                      "quiet": True}})
    block.append({"name": "Verify: lo's other addresses are still there",
                  "ansible.builtin.assert": {
                      "that": ["(item.split(' ')[:3] | join(' ')) in clb_lo_now_keys"],
                      "fail_msg": "{{ item }} was on lo before and is gone", "quiet": True},
                  "loop": f"{{{{ {keep} }}}}"})
    # -- rescue -------------------------------------------------------------------------------
    rescue: list[dict] = []
    rescue.append({"name": "Remember what failed", "ansible.builtin.set_fact": {
        "clb_failure": "{{ ansible_failed_task.name | default('a task') }}: "
                       "{{ ansible_failed_result.msg | default(ansible_failed_result.stderr "
                       "| default('failed')) }}"}})
    rescue.append({"name": "Roll back: undo the method's activation (before the files)",
                   "ansible.builtin.command": {"argv": "{{ item.argv }}"},
                   "loop": "{{ clb_profile.undo_prepare }}",
                   "loop_control": {"label": "{{ item.why }}"},
                   "failed_when": False, "changed_when": True, "when": _UNDO_WHEN})
    rescue.append({"name": "Roll back: restore every file byte-exact from its backup",
                   "ansible.builtin.copy": {"src": "{{ clb_backup }}/before{{ item.item }}",
                                            "dest": "{{ item.item }}", "remote_src": True,
                                            "mode": "preserve",
                                            "owner": "{{ item.stat.uid }}",
                                            "group": "{{ item.stat.gid }}"},
                   "loop": "{{ clb_before.results | default([]) }}",
                   "loop_control": {"label": "{{ item.item | default('') }}"},
                   "when": "item.stat is defined and item.stat.exists"})
    rescue.append({"name": "Roll back: remove the files this run created",
                   "ansible.builtin.file": {"path": "{{ item.item }}", "state": "absent"},
                   "loop": "{{ clb_before.results | default([]) }}",
                   "loop_control": {"label": "{{ item.item | default('') }}"},
                   "when": "item.stat is defined and not item.stat.exists"})
    rescue.append({"name": "Roll back: the method's commands after the files",
                   "ansible.builtin.command": {"argv": "{{ item.argv }}"},
                   "loop": "{{ clb_profile.undo_activate }}",
                   "loop_control": {"label": "{{ item.why }}"},
                   "failed_when": False, "changed_when": True, "when": _UNDO_WHEN})
    rescue.append({"name": "Roll back: make the manager re-read our restored config",
                   "ansible.builtin.command": {"argv": "{{ item }}"},
                   "loop": "{{ clb_profile.had_ours_reload }}",
                   "failed_when": False, "changed_when": True, "when": "clb_had_ours"})
    rescue.extend(_read_lo("clb_lo_rb"))
    rescue.append({"name": "Roll back: remove the VIPs this run added",
                   "ansible.builtin.command": {"argv": ["ip", "addr", "del",
                                                        "{{ item.split(' ')[1] }}/"
                                                        "{{ item.split(' ')[2] }}", "dev", "lo"]},
                   "loop": "{{ clb_lo_rb | select('match', '^inet ') | list }}",
                   "failed_when": False, "changed_when": True,
                   "when": "item.split(' ')[1] in clb_vips and item.split(' ')[1] not in "
                           "clb_lo_start_vips"})
    rescue.append({"name": "Roll back: put back what was on lo before",
                   "ansible.builtin.command": {"argv": "{{ ['ip'] + (['-6'] if "
                                               "item.split(' ')[0] == 'inet6' else []) + "
                                               "['addr', 'add', item.split(' ')[1] ~ '/' ~ "
                                               "item.split(' ')[2], 'dev', 'lo'] + (['label', "
                                               "item.split(' ')[3]] if item.split(' ')[0] == "
                                               "'inet' and item.split(' ')[3] != 'lo' else []) "
                                               "}}"},
                   "loop": "{{ clb_lo_start }}", "failed_when": False, "changed_when": True,
                   "when": "(item.split(' ')[:3] | join(' ')) not in clb_lo_rb_keys"})
    rescue.extend(_read_lo("clb_lo_end"))
    rescue.append({"name": "Roll back: read the restored files",
                   "ansible.builtin.stat": {"path": "{{ item.item }}",
                                            "checksum_algorithm": "sha1"},
                   "loop": "{{ clb_before.results | default([]) }}",
                   "loop_control": {"label": "{{ item.item | default('') }}"},
                   "register": "clb_after_rb", "when": "item.stat is defined"})
    same_files = (
        "clb_after_rb.results | selectattr('stat', 'defined') | rejectattr('skipped', 'defined')"
        " | map(attribute='stat.checksum', default='-') | list == clb_before.results | "
        "selectattr('stat', 'defined') | map(attribute='stat.checksum', default='-') | list")
    same_lo = "(clb_lo_end_keys | sort) == (clb_lo_start_keys | sort)"
    rescue.append({"name": "Roll back: check the host is exactly as before",
                   "ansible.builtin.assert": {
                       "that": [same_files, same_lo],
                       "fail_msg": "The change failed ({{ clb_failure }}) and the rollback "
                                   "failed too. Restore by hand: copy each file back from "
                                   "{{ clb_backup }}/before/ (cp -p), remove the files not "
                                   "there, and `ip addr del VIP/32 dev lo` each VIP of "
                                   "{{ clb_vips | join(', ') }} that was not on lo before "
                                   "(see {{ clb_backup }}/manifest).",
                       "quiet": True}})
    rescue.append({"name": "Fail: the change was rolled back",
                   "ansible.builtin.fail": {
                       "msg": "{{ clb_failure }}. The host was rolled back to exactly how it "
                              "was (files byte-exact from {{ clb_backup }}, lo as before)."}})
    t.append({"name": "Change, verify, or roll back", "block": block, "rescue": rescue})
    t.append({"name": "Done", "ansible.builtin.debug": {
        "msg": "{{ clb_vips | join(', ') }} on lo, verified ({{ clb_method }})."}})
    return t


def _probe_paths() -> list[str]:
    paths: list[str] = []
    for group in STACK_PROBES.values():
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
        "vars": {
            "clb_vips": list(vips),
            "clb_state_dir": "/var/lib/clb-wizard",
            "clb_pin_method": pin,
            "clb_expect_method": expect,
            "clb_expect_os": platform.key if platform is not None else "",
            "clb_marker": Unsafe(MARKER),
            "clb_supported": _supported(),
            "clb_probes": {k: list(v) for k, v in STACK_PROBES.items()},
            "clb_probe_paths": _probe_paths() + sorted(
                {p for prof in profiles.values() for s in prof.prepare
                 for p in s.unless_exists} - set(_probe_paths())),
            "clb_lo_awk": Unsafe(LO_AWK),
            "clb_inspect_sh": Unsafe(INSPECT_SH + "clb_inspect\n"),
            "clb_profiles": {k: _profile_var(p) for k, p in profiles.items()},
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
        "# Check:  ansible-playbook -i INVENTORY -b clb-wizard-lo.yml --limit HOST",
        "#         (a second run reports changed=0; verification runs every time)",
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


__all__ = ["CHOOSE_METHOD", "DIFFERENCES", "PLAYBOOK_NAME", "STACK_PROBES", "UnsafeLoader",
           "playbook_data", "profiles_for", "render_playbook"]
