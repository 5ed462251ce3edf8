"""The CLI holds the lock from its plan to its apply (Service.changing), on a real ifupdown
host in a namespace sandbox, with real processes: while `apply` shows its plan and waits
for the user's answer, a second run is refused and changes nothing; the lock is let go
when the user says no, and the plan a user says yes to is the change made."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator

import pexpect
import pytest

from tests.live.hosts import files_digest, prepare

pytestmark = pytest.mark.live

VIP1, VIP2 = "203.0.113.10", "203.0.113.11"


@contextlib.contextmanager
def asking(sb, *vips: str) -> Iterator[pexpect.spawn]:
    """`clb-wizard apply` at a terminal, stopped at its question (its plan made); the
    process is closed when the block ends."""
    argv = sb.argv([sys.executable, "-m", "clb_wizard", "apply", "--method", "ifupdown",
                    *(a for v in vips for a in ("--vip", v))])
    child = pexpect.spawn(argv[0], argv[1:], env=sb.env(), encoding="utf-8", timeout=60)
    try:
        child.expect(r"Apply this change\? \[y/N\]")
        yield child
    finally:
        child.close()


def answer(child: pexpect.spawn, reply: str, then: str) -> int:
    """Answer the question; its exit status once it said `then` and ended."""
    child.sendline(reply)
    child.expect(then)
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def refused(result) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "another clb-wizard run (pid" in result.stderr and "Traceback" not in result.stderr


def test_a_second_run_is_refused_while_the_cli_asks_about_its_plan(sandbox):
    prepare(sandbox, "ifupdown")
    before = (files_digest(sandbox), sandbox.lo_addresses())
    with asking(sandbox, VIP1) as first:
        assert f"VIPs: {VIP1}" in first.before  # the plan, shown
        refused(sandbox.wizard("apply", "--vip", VIP2, "--method", "ifupdown", "--yes"))
        refused(sandbox.wizard("rollback"))  # (unlocked: "Nothing to roll back", exit 0)
        assert (files_digest(sandbox), sandbox.lo_addresses()) == before
        assert answer(first, "n", "Nothing was changed.") == 0
    assert (files_digest(sandbox), sandbox.lo_addresses()) == before

    # the user said no: the lock is free, and the other run goes through
    again = sandbox.wizard("apply", "--vip", VIP2, "--method", "ifupdown", "--yes")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{VIP2}/32" in sandbox.lo_addresses()

    # the plan the user says yes to is the change made
    with asking(sandbox, VIP2, VIP1) as second:
        refused(sandbox.wizard("rollback"))  # (unlocked: VIP2's change would be undone)
        assert f"{VIP2}/32" in sandbox.lo_addresses()
        assert answer(second, "y", "Applied and verified") == 0
    assert {f"{VIP1}/32", f"{VIP2}/32"} <= sandbox.lo_addresses()


# The wizard's shape, run in the sandbox as the screens call it: the Preview's plan is made
# without the lock; at Apply, Service.apply plans again under the lock and applies only the
# same change. In between, another run (the CLI) changes the host.
WIZARD = r"""
import json, subprocess, sys
from clb_wizard.errors import PlanChanged
from clb_wizard.service import Options, Service

VIP1, VIP2 = sys.argv[1:3]
service = Service()
options = Options(vips=(VIP1,), method="ifupdown")
preview = service.plan(options)
other = subprocess.run([sys.executable, "-m", "clb_wizard", "apply", "--vip", VIP2,
                        "--method", "ifupdown", "--yes"], capture_output=True, text=True)
said = {"other": other.returncode}
try:
    service.apply(options, approved=preview)
    said["stale"] = "applied"
except PlanChanged as exc:
    said["stale"] = str(exc)
said["lo_after_refusal"] = sorted(a.cidr for a in service.addresses(options, preview.platform).lo)
options = Options(vips=(VIP2, VIP1), method="ifupdown")
preview = service.plan(options)
said["fresh"] = str(service.apply(options, approved=preview).status)
print(json.dumps(said))
"""


def test_the_wizard_applies_only_the_plan_its_preview_showed(sandbox):
    prepare(sandbox, "ifupdown")
    result = sandbox.run([sys.executable, "-c", WIZARD, VIP1, VIP2])
    assert result.returncode == 0, result.stdout + result.stderr
    said = json.loads(result.stdout.strip().splitlines()[-1])
    assert said["other"] == 0
    assert said["stale"].startswith("This host changed since the Preview (")
    assert "Nothing was changed" in said["stale"]
    assert f"{VIP1}/32" not in said["lo_after_refusal"]
    assert f"{VIP2}/32" in said["lo_after_refusal"]
    assert said["fresh"] == "applied"
    assert {f"{VIP1}/32", f"{VIP2}/32"} <= sandbox.lo_addresses()
