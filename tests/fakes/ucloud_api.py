"""A fake of the UCloud API (DescribeULB only) and of the UHost metadata service.

It listens on 127.0.0.1 (random free port) in a thread, so the real SDK, pointed at
``fake.url``, does real HTTP against it.

What it checks like the real API: the request signature. UCloud signs a request with
SHA1 over the parameters sorted by name, each written as name + value with nothing in
between, followed by the private key (hex digest, lower case). The check below is
written from that description, not taken from the SDK. A public key it does not know
gets RetCode 172 ("User Not Exists"), a wrong signature RetCode 171 ("Signature VerifyAC
Error"): the codes and messages UCloud documents for these cases.

Answers follow the DescribeULB response schema: ``DataSet`` (ULBSet: ULBId, Name,
ULBType InnerMode/OuterMode, ListenType, PrivateIP, IPSet[{EIP, EIPId, OperatorName}],
VServerSet[{VServerId, ListenType, BackendSet[{PrivateIP, Port, Status, ...}]}]) and
``TotalCount``, paged with ``Limit`` (default 20) and ``Offset``.

Addresses: documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) for
EIPs, 10.x for private addresses.

What else it models, because the program's fixes depend on it:

- ProjectId scoping: without ProjectId the default project; a ProjectId it does not know
  gets RetCode 292 (the quick start's "项目不存在", no such project);
- the region: one region holds the CLBs, other known region names are empty, an unknown
  name is an error;
- VPCs: every CLB and backend has a VPCId, and DescribeULB's ``VPCId`` filters the list;
- backends carry ResourceId (the uhost-id), and this host's backends carry SELF_UHOST;
- the metadata paths the program reads: region, project-id, uhost-id and
  network-interfaces/N/vpc-id, network-interfaces/N/ips/N/ip-address;
- gateway errors that fail the next N requests, then succeed (``fail_next``), with the
  real wording of 4086 ("获取Vserver信息失败，请稍后重试。", ULB error table);
- an answer whose body is empty (``empty_body``), and, in ``tricky_clbs``, a CLB with a
  malformed integer field, one in another VPC whose backend reuses this host's address,
  and names with terminal escape sequences.

Where it still differs from the real API (not documented in what we read, so chosen
here): an unknown ULBId gets an empty DataSet; an unknown region gets RetCode 230 with
the message "Params [Region] not available"; the message of 292 is the quick start's
description; the metadata service's directory listings (``network-interfaces/``) are not
served, only the leaf items; health flips happen per DescribeULB call, not in time.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import socket
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional

REGION = "cn-bj2"
OTHER_REGIONS = ("cn-sh2", "cn-gd", "hk")  # real names, empty in the fake
PROJECT_ID = "org-fake01"
VPC_ID = "uvnet-fake01"  # this host's VPC
OTHER_VPC_ID = "uvnet-fake02"
SELF_UHOST = "uhost-self01"  # this host's instance id
RETCODE_NO_PROJECT = 292
RETCODE_BAD_REGION = 230
FETCH_FAILED = (4086, "获取Vserver信息失败，请稍后重试。")

# This host's private address in the sample data, and another backend's.
HOST_IP = "198.51.100.11"  # this backend (documentation range: it goes on a test interface)
OTHER_IP = "198.51.100.12"

METADATA_PREFIX = "/meta-data/latest/uhost/"

# Codes of the fake's own choosing, for requests the tests never send on purpose.
_RETCODE_MISSING_ACTION = 160
_RETCODE_UNKNOWN_ACTION = 161


def signature(params: Mapping[str, str], private_key: str) -> str:
    """The signature UCloud expects for ``params`` (``Signature`` itself left out)."""
    text = "".join(f"{k}{v}" for k, v in sorted(params.items()) if k != "Signature")
    return hashlib.sha1((text + private_key).encode("utf-8")).hexdigest()


def free_closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def backend(ip: str, port: int = 80, status: int = 0, enabled: int = 1, n: int = 1, *,
            resource_id: Optional[str] = None, vpc_id: str = VPC_ID) -> dict:
    if resource_id is None:
        resource_id = SELF_UHOST if ip == HOST_IP else f"uhost-{ip.replace('.', '')}"
    return {
        "BackendId": f"backend-{ip.replace('.', '-')}-{port}",
        "ResourceType": "UHost",
        "ResourceId": resource_id,
        "SubResourceId": "",
        "ResourceName": f"web-{n}",
        "PrivateIP": ip,
        "Port": port,
        "Enabled": enabled,
        "Status": status,
        "Weight": 1,
        "SubnetId": "subnet-fake01",
        "VPCId": vpc_id,
    }


def vserver(
    vserver_id: str,
    protocol: str,
    port: int,
    backends: Sequence[dict],
    listen_type: str = "PacketsTransmit",
    name: str = "",
) -> dict:
    return {
        "VServerId": vserver_id,
        "VServerName": name or vserver_id,
        "Protocol": protocol,
        "FrontendPort": port,
        "ListenType": listen_type,
        "Method": "Roundrobin",
        "MonitorType": "Port",
        "PersistenceType": "None",
        "ClientTimeout": 60,
        "Status": 0,
        "BackendSet": list(backends),
        "PolicySet": [],
        "SSLSet": [],
    }


def clb(
    ulb_id: str,
    name: str,
    ulb_type: str,
    *,
    listen_type: str = "PacketsTransmit",
    private_ip: str = "",
    eips: Sequence[tuple[str, str]] = (),
    vservers: Sequence[dict] = (),
    vpc_id: str = VPC_ID,
) -> dict:
    return {
        "ULBId": ulb_id,
        "Name": name,
        "Tag": "Default",
        "Remark": "",
        "ULBType": ulb_type,
        "ListenType": listen_type,
        "IPVersion": "IPv4",
        "PrivateIP": private_ip,
        "IPSet": [
            {
                "EIP": eip,
                "EIPId": f"eip-{eip.replace('.', '')}",
                "OperatorName": operator,
                "Bandwidth": 2,
                "BandwidthType": 0,
            }
            for eip, operator in eips
        ],
        "VServerSet": list(vservers),
        "FirewallSet": [],
        "VPCId": vpc_id,
        "SubnetId": "subnet-fake01" if ulb_type == "InnerMode" else "",
        "BusinessId": "",
        "CreateTime": 1700000000,
        "Bandwidth": 0,
        "BandwidthType": 0,
        "EnableLog": 0,
    }


def sample_clbs() -> list[dict]:
    """Internal, external with several EIPs, request proxy and mixed CLBs, and one this
    host is not a backend of."""
    return [
        clb(
            "ulb-inner01",
            "intranet-web",
            "InnerMode",
            private_ip="10.9.0.100",
            vservers=[
                vserver("vserver-in80", "TCP", 80, [backend(HOST_IP), backend(OTHER_IP, n=2)]),
            ],
        ),
        clb(
            "ulb-outer01",
            "public-web",
            "OuterMode",
            eips=[
                ("203.0.113.10", "Bgp"),
                ("198.51.100.20", "International"),
                ("192.0.2.30", "Bgp"),
            ],
            vservers=[
                vserver("vserver-out80", "TCP", 80, [backend(HOST_IP), backend(OTHER_IP, n=2)]),
                vserver("vserver-out53", "UDP", 53, [backend(HOST_IP, 53)]),
            ],
        ),
        clb(
            "ulb-proxy01",
            "api-proxy",
            "OuterMode",
            listen_type="RequestProxy",
            eips=[("203.0.113.50", "Bgp")],
            vservers=[
                vserver("vserver-http", "HTTP", 80, [backend("10.9.0.13")], "RequestProxy"),
            ],
        ),
        clb(
            "ulb-mixed01",
            "mixed",
            "OuterMode",
            listen_type="Comprehensive",
            eips=[("198.51.100.60", "Bgp")],
            vservers=[
                vserver("vserver-tcp", "TCP", 443, [backend(HOST_IP, 443)]),
                vserver(
                    "vserver-web", "HTTP", 8080, [backend(HOST_IP, 8080)], "RequestProxy", "web"
                ),
            ],
        ),
        clb(
            "ulb-other01",
            "someone-else",
            "InnerMode",
            private_ip="10.9.0.200",
            vservers=[vserver("vserver-o", "TCP", 22, [backend("10.9.0.77")])],
        ),
    ]


def filler_clbs(count: int) -> list[dict]:
    """``count`` internal CLBs with other backends, to make the list span pages."""
    return [
        clb(
            f"ulb-fill{i:03d}",
            f"filler-{i:03d}",
            "InnerMode",
            private_ip=f"10.20.{i // 200}.{i % 200 + 1}",
            vservers=[vserver(f"vserver-f{i:03d}", "TCP", 80, [backend(f"10.30.0.{i % 200 + 1}")])],
        )
        for i in range(count)
    ]


def tricky_clbs() -> list[dict]:
    """CLBs that trip a careless reader: one with a malformed integer field ("Port": "",
    as an odd value elsewhere in the region would be), one in another VPC whose backend
    reuses this host's address (another instance: VPCs reuse ranges) and is failing, and
    one whose name and EIP operator hold terminal escape sequences."""
    odd = clb("ulb-odd01", "odd-port", "InnerMode", private_ip="10.9.0.150",
              vservers=[vserver("vserver-odd", "TCP", 80, [backend("10.9.0.151")])])
    odd["VServerSet"][0]["BackendSet"][0]["Port"] = ""
    odd["VServerSet"][0]["FrontendPort"] = "eighty"
    twin = clb("ulb-twin01", "other-vpc-same-ip", "InnerMode", private_ip="10.9.0.160",
               vpc_id=OTHER_VPC_ID,
               vservers=[vserver("vserver-twin", "TCP", 80,
                                 [backend(HOST_IP, status=1, resource_id="uhost-twin01",
                                          vpc_id=OTHER_VPC_ID)])])
    hostile = clb("ulb-esc01", "evil\x1b]0;owned\x07\x1b[2J[bold]name", "OuterMode",
                  eips=[("203.0.113.70", "Bgp\x1b[31m")],
                  vservers=[vserver("vserver-esc", "TCP", 80, [backend(OTHER_IP)])])
    return [odd, twin, hostile]


def instance_metadata(region: str = REGION, project: str = PROJECT_ID) -> dict[str, str]:
    """The metadata items of this host (paths relative to .../meta-data/latest/uhost)."""
    return {
        "region": region,
        "project-id": project,
        "uhost-id": SELF_UHOST,
        "network-interfaces/0/vpc-id": VPC_ID,
        "network-interfaces/0/subnet-id": "subnet-fake01",
        "network-interfaces/0/ips/0/ip-address": HOST_IP,
    }


class FakeUCloudAPI:
    """The fake server. Use as a context manager; ``url`` is the API base URL and
    ``metadata_url`` the metadata base (``.../meta-data/latest/uhost``).

    Knobs for the tests (set them before the call):

    - ``delay``: seconds to wait before answering (a stop releases the wait);
    - ``forced_error``: (RetCode, Message) answered to every signed request;
    - ``fail_at_offset``: a RetCode error for the list page starting at that offset;
    - ``total_count_extra``: added to TotalCount (a list that claims more than it has);
    - ``http_status``: answer with this HTTP status and an empty body;
    - ``garbage``: answer 200 with an HTML page instead of JSON;
    - ``empty_body``: answer 200 with an empty body;
    - ``fail_next(code, message, times)``: the next ``times`` signed requests get that
      RetCode (a gateway or "retry later" error), later ones are answered;
    - ``set_health(ulb_id, ip, healthy_after)``: that backend reports Status 1 until
      the ``healthy_after``-th DescribeULB of that CLB, Status 0 from then on
      (``None``: never healthy).

    What it saw: ``requests`` (every API form, as received), ``accepted`` (those whose
    signature was right), ``rejected`` (the others).
    """

    def __init__(
        self,
        *,
        keys: Mapping[str, str],
        clbs: Sequence[dict],
        region: str = REGION,
        metadata: Optional[Mapping[str, str]] = None,
    ):
        self.keys = dict(keys)
        self.clbs = copy.deepcopy(list(clbs))
        self.region = region
        self.metadata = dict(metadata) if metadata is not None else {}
        self.delay = 0.0
        self.forced_error: Optional[tuple[int, str]] = None
        self.fail_at_offset: Optional[int] = None
        self.total_count_extra = 0
        self.http_status: Optional[int] = None
        self.garbage = False
        self.empty_body = False
        self.projects = {PROJECT_ID}
        self._failures: list[tuple[int, str]] = []
        self.requests: list[dict[str, str]] = []
        self.accepted: list[dict[str, str]] = []
        self.rejected: list[dict[str, str]] = []
        self._health: dict[tuple[str, str], Optional[int]] = {}
        self._calls_per_ulb: dict[str, int] = {}
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> FakeUCloudAPI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # keep the test output (and stderr checks) clean

            def do_GET(self) -> None:  # noqa: N802
                parts = urllib.parse.urlsplit(self.path)
                if parts.path.startswith(METADATA_PREFIX):
                    item = parts.path[len(METADATA_PREFIX) :]
                    value = fake.metadata.get(item)
                    if value is None:
                        self._send(404, b"not found", "text/plain")
                    else:
                        self._send(200, value.encode(), "text/plain")
                    return
                params = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
                self._answer(params)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                ctype = self.headers.get("Content-Type", "")
                if ctype.startswith("application/json"):
                    params = {k: str(v) for k, v in json.loads(body or "{}").items()}
                else:
                    params = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
                self._answer(params)

            def _answer(self, params: dict[str, str]) -> None:
                answer = fake.handle(params)  # recorded at once, even when answered late
                if fake.delay:
                    fake._release.wait(fake.delay)
                if fake.http_status is not None:
                    self._send(fake.http_status, b"", "text/plain")
                elif fake.empty_body:
                    self._send(200, b"", "application/json")
                elif fake.garbage:
                    self._send(200, b"<html><body>Welcome</body></html>", "text/html")
                else:
                    self._send(200, json.dumps(answer).encode(), "application/json")

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (timeout test)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # no tracebacks on stderr

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeUCloudAPI:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metadata_url(self) -> str:
        return f"{self.url}{METADATA_PREFIX.rstrip('/')}"

    # ---------------------------------------------------------------- behaviour

    def fail_next(self, code: int, message: str, times: int = 1) -> None:
        self._failures.extend([(code, message)] * times)

    def set_health(self, ulb_id: str, ip: str, healthy_after: Optional[int]) -> None:
        self._health[(ulb_id, ip)] = healthy_after

    def calls(self, ulb_id: str) -> int:
        return self._calls_per_ulb.get(ulb_id, 0)

    def handle(self, params: dict[str, str]) -> dict:
        with self._lock:
            self.requests.append(dict(params))
            action = params.get("Action")
            response_action = f"{action}Response" if action else "Response"

            def error(code: int, message: str) -> dict:
                return {"Action": response_action, "RetCode": code, "Message": message}

            private_key = self.keys.get(params.get("PublicKey", ""))
            if private_key is None:
                self.rejected.append(dict(params))
                return error(172, "User Not Exists")
            expected = signature(params, private_key)
            if not hmac.compare_digest(expected, params.get("Signature", "")):
                self.rejected.append(dict(params))
                return error(171, "Signature VerifyAC Error")
            self.accepted.append(dict(params))
            if not action:
                return error(_RETCODE_MISSING_ACTION, "Missing Action")
            if action != "DescribeULB":
                return error(_RETCODE_UNKNOWN_ACTION, f"Action [{action}] not exist")
            if self.forced_error is not None:
                return error(*self.forced_error)
            if self._failures:
                return error(*self._failures.pop(0))
            project = params.get("ProjectId")
            if project and project not in self.projects:
                return error(RETCODE_NO_PROJECT, "项目不存在")
            region = params.get("Region")
            if region != self.region and region not in OTHER_REGIONS:
                return error(RETCODE_BAD_REGION, "Params [Region] not available")
            return self._describe_ulb(params, response_action)

    def _describe_ulb(self, params: dict[str, str], response_action: str) -> dict:
        clbs = self.clbs if params.get("Region") == self.region else []
        if params.get("VPCId"):
            clbs = [c for c in clbs if c.get("VPCId") == params["VPCId"]]
        ulb_id = params.get("ULBId")
        if ulb_id:
            found = [self._view(c) for c in clbs if c["ULBId"] == ulb_id]
            return {
                "Action": response_action,
                "RetCode": 0,
                "TotalCount": len(found),
                "DataSet": found,
            }
        offset = int(params.get("Offset") or 0)
        limit = int(params.get("Limit") or 20)
        if self.fail_at_offset is not None and offset == self.fail_at_offset:
            return {"Action": response_action, "RetCode": 5000, "Message": "Internal Error"}
        page = [copy.deepcopy(c) for c in clbs[offset : offset + limit]]
        return {
            "Action": response_action,
            "RetCode": 0,
            "TotalCount": len(clbs) + self.total_count_extra,
            "DataSet": page,
        }

    def _view(self, clb_: dict) -> dict:
        """The CLB as answered now: one more call counted, health flips applied."""
        ulb_id = clb_["ULBId"]
        calls = self._calls_per_ulb.get(ulb_id, 0) + 1
        self._calls_per_ulb[ulb_id] = calls
        view = copy.deepcopy(clb_)
        for vs in view["VServerSet"]:
            for b in vs["BackendSet"]:
                key = (ulb_id, b["PrivateIP"])
                if key in self._health:
                    after = self._health[key]
                    b["Status"] = 0 if after is not None and calls >= after else 1
        return view


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Serve the sample CLBs until killed; print the base URL first (for tests that run
    the wizard in another network namespace, where the fake must run too)."""
    import argparse
    import time

    parser = argparse.ArgumentParser()
    parser.add_argument("--key", required=True, help="PUBLIC=PRIVATE")
    parser.add_argument("--tricky", action="store_true", help="also serve tricky_clbs()")
    parser.add_argument("--fail", metavar="CODE:N", help="fail the first N requests")
    args = parser.parse_args(argv)
    public, _, private = args.key.partition("=")
    clbs = sample_clbs() + (tricky_clbs() if args.tricky else [])
    with FakeUCloudAPI(keys={public: private}, clbs=clbs, metadata=instance_metadata()) as fake:
        if args.fail:
            code, _, times = args.fail.partition(":")
            fake.fail_next(int(code), FETCH_FAILED[1] if int(code) == FETCH_FAILED[0]
                           else "Service Unavailable", int(times or 1))
        print(fake.url, flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
