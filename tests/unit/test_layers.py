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
    # what the screens' local adapter did before the service offered last_change
    "Screens reach only the service, errors and plain data helpers":
        ("screens/state.py", "from clb_wizard.transaction.journal import Store"),
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


def planted(tmp_path: Path, path: str, lines: str) -> subprocess.CompletedProcess:
    """lint-imports on a copy of the package with `lines` added to the module at `path`."""
    copy = tmp_path / "clb_wizard"
    shutil.copytree(Path(clb_wizard.__path__[0]), copy, symlinks=False,
                    ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / path
    target.write_text(target.read_text() + f"\n{lines}  # planted\n")
    return lint(tmp_path)


@pytest.mark.parametrize("contract", sorted(PLANTS))
def test_a_planted_import_breaks_the_contract(tmp_path, contract):
    result = planted(tmp_path, *PLANTS[contract])
    assert result.returncode != 0, result.stdout
    assert f"{contract} BROKEN" in result.stdout, result.stdout
    others = [name for name in PLANTS if name != contract]
    assert all(f"{name} KEPT" in result.stdout for name in others), result.stdout


def test_an_engine_type_imported_for_typing_alone_breaks_the_screens_contract(tmp_path):
    # Typing imports count: engine types reach the screens' annotations through the
    # service (its TYPE_CHECKING re-exports), never from the module that defines them.
    result = planted(tmp_path, "screens/apply.py",
                     "if TYPE_CHECKING:\n    from clb_wizard.transaction import Outcome")
    assert result.returncode != 0, result.stdout
    assert "clb_wizard.screens.apply -> clb_wizard.transaction" in result.stdout
