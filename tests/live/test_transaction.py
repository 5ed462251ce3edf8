"""apply -> verify -> re-apply -> rollback, for each Linux method, activated by its real
manager (ifupdown's ifup, systemd-networkd via netplan, NetworkManager) on a real kernel,
inside a namespace sandbox."""

from __future__ import annotations

import json

import pytest

from tests.live.hosts import PRE_EXISTING, files_digest, prepare, route_type, state_files

pytestmark = pytest.mark.live  # needs root and namespaces (CI runs as root)

VIPS = ("203.0.113.10", "203.0.113.11")
METHODS = ("ifupdown", "netplan", "networkmanager")


def apply(sb, *vips, method, extra=()):
    args = ["apply", "--method", method, "--yes", "--json", *extra]
    for vip in vips:
        args += ["--vip", vip]
    return sb.wizard(*args)


@pytest.mark.parametrize("method", METHODS)
def test_apply_verify_reapply_rollback(sandbox, method):
    prepare(sandbox, method)
    files_before = files_digest(sandbox)
    lo_before = sandbox.lo_addresses()

    result = apply(sandbox, *VIPS, method=method)
    assert result.returncode == 0, result.stderr + result.stdout
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "applied" and outcome["verification"]["ok"]
    lo_after = sandbox.lo_addresses()
    assert {f"{v}/32" for v in VIPS} <= lo_after
    assert PRE_EXISTING in lo_after and "127.0.0.1/8" in lo_after
    assert all(route_type(sandbox, v) == "local" for v in VIPS)
    files_after = files_digest(sandbox)
    assert files_after != files_before

    verified = sandbox.wizard("verify", "--json")
    assert verified.returncode == 0, verified.stdout
    assert json.loads(verified.stdout)["verification"]["ok"]

    # Idempotent: the same input again writes nothing and runs nothing.
    logs_before = state_files(sandbox)
    again = apply(sandbox, *VIPS, method=method)
    assert again.returncode == 0, again.stderr
    again_out = json.loads(again.stdout)
    assert again_out["status"] == "no-change"
    assert again_out["plan"]["files"] == [] and again_out["plan"]["commands"] == []
    assert files_digest(sandbox) == files_after
    assert state_files(sandbox) == logs_before

    rolled = sandbox.wizard("rollback", "--json")
    assert rolled.returncode == 0, rolled.stderr + rolled.stdout
    assert files_digest(sandbox) == files_before
    assert sandbox.lo_addresses() == lo_before  # VIPs gone, 192.0.2.50 and 127.0.0.1 kept
    assert all(route_type(sandbox, v) != "local" for v in VIPS)


@pytest.mark.parametrize("method", METHODS)
def test_changing_the_vip_set_removes_only_the_dropped_vip(sandbox, method):
    prepare(sandbox, method)
    assert apply(sandbox, *VIPS, method=method).returncode == 0
    # dropping a VIP clb-wizard manages is said explicitly (issue 11)
    result = apply(sandbox, VIPS[0], "203.0.113.12", method=method, extra=["--remove-others"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["plan"]["removed"] == ["203.0.113.11"]
    lo = sandbox.lo_addresses()
    assert {"203.0.113.10/32", "203.0.113.12/32", PRE_EXISTING} <= lo
    assert "203.0.113.11/32" not in lo
    # rollback undoes the last change only: back to the first set
    assert sandbox.wizard("rollback").returncode == 0
    lo = sandbox.lo_addresses()
    assert {"203.0.113.10/32", "203.0.113.11/32", PRE_EXISTING} <= lo
    assert "203.0.113.12/32" not in lo


def test_vip_already_on_lo_by_hand_stays_after_rollback(sandbox):
    prepare(sandbox, "ifupdown")
    sandbox.run(["ip", "addr", "add", "203.0.113.10/32", "dev", "lo"], check=True)
    lo_before = sandbox.lo_addresses()
    result = apply(sandbox, "203.0.113.10", "203.0.113.11", method="ifupdown")
    assert result.returncode == 0, result.stdout
    assert sandbox.wizard("rollback").returncode == 0
    assert sandbox.lo_addresses() == lo_before
    assert "203.0.113.10/32" in lo_before


def test_arp_sysctls_are_set_and_put_back(sandbox):
    prepare(sandbox, "ifupdown")
    read = "sysctl -n net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce"
    assert sandbox.sh(read).stdout.split() == ["0", "0"]
    result = apply(sandbox, VIPS[0], method="ifupdown", extra=["--arp-sysctls"])
    assert result.returncode == 0, result.stdout
    assert sandbox.sh(read).stdout.split() == ["1", "2"]
    conf = sandbox.read("/etc/sysctl.d/90-clb-wizard-arp.conf").decode()
    assert "net.ipv4.conf.all.arp_ignore = 1" in conf
    arp_fact = [f for f in json.loads(result.stdout)["verification"]["facts"]
                if f["name"] == "ARP sysctls"]
    assert arp_fact and arp_fact[0]["ok"]
    assert sandbox.wizard("rollback").returncode == 0
    assert sandbox.sh(read).stdout.split() == ["0", "0"]
    assert sandbox.read("/etc/sysctl.d/90-clb-wizard-arp.conf") is None


def test_port_listening_on_localhost_only_is_a_warning(sandbox):
    prepare(sandbox, "ifupdown")
    server = sandbox.popen(["python3", "-m", "http.server", "18081", "--bind", "127.0.0.1"])
    try:
        for _ in range(100):
            if ":18081" in sandbox.run(["ss", "-Hltn"]).stdout:
                break
        result = apply(sandbox, VIPS[0], method="ifupdown", extra=["--port", "18081"])
        assert result.returncode == 0  # a warning, not a failure
        port = [f for f in json.loads(result.stdout)["verification"]["facts"]
                if f["name"] == "port 18081"][0]
        assert not port["ok"] and not port["fatal"] and "127.0.0.1" in port["detail"]
    finally:
        server.kill()
