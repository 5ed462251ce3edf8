"""The shell both exports run on a host: the library in `sh/` (package data, each file
shellcheck-clean on its own) and the data that fills it for one export model.

The library never changes per export: everything that varies (VIPs, file contents, the
engine's commands with the condition under which each runs) is data, written here as
shell variables, quoted here-documents and tables of shell-quoted words.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from functools import cache
from importlib.resources import files

from clb_wizard.export.profile import Profile
from clb_wizard.methods.base import MARKER

# The script's library, in the order the script carries it.
LIBRARY = ("common.sh", "inspect.sh", "plan.sh", "apply.sh", "verify.sh", "rollback.sh",
           "main.sh")
_EOF = "CLB_WIZARD_EOF"


@cache
def library_file(name: str) -> str:
    """One file of the shell library (sh/NAME), as shipped in the package."""
    return files("clb_wizard.export").joinpath("sh", name).read_text(encoding="utf-8")


def q(text: str) -> str:
    return shlex.quote(text)


def words(argv: Sequence[str]) -> str:
    return " ".join(q(a) for a in argv)


def inspect_env(profile: Profile) -> dict[str, str]:
    """The inspector's inputs (sh/inspect.sh reads them as environment variables)."""
    return {
        "CLB_MARKER": MARKER,
        "CLB_FILES": " ".join(f.path for f in profile.files),
        "CLB_STALE_GLOB": profile.stale_glob or "",
        "CLB_WATCH": " ".join(profile.watch),
        "CLB_PAIRS": " ".join(f"{label}:{vip}" for label, vip in profile.pairs),
        "CLB_CONFLICT_RE": profile.conflict_re or "",
        "CLB_CONFLICT_WHY": profile.conflict_why,
        "CLB_MAIN": profile.source_main or "",
        "CLB_BLOCK_FILE": profile.block_path or "",
        "CLB_BLOCK_BEGIN": profile.block_begin,
        "CLB_BLOCK_END": profile.block_end,
        "CLB_DROPIN": profile.files[0].path if profile.source_main else "",
        "CLB_PAIRS_AWK": library_file("pairs.awk"),
        "CLB_LO_AWK": library_file("lo.awk"),
    }


def assignments(values: dict[str, str]) -> str:
    """Shell variable assignments, each value quoted (awk programs marked for shellcheck)."""
    out = []
    for name, value in values.items():
        if name.endswith("_AWK"):
            out.append("# shellcheck disable=SC2016  # an awk program\n")
        out.append(f"{name}={q(value)}\n")
    return "".join(out)


def content_function(name: str, content: str) -> str:
    """A function printing `content` byte-exact: a quoted here-document (or printf when the
    content does not end with a newline)."""
    if not content.endswith("\n"):
        return f"{name}() {{\n    printf '%s' {q(content)}\n}}\n"
    eof, n = _EOF, 1
    while eof in content.splitlines():
        n += 1
        eof = f"{_EOF}_{n}"
    return f"{name}() {{\n    cat <<'{eof}'\n{content}{eof}\n}}\n"


def table_function(name: str, columns: str, rows: Sequence[tuple[str, str]]) -> str:
    """A data table: `name` prints one row per line; each row is preceded by a comment
    saying why it is there (the reader skips comment lines)."""
    body = "".join(f"# {why}\n{row}\n" for why, row in rows)
    return f"# {columns}\n{name}() {{\n    cat <<'CLB_TABLE'\n{body}CLB_TABLE\n}}\n"
