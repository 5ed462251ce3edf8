"""A local unprivileged user (uid/gid 65534, no groups) and the world-writable sticky
directory they share with root, like /tmp or an admin's scratch directory."""

from __future__ import annotations

import subprocess

from tests.sandbox import Sandbox

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def as_attacker(script: str) -> None:
    """Run `script` with sh as the unprivileged user (outside any namespace)."""
    subprocess.run([*NOBODY, "sh", "-euc", script], check=True, capture_output=True,
                   cwd="/")


def as_attacker_in(sandbox: Sandbox, script: str) -> None:
    """Run `script` with sh as the unprivileged user inside the sandbox's namespaces (its
    /etc, /run and /var/lib), where root's state directory is."""
    result = sandbox.run([*NOBODY, "sh", "-euc", script])
    assert result.returncode == 0, result.stderr
