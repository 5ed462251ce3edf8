"""The contract every registered method must keep (wizard/methods/base.py).

Each method is taken on a release it fits (found through its own fits() on the stock
stacks of the known releases, or on the fixture roots): it must say why it fits, render
exactly the VIPs it is given with the marker on every file it writes, read those VIPs
back from its own files, be idempotent (rendering again from its own output changes
nothing and needs no command), bring a missing VIP up, take everything down again, and
give exporters templates that name the VIP or its label. Nothing outside wizard/methods/
may compare a method's name.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from clb_wizard import methods
from clb_wizard.methods.base import (
    Fit,
    Method,
    Prerequisites,
    RenderInput,
    TransitionInput,
    is_ours,
)
from clb_wizard.platform import KNOWN_RELEASES, NetworkStack, Platform, detect, release_of
from clb_wizard.runner import Runner
from tests.fixtures.roots import VIP1, VIP2, VIP3

NAMES = sorted(methods.REGISTRY)
WIZARD = Path(methods.__file__).resolve().parent.parent
SCREENS = WIZARD.parent / "screens"


def fitting_platform(name: str, tmp_path: Path) -> Platform:
    """A --os platform of a known release on which `name` fits (forced if not chosen)."""
    from clb_wizard.platform import with_method

    method = methods.get_method(name)
    for key, release in KNOWN_RELEASES.items():
        platform = detect(Runner(root=tmp_path), key)
        if method.fits(release, platform.stack).ok:
            return with_method(platform, name)
    raise AssertionError(f"{name} fits no known release's stock stack")


def stock(method: Method, platform: Platform) -> dict:
    return dict(method.stock_files(release_of(platform)))


@pytest.mark.parametrize("name", NAMES)
def test_the_method_is_registered_under_its_name_and_has_a_title(name):
    method = methods.get_method(name)
    assert method.name == name and method.title
    assert method.host_os in ("linux", "windows")
    assert name in methods.METHOD_NAMES


@pytest.mark.parametrize("name", NAMES)
def test_fits_answers_with_a_reason_on_every_known_release(tmp_path, name):
    method = methods.get_method(name)
    for key, release in KNOWN_RELEASES.items():
        stack = detect(Runner(root=tmp_path), key).stack
        fit = method.fits(release, stack)
        assert isinstance(fit, Fit) and isinstance(fit.ok, bool)
        assert fit.reason.strip(), (name, key)
        needs = method.prerequisites(release, stack)
        assert isinstance(needs, Prerequisites)
        assert not needs.packages or needs.present_when, "an install needs a check"


@pytest.mark.parametrize("name", NAMES)
def test_the_method_declares_its_own_stack(name):
    """Its facts are fields of the stack no other method declares; its stock stack per
    release names only those; what --method assumes installed names declared facts."""
    method = methods.get_method(name)
    own = {fact.name for fact in method.facts}
    others = {f.name for m in methods.REGISTRY.values() if m is not method for f in m.facts}
    assert len(own) == len(method.facts) and not own & others
    assert set(method.tool_present) <= set(methods.declared_facts())
    for release in KNOWN_RELEASES.values():
        stock = method.stock_stack(release, "")
        assert set(stock) <= own, (name, release.key)
        shown = method.describe_stack(NetworkStack(**stock))
        assert shown is None or (isinstance(shown, str) and shown)


@pytest.mark.parametrize("name", NAMES)
def test_render_reread_idempotent_and_undo(tmp_path, name):
    method = methods.get_method(name)
    platform = fitting_platform(name, tmp_path)
    base = stock(method, platform)
    vips = (VIP1, VIP2, VIP3)
    rendered = method.render(RenderInput(vips, base, platform))
    written = {p: t for p, t in rendered.files.items() if t is not None}
    assert written, "the method writes at least one file"
    after = {**base, **rendered.files}
    for path, text in written.items():
        if path not in base:  # a stock file we edit keeps the admin's first line
            assert is_ours(text), path
        assert rendered.modes.get(path, 0o644) & 0o002 == 0, f"{path} world-writable"
    if method.host_os == "linux":
        assert sorted(method.configured_vips(after)) == sorted(vips)
    # idempotent: the same VIPs again change no file and need no command
    again = method.render(RenderInput(vips, after, platform, ()))
    assert {p: t for p, t in again.files.items() if after.get(p) != t} == {}
    if method.host_os == "linux":
        same = method.transition(TransitionInput(after, after, platform, set(vips)))
        assert same.prepare == () and same.activate == ()
        # a VIP missing from lo is brought up, even with the files unchanged
        missing = method.transition(TransitionInput(after, after, platform, {VIP1, VIP2}))
        assert missing.prepare + missing.activate, "a VIP missing from lo is brought up"
        # no VIPs: our files go, and the live VIPs are taken down
        empty = method.render(RenderInput((), after, platform))
        emptied = {**after, **empty.files}
        assert method.configured_vips(emptied) == []
        undo = method.transition(TransitionInput(after, emptied, platform, set(vips)))
        assert undo.prepare + undo.activate, "taking VIPs away needs commands"


@pytest.mark.parametrize("name", NAMES)
def test_first_application_brings_every_vip_up(tmp_path, name):
    method = methods.get_method(name)
    platform = fitting_platform(name, tmp_path)
    base = stock(method, platform)
    rendered = method.render(RenderInput((VIP1,), base, platform))
    first = method.transition(TransitionInput(base, {**base, **rendered.files}, platform))
    assert first.activate, "the first application activates something"


@pytest.mark.parametrize("name", [n for n in NAMES if methods.get_method(n).sourced_by])
def test_the_line_that_already_sources_the_drop_ins_is_recognised(name):
    """UserData adds a source line to the OS's file only where line_re finds none: it must
    see the stock ways of reading every drop-in, and not a commented-out one."""
    sourced_by = methods.get_method(name).sourced_by
    line_re = re.compile(sourced_by.line_re.replace("[[:space:]]", r"\s"), re.M)
    for line in ("source /etc/network/interfaces.d/*", "source-directory interfaces.d",
                 "  source interfaces.d/*  "):
        assert line_re.search(f"auto lo\n{line}\n"), line
    assert not line_re.search("# source /etc/network/interfaces.d/*\n")


def test_each_family_prefers_registered_methods_only():
    for family, names in methods.PREFERENCES.items():
        assert names, family
        assert set(names) <= set(methods.REGISTRY), family
    assert set(methods.FALLBACKS) <= set(methods.REGISTRY)


def _where(path: Path, line: int) -> str:
    shown = path.relative_to(WIZARD.parent) if path.is_relative_to(WIZARD.parent) else path
    return f"{shown}:{line}"


def _name_comparisons(path: Path) -> list[str]:
    """`x.method == "netplan"`-style comparisons (and `in (...)` tests) of something
    that holds a method's name with a method's name ("windows" as a family is fine)."""
    found = []
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        strings = [c.value for c in operands
                   if isinstance(c, ast.Constant) and isinstance(c.value, str)]
        for c in operands:
            if isinstance(c, (ast.Tuple, ast.List, ast.Set)):
                strings += [e.value for e in c.elts if isinstance(e, ast.Constant)]
        subjects = " ".join(ast.unparse(c) for c in operands
                            if not isinstance(c, (ast.Constant, ast.Tuple, ast.List, ast.Set)))
        if set(strings) & set(methods.REGISTRY) and "method" in subjects:
            found.append(_where(path, node.lineno))
    return found


def _jinja_name_comparisons(path: Path) -> list[str]:
    """Hand-written Jinja such as "{% if clb_method == 'ifcfg' %}" in a string constant
    (the exporters' generated choices are built from the registry at import time)."""
    names = "|".join(re.escape(n) for n in methods.REGISTRY)
    pattern = re.compile(rf"method\s*(==|!=)\s*['\"]({names})['\"]")
    tree = ast.parse(path.read_text(), str(path))
    return [_where(path, node.lineno) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and pattern.search(node.value)]


def test_nothing_outside_methods_compares_a_method_name():
    found = []
    for folder in (WIZARD, SCREENS):
        for path in sorted(folder.rglob("*.py")):
            if path.is_relative_to(WIZARD / "methods"):
                continue
            found += _name_comparisons(path) + _jinja_name_comparisons(path)
    assert found == []


def stack_modules() -> set[str]:
    """The modules that hold a registered method (one stack each)."""
    return {type(m).__module__ for m in methods.REGISTRY.values()}


def _imported(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def stack_imports_outside_methods(stacks: set[str]) -> set[tuple[str, str]]:
    found = set()
    for folder in (WIZARD, SCREENS):
        for path in sorted(folder.rglob("*.py")):
            if path.is_relative_to(WIZARD / "methods"):
                continue
            where = str(path.relative_to(WIZARD if folder == WIZARD else folder.parent))
            found |= {(where, module) for module in _imported(path) & stacks}
    return found


def test_nothing_outside_methods_imports_a_stack_module():
    """Detection, planning and the faces reach a stack through the registry only."""
    stacks = stack_modules()
    assert "clb_wizard.methods.netplan" in stacks and "clb_wizard.methods.base" not in stacks
    found = stack_imports_outside_methods(stacks)
    assert found == set()


def test_the_stack_import_check_finds_a_planted_import(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("from clb_wizard.methods import netplan\n"
                       "from clb_wizard.methods.ifcfg import DIR\nimport os\n")
    assert _imported(planted) & stack_modules() == {"clb_wizard.methods.netplan",
                                                    "clb_wizard.methods.ifcfg"}


def test_the_contract_check_finds_a_planted_comparison(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("def f(platform):\n    return platform.method == 'netplan'\n"
                       "J = \"{% if clb_method == 'ifcfg' %}x{% endif %}\"\n")
    assert _name_comparisons(planted) == [f"{planted}:2"]
    assert _jinja_name_comparisons(planted) == [f"{planted}:3"]
