"""The playbook at parity with `clb-wizard apply`: the wizard's lock and journal, removing
VIPs only when asked in plain words, and the ARP sysctls in the same change and rescue.

  -e clb_remove_others=true   retire VIPs clb-wizard configured on a host that the play
                              does not list (refused otherwise, before any change)
  -e clb_arp_sysctls=true     also set arp_ignore=1 and arp_announce=2 (now and in
                              /etc/sysctl.d), backed up and rolled back with the rest
"""

from __future__ import annotations

from clb_wizard.export.ansible_plan import _cmd
from clb_wizard.sysctls import WANTED as ARP_WANTED
from clb_wizard.transaction.journal import UNRESOLVED

LOCK_SECONDS = 1800  # the lock is let go after this even if the controller vanished
_TOKEN = "{{ clb_state_dir }}/.ansible-lock-{{ clb_run }}"


def lock() -> list[dict]:
    """Take clb-wizard's lock for the rest of the play, or fail the host untouched."""
    return [
        {"name": "Name this run", "ansible.builtin.set_fact": {
            "clb_run": "{{ ansible_facts.date_time.iso8601_basic_short }}-{{ 999999 | "
                       "random(seed=inventory_hostname ~ ansible_facts.date_time.epoch) }}"}},
        {"name": "Take clb-wizard's lock (held in the background until the play lets go)",
         "ansible.builtin.command": {"argv": ["sh", "-c", "{{ clb_hold_lock_sh }}", "hold-lock",
                                              "{{ clb_state_dir }}", _TOKEN,
                                              str(LOCK_SECONDS)]},
         "async": LOCK_SECONDS + 60, "poll": 0, "changed_when": False},
        {"name": "Wait for the lock",
         "ansible.builtin.command": {"argv": ["sh", "-c", 'test -e "$1" || test -e "$1.busy"',
                                              "wait", _TOKEN]},
         "register": "clb_lock_wait", "until": "clb_lock_wait.rc == 0", "retries": 60,
         "delay": 1, "changed_when": False, "failed_when": False},
        _cmd("Who holds the lock", ["cat", _TOKEN + ".busy"], "clb_lock_busy"),
        {"name": "Refuse a host another clb-wizard run is changing",
         "ansible.builtin.assert": {
             "that": ["clb_lock_wait.rc == 0", "clb_lock_busy.rc != 0"],
             "fail_msg": "Another clb-wizard run ({{ clb_lock_busy.stdout | default('') }}) "
                         "holds {{ clb_state_dir }}/lock and is changing this host: it is "
                         "skipped. Run the playbook again for it when that run is over. "
                         "Nothing was changed.",
             "quiet": True}},
        {"name": "Read clb-wizard's journal", "ansible.builtin.slurp": {
            "src": "{{ clb_state_dir }}/journal.json"},
         "register": "clb_journal", "failed_when": False},
        {"name": "Refuse a host with an unfinished clb-wizard transaction",
         "ansible.builtin.assert": {
             "that": ["clb_journal.content is not defined or (clb_journal.content | b64decode "
                      "| from_json).state not in clb_unresolved"],
             "fail_msg": "A clb-wizard transaction is unfinished on this host, or its "
                         "rollback failed ({{ clb_state_dir }}/journal.json): the host may be "
                         "half changed. Run `clb-wizard recover` there first. Nothing was "
                         "changed.",
             "quiet": True}},
    ]


def unlock() -> list[dict]:
    return [{"name": "Let go of clb-wizard's lock",
             "ansible.builtin.file": {"path": "{{ item }}", "state": "absent"},
             "loop": [_TOKEN, _TOKEN + ".busy"], "when": "clb_run is defined",
             "changed_when": False}]


