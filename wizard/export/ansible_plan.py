"""The playbook's tasks before any change: probe the stack, choose the method, inspect the
host (refuse, changing nothing, when it is not in a state the export can change safely),
plan what changes, and back up what will change."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Optional

from clb_wizard import methods
from clb_wizard.errors import PlatformError
from clb_wizard.export.ansible_identify import identify_tasks
from clb_wizard.export.choice import by_condition, decision
from clb_wizard.methods.netplan import CONFIG_PATTERN as NETPLAN_CONFIG
from clb_wizard.methods.netplan import NETWORKD_RECONFIGURE_MIN
from clb_wizard.platform import KNOWN_RELEASES, NetworkStack, Platform, Release


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
         # the awk program is an argument: Ansible's `environment` is not shell-safe
         "ansible.builtin.command": {"argv": ["sh", "-c", 'ip -o addr show dev lo | awk "$1"',
                                              "read-lo", "{{ clb_lo_awk }}"]},
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


# Lo's addresses that must stay: all of them but the old VIPs of ours this run retires.
KEEP = ("clb_lo_start | reject('match', '^inet (' ~ (clb_retire | map('regex_replace', "
            "'^[^:]*:', '') | map('regex_escape') | join('|') or 'none') ~ ') ') | list")

# The stack facts the play reads on a host (clb_stack) that the engine's choice looks at.
CHOICE_FACTS = ("network_scripts", "nm_ok", "netplan", "netplan_configured", "ifupdown",
                "ifupdown_ng", "wicked", "systemd", "networkd_enabled")

# Families the play chooses for when the release is not in the table (as `detect`).
GENERIC_FAMILIES = ("rhel", "debian", "suse", "alpine", "linux")


def _engine_choice(release: Release, facts: Mapping[str, bool]) -> str:
    """What the engine chooses for a host of `release` with these stack facts."""
    stack = NetworkStack(**{k: v for k, v in facts.items() if k != "nm_ok"},
                         networkmanager=facts["nm_ok"],
                         nm_version="1.42.0" if facts["nm_ok"] else None)
    try:
        return methods.choose(release, stack).method
    except PlatformError:
        return "none"


def _unlisted_choice(family: str, facts: Mapping[str, bool]) -> str:
    """The engine's choice on a release its table lacks (platform._live builds this)."""
    installable = ("network-scripts",) if facts["network_scripts"] else ()
    return _engine_choice(Release("unlisted", "unlisted", family, installable=installable),
                          facts)


@cache
def choose_method() -> str:
    """The engine's choice as Jinja: one branch per group of known releases that choose
    alike, then one per family for releases the table lacks; 'none' when nothing fits."""
    by_tree: dict[str, list[str]] = {}
    for release in KNOWN_RELEASES.values():
        if release.family != "windows":
            tree = decision(CHOICE_FACTS, lambda facts, r=release: _engine_choice(r, facts),
                            "clb_stack")
            by_tree.setdefault(tree, []).append(release.key)
    trees = {f"clb_release in {keys!r}": tree for tree, keys in by_tree.items()}
    for family in GENERIC_FAMILIES:
        tree = decision(CHOICE_FACTS, lambda facts, f=family: _unlisted_choice(f, facts),
                        "clb_stack")
        trees[f"clb_release == '' and clb_family == '{family}'"] = tree
    return by_condition(trees, "none")


# The stack facts a method's export variant looks at (Method.variant).
VARIANT_FACTS = ("network_scripts", "networkd_reconfigure")


def _engine_variant(name: str, facts: Mapping[str, bool]) -> str:
    """The variant the engine exports for method `name` on a host with these facts."""
    method = methods.REGISTRY[name]
    networkd = NETWORKD_RECONFIGURE_MIN - (0 if facts["networkd_reconfigure"] else 1)
    stack = NetworkStack(network_scripts=facts["network_scripts"], systemd=True,
                         networkd_version=networkd)
    # a release whose repositories carry every package a method may install
    release = Release("any", "any", "linux", installable=("network-scripts",))
    platform = Platform(os_id="any", version="", name="any", family="linux", release="any",
                        stack=stack, method=name,
                        packages=method.prerequisites(release, stack).packages)
    return method.variant(platform)


def _choose_variant() -> str:
    """The engine's variant of `clb_method` as Jinja (methods whose variant is always
    their name share the last branch)."""
    same = "{{ clb_method }}"
    trees = {}
    for name in methods.LINUX_METHODS:
        tree = decision(VARIANT_FACTS, lambda facts, n=name: _engine_variant(n, facts),
                        "clb_stack")
        if tree != name:
            trees[f"clb_method == '{name}'"] = tree
    return by_condition(trees, same)


# Generated from the engine's chooser: never edited by hand (see export/choice.py).
CHOOSE_VARIANT = _choose_variant()


