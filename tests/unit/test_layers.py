"""The layers written down as import-linter contracts (pyproject.toml [tool.importlinter],
run by tests/run): they hold on the tree, and each one breaks on an import planted in a
copy of the package (so none of them passes because it checks nothing)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import clb_wizard

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

# contract name -> (module file in the package, the import planted in it)
PLANTS = {
    "Methods reach neither the transaction, the exporters nor the faces":
        ("methods/base.py", "from clb_wizard.transaction import journal"),
    "The engine never imports a face: only the faces import cli and screens":
        ("verify.py", "from clb_wizard.screens import app"),
    "The engine never imports Textual: only the TUI does":
        ("plan.py", "import textual"),
}


def lint(package_parent: Path) -> subprocess.CompletedProcess:
    """lint-imports with the project's contracts on the clb_wizard found first on
    PYTHONPATH (a copy), or the installed one when package_parent is None."""
    env = {**os.environ, "PYTHONPATH": str(package_parent)} if package_parent else None
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config",
                           str(REPO / "pyproject.toml")], capture_output=True, text=True,
                          env=env, cwd=package_parent or REPO, timeout=120)


def test_the_contracts_hold_on_the_tree():
    result = lint(None)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in PLANTS:
        assert f"{name} KEPT" in result.stdout


@pytest.mark.parametrize("contract", sorted(PLANTS))
def test_a_planted_import_breaks_the_contract(tmp_path, contract):
    copy = tmp_path / "clb_wizard"
    shutil.copytree(Path(clb_wizard.__path__[0]), copy, symlinks=False,
                    ignore=shutil.ignore_patterns("__pycache__"))
    path, line = PLANTS[contract]
    target = copy / path
    target.write_text(target.read_text() + f"\n{line}  # planted\n")
    result = lint(tmp_path)
    assert result.returncode != 0, result.stdout
    assert f"{contract} BROKEN" in result.stdout, result.stdout
    others = [name for name in PLANTS if name != contract]
    assert all(f"{name} KEPT" in result.stdout for name in others), result.stdout
