"""The stacks of issue 14 with their real tools, inside the `sandbox` fixture.

- systemd-networkd without netplan (Arch, Amazon Linux 2023, a Debian with networkd
  enabled): the plan's `.network` file and its own commands (`networkctl reload`,
  `networkctl reconfigure lo`, `ip addr del`) against a real systemd-networkd, which
  must report our file as lo's ("Network File:" of `networkctl status lo`).
- ifupdown-ng (Alpine): Debian's ifupdown-ng, unpacked into .cache/ifupdown-ng-root by
  tests/setup-system.sh (it conflicts with ifupdown, so it is not installed): its
  `ifparse` accepts the plan's files, its `ifquery -p address lo` reads the VIPs back,
  and its `ifup lo` (what `ifup -a` does at boot) puts them on lo with 127.0.0.1 kept.
  A negative control shows why the method never uses alias stanzas: ifupdown-ng's
  `ifdown lo:1` flushes every address of lo.
- UserData for Amazon Linux 2023 and Alpine, run by dash (POSIX sh, as on Alpine).
- wicked (SUSE) has no Debian package: proven on content in tests/unit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clb_wizard.methods.networkd import PATH as NETWORKD_PATH
from clb_wizard.methods.networkd import network_file_of
from tests.conftest import require
from tests.fixtures.roots import VIP1, VIP2, apply_files, make_root
from tests.live.test_validators import (
    drop_vip2,
    execute,
    lo_inet,
    plan_for,
    userdata,
    wait_for,
)
from tests.sandbox import REPO

pytestmark = pytest.mark.live

NGROOT = Path(os.environ.get("CLB_TEST_IFUPDOWN_NG_ROOT", REPO / ".cache" / "ifupdown-ng-root"))
ENI = "/etc/network/interfaces"


# -- systemd-networkd, no netplan ------------------------------------------------------------
@pytest.mark.parametrize("key", ["arch", "amzn-2023"])
def test_networkd_plan_activates_with_a_real_networkd(sandbox, tmp_path, key):
    require("networkctl", "dbus-daemon")
    sandbox.start_networkd()
    root = make_root(tmp_path, key)
    plan = plan_for(root, [VIP1, VIP2])
    assert plan.method == "networkd"
    assert [c.argv for c in plan.commands] == [("networkctl", "reload"),
                                               ("networkctl", "reconfigure", "lo")]
    execute(sandbox, plan)
    wait_for(lambda: {VIP1, VIP2} <= set(lo_inet(sandbox)), "networkd puts the VIPs on lo")
    assert lo_inet(sandbox)["127.0.0.1"]["prefixlen"] == 8  # the kernel's own, kept
    status = sandbox.run(["networkctl", "--no-pager", "status", "lo"], check=True).stdout
    assert network_file_of(status) == NETWORKD_PATH, status  # networkd applies OUR file
    assert "failed" not in status.split("State:", 1)[1].split("\n", 1)[0], status
    drop_vip2(sandbox, root, plan, ends_with_ip_del=True)


def test_networkd_refuses_a_root_whose_own_file_takes_lo(tmp_path):
    root = make_root(tmp_path, "arch")
    theirs = root / "etc/systemd/network/05-lo.network"
    theirs.parent.mkdir(parents=True, exist_ok=True)
    theirs.write_text("[Match]\nName=lo\n\n[Network]\nAddress=192.0.2.7/32\n")
    from clb_wizard.methods import MethodError

    with pytest.raises(MethodError, match="05-lo.network already configures lo"):
        plan_for(root, [VIP1])


# -- ifupdown-ng ------------------------------------------------------------------------------
def ng(name: str) -> str:
    path = NGROOT / "sbin" / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run tests/setup-system.sh (it unpacks ifupdown-ng)")
    return str(path)


def ng_args(state: str) -> list[str]:
    return ["-i", ENI, "-E", str(NGROOT / "usr/libexec/ifupdown-ng"), "-S", state, "-l"]


def test_ifupdown_ng_accepts_reads_back_and_brings_up_the_plan(sandbox, tmp_path):
    root = make_root(tmp_path, "alpine-3")
    plan = plan_for(root, [VIP1, VIP2])
    assert plan.method == "ifupdown-ng"
    sandbox.write(ENI, (root / "etc/network/interfaces").read_text())  # Alpine's own
    sandbox.sh("rm -rf /etc/network/interfaces.d && mkdir -p /etc/network/interfaces.d")
    for change in plan.files:
        sandbox.write(change.path, change.after, change.mode)
    parsed = sandbox.run([ng("ifparse"), "-i", ENI, "lo"])
    assert parsed.returncode == 0, parsed.stderr
    assert f"address {VIP1}/32" in parsed.stdout and "use loopback" in parsed.stdout
    query = sandbox.run([ng("ifquery"), "-i", ENI, "-p", "address", "lo"], check=True)
    assert sorted(a.split("/")[0] for a in query.stdout.split()) == sorted([VIP1, VIP2])
    # what `ifup -a` does at boot: lo comes up with the VIPs, 127.0.0.1 stays
    up = sandbox.run([ng("ifup"), *ng_args("/run/ifstate-boot"), "lo"])
    assert up.returncode == 0, up.stderr
    inet = lo_inet(sandbox)
    assert inet[VIP1]["prefixlen"] == inet[VIP2]["prefixlen"] == 32 and "127.0.0.1" in inet
    # the plan's own commands on a running host: removing VIP2 takes only VIP2 away
    apply_files(root, plan)
    smaller = plan_for(root, [VIP1])
    for change in smaller.files:
        sandbox.write(change.path, change.after, change.mode)
    for command in smaller.commands:
        assert sandbox.run(list(command.argv)).returncode == 0, command.argv
    inet = lo_inet(sandbox)
    assert VIP1 in inet and VIP2 not in inet and "127.0.0.1" in inet


def test_ifupdown_ng_alias_ifdown_flushes_all_of_lo(sandbox):
    """Negative control for the method's design: with an alias stanza, ifupdown-ng's
    ifdown takes 127.0.0.1 and every other address off lo."""
    sandbox.write(ENI, f"auto lo\niface lo inet loopback\n\nauto lo:1\niface lo:1\n"
                       f"    address {VIP1}/32\n")
    sandbox.run(["ip", "addr", "add", f"{VIP2}/32", "dev", "lo"], check=True)
    assert sandbox.run([ng("ifup"), *ng_args("/run/ifstate-alias"), "lo:1"]).returncode == 0
    assert {VIP1, VIP2, "127.0.0.1"} <= set(lo_inet(sandbox))
    assert sandbox.run([ng("ifdown"), *ng_args("/run/ifstate-alias"), "lo:1"]).returncode == 0
    assert lo_inet(sandbox) == {}


def test_tools_for_the_families_exist():
    for name in ("ifparse", "ifquery", "ifup", "ifdown"):
        assert Path(ng(name)).exists()


# -- UserData for the new families, run by a POSIX sh (dash) -----------------------------------
def test_userdata_for_networkd_runs(sandbox):
    require("networkctl", "dbus-daemon", "dash")
    sandbox.start_networkd()
    result = sandbox.run(["dash", "-c", userdata("amzn-2023", [VIP1, VIP2])])
    assert result.returncode == 0, result.stdout + result.stderr
    assert {VIP1, VIP2} <= set(lo_inet(sandbox))
    status = sandbox.run(["networkctl", "--no-pager", "status", "lo"], check=True).stdout
    assert network_file_of(status) == NETWORKD_PATH


def test_userdata_for_alpine_runs_and_ifupdown_ng_reads_it(sandbox):
    require("dash")
    sandbox.write(ENI, "auto lo\niface lo inet loopback\n")  # Alpine's own
    sandbox.sh("rm -rf /etc/network/interfaces.d")
    result = sandbox.run(["dash", "-c", userdata("alpine-3", [VIP1])])
    assert result.returncode == 0, result.stdout + result.stderr
    assert lo_inet(sandbox)[VIP1]["prefixlen"] == 32
    query = sandbox.run([ng("ifquery"), "-i", ENI, "-p", "address", "lo"], check=True)
    assert query.stdout.split() == [f"{VIP1}/32"]  # what `ifup -a` applies at boot