def probe_and_choose() -> list[dict]:
    """Read the facts the engine reads, and choose the method and variant."""
    t: list[dict] = []
    t.append({"name": "Probe the network stack (the paths clb-wizard's detection looks at)",
              "ansible.builtin.stat": {"path": "{{ item }}", "get_checksum": False},
              "loop": "{{ clb_probe_paths }}", "register": "clb_probe"})
    t.append({"name": "Find netplan configuration",
              "ansible.builtin.find": {"paths": "/etc/netplan", "patterns": NETPLAN_CONFIG},
              "register": "clb_netplan_yaml"})
    t.append(_cmd("Ask NetworkManager its version", ["nmcli", "--version"], "clb_nmcli"))
    t.append(_cmd("Ask systemd-networkd its version", ["networkctl", "--version"],
                  "clb_networkctl"))
    t.append(_cmd("Is systemd-networkd running", ["systemctl", "is-active", "--quiet",
                                                   "systemd-networkd"], "clb_networkd_active"))
    present = ("clb_probe.results | selectattr('stat.exists') | map(attribute='item') | list")
    any_of = "(clb_probes.{k} | select('in', clb_present) | list | length > 0)"
    ng = f"({any_of.format(k='ifupdown_ng')} and {any_of.format(k='interfaces')})"
    networkd_version = ("(clb_networkctl.stdout | default('') | regex_search("
                        "'systemd (\\d+)', '\\1') | default([''], true) | first) or "
                        "clb_stock_networkd[clb_release] | default(0)")
    t.append({"name": "Read the stack", "ansible.builtin.set_fact": {
        "clb_present": f"{{{{ {present} }}}}",
        "clb_nm_version": "{{ clb_nmcli.stdout | default('') | regex_search("
                          "'version (\\d+(\\.\\d+)*)', '\\1') | default([''], true) "
                          "| first }}",
    }})
    t.extend(identify_tasks())
    t.append({"name": "Describe the stack", "ansible.builtin.set_fact": {"clb_stack": {
        "netplan": "{{ " + any_of.format(k="netplan") + " }}",
        "netplan_configured": "{{ clb_netplan_yaml.matched | default(0) > 0 }}",
        "network_scripts": "{{ " + any_of.format(k="network_scripts") + " }}",
        "ifupdown_ng": "{{ " + ng + " }}",
        "ifupdown": "{{ not " + any_of.format(k="network_scripts") + " and not " + ng
                    + " and " + any_of.format(k="ifup") + " and "
                    + any_of.format(k="interfaces") + " }}",
        "wicked": "{{ " + any_of.format(k="wicked") + " and "
                  + any_of.format(k="wicked_enabled") + " }}",
        "networkmanager": "{{ " + any_of.format(k="networkmanager")
                          + " or clb_nm_version != '' }}",
        "nm_version": "{{ clb_nm_version }}",
        "nm_ok": "{{ clb_nm_version != '' and clb_nm_version is version('1.42', '>=') }}",
        "networkd_version": "{{ " + networkd_version + " }}",
        "networkd_reconfigure": "{{ (" + networkd_version + f") | int >= "
                                f"{NETWORKD_RECONFIGURE_MIN} }}}}",
        "systemd": "{{ " + any_of.format(k="systemd") + " or "
                   + any_of.format(k="networkd") + " }}",
        "networkd_enabled": "{{ " + any_of.format(k="networkd") + " and ("
                            + any_of.format(k="networkd_enabled")
                            + " or clb_networkd_active.rc | default(1) == 0) }}",
    }}})
    t.append({"name": "Choose the method (as clb-wizard does)", "ansible.builtin.set_fact": {
        "clb_chosen": choose_method()}})
    t.append({"name": "Method: the chosen one, or the one this playbook is pinned to",
              "ansible.builtin.set_fact": {"clb_method": "{{ clb_pin_method or clb_chosen }}"}})
    t.append({"name": "Check that a method fits this host", "ansible.builtin.assert": {
        "that": ["clb_method != 'none'"],
        "fail_msg": "No method fits {{ clb_os_name or clb_os_raw_id }} (os-release ID "
                    "{{ clb_os_raw_id }}, family {{ clb_family }}): no network stack "
                    "clb-wizard knows, and no systemd. Run `clb-wizard detect` there for "
                    "the commands to do by hand. Nothing was changed.",
        "quiet": True}})
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
                              "{{ clb_refused_variants[clb_variant] if clb_variant in "
                              "clb_refused_variants else 'this playbook was exported for ' ~ "
                              "(clb_profiles.keys() | list | join(', ')) ~ '. Export it "
                              "without --os, or for the OS of this host.' }} Nothing was "
                              "changed.",
                  "quiet": True}})
    t.append({"name": "Method for this host", "ansible.builtin.set_fact": {
        "clb_profile": "{{ clb_profiles[clb_variant] }}"}})
    t.append({"name": "Show the method", "ansible.builtin.debug": {
        "msg": "{{ clb_os_name or clb_os_raw_id }} ({{ clb_release or clb_family }}): "
               "method {{ clb_method }} ({{ clb_variant }}), {{ clb_profile.title }}"}})
    return t


def inspect_and_plan() -> list[dict]:
    """Refuse a host the export cannot change safely; plan what changes on it."""
    t: list[dict] = []
    t.append({"name": "Inspect our files, foreign files and lo's labels",
              # its inputs are assignments in the program, not `environment` (which
              # Ansible passes through a shell: backquotes and quotes would not survive)
              "ansible.builtin.command": {"argv": ["sh", "-c", "{{ clb_profile.inspect_sh }}",
                                                   "clb-inspect"]},
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
              "loop": "{{ clb_files }}", "loop_control": {"label": "{{ item.path }}"},
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
        "clb_needed": "{{ (clb_changed_paths + clb_retire + clb_missing + clb_arp_set) "
                      "| length > 0 }}",
        "clb_backup": "{{ clb_state_dir }}/ansible/{{ clb_run }}",
    }})
    t.append({"name": "Show the plan", "ansible.builtin.debug": {
        "msg": "{{ 'No change needed: this host already has exactly this configuration.' "
               "if not clb_needed else 'Write: ' ~ (clb_changed_paths | join(', ') or '-') ~ "
               "'; retire: ' ~ (clb_retire | join(', ') or '-') ~ '; bring up: ' ~ "
               "(clb_missing | join(', ') or '-') }}"}})
    return t


def back_up() -> list[dict]:
    """Back up every file that changes, and a manifest, before anything changes."""
    t: list[dict] = []
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
    return t
