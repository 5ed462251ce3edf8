"""The CLI twin of a wizard run, and commands wrapped so they can be typed at 80 columns.

`cli_twin(...)` is the exact `clb-wizard apply|add|remove ... --yes` line that makes the
same change as the choices made in the wizard (support staff and scripts repeat it).
`wrap_command(...)` breaks a command only between words, keeps an option with its value,
and ends every broken line with ` \\`, so the lines can be typed or pasted into a shell as
they are. Every command a face prints goes through it.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Optional, Union

from clb_wizard.invocation import root_command

CONTINUATION = " \\"
INDENT = "    "
# Shell words that belong with the word after them.
_JOINS_NEXT = (">", ">>", "<", "2>", "2>>", "|", "&&", "||")


def twin_args(change: str, vips: Sequence[str], *, clb_type: Optional[str] = None,
              force: bool = False, arp_sysctls: bool = False, remove_others: bool = False,
              confirm_timeout: Optional[float] = None, method: Optional[str] = None,
              ports: Sequence[int] = (), yes: bool = True) -> list[str]:
    """clb-wizard's arguments for the change: `change` is "apply" (exactly these VIPs;
    "replace" is the same), "add" or "remove". `confirm_timeout`: None leaves the default
    (on in an interactive SSH session), 0 turns it off, S seconds sets it. `method`: only
    when the user overrode the detected one."""
    command = {"replace": "apply"}.get(change, change)
    if command not in ("apply", "add", "remove"):
        raise ValueError(f"unknown change {change!r}")
    args = [command]
    for vip in vips:
        args += ["--vip", vip]
    if clb_type:
        args += ["--type", clb_type]
    if method:
        args += ["--method", method]
    if force:
        args.append("--force")
    if arp_sysctls:
        args.append("--arp-sysctls")
    if remove_others and command == "apply":
        args.append("--remove-others")
    if confirm_timeout is not None:
        args += ["--confirm-timeout", f"{confirm_timeout:g}"]
    for port in ports:
        args += ["--port", str(port)]
    if yes:
        args.append("--yes")
    return args


def cli_twin(change: str, vips: Sequence[str], *, clb_type: Optional[str] = None,
             force: bool = False, arp_sysctls: bool = False, remove_others: bool = False,
             confirm_timeout: Optional[float] = None, method: Optional[str] = None,
             ports: Sequence[int] = (), yes: bool = True) -> str:
    """The whole command line, run as root the way this host needs it (invocation.py):
    e.g. `sudo clb-wizard add --vip 203.0.113.10 --type external --yes`."""
    return root_command(*twin_args(change, vips, clb_type=clb_type, force=force,
                                   arp_sysctls=arp_sysctls, remove_others=remove_others,
                                   confirm_timeout=confirm_timeout, method=method,
                                   ports=ports, yes=yes))


def _words(command: Union[str, Sequence[str]]) -> list[str]:
    """Shell words, quoting kept: an argv is quoted; a text is split at unquoted blanks."""
    if not isinstance(command, str):
        return [shlex.quote(str(a)) for a in command]
    lexer = shlex.shlex(command, posix=False, punctuation_chars=False)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:  # an unbalanced quote: plain blanks it is
        return command.split()


def _units(words: list[str]) -> list[str]:
    """Words that stay on one line: `--vip 203.0.113.10`, `> userdata.txt`."""
    units: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else None
        takes_value = (word.startswith("-") and "=" not in word and nxt is not None
                       and not nxt.startswith("-") and word not in ("-", "--"))
        if (takes_value or word in _JOINS_NEXT) and nxt is not None:
            units.append(f"{word} {nxt}")
            i += 2
        else:
            units.append(word)
            i += 1
    return units


def wrap_command(command: Union[str, Sequence[str]], width: int = 80) -> list[str]:
    """The command as lines of at most `width` columns, broken only between words (an
    option stays with its value); every line but the last ends in ` \\` and the next is
    indented. A single word longer than a line gets a line of its own."""
    units = _units(_words(command))
    lines: list[str] = []
    current = ""
    for unit in units:
        candidate = f"{current} {unit}" if current else unit
        prefix = INDENT if lines else ""
        if not current or len(prefix + candidate) + len(CONTINUATION) <= width:
            current = candidate
            continue
        lines.append(prefix + current + CONTINUATION)
        current = unit
    if current or not lines:
        lines.append((INDENT if lines else "") + current)
    return lines


__all__ = ["cli_twin", "twin_args", "wrap_command"]
