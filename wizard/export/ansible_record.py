"""What the playbook leaves on a host it changed: the wizard's own record of a kept change
(history/<id>.json and last.json in clb-wizard's state directory, in the journal format
of clb_wizard.transaction.journal: format 1, which it reads without a checksum), so
`clb-wizard verify`, `report` and `rollback` on that host know the fleet change as if
the wizard had made it."""

from __future__ import annotations

_FILE = (
    "{'path': item.item, "
    "'before': (clb_rec_before.results[idx].content if item.stat.exists else none), "
    "'before_mode': (item.stat.mode | int(base=8)) if item.stat.exists else 0, "
    "'before_uid': item.stat.uid if item.stat.exists else 0, "
    "'before_gid': item.stat.gid if item.stat.exists else 0, "
    "'after': clb_rec_after.results[idx].content | default(none), "
    "'after_mode': (clb_rec_after_stat.results[idx].stat.mode | int(base=8)) "
    "if clb_rec_after_stat.results[idx].stat.exists else 0}"
)
_LO = ("{'address': item.split(' ')[1], 'prefixlen': item.split(' ')[2] | int, "
       "'label': item.split(' ')[3], 'family': item.split(' ')[0]}")
_SYSCTL = ("{'name': item.split('=')[0], 'before': clb_sysctl_before[item.split('=')[0]], "
           "'after': item.split('=')[1]}")
_RECORD = (
    "{{ {'format': 1, 'id': clb_run ~ '-ansible', 'state': 'committed', "
    "'platform': clb_profile.platform, 'method': clb_method, 'vips': clb_vips, "
    "'foreign': [], 'files': clb_rec_files, 'live_before': clb_rec_lo, "
    "'sysctls': clb_rec_sysctls, 'confirm_deadline': none, 'watchdog': none, 'error': none, "
    "'history': [['committed', ansible_facts.date_time.epoch | int]]} | to_nice_json }}\n"
)


def record() -> list[dict]:
    """Tasks at the end of a verified change (when it changed something)."""
    when = "clb_needed"
    return [
        {"name": "Record: read the files as this run left them",
         "ansible.builtin.slurp": {"src": "{{ item }}"}, "loop": "{{ clb_changed_paths }}",
         "register": "clb_rec_after", "failed_when": False, "when": when},
        {"name": "Record: modes of the files as this run left them",
         "ansible.builtin.stat": {"path": "{{ item }}", "get_checksum": False},
         "loop": "{{ clb_changed_paths }}", "register": "clb_rec_after_stat", "when": when},
        {"name": "Record: read the backups",
         "ansible.builtin.slurp": {"src": "{{ clb_backup }}/before{{ item.item }}"},
         "loop": "{{ clb_before.results }}", "loop_control": {"label": "{{ item.item }}"},
         "register": "clb_rec_before", "when": f"{when} and item.stat.exists"},
        {"name": "Record: start", "ansible.builtin.set_fact": {
            "clb_rec_files": [], "clb_rec_lo": [], "clb_rec_sysctls": []}, "when": when},
        {"name": "Record: each file before and after",
         "ansible.builtin.set_fact": {"clb_rec_files": "{{ clb_rec_files + [" + _FILE + "] }}"},
         "loop": "{{ clb_before.results }}",
         "loop_control": {"index_var": "idx", "label": "{{ item.item }}"}, "when": when},
        {"name": "Record: lo's addresses before",
         "ansible.builtin.set_fact": {"clb_rec_lo": "{{ clb_rec_lo + [" + _LO + "] }}"},
         "loop": "{{ clb_lo_start }}", "when": when},
        {"name": "Record: the ARP sysctls this run set",
         "ansible.builtin.set_fact": {
             "clb_rec_sysctls": "{{ clb_rec_sysctls + [" + _SYSCTL + "] }}"},
         "loop": "{{ clb_arp_set }}", "when": when},
        {"name": "Record: clb-wizard's history directory",
         "ansible.builtin.file": {"path": "{{ clb_state_dir }}/history", "state": "directory",
                                  "mode": "0700"}, "when": when},
        {"name": "Record the change in clb-wizard's history (for its verify, report and "
                 "rollback)",
         "ansible.builtin.copy": {"dest": "{{ item }}", "mode": "0600", "content": _RECORD},
         "loop": ["{{ clb_state_dir }}/history/{{ clb_run }}-ansible.json",
                  "{{ clb_state_dir }}/last.json"],
         "when": when},
    ]
