"""The playbook's change: a block that installs, retires old VIPs, writes the files,
activates and verifies by facts, and its rescue that puts the host back byte-exact."""

from __future__ import annotations

from clb_wizard.export.ansible_guard import arp_change, arp_rescue, arp_verify
from clb_wizard.export.ansible_plan import (
    _STEP_WHEN,
    _UNDO_WHEN,
    _UNLESS,
    KEEP,
    _argv_of_template,
    _cmd,
    _read_lo,
    _vip_on_lo,
)
from clb_wizard.methods.networkmanager import CONNECTION_UUID

# `ip addr add` for one "FAMILY ADDRESS PREFIXLEN LABEL" line of lo's addresses
_ADD_BACK = ("{{ ['ip'] + (['-6'] if item.split(' ')[0] == 'inet6' else []) + ['addr', 'add', "
             "item.split(' ')[1] ~ '/' ~ item.split(' ')[2], 'dev', 'lo'] + (['label', "
             "item.split(' ')[3]] if item.split(' ')[0] == 'inet' and item.split(' ')[3] != "
             "'lo' else []) }}")


def _each_step(name: str, steps: str, when: str, undo: bool = False) -> dict:
    """Run each of the profile's `steps` commands that `when` selects; a rollback's
    commands never fail the rescue (what is left is checked after it)."""
    task = {"name": name, "ansible.builtin.command": {"argv": "{{ item.argv }}"},
            "loop": f"{{{{ clb_profile.{steps} }}}}",
            "loop_control": {"label": "{{ item.why }}"}, "changed_when": True, "when": when}
    return {**task, "failed_when": False} if undo else task


def change() -> list[dict]:
    """Install, retire, write, activate, settle, and put back what a renderer dropped."""
    block: list[dict] = []
    block.append(_each_step("Install what the method needs", "prepare",
                            f"clb_needed and {_UNLESS} and (item.always or "
                            "(item.on_change and clb_changed_paths | length > 0) or "
                            "(item.vips | difference(clb_lo_start_vips) | length > 0))"))
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
                          "loop": "{{ clb_files }}",
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
            block.extend(arp_change())
            block.extend(_read_lo("clb_lo_mid", when="clb_needed"))
            block.append({"name": "VIPs on lo now", "ansible.builtin.set_fact": {
                "clb_lo_mid_vips": "{{ (clb_lo_mid | default(clb_lo_start)) | select('match', "
                                   "'^inet \\S+ 32 ') | map('split', ' ') | map('list') "
                                   "| map(attribute=1) | list }}"}})
            block.append(_each_step("Activate (the method's least-disruptive commands)",
                                    "activate", _STEP_WHEN))
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
    block.append({"name": "Put back lo's addresses a renderer dropped",
                  "ansible.builtin.command": {"argv": _ADD_BACK},
                  "loop": "{{ " + KEEP + " }}", "changed_when": True,
                  "register": "clb_put_back",
                  # the manager may have put it back by itself meanwhile (networkd)
                  "failed_when": "clb_put_back.rc != 0 and 'already assigned' not in "
                                 "(clb_put_back.stderr | lower)",
                  "when": "clb_needed and (item.split(' ')[:3] | join(' ')) not in "
                          "clb_lo_act_keys"})
    return block


def verify() -> list[dict]:
    """Verification by facts, as `clb-wizard verify` (a failed assert starts the rescue)."""
    block: list[dict] = []
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
    block.append(_cmd("Read back the addresses ifupdown-ng has for lo",
                      ["ifquery", "-p", "address", "lo"], "clb_ifquery_lo",
                      when="clb_profile.reread == 'ifquery-ng'"))
    block.append({"name": "Read the config back as systemd-networkd has it",
                  "ansible.builtin.slurp": {"src": "{{ clb_profile.reread_file }}"},
                  "register": "clb_networkd", "failed_when": False,
                  "when": "clb_profile.reread in ['networkd', 'networkctl']"})
    block.append(_cmd("Ask systemd-networkd which file it applies to lo",
                      ["networkctl", "--no-pager", "status", "lo"], "clb_networkctl_lo",
                      when="clb_profile.reread == 'networkctl'"))
    block.append(_cmd("Read the config back with nmcli",
                      ["nmcli", "-g", "ipv4.addresses", "connection", "show", "uuid",
                       CONNECTION_UUID], "clb_nmcli_show",
                      when="clb_profile.reread == 'nmcli'"))
    networkd_file = ("(clb_networkd.content | default('') | b64decode | "
                     "regex_findall('(?m)^Address=(\\S+)/32$'))")
    used = ("(clb_networkctl_lo.stdout | default('') | regex_search("
            "'(?m)^\\s*Network File:\\s*(\\S+)', '\\1') | default(['no file'], true) "
            "| first)")
    by_kind = {
        "ifquery": "(clb_ifquery.results | map(attribute='stdout_lines') | flatten | "
                   "select('match', '^address:') | map('regex_replace', "
                   "'^address:\\s*([^/]+).*$', '\\1') | list)",
        "ifquery-ng": "(clb_ifquery_lo.stdout | default('') | split | map('regex_replace', "
                      "'/.*$', '') | select('in', clb_vips) | list)",
        "networkd": networkd_file,
        "networkctl": f"({networkd_file} if {used} == clb_profile.reread_file else "
                      f"['(systemd-networkd applies ' ~ {used} ~ ' to lo)'])",
        "nmcli": "(clb_nmcli_show.stdout | default('') | replace('\\\\', '') | "
                 "split(',') | map('trim') | reject('equalto', '') | "
                 "map('regex_replace', '/.*$', '') | list)",
    }
    reread = "clb_vips"  # no reader: the facts above are the whole check
    for kind, expression in by_kind.items():
        reread = f"({expression} if clb_profile.reread == '{kind}' else {reread})"
    reread = "{{ " + reread + " }}"
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
                  "loop": "{{ " + KEEP + " }}"})
    block.extend(arp_verify())
    return block


def rescue() -> list[dict]:
    """Undo, restore every file byte-exact, reconcile lo, check, fail the host."""
    rescue: list[dict] = []
    rescue.append({"name": "Remember what failed", "ansible.builtin.set_fact": {
        "clb_failure": "{{ ansible_failed_task.name | default('a task') }}: "
                       "{{ ansible_failed_result.msg | default(ansible_failed_result.stderr "
                       "| default('failed')) }}"}})
    rescue.append(_each_step("Roll back: undo the method's activation (before the files)",
                             "undo_prepare", _UNDO_WHEN, undo=True))
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
    rescue.append(_each_step("Roll back: the method's commands after the files",
                             "undo_activate", _UNDO_WHEN, undo=True))
    rescue.append({"name": "Roll back: make the manager re-read our restored config",
                   "ansible.builtin.command": {"argv": "{{ item }}"},
                   "loop": "{{ clb_profile.had_ours_reload }}",
                   "failed_when": False, "changed_when": True, "when": "clb_had_ours"})
    rescue.extend(arp_rescue())
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
                   "ansible.builtin.command": {"argv": _ADD_BACK},
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
    return rescue
