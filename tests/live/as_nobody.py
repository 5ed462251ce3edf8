"""`python -m tests.live.as_nobody ARGS...`: the clb-wizard CLI as uid/gid 65534 with no
groups, from any checkout location.

The project (and everything it imports on demand) is imported while still root, then
privileges are dropped for good before the command runs. Running the CLI under setpriv
instead would make nobody import the project from the checkout, which fails when that is
in a directory other users cannot read (a clone in /root, mode 0700).
"""

from __future__ import annotations

import contextlib
import encodings
import importlib
import os
import pkgutil
import sys

import clb_wizard
from clb_wizard.cli.commands import main

NOBODY = 65534

for module in pkgutil.walk_packages(clb_wizard.__path__, "clb_wizard."):
    if not (module.name.endswith("__main__") or ".screens" in module.name
            or ".assets" in module.name):
        importlib.import_module(module.name)
# The interpreter's own library may sit in /root too (pyenv): codecs load on first use.
for module in pkgutil.iter_modules(encodings.__path__, "encodings."):
    with contextlib.suppress(ImportError):  # mbcs, oem: Windows only
        importlib.import_module(module.name)

os.setgroups([])
os.setgid(NOBODY)
os.setuid(NOBODY)
assert (os.getuid(), os.geteuid(), os.getgid(), os.getgroups()) == (NOBODY, NOBODY, NOBODY, [])
os.chdir("/")
sys.exit(main(sys.argv[1:]))
