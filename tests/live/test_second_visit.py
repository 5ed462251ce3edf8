"""The second visit from the CLI, on a real ifupdown host in a sandbox: a VIP configured
earlier is never taken out of service by accident. `apply` with a new VIP only refuses
(exit 2, names the VIP, nothing changes); `add` keeps it; taking one away needs `remove`
(or --remove-others) and --yes."""

from __future__ import annotations

import json

import pytest

from tests.live.hosts import PRE_EXISTING, files_digest, prepare

pytestmark = pytest.mark.live  # needs root and namespaces (CI runs as root)

VIP1, VIP2 = "203.0.113.10", "203.0.113.11"


def wizard(sb, *argv):
    return sb.wizard(*argv, "--method", "ifupdown")


def state(sb):
    return files_digest(sb), sb.lo_addresses()


def test_second_visit_adds_and_removes_only_on_purpose(sandbox):
    prepare(sandbox, "ifupdown")
    first = wizard(sandbox, "apply", "--vip", VIP1, "--yes")
    assert first.returncode == 0, first.stdout + first.stderr
    before = state(sandbox)

    # The mistake of issue 11: only the new VIP given. Refused, VIP1 named, nothing changed.
    only_new = wizard(sandbox, "apply", "--vip", VIP2, "--yes")
    assert only_new.returncode == 2, only_new.stdout + only_new.stderr
    assert f"REMOVED: {VIP1} is on this host now and will be taken out of service" in \
        only_new.stdout
    assert "--remove-others" in only_new.stderr and "clb-wizard add" in only_new.stderr
    assert state(sandbox) == before

    plan = json.loads(wizard(sandbox, "plan", "--vip", VIP2, "--json").stdout)
    assert plan["removed"] == [VIP1], "the plan data names the VIP leaving service"

    added = wizard(sandbox, "add", "--vip", VIP2, "--yes")
    assert added.returncode == 0, added.stdout + added.stderr
    assert "REMOVED" not in added.stdout
    lo = sandbox.lo_addresses()
    assert f"{VIP1}/32" in lo and f"{VIP2}/32" in lo and PRE_EXISTING in lo
    verify = sandbox.wizard("verify", "--json")
    assert verify.returncode == 0, verify.stdout

    # Removing needs both words: --remove-others (or `remove`) and --yes.
    no_yes = wizard(sandbox, "remove", "--vip", VIP1)
    assert no_yes.returncode == 2 and "add --yes" in no_yes.stderr
    assert f"{VIP1}/32" in sandbox.lo_addresses()
    unknown = wizard(sandbox, "remove", "--vip", "203.0.113.99", "--yes")
    assert unknown.returncode == 2 and "not a VIP clb-wizard manages" in unknown.stderr
    removed = wizard(sandbox, "remove", "--vip", VIP1, "--yes")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert f"REMOVED: {VIP1} is on this host now" in removed.stdout
    lo = sandbox.lo_addresses()
    assert f"{VIP1}/32" not in lo and f"{VIP2}/32" in lo and PRE_EXISTING in lo

    replaced = wizard(sandbox, "apply", "--vip", VIP1, "--yes", "--remove-others")
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    lo = sandbox.lo_addresses()
    assert f"{VIP1}/32" in lo and f"{VIP2}/32" not in lo
