"""How the play tells a host's family and release: from its os-release, as `detect` does.

`detect` reads ID, VERSION_ID and ID_LIKE (through `distro`, which renames a few IDs),
takes the family from ID_LIKE, then the ID, then the package manager present
(`releases.family_of`), and the release from the ID and the major version
(`releases.release_key`). Ansible's own `os_family` groups distributions differently
(Kylin, UOS, Amazon Linux, Alpine...), so the play reads os-release itself and applies
the same rules to the engine's own tables, passed to it as variables here. The rules
themselves are a few lines of Jinja below; tests/unit/test_export.py renders them against
every family fixture and against `detect` on the same root.
"""

from __future__ import annotations

import distro

from clb_wizard.platform import PACKAGE_MANAGERS
from clb_wizard.releases import _DISTRO_IDS, AMBIGUOUS, FAMILY_OF, KNOWN_RELEASES, UNVERSIONED

# os-release IDs as `distro` reports them, then as the release table names them.
_ID_MAP = {raw: _DISTRO_IDS.get(normal, normal)
           for raw, normal in distro.NORMALIZED_OS_ID.items()} | dict(_DISTRO_IDS)
# `distro` renames IDs before family_of sees them ("ol" -> "oracle").
_FAMILY_ID_MAP = dict(distro.NORMALIZED_OS_ID)


def identify_vars() -> dict:
    """The engine's tables, as the play's variables."""
    return {
        "clb_family_of": dict(FAMILY_OF),
        "clb_ambiguous": list(AMBIGUOUS),
        "clb_known": {k: r.family for k, r in KNOWN_RELEASES.items() if r.family != "windows"},
        "clb_unversioned": list(UNVERSIONED),
        "clb_id_map": _ID_MAP,
        "clb_family_id_map": _FAMILY_ID_MAP,
        "clb_package_managers": [[family, list(paths)] for family, paths in PACKAGE_MANAGERS],
    }


def package_manager_paths() -> list[str]:
    return [p for _, paths in PACKAGE_MANAGERS for p in paths]


def _field(name: str, lower: bool) -> str:
    """One os-release variable, its quotes taken off."""
    value = (f"clb_osr.stdout | default('') | regex_search('(?m)^{name}=(.*)$', '\\1') "
             "| default([''], true) | first | trim | trim('\"' ~ \"'\")")
    return "{{ " + value + (" | lower" if lower else "") + " }}"


# releases.family_of: the first ID_LIKE word with a family, else the ID (the package
# manager first for AMBIGUOUS IDs), else the package manager; "linux" when none tells.
FAMILY = (
    "{% set likes = clb_os_like.split() | select('in', clb_family_of) | list %}"
    "{% set fid = clb_family_id_map.get(clb_os_raw_id, clb_os_raw_id) %}"
    "{% if likes %}{{ clb_family_of[likes[0]] }}"
    "{% elif fid in clb_ambiguous and clb_pkg_family %}{{ clb_pkg_family }}"
    "{% else %}{{ clb_family_of.get(fid) or clb_pkg_family or 'linux' }}{% endif %}"
)

# The package manager present: the first of PACKAGE_MANAGERS with a path on the host.
PACKAGE_FAMILY = (
    "{% set ns = namespace(found='') %}"
    "{% for family, paths in clb_package_managers %}"
    "{% if not ns.found and (paths | select('in', clb_present) | list) %}"
    "{% set ns.found = family %}{% endif %}{% endfor %}{{ ns.found }}"
)

# releases.release_key, then kept only when its family is the host's (as `detect`).
RELEASE = (
    "{% set id = clb_id_map.get(clb_os_raw_id, clb_os_raw_id) %}"
    "{% set major = (clb_os_version | regex_search('[0-9]+')) or '' %}"
    "{% set likes = clb_os_like.split() %}"
    "{% if id in clb_unversioned %}{% set key = id %}"
    "{% elif id == 'ubuntu' %}"
    "{% set key = 'ubuntu-' ~ (clb_os_version.split('.')[:2] | join('.')) %}"
    "{% else %}"
    "{% set candidates = [id] + (['rhel'] if clb_family_of.get(id) == 'rhel' or 'rhel' in "
    "likes else []) + (likes | select('in', ['debian', 'ubuntu']) | list) %}"
    "{% set key = ((candidates | map('regex_replace', '$', '-' ~ major) | "
    "select('in', clb_known) | list) + [''])[0] %}"
    "{% endif %}"
    "{{ key if clb_known.get(key) == clb_family else '' }}"
)


def identify_tasks() -> list[dict]:
    """Tasks that set clb_os_raw_id, clb_os_version, clb_os_like, clb_pkg_family,
    clb_family and clb_release (a KNOWN_RELEASES key, or '' for a release the table
    lacks). Needs clb_present (the probed paths that exist)."""
    return [
        {"name": "Read os-release (as clb-wizard's detection does)",
         "ansible.builtin.command": {"argv": [
             "sh", "-c", "cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release"]},
         "register": "clb_osr", "changed_when": False, "failed_when": False},
        {"name": "The OS as os-release names it", "ansible.builtin.set_fact": {
            "clb_os_raw_id": _field("ID", lower=True),
            "clb_os_version": _field("VERSION_ID", lower=False),
            "clb_os_like": _field("ID_LIKE", lower=True),
            "clb_os_name": _field("PRETTY_NAME", lower=False),
            "clb_pkg_family": PACKAGE_FAMILY,
        }},
        {"name": "Which OS family", "ansible.builtin.set_fact": {"clb_family": FAMILY}},
        {"name": "Which release (one clb-wizard knows, or none)",
         "ansible.builtin.set_fact": {"clb_release": RELEASE}},
    ]


__all__ = ["FAMILY", "PACKAGE_FAMILY", "RELEASE", "identify_tasks", "identify_vars",
           "package_manager_paths"]
