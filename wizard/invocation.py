"""How to run clb-wizard as root on this host, for every hint a face prints.

`root_command("verify")` is `clb-wizard verify` for root, `sudo clb-wizard verify` when
sudo finds this very clb-wizard on its secure_path, and otherwise the full path
(`sudo /home/me/.venv/bin/clb-wizard verify`): sudo resets PATH to secure_path, so a
virtualenv's or the user's ~/.local/bin's clb-wizard is not found by name, and a name
that finds another clb-wizard would run that one.

The program is, in this order: $CLB_WIZARD_COMMAND (set by a launcher that knows better,
e.g. the portable bundle's), the `clb-wizard` script that is running, the portable
bundle's launcher (sys.executable is the launcher there), the `clb-wizard` beside this
Python (a virtualenv), else `PYTHON -m clb_wizard`.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from typing import Optional

NAME = "clb-wizard"
ENV_COMMAND = "CLB_WIZARD_COMMAND"
# Directories every distribution's sudo keeps on secure_path (RHEL's is exactly these;
# Debian's and SUSE's add /usr/local/...): what a user who cannot read sudoers can rely on.
COMMON_SECURE_PATH = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")
_SECURE_PATH = re.compile(r"^\s*Defaults\s+secure_path\s*=\s*\"?([^\"\n]+)\"?", re.M)


def program(env: Optional[Mapping[str, str]] = None,
            argv0: Optional[str] = None, executable: Optional[str] = None) -> list[str]:
    """The argv prefix that starts this clb-wizard (absolute paths)."""
    env = os.environ if env is None else env
    argv0 = sys.argv[0] if argv0 is None else argv0
    executable = sys.executable if executable is None else executable
    if env.get(ENV_COMMAND):
        return shlex.split(env[ENV_COMMAND])
    for candidate in (argv0, executable):
        if candidate and os.path.basename(candidate) == NAME and os.path.isfile(candidate):
            return [os.path.abspath(candidate)]
    beside = os.path.join(os.path.dirname(executable), NAME)
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return [beside]
    return [executable, "-m", "clb_wizard"]


def sudoers_files() -> list[str]:
    return ["/etc/sudoers", *sorted(glob.glob("/etc/sudoers.d/*"))]


def secure_path(sudoers: Optional[Sequence[str]] = None) -> tuple[str, ...]:
    """sudo's secure_path from sudoers when this user can read it (root can), else the
    directories every distribution's sudo keeps on it."""
    found: Optional[str] = None
    for path in sudoers_files() if sudoers is None else sudoers:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                for match in _SECURE_PATH.finditer(f.read()):
                    found = match.group(1).strip()  # the last setting wins
        except OSError:
            continue
    if found:
        return tuple(p for p in found.split(":") if p)
    return COMMON_SECURE_PATH


def _same_file(a: Optional[str], b: str) -> bool:
    try:
        return a is not None and os.path.samefile(a, b)
    except OSError:
        return False


def _by_name(prefix: list[str], search_path: Sequence[str]) -> list[str]:
    """`clb-wizard` when that name on `search_path` is this very program."""
    if len(prefix) == 1 and _same_file(shutil.which(NAME, path=os.pathsep.join(search_path)),
                                       prefix[0]):
        return [NAME]
    return prefix


def root_command(*args: str, is_root: Optional[bool] = None,
                 env: Optional[Mapping[str, str]] = None,
                 sudoers: Optional[Sequence[str]] = None) -> str:
    """The command line that runs `clb-wizard ARGS` as root here (see the module doc)."""
    env = os.environ if env is None else env
    is_root = os.geteuid() == 0 if is_root is None else is_root
    prefix = program(env)
    words = [*(str(a) for a in args)]
    if is_root:
        path = env.get("PATH", os.defpath).split(os.pathsep)
        return shlex.join([*_by_name(prefix, path), *words])
    if shutil.which("sudo", path=env.get("PATH")) is None and shutil.which("sudo") is None:
        return "su -c " + shlex.quote(shlex.join([*prefix, *words]))
    return shlex.join(["sudo", *_by_name(prefix, secure_path(sudoers)), *words])


__all__ = ["root_command", "program", "secure_path"]
