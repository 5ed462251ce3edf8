"""Direct server return end to end: a client that routes the VIP to the backend reaches
the backend's TCP service through the VIP only while the wizard's change is applied.

The sandbox is the backend; a `client` namespace made inside it (so it dies with it)
is joined to it by a veth pair on 198.51.100.0/24.
"""

from __future__ import annotations

import pytest

from tests.live.hosts import prepare

pytestmark = pytest.mark.live  # needs root and namespaces (CI runs as root)

VIP = "203.0.113.10"
PORT = 18080


def probe(sb) -> bool:
    """Can the client open a TCP connection to VIP:PORT (1 s timeout)?"""
    code = (
        "import socket,sys\n"
        f"s=socket.socket(); s.settimeout(1)\n"
        f"sys.exit(0 if s.connect_ex(('{VIP}', {PORT})) == 0 else 1)\n"
    )
    return sb.run(["ip", "netns", "exec", "client", "python3", "-c", code]).returncode == 0


@pytest.mark.parametrize("method", ["ifupdown", "netplan", "networkmanager"])
def test_client_reaches_vip_only_after_apply(sandbox, method):
    prepare(sandbox, method)
    sandbox.sh(
        "ip netns add client\n"
        "ip link add bc type veth peer name cb netns client\n"
        "ip addr add 198.51.100.2/24 dev bc && ip link set bc up\n"
        "ip -n client addr add 198.51.100.1/24 dev cb\n"
        "ip -n client link set cb up && ip -n client link set lo up\n"
        f"ip -n client route add {VIP}/32 via 198.51.100.2\n",
        check=True,
    )
    server = sandbox.popen(["python3", "-m", "http.server", str(PORT), "--bind", "0.0.0.0"])
    try:
        for _ in range(100):
            if f":{PORT}" in sandbox.run(["ss", "-Hltn"]).stdout:
                break
        assert not probe(sandbox), "reachable before apply: the test proves nothing"
        applied = sandbox.wizard("apply", "--vip", VIP, "--method", method, "--yes")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert probe(sandbox)
        assert sandbox.wizard("rollback").returncode == 0
        assert not probe(sandbox)
    finally:
        server.kill()
