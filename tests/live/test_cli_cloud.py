"""`--ulb-id` end to end: the CLI asks a fake of the cloud API (the real API cannot be
reached from here; the fake re-computes the SDK's request signature) and puts every EIP
of an external CLB on lo, and `verify --ulb-id` asks the CLB for its health view."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.fakes.ucloud_api import HOST_IP
from tests.live.hosts import prepare

PUBLIC, PRIVATE = "fake-public-key", "PRIVATE-KEY-zz-never-in-any-file"


@pytest.fixture
def cloud_host(sandbox):
    """An ifupdown host with this host's private IP, and the fake API inside its netns."""
    prepare(sandbox, "ifupdown")
    sandbox.sh("ip link add eth0 type veth peer name eth0p && "
               f"ip addr add {HOST_IP}/24 dev eth0 && ip link set eth0 up", check=True)
    server = sandbox.popen([sys.executable, "-m", "tests.fakes.ucloud_api", "--key",
                            f"{PUBLIC}={PRIVATE}"], stdout=subprocess.PIPE, text=True)
    url = server.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), "the fake API did not start"
    env = {"UCLOUD_PUBLIC_KEY": PUBLIC, "UCLOUD_PRIVATE_KEY": PRIVATE,
           "UCLOUD_REGION": "cn-bj2", "CLB_WIZARD_API_URL": url,
           "CLB_WIZARD_METADATA_URL": f"{url}/meta-data/latest/uhost", "NO_PROXY": "*"}
    try:
        yield sandbox, env
    finally:
        server.kill()


def test_apply_by_ulb_id_configures_every_eip(cloud_host):
    sb, env = cloud_host
    result = sb.wizard("apply", "--ulb-id", "ulb-outer01", "--method", "ifupdown", "--yes",
                       "--json", "--health-timeout", "5", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    out = json.loads(result.stdout)
    assert out["plan"]["vips"] == ["203.0.113.10", "198.51.100.20", "192.0.2.30"]
    assert out["plan"]["clb_type"] == "external"
    assert {"203.0.113.10/32", "198.51.100.20/32", "192.0.2.30/32"} <= sb.lo_addresses()
    health = [f for f in out["verification"]["facts"] if f["name"] == "CLB health check"]
    assert health and health[0]["ok"], out["verification"]
    verified = sb.wizard("verify", "--ulb-id", "ulb-outer01", "--json", env=env)
    assert verified.returncode == 0, verified.stdout
    # the private key is in no file the wizard wrote, nor in any output
    assert PRIVATE not in result.stdout + result.stderr + verified.stdout
    leaked = sb.sh(f"grep -rl -- {PRIVATE} /var/lib/clb-wizard /etc || true").stdout
    assert leaked == ""


def test_request_proxy_clb_needs_force(cloud_host):
    sb, env = cloud_host
    before = sb.lo_addresses()
    result = sb.wizard("apply", "--ulb-id", "ulb-proxy01", "--yes", env=env)
    assert result.returncode == 2
    assert "RequestProxy" in result.stderr or "request proxy" in result.stderr.lower()
    assert sb.lo_addresses() == before


def test_fetch_lists_this_hosts_clbs_first(cloud_host):
    sb, env = cloud_host
    result = sb.wizard("fetch", "--json", env=env)
    assert result.returncode == 0, result.stderr
    clbs = json.loads(result.stdout)["clbs"]
    matching = [c["ulb_id"] for c in clbs if c["matches_host"]]
    assert matching and clbs[0]["ulb_id"] in matching
    assert "ulb-other01" not in matching


def test_wrong_key_is_a_clear_error_and_changes_nothing(cloud_host):
    sb, env = cloud_host
    before = sb.lo_addresses()
    result = sb.wizard("apply", "--ulb-id", "ulb-inner01", "--yes",
                       env={**env, "UCLOUD_PRIVATE_KEY": "wrong-key"})
    assert result.returncode == 2
    assert "signature" in result.stderr.lower() or "key" in result.stderr.lower()
    assert "wrong-key" not in result.stderr
    assert sb.lo_addresses() == before
