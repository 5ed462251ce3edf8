"""The playbook's choice of method, generated from the engine's own chooser.

The playbook cannot import the engine on a host, and a hand-written Jinja copy of the
choice drifts. So the choice is asked of the engine (`methods.choose`, which walks the
per-family preference table) at export time, for every combination of the stack facts
the playbook reads on a host, and written down as nested Jinja conditions, with the facts
that make no difference left out. Releases whose choices are the same share one
branch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache

Facts = Mapping[str, bool]


def decision(facts: Sequence[str], choose: Callable[[Facts], str], var: str) -> str:
    """Jinja that renders choose(the host's facts): `{var}.{fact}` are the booleans."""

    @cache
    def branch(known: tuple[tuple[str, bool], ...]) -> str:
        if len(known) == len(facts):
            return choose(dict(known))
        fact = facts[len(known)]
        yes = branch((*known, (fact, True)))
        no = branch((*known, (fact, False)))
        if yes == no:  # this fact does not matter here
            return yes
        return f"{{% if {var}.{fact} %}}{yes}{{% else %}}{no}{{% endif %}}"

    return branch(())


def by_condition(trees: Mapping[str, str], otherwise: str) -> str:
    """One branch per distinct tree, taken when any of the Jinja conditions that lead to
    it holds; `otherwise` when none does."""
    groups: dict[str, list[str]] = {}
    for condition, tree in trees.items():
        groups.setdefault(tree, []).append(f"({condition})")
    out = []
    for n, (tree, conditions) in enumerate(groups.items()):
        keyword = "if" if n == 0 else "elif"
        out.append(f"{{% {keyword} {' or '.join(conditions)} %}}{tree}")
    return "".join(out) + f"{{% else %}}{otherwise}{{% endif %}}"
