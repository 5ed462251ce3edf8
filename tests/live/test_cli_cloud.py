"""`--ulb-id` end to end: the CLI asks a fake of the cloud API (the real API cannot be
reached from here; the fake re-computes the SDK's request signature and serves the
instance metadata too) and puts every EIP of an external CLB on lo, and
`verify --ulb-id` asks the CLB for its health view."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys

import pytest

from tests.fakes.ucloud_api import HOST_IP, VPC_ID, free_closed_port
from tests.live.hosts import prepare

pytestmark = pytest.mark.live  # needs root and namespaces (CI runs as root)

PUBLIC, PRIVATE = "fake-public-key", "PRIVATE-KEY-zz-never-in-any-file"


@contextlib.contextmanager
def fake_api(sandbox, *options: str):
    """An ifupdown host with this host's private IP, and the fake API (with ``options``)
    inside its netns."""
    prepare(sandbox, "ifupdown")
    sandbox.sh("ip link add eth0 type veth peer name eth0p && "
               f"ip addr add {HOST_IP}/24 dev eth0 && ip link set eth0 up", check=True)
    server = sandbox.popen([sys.executable, "-m", "tests.fakes.ucloud_api", "--key",
                            f"{PUBLIC}={PRIVATE}", *options], stdout=subprocess.PIPE, text=True)
    url = server.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), "the fake API did not start"
    env = {"UCLOUD_PUBLIC_KEY": PUBLIC, "UCLOUD_PRIVATE_KEY": PRIVATE,
           "UCLOUD_REGION": "cn-bj2", "CLB_WIZARD_API_URL": url,
           "CLB_WIZARD_METADATA_URL": f"{url}/meta-data/latest/uhost", "NO_PROXY": "*"}
    try:
        yield sandbox, env
    finally:
        server.kill()


@pytest.fixture
def cloud_host(sandbox):
    with fake_api(sandbox) as host:
        yield host


@pytest.fixture
def tricky_host(sandbox):
    """The fake also serves tricky_clbs(): a malformed field, a twin in another VPC, and
    names with escape sequences."""
    with fake_api(sandbox, "--tricky") as host:
        yield host


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
    assert "message-forwarding listener(s)" in health[0]["detail"]
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


def test_region_flag_beats_the_environment_and_says_so(cloud_host):
    sb, env = cloud_host
    env = {**env, "UCLOUD_REGION": "cn-sh2"}  # a real region, empty in the fake
    result = sb.wizard("fetch", "--region", "cn-bj2", env=env)
    assert result.returncode == 0, result.stderr
    assert "CLBs in region cn-bj2 (from --region), project org-fake01 (from instance " \
           "metadata)" in result.stdout
    assert "ulb-inner01" in result.stdout
    result = sb.wizard("fetch", env=env)
    assert "No CLB in region cn-sh2 (from UCLOUD_REGION)" in result.stdout
    help_text = " ".join(sb.wizard("fetch", "--help").stdout.split())
    assert "wins over $UCLOUD_REGION, which wins over this instance's metadata" in help_text


def test_internal_endpoint_when_the_public_one_is_unreachable(cloud_host):
    sb, env = cloud_host
    env = {**env, "CLB_WIZARD_INTERNAL_API_URL": env["CLB_WIZARD_API_URL"],
           "CLB_WIZARD_API_URL": f"http://127.0.0.1:{free_closed_port()}"}
    result = sb.wizard("fetch", "--ulb-id", "ulb-inner01", env=env)
    assert result.returncode == 2
    assert "Cannot reach the UCloud API" in result.stderr and "--internal-api" in result.stderr
    result = sb.wizard("fetch", "--ulb-id", "ulb-inner01", "--internal-api", env=env)
    assert result.returncode == 0, result.stderr
    assert "* ulb-inner01" in result.stdout  # marked: this host by its uhost-id


def test_fetch_in_this_hosts_vpc_with_hostile_names(tricky_host):
    sb, env = tricky_host
    result = sb.wizard("fetch", env=env)
    assert result.returncode == 0, result.stderr
    assert f"VPC {VPC_ID}" in result.stdout
    assert "ulb-twin01" not in result.stdout  # another VPC, though its backend is 'us'
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "evil\\x1b]0;owned\\x07\\x1b[2J[bold]name" in result.stdout
    assert "ulb-odd01" in result.stdout  # a malformed port on it failed nothing


def test_health_fact_is_a_warning_unless_required(tricky_host):
    sb, env = tricky_host
    applied = sb.wizard("apply", "--ulb-id", "ulb-outer01", "--method", "ifupdown", "--yes",
                        "--health-timeout", "5", env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    # ulb-twin01's backend has this host's address, but is another instance in another VPC
    warned = sb.wizard("verify", "--ulb-id", "ulb-twin01", "--json", env=env)
    assert warned.returncode == 0, warned.stdout
    fact = [f for f in json.loads(warned.stdout)["verification"]["facts"]
            if f["name"] == "CLB health check"][0]
    assert not fact["ok"] and not fact["fatal"] and "not a backend" in fact["detail"]
    required = sb.wizard("verify", "--ulb-id", "ulb-twin01", "--require-healthy", env=env)
    assert required.returncode == 1
    assert "[FAIL] CLB health check" in required.stdout


def test_transient_4086_is_retried(sandbox):
    with fake_api(sandbox, "--fail", "4086:2") as (sb, env):
        result = sb.wizard("fetch", "--ulb-id", "ulb-inner01", env=env)
    assert result.returncode == 0, result.stderr
    assert "10.9.0.100" in result.stdout


# The cloud path's own lazy imports (the SDK, requests), done while still root: nobody may
# not be able to read the checkout's venv (a clone in /root, mode 0700).
AS_NOBODY = ("import runpy, sys\n"
             "import requests, ucloud.core.client, ucloud.core.exc, ucloud.core.transport\n"
             "import ucloud.core.utils.middleware\n"
             "sys.argv = ['as_nobody', *sys.argv[1:]]\n"
             "runpy.run_module('tests.live.as_nobody', run_name='__main__')\n")


def test_fetch_without_root_still_marks_this_hosts_clbs(cloud_host):
    sb, env = cloud_host
    result = sb.run([sys.executable, "-c", AS_NOBODY, "fetch", "--json"], env=env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["host"]["private_ips"][:1] == [HOST_IP]
    assert {c["ulb_id"] for c in out["clbs"] if c["matches_host"]} == {
        "ulb-inner01", "ulb-outer01", "ulb-mixed01"}