def arp_plan() -> list[dict]:
    """With clb_arp_sysctls: the ARP file joins our files; the sysctls that differ."""
    names = list(ARP_WANTED)
    return [
        {"name": "Our files (and the ARP sysctls' file when asked)",
         "ansible.builtin.set_fact": {
             "clb_files": "{{ clb_profile.files + ([clb_arp_file] if clb_arp_sysctls | bool "
                          "else []) }}"}},
        _cmd("Read the ARP sysctls", ["sysctl", "-n", *names], "clb_sysctl_now"),
        _cmd("Read the first line of the ARP sysctls' file", ["head", "-n", "1",
                                                              "{{ clb_arp_file.path }}"],
             "clb_arp_head"),
        {"name": "Refuse an ARP sysctls' file that is not clb-wizard's",
         "ansible.builtin.assert": {
             "that": ["not (clb_arp_sysctls | bool) or clb_arp_head.rc != 0 or "
                      "clb_marker in clb_arp_head.stdout"],
             "fail_msg": "{{ clb_arp_file.path }} exists and is not clb-wizard's: set the ARP "
                         "sysctls there, or rename it. Nothing was changed.",
             "quiet": True}},
        {"name": "Plan: the ARP sysctls as they are", "ansible.builtin.set_fact": {
            "clb_sysctl_before": "{{ dict(clb_arp_names | zip(clb_sysctl_now.stdout_lines)) }}",
            "clb_arp_set": [], "clb_arp_back": []},
         "vars": {"clb_arp_names": names}},
        {"name": "Plan: ARP sysctls to set", "ansible.builtin.set_fact": {
            "clb_arp_set": "{{ clb_arp_set + [item.key ~ '=' ~ item.value] }}",
            "clb_arp_back": "{{ clb_arp_back + [item.key ~ '=' ~ clb_sysctl_before[item.key]] }}"},
         "loop": "{{ clb_arp_wanted | dict2items }}",
         "when": "clb_arp_sysctls | bool and clb_sysctl_before[item.key] | default('') != "
                 "item.value"},
    ]


def remove_others() -> list[dict]:
    """Refuse to take VIPs of ours out of service unless -e clb_remove_others=true."""
    return [
        {"name": "Plan: VIPs of ours this play would take out of service",
         "ansible.builtin.set_fact": {
             "clb_leaving": "{{ clb_old | map('regex_replace', '^[^:]*:', '') | "
                            "reject('in', clb_vips) | list }}"}},
        {"name": "Refuse to remove VIPs unless asked (-e clb_remove_others=true)",
         "ansible.builtin.assert": {
             "that": ["clb_leaving | length == 0 or clb_remove_others | bool"],
             "fail_msg": "This would take {{ clb_leaving | join(', ') }} out of service: "
                         "clb-wizard configured them on this host and this playbook does not "
                         "list them. Export a playbook that lists them too, or run with "
                         "-e clb_remove_others=true to remove them. Nothing was changed.",
             "quiet": True}},
    ]


def arp_change() -> list[dict]:
    return [{"name": "Set the ARP sysctls now (the file keeps them after a reboot)",
             "ansible.builtin.command": {"argv": "{{ ['sysctl', '-q', '-w'] + clb_arp_set }}"},
             "changed_when": True, "when": "clb_arp_set | length > 0"}]


def arp_verify() -> list[dict]:
    return [
        _cmd("Read the ARP sysctls again", ["sysctl", "-n", *ARP_WANTED], "clb_sysctl_after",
             when="clb_arp_sysctls | bool"),
        {"name": "Verify: the ARP sysctls",
         "ansible.builtin.assert": {
             "that": ["clb_sysctl_after.stdout_lines == clb_arp_wanted.values() | list"],
             "fail_msg": "ARP sysctls are {{ clb_sysctl_after.stdout_lines | join(', ') }}, "
                         "expected {{ clb_arp_wanted.values() | list | join(', ') }}",
             "quiet": True},
         "when": "clb_arp_sysctls | bool"},
    ]


def arp_rescue() -> list[dict]:
    return [{"name": "Roll back: put the ARP sysctls back",
             "ansible.builtin.command": {"argv": "{{ ['sysctl', '-q', '-w'] + clb_arp_back }}"},
             "changed_when": True, "failed_when": False,
             "when": "clb_arp_set | default([]) | length > 0"}]


def play_vars() -> dict:
    """The play's variables for the parity options (each overridable with -e)."""
    return {
        "clb_remove_others": False,
        "clb_arp_sysctls": False,
        "clb_arp_wanted": dict(ARP_WANTED),
        "clb_unresolved": list(UNRESOLVED),
    }
