"""clb_wizard.service.Service is the one door to the engine (issue 22 item 2).

- Neither face builds an engine object: no `Runner(`, `Store(` or `Transaction(` in cli/
  or screens/, nor an import of those classes (an alias would hide the call); the scan is
  shown to fail on a planted construction.
- A run that changes the host holds the lock from before its plan is made until its apply
  ends, in both shapes of use: the CLI's (`with service.changing(...)`: plan, show, ask,
  apply) and the wizard's (`service.apply(options, approved=plan)`: the Preview's plan,
  made earlier without the lock, is made again under the lock and must be the same).
  A concurrent second run is refused while a plan is pending; the lock is released on
  every path (an error in planning, a refusal, an unresolved earlier change, a refused
  apply, a user who says no).

The changes run on fixture roots (tests/fixtures/roots.py) with the state directory in a
temp dir: nothing here reads or changes this machine's network, /etc or state. A real
apply from a root other than / is refused by the transaction itself, which is the error
path these tests need; the CLI holding the lock at its question, with real processes in a
namespace, is tests/live/test_one_door_live.py.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

import clb_wizard.cli
import clb_wizard.screens
from clb_wizard.errors import PlanChanged, TransactionError, UsageError
from clb_wizard.service import Options, Service, plan_difference
from clb_wizard.transaction.journal import WRITTEN, Journal, LockBusy, Store
from clb_wizard.vips import VipError
from tests.fixtures.roots import VIP1, VIP2, make_root, read, tree_digest, write

ENGINE_CLASSES = ("Runner", "Store", "Transaction")
CLI = Path(clb_wizard.cli.__file__).parent
SCREENS = Path(clb_wizard.screens.__file__).parent


def engine_objects_built(folder: Path) -> list[str]:
    """Every call of, or import of, an engine class in the .py files under `folder`, as
    "file:line: what"."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            what = None
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else (
                    func.attr if isinstance(func, ast.Attribute) else None)
                if name in ENGINE_CLASSES:
                    what = f"{name}(...)"
            elif isinstance(node, ast.ImportFrom):
                names = [a.name for a in node.names if a.name in ENGINE_CLASSES]
                if names:
                    what = f"from {node.module} import {', '.join(names)}"
            if what:
                found.append(f"{path.relative_to(folder)}:{node.lineno}: {what}")
    return found


def test_neither_face_builds_an_engine_object():
    # the scan really read the faces (a wrong folder would find nothing, and pass)
    assert (CLI / "commands.py").is_file() and (SCREENS / "app.py").is_file()
    assert engine_objects_built(CLI) == []
    assert engine_objects_built(SCREENS) == []


