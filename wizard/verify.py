"""What "working" means, as facts read from the host, not exit codes.

Checks (a failure fails the transaction): each VIP is on lo as /32; the kernel routes
it locally; the persistent config re-reads to exactly the VIPs. Warnings (shown, never
fatal): ARP sysctls, strict rp_filter with several NICs, a service on a given port that
listens on 127.0.0.1 only (it would never see traffic for the VIP).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from clb_wizard.facts import HostAddresses, read_addresses, read_sysctl, route_types
from clb_wizard.methods import get_method
from clb_wizard.methods.base import LoAddress
from clb_wizard.plan import gather
from clb_wizard.platform import Platform
from clb_wizard.runner import Runner


@dataclass(frozen=True)
class Fact:
    name: str
    ok: bool
    detail: str
    fatal: bool = True  # False: a warning

    def to_json(self) -> dict:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "fatal": self.fatal}


@dataclass(frozen=True)
class Verification:
    facts: tuple[Fact, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.facts if f.fatal)

    @property
    def failures(self) -> list[Fact]:
        return [f for f in self.facts if f.fatal and not f.ok]

    @property
    def warnings(self) -> list[Fact]:
        return [f for f in self.facts if not f.fatal and not f.ok]

    def plus(self, *facts: Fact) -> Verification:
        """These facts and `facts` (e.g. the CLB's own view of this host, after apply)."""
        return Verification((*self.facts, *facts))

    def to_json(self) -> dict:
        return {"ok": self.ok, "facts": [f.to_json() for f in self.facts]}

    def summary(self) -> str:
        return "; ".join(f"{f.name}: {f.detail}" for f in self.failures) or "all checks passed"


def kernel_facts(runner: Runner, vips: Sequence[str], addresses: HostAddresses) -> list[Fact]:
    facts = []
    on_lo = {a.address: a for a in addresses.lo if a.family == "inet"}
    routes = route_types(runner, vips)
    for vip in vips:
        addr = on_lo.get(vip)
        if addr is None:
            facts.append(Fact(f"{vip} on lo", False, "not an address of lo"))
        elif addr.prefixlen != 32:
            facts.append(Fact(f"{vip} on lo", False, f"on lo as /{addr.prefixlen}, not /32"))
        else:
            facts.append(Fact(f"{vip} on lo", True, f"{vip}/32 on lo (label {addr.label})"))
        kind = routes.get(vip)
        facts.append(Fact(f"{vip} routed locally", kind == "local",
                          f"ip route get {vip}: {kind or 'no route'}"))
    return facts


def config_facts(runner: Runner, platform: Platform, vips: Sequence[str],
                 foreign: Sequence[str] = ()) -> list[Fact]:
    """Our files re-parse to exactly the VIPs (less those a foreign file already holds),
    and the method's own tool reads the same back where it has a reader."""
    method = get_method(platform.method)
    files = {p: s.text for p, s in gather(runner, platform.method).items()}
    expected = sorted(v for v in vips if v not in foreign)
    ours = sorted(method.configured_vips(files))
    facts = [Fact("config re-reads", ours == expected,
                  f"{method.title}: {', '.join(ours) or 'no VIPs'}"
                  + ("" if ours == expected else f" (expected {', '.join(expected)})"))]
    by_tool = method.reread(runner, files)
    if by_tool is not None:
        facts.append(Fact(f"{platform.method} reads it back", sorted(by_tool) == expected,
                          ", ".join(by_tool) or "no VIPs"))
    return facts


def sysctl_facts(addresses: HostAddresses) -> list[Fact]:
    facts = []
    ignore = read_sysctl("net.ipv4.conf.all.arp_ignore")
    announce = read_sysctl("net.ipv4.conf.all.arp_announce")
    facts.append(Fact("ARP sysctls", ignore == "1" and announce == "2",
                      f"arp_ignore={ignore} arp_announce={announce}"
                      + ("" if ignore == "1" and announce == "2" else
                         ": the backend may answer ARP for the VIP; set 1 and 2 "
                         "(--arp-sysctls)"), fatal=False))
    nics = [name for name, addrs in addresses.others.items() if addrs]
    strict = [n for n in ["all", *nics] if read_sysctl(f"net.ipv4.conf.{n}.rp_filter") == "1"]
    if len(nics) > 1:
        facts.append(Fact("rp_filter", not strict,
                          "strict rp_filter on " + ", ".join(strict) + " with several NICs: "
                          "replies on an asymmetric path may be dropped; use 2 (loose)"
                          if strict else "not strict", fatal=False))
    return facts


def port_facts(runner: Runner, ports: Sequence[int]) -> list[Fact]:
    """A listener bound to 127.0.0.1 only never sees packets addressed to the VIP."""
    if not ports:
        return []
    out = runner.query(["ss", "-Hltn"])
    listening: dict[int, list[str]] = {}
    for line in out.stdout.splitlines() if out.ok else []:
        cols = line.split()
        if len(cols) >= 4:
            host, _, port = cols[3].rpartition(":")
            if port.isdigit():
                listening.setdefault(int(port), []).append(host.strip("[]"))
    facts = []
    for port in ports:
        hosts = listening.get(port, [])
        local_only = bool(hosts) and all(h.startswith("127.") or h == "::1" for h in hosts)
        detail = ("nothing listens on it" if not hosts else
                  f"listens on {', '.join(hosts)}" + (" only: bind it to 0.0.0.0 or the VIP"
                                                        if local_only else ""))
        facts.append(Fact(f"port {port}", bool(hosts) and not local_only, detail, fatal=False))
    return facts


def kept_facts(keep: Sequence[LoAddress], addresses: HostAddresses) -> list[Fact]:
    """The addresses lo had before, which the change must not take away."""
    if not keep:
        return []
    now = {(a.address, a.prefixlen) for a in addresses.lo}
    lost = [a.cidr for a in keep if (a.address, a.prefixlen) not in now]
    return [Fact("lo's other addresses kept", not lost,
                 "all still on lo" if not lost else "gone from lo: " + ", ".join(lost))]


def verify(
    runner: Runner,
    platform: Platform,
    vips: Sequence[str],
    *,
    ports: Sequence[int] = (),
    foreign: Sequence[str] = (),
    keep: Sequence[LoAddress] = (),
    gone: Sequence[str] = (),
) -> Verification:
    """`keep`: addresses that must still be on lo; `gone`: VIPs the change removed."""
    addresses = read_addresses(runner)
    facts = kernel_facts(runner, vips, addresses)
    facts += kept_facts(keep, addresses)
    on_lo = {a.address for a in addresses.lo}
    facts += [Fact(f"{vip} removed", vip not in on_lo,
                   "no longer on lo" if vip not in on_lo else "still on lo") for vip in gone]
    facts += config_facts(runner, platform, vips, foreign)
    facts += sysctl_facts(addresses)
    facts += port_facts(runner, ports)
    return Verification(tuple(facts))
