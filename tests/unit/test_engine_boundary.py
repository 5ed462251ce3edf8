"""The engine (wizard/) never imports Textual or the TUI package (screens/): importing
every module of the package in a fresh interpreter leaves both out of sys.modules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = r"""
import importlib, json, pkgutil, sys
import clb_wizard
# the package's modules but the TUI's (not walk_packages: it imports every package it walks,
# and the installed package holds clb_wizard.screens as a folder of its own)
FACES = ("clb_wizard.screens", "clb_wizard.assets", "clb_wizard.__main__")
names, todo = [], [(clb_wizard.__path__, "clb_wizard.")]
while todo:
    path, prefix = todo.pop()
    for m in pkgutil.iter_modules(path, prefix):
        if m.name not in FACES:  # __main__: running it is not importing it
            names.append(m.name)
            if m.ispkg:
                todo.append((importlib.import_module(m.name).__path__, m.name + "."))
names.sort()
failed = {}
for name in names:
    try:
        importlib.import_module(name)
    except Exception as exc:  # reported, so a broken module cannot hide an import
        failed[name] = repr(exc)
print(json.dumps({
    "modules": names,
    "failed": failed,
    "textual": sorted(m for m in sys.modules if m == "textual" or m.startswith("textual.")),
    "screens": sorted(m for m in sys.modules if m.startswith("clb_wizard.screens")),
}))
"""


def test_importing_every_engine_module_leaves_textual_out():
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, capture_output=True,
                            text=True, timeout=120, check=True)
    data = json.loads(result.stdout.strip().splitlines()[-1])
    # the walk really covered the engine (methods included), or the check proves nothing
    for name in ("clb_wizard.cli", "clb_wizard.plan", "clb_wizard.platform", "clb_wizard.vips",
                 "clb_wizard.export.userdata", "clb_wizard.methods.netplan",
                 "clb_wizard.methods.ifupdown"):
        assert name in data["modules"], name
    assert data["failed"] == {}
    assert data["textual"] == []
    assert data["screens"] == []


def test_the_probe_would_see_textual_if_it_were_imported():
    """Guard against a vacuous pass: the same probe notices a Textual import."""
    probe = PROBE.replace("import clb_wizard\n", "import clb_wizard\nimport textual\n", 1)
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                            text=True, timeout=120, check=True)
    assert "textual" in json.loads(result.stdout.strip().splitlines()[-1])["textual"]