@pytest.mark.parametrize("planted", [
    "runner = Runner(root='/')",
    "store = journal.Store(runner)",
    "outcome = Transaction(runner).rollback_last()",
    "from clb_wizard.runner import Runner as R",
])
def test_the_scan_finds_a_planted_construction(tmp_path, planted):
    copy = tmp_path / "cli"
    shutil.copytree(CLI, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / "commands.py"
    target.write_text(target.read_text() + f"\n\ndef planted():\n    {planted}\n")
    found = engine_objects_built(copy)
    assert len(found) == 1 and found[0].startswith("commands.py:"), found


# -- the lock, from the plan to the apply ---------------------------------------------------
@pytest.fixture
def root(tmp_path, monkeypatch):
    # the state directory, as a Service on a root keeps it: under that root
    monkeypatch.setenv("CLB_WIZARD_STATE_DIR", STATE)
    root = make_root(tmp_path, "debian-12")
    (root / STATE.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)  # /var/lib
    return root


STATE = "/var/lib/clb-wizard-tests"


def files(root: Path) -> dict:
    """The root's files but the state directory (its lock is taken and let go)."""
    return {k: v for k, v in tree_digest(root).items()
            if not k.startswith(STATE.lstrip("/"))}


OPTIONS = Options(vips=(VIP1,), clb_type="external")


def door(root: Path) -> Service:
    return Service(root, is_root=True)


def lock_is_free(root: Path) -> bool:
    """Can another run take the lock now? (It is released again at once.)"""
    store = Store(door(root).runner(dry_run=False))
    try:
        store.lock()
    except LockBusy:
        return False
    store.unlock()
    return True


def test_cli_shape_a_second_run_is_refused_while_a_plan_is_pending(root):
    with door(root).changing(OPTIONS) as change:
        assert change.plan.vips == (VIP1,) and change.plan.changed
        with pytest.raises(LockBusy, match="another clb-wizard run"), \
                door(root).changing(Options(vips=(VIP2,), clb_type="external")):
            pass
        with pytest.raises(LockBusy):
            door(root).apply(OPTIONS)
        with pytest.raises(LockBusy):
            door(root).rollback_last()
    assert lock_is_free(root)


class WatchingPlan(Service):
    """Records, as the plan is being made, whether another run could start then."""

    refused_while_planning: list[bool]

    def plan(self, options, platform=None, *, change="replace"):  # noqa: ANN001, ANN201
        self.refused_while_planning = [not lock_is_free(self.root)]
        return super().plan(options, platform, change=change)


def test_the_lock_is_taken_before_the_plan_is_made(root):
    service = WatchingPlan(root, is_root=True)
    with service.changing(OPTIONS):
        pass
    assert service.refused_while_planning == [True]
    # a plan that changes nothing (a preview) takes no lock: a second run may go meanwhile
    service.plan(OPTIONS)
    assert service.refused_while_planning == [False]


def test_wizard_shape_is_locked_from_its_plan_made_again_to_its_apply(root):
    """The wizard applies the Preview's plan: `apply` takes the lock, plans again, and
    applies; another run is refused from that plan on, and the lock is let go when the
    apply is refused (a fixture root is not this host: the transaction says so)."""
    service = WatchingPlan(root, is_root=True)
    approved = service.plan(OPTIONS)
    with pytest.raises(TransactionError, match="--root .* is for previews|needs root"):
        service.apply(OPTIONS, approved=approved)
    assert service.refused_while_planning == [True]
    assert lock_is_free(root)


def test_wizard_shape_refuses_a_plan_the_host_no_longer_matches(root):
    service = door(root)
    approved = service.plan(OPTIONS)
    # meanwhile, another run (or the admin) puts a VIP in clb-wizard's file
    other = door(root).plan(Options(vips=(VIP2,), clb_type="external"))
    [change] = other.files
    write(root, change.path, change.after)
    before = files(root)
    with pytest.raises(PlanChanged, match=f"changed since the Preview \\({change.path} "
                       "changed\\).*Nothing was changed. Go back to the Preview"):
        service.apply(OPTIONS, approved=approved)
    assert files(root) == before and read(root, change.path) == change.after
    assert lock_is_free(root)


def test_wizard_shape_dry_run_applies_the_same_plan_without_the_lock(root):
    service = door(root)
    approved = service.plan(OPTIONS)
    before = files(root)
    with door(root).changing(OPTIONS):  # another run holds the lock: a dry run needs none
        outcome = service.apply(OPTIONS, approved=approved, dry_run=True)
    assert outcome.status == "dry-run" and files(root) == before


def test_the_lock_is_released_when_planning_fails(root):
    with pytest.raises(VipError), door(root).changing(Options(vips=("203.0.113.300",))):
        pass
    assert lock_is_free(root)


def test_the_lock_is_released_when_the_face_refuses_or_the_user_says_no(root):
    with pytest.raises(UsageError), door(root).changing(OPTIONS):
        raise UsageError("the CLI's own refusal (a removal not asked for)")
    assert lock_is_free(root)
    with door(root).changing(OPTIONS):
        pass  # the user said no: the block ends without apply
    assert lock_is_free(root)


def test_an_unresolved_change_is_refused_before_planning_and_the_lock_released(root):
    service = door(root)
    plan = service.plan(OPTIONS)
    store = Store(service.runner(dry_run=False))
    store.save(Journal.new(platform=plan.platform.to_json(), method=plan.method,
                           vips=[VIP1]), WRITTEN)
    planned = WatchingPlan(root, is_root=True)
    planned.refused_while_planning = []
    with pytest.raises(TransactionError, match="was interrupted .*clb-wizard recover"), \
            planned.changing(OPTIONS):
        pass
    assert planned.refused_while_planning == []  # refused before any plan was made
    assert lock_is_free(root)
    store.discard(store.active())
    with door(root).changing(OPTIONS) as change:  # resolved: planning goes on again
        assert change.plan.changed


def test_a_change_cannot_be_applied_after_its_block(root):
    with door(root).changing(OPTIONS, dry_run=True) as change:
        pass
    with pytest.raises(RuntimeError, match="after its"):
        change.apply()


def test_without_root_no_lock_is_taken_and_the_apply_is_refused(root):
    """Not root: a lock in root's state directory could not be taken, so none is; the plan
    is still made (to be shown), and applying it is refused with nothing locked."""
    with Service(root, is_root=False).changing(OPTIONS) as change:
        assert lock_is_free(root)
        assert change.plan.changed
        with pytest.raises(TransactionError):
            change.apply()
    assert lock_is_free(root)


# -- what makes a plan another change ---------------------------------------------------------
def test_plan_difference_names_what_changed(root):
    service = door(root)
    plan = service.plan(OPTIONS)
    assert plan_difference(plan, service.plan(OPTIONS)) is None  # planned twice: the same
    other = service.plan(Options(vips=(VIP2,), clb_type="external"))
    assert plan_difference(plan, other) == f"{plan.files[0].path} changed"
    from dataclasses import replace

    from clb_wizard.methods.base import LoAddress

    moved = replace(plan, live=(LoAddress(VIP2, 32, "lo:1"),))
    assert plan_difference(plan, moved) == "the addresses on lo changed"
