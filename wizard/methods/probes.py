"""How a method says its stack is installed and in use: facts, and the probes behind them.

Each method declares `facts` (methods/base.py): named values detection finds under a
root, e.g. netplan's `netplan` (its binary is there), `netplan_configured` (/etc/netplan
holds YAML) and `netplan_renderer`. Together the registered methods' facts are the
fields of the NetworkStack that detection builds (platform.py), which names no stack.

A fact's probe is data, combined from a few kinds:
- `Paths(name, paths)`: any of these paths exists under the root (`name` groups them
  for the exporters, which stat the same paths on a host);
- `Listed(directory, glob)`: the directory holds a name matching the glob;
- `IsDir(path)`; `Newest(directories, regex)`: the highest version-like name in the first
  of the directories that has one (NetworkManager names its plugin directory so);
- `Ask(argv, find=regex)`: a read-only command, run only on this very host (a live
  root): its group 1, or True when it succeeds (and `unless` is not in its output);
- `Read(function)`: a method's own reader of the root (netplan's renderer);
- `Live(here, elsewhere)`: `here` on this very host, `elsewhere` on another root;
- `AllOf(...)`, `AnyOf(...)`, `Not(...)`: like Python's `and`, `or`, `not`;
- `Ref(name)`: another fact, of this method or any other (ifupdown's `ifup` is also the
  name of network-scripts' and ifupdown-ng's, so `ifupdown` refers to theirs).

A fact is a bool when its default is; otherwise its value, or its default (None) when the
probe found nothing. `fill`: when the probe found nothing and this holds, the value comes
from the release's stock stack (a root says nothing about networkd's version unless
networkctl can be asked).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from clb_wizard.runner import Runner


class Probe:
    """Something detection checks under a root (see the module docstring)."""

    def value(self, look: Look) -> Any:
        raise NotImplementedError

    def parts(self) -> tuple[Probe, ...]:
        return ()

    def walk(self) -> Iterator[Probe]:
        yield self
        for part in self.parts():
            yield from part.walk()


@dataclass(frozen=True)
class Paths(Probe):
    name: str
    paths: tuple[str, ...]

    def value(self, look: Look) -> bool:
        return any(look.runner.exists(p) for p in self.paths)


@dataclass(frozen=True)
class Listed(Probe):
    directory: str
    glob: str

    def value(self, look: Look) -> bool:
        return any(fnmatch.fnmatchcase(n, self.glob) for n in look.runner.list_dir(self.directory))


@dataclass(frozen=True)
class IsDir(Probe):
    path: str

    def value(self, look: Look) -> bool:
        return look.runner.is_dir(self.path)


@dataclass(frozen=True)
class Newest(Probe):
    directories: tuple[str, ...]
    pattern: str  # a whole name, e.g. r"\d+\.\d+[\w.-]*"

    def value(self, look: Look) -> Optional[str]:
        from clb_wizard.methods.base import version_tuple

        for directory in self.directories:
            names = [n for n in look.runner.list_dir(directory)
                     if re.fullmatch(self.pattern, n)]
            if names:
                return max(names, key=version_tuple)
        return None


@dataclass(frozen=True)
class Ask(Probe):
    argv: tuple[str, ...]
    find: Optional[str] = None  # a regex: its group 1 is the value
    unless: str = ""  # text in stdout or stderr that means "no" despite exit code 0
    convert: Callable[[str], Any] = str

    def value(self, look: Look) -> Any:
        if not look.runner.is_live_root:
            return None
        out = look.runner.query(list(self.argv))
        if not out.ok or (self.unless and self.unless in out.stdout + out.stderr):
            return None
        if self.find is None:
            return True
        found = re.search(self.find, out.stdout)
        return self.convert(found.group(1)) if found else None


@dataclass(frozen=True)
class Read(Probe):
    reader: Callable[[Runner], Any]

    def value(self, look: Look) -> Any:
        return self.reader(look.runner)


@dataclass(frozen=True)
class Live(Probe):
    here: Probe
    elsewhere: Optional[Probe] = None

    def value(self, look: Look) -> Any:
        if look.runner.is_live_root:
            return self.here.value(look)
        return self.elsewhere.value(look) if self.elsewhere is not None else None

    def parts(self) -> tuple[Probe, ...]:
        return (self.here,) + ((self.elsewhere,) if self.elsewhere is not None else ())


class _Combined(Probe):
    def __init__(self, *parts: Probe) -> None:
        self._parts = parts

    def parts(self) -> tuple[Probe, ...]:
        return self._parts

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.parts() == self._parts

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._parts))

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self._parts!r}"


class AllOf(_Combined):
    def value(self, look: Look) -> Any:
        result: Any = True
        for part in self._parts:
            result = part.value(look)
            if not result:
                return result
        return result


class AnyOf(_Combined):
    def value(self, look: Look) -> Any:
        result: Any = False
        for part in self._parts:
            result = part.value(look)
            if result:
                return result
        return result


@dataclass(frozen=True)
class Not(Probe):
    part: Probe

    def value(self, look: Look) -> bool:
        return not self.part.value(look)

    def parts(self) -> tuple[Probe, ...]:
        return (self.part,)


@dataclass(frozen=True)
class Ref(Probe):
    fact: str

    def value(self, look: Look) -> Any:
        return look.fact(self.fact)


@dataclass(frozen=True)
class Fact:
    """One field of the NetworkStack: its name, how it is probed, and its value when the
    probe finds nothing (False, or None for a version or a name)."""

    name: str
    probe: Probe
    default: Any = False
    fill: Optional[Probe] = None  # see the module docstring
    doc: str = ""

    def coerce(self, found: Any) -> Any:
        if isinstance(self.default, bool):
            return bool(found)
        return self.default if found is None or found is False else found


class Look:
    """One detection pass: each fact probed at most once, references resolved on demand.
    `given`: values already known (then no runner is needed for facts among them)."""

    def __init__(self, facts: Mapping[str, Fact], runner: Optional[Runner] = None,
                 given: Optional[Mapping[str, Any]] = None) -> None:
        self.facts = facts
        self._runner = runner
        self._values: dict[str, Any] = dict(given or {})
        self._busy: list[str] = []

    @property
    def runner(self) -> Runner:
        if self._runner is None:
            raise RuntimeError("this look has no root to probe, only known values")
        return self._runner

    def fact(self, name: str) -> Any:
        if name in self._values:
            return self._values[name]
        if name not in self.facts:
            raise KeyError(f"no registered method declares the fact {name!r}")
        if name in self._busy:
            raise ValueError("facts that refer to each other: " + " -> ".join(
                [*self._busy, name]))
        self._busy.append(name)
        try:
            fact = self.facts[name]
            self._values[name] = fact.coerce(fact.probe.value(self))
        finally:
            self._busy.pop()
        return self._values[name]

    def holds(self, probe: Probe) -> bool:
        return bool(probe.value(self))

    def values(self) -> dict[str, Any]:
        return {name: self.fact(name) for name in self.facts}


def named_paths(facts: Mapping[str, Fact]) -> dict[str, tuple[str, ...]]:
    """Every `Paths` group the facts probe, by name (what the exporters stat on a host)."""
    found: dict[str, tuple[str, ...]] = {}
    for fact in facts.values():
        for probe in fact.probe.walk():
            if isinstance(probe, Paths):
                if found.get(probe.name, probe.paths) != probe.paths:
                    raise ValueError(f"two path groups named {probe.name!r}")
                found[probe.name] = probe.paths
    return found


__all__ = ["AllOf", "AnyOf", "Ask", "Fact", "IsDir", "Listed", "Live", "Look", "Newest", "Not",
           "Paths", "Probe", "Read", "Ref", "named_paths"]
