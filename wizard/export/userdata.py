"""cloud-init UserData for new hosts: the same change as the wizard, as a script.

The files come from the same method renderers as the wizard's plan, written with a
quoted here-document (no `sudo echo ... > file`: the script already runs as root under
cloud-init, and the content keeps its real indentation), moved into place atomically,
then activated with the method's least-disruptive commands and checked.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Sequence

from clb_wizard.methods import get_method
from clb_wizard.methods.base import MARKER, RenderInput, TransitionInput
from clb_wizard.platform import Platform, release_of

_EOF = "CLB_WIZARD_EOF"


def _write_file(path: str, content: str, mode: int) -> str:
    directory = posixpath.dirname(path)
    return (
        f"install -d -m 0755 {shlex.quote(directory)}\n"
        f"tmp=$(mktemp {shlex.quote(directory + '/.clb-wizard.')}XXXXXX)\n"
        f"cat > \"$tmp\" <<'{_EOF}'\n{content}{_EOF}\n"
        f"chmod {mode:04o} \"$tmp\"\n"
        f"mv -f \"$tmp\" {shlex.quote(path)}\n"
    )


def _append_once(path: str, tail: str) -> str:
    """Add our lines to a file the OS ships (e.g. wicked's ifcfg-lo) unless they are there."""
    first = next(line for line in tail.splitlines() if line.strip())
    return (
        f"if ! grep -qxF -- {shlex.quote(first)} {shlex.quote(path)} 2>/dev/null; then\n"
        f"    cat >> {shlex.quote(path)} <<'{_EOF}'\n{tail}{_EOF}\n"
        "fi\n"
    )


def _ensure_sourced(path: str, main: str, already: str) -> str:
    """Make `main` read our drop-in unless a line matching `already` (an ERE) does."""
    return (
        f"if ! grep -Eq {shlex.quote(already)} {main}; then\n"
        f"    printf '\\n# Added by clb-wizard: the CLB VIPs on the loopback\\nsource %s\\n' "
        f"{shlex.quote(path)} >> {main}\n"
        "fi\n"
    )


# How long the check waits for the VIPs. `networkctl reconfigure lo` returns before
# systemd-networkd has added the addresses (seen live: the first `ip addr` right after it
# misses the VIP about one time in five), so an immediate check fails a good setup.
CHECK_SECONDS = 10


def _check(vips: Sequence[str]) -> str:
    quoted = " ".join(shlex.quote(v) for v in vips)
    # POSIX sh (Alpine has no bash): the VIPs are the positional parameters, since
    # `for vip in 203.0.113.10; do` (one VIP, the usual case) is shellcheck's SC2043.
    # `grep -F ... >/dev/null`, not `grep -q`: an early-exiting grep can kill `ip` with
    # SIGPIPE while it still has output to write.
    return (
        f"set -- {quoted}\n"
        f"deadline=$(($(date +%s) + {CHECK_SECONDS}))\n"
        'for vip in "$@"; do\n'
        '    until ip -o -4 addr show dev lo | grep -F -- " $vip/32 " >/dev/null; do\n'
        '        if [ "$(date +%s)" -ge "$deadline" ]; then\n'
        '            echo "clb-wizard: $vip is not on lo" >&2\n'
        "            exit 1\n"
        "        fi\n"
        "        sleep 1\n"
        "    done\n"
        "done\n"
        'echo "clb-wizard: the CLB VIPs are on lo"\n'
    )


def _install(needs, platform: Platform) -> list[str]:
    """Install the method's packages unless a path shows they already are."""
    if not needs.packages:
        return []
    present = " || ".join(f"[ -e {shlex.quote(p)} ]" for p in needs.present_when) or "false"
    install = shlex.join((*platform.install_command(), *needs.packages))
    return [f"if ! {{ {present}; }}; then\n    {install}\nfi\n"]


def render_userdata(platform: Platform, vips: Sequence[str]) -> str:
    """The UserData script for a new host of `platform` (stock stack, no files yet)."""
    method = get_method(platform.method)
    current = method.stock_files(release_of(platform))
    rendered = method.render(RenderInput(vips, current, platform))
    if method.host_os != "linux":  # Windows: the script itself, run by cloudbase-init
        script = next(text for text in rendered.files.values() if text is not None)
        return "#ps1_sysnative\n" + script
    parts = [
        "#!/bin/sh\n",
        f"# {MARKER}\n",
        f"# cloud-init UserData for {platform.name}: method {platform.method}.\n",
        "set -eu\n",
    ]
    parts += _install(method.prerequisites(release_of(platform), platform.stack),
                      platform)
    sourced_by = method.sourced_by
    written = {}
    for path, content in sorted(rendered.files.items()):
        if content is None:
            continue
        written[path] = content
        stock = current.get(path)
        if sourced_by and path == sourced_by.path:  # made to read our drop-in, after the drop-in
            continue
        if stock is not None and content.startswith(stock):  # a stock file we add to
            parts.append(_append_once(path, content[len(stock):]))
            continue
        parts.append(_write_file(path, content, rendered.modes.get(path, 0o644)))
        if sourced_by:
            parts.append(_ensure_sourced(path, sourced_by.path, sourced_by.line_re))
    steps = method.transition(TransitionInput({}, written, platform)).activate
    parts += [f"{command.shell()}\n" for command in steps]
    parts.append(_check(vips))
    return "".join(parts)
