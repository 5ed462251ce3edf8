"""Adding a stack, end to end: a toy stack defined in this file and nowhere else.

The README's "Adding a stack" walks through this file. The toy is `toynet`, a made-up
network tool: a shell script (TOYNET below) that keeps lo's extra addresses in
/etc/toynet/lo.conf, one per line; `toynet up` puts them on lo with the real `ip`,
`toynet down VIP` takes one off, `toynet show` prints what the file holds. Its stack is
installed when /usr/local/sbin/toynet exists, and in use when /etc/toynet/enabled does.

`ToyMethod` declares that (its facts), says what no release ships of it (its stock
stack), when it fits, and renders, activates and reads back. `methods.registered` adds
it for the time of a test: detection finds it on a fixture root, planning plans it, and
in a namespace sandbox the real CLI (started with the toy registered) applies it with
the one transaction engine, verifies it (the kernel, then the config read back by
`toynet show`), and rolls it back, with no edit anywhere outside this file.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator, Mapping
from typing import Any, Optional

import pytest

from clb_wizard import methods
from clb_wizard.methods import base
from clb_wizard.methods.probes import AllOf, Fact, Paths
from clb_wizard.platform import NetworkStack, Release, detect, with_method
from clb_wizard.runner import Runner
from clb_wizard.service import Options, Service
from tests.fixtures.roots import VIP1, VIP2, make_root, tree_digest, write

pytestmark = pytest.mark.live

TOOL = "/usr/local/sbin/toynet"
ENABLED = "/etc/toynet/enabled"
CONF = "/etc/toynet/lo.conf"
TOYNET = r"""#!/bin/sh
# toynet: the toy stack's tool (tests/live/test_toy_stack.py)
set -eu
conf=/etc/toynet/lo.conf
case "${1:-}" in
    up) sed '/^#/d' "$conf" | while read -r vip; do
            [ -z "$vip" ] || ip addr replace "$vip/32" dev lo
        done ;;
    down) ip addr del "$2/32" dev lo ;;
    show) [ ! -e "$conf" ] || sed '/^#/d' "$conf" ;;
    *) echo "usage: toynet up | down VIP | show" >&2; exit 2 ;;
esac
"""


def vips_in(text: Optional[str]) -> list[str]:
    return [line.strip() for line in (text or "").splitlines()
            if line.strip() and not line.startswith("#")]


class ToyMethod(base.Method):
    name = "toynet"
    title = "toynet (the tests' toy stack)"
    watch_files = (CONF,)  # what planning reads of the host
    # installed and in use: both paths (a Fact is a field of the NetworkStack)
    facts = (Fact("toynet", AllOf(Paths("toynet", (TOOL,)), Paths("toynet_enabled", (ENABLED,)))),)
    tool_present = {"toynet": True}  # what `--method toynet` assumes in an --os preview

    def stock_stack(self, release: Release, version: str) -> Mapping[str, Any]:
        return {"toynet": False}  # no release ships it

    def describe_stack(self, stack: NetworkStack) -> Optional[str]:
        return "toynet" if stack.toynet else None

    def fits(self, release: Release, stack: NetworkStack) -> base.Fit:
        if stack.toynet:
            return base.Fit(True, f"toynet is installed and enabled: {CONF}")
        return base.Fit(False, "toynet is not installed or not enabled")

    def configured_vips(self, files: base.Files) -> list[str]:
        text = files.get(CONF)
        return vips_in(text) if base.is_ours(text) else []

    def render(self, given: base.RenderInput) -> base.Rendered:
        existing = given.current.get(CONF)
        if existing is not None and not base.is_ours(existing):
            raise base.MethodError(f"{CONF} exists and is not clb-wizard's.")
        if not given.vips:
            return base.Rendered({CONF: None} if existing is not None else {})
        return base.Rendered({CONF: base.header() + "".join(f"{vip}\n" for vip in given.vips)},
                        {CONF: 0o644})

    def transition(self, move: base.TransitionInput) -> base.Transition:
        old, new = self.configured_vips(move.before), self.configured_vips(move.after)
        missing = [v for v in new if v not in move.live]
        if move.before.get(CONF) == move.after.get(CONF) and not missing:
            return base.Transition()
        up = (base.cmd("put the VIPs of lo.conf on lo", "toynet", "up"),) if new else ()
        down = tuple(base.Command(("toynet", "down", v), f"take {v} off lo", check=False)
                     for v in old
                     if v not in new and v not in move.preserve and v in move.live)
        return base.Transition(activate=up + down)

    def reread(self, runner: Runner, files: base.Files) -> Optional[list[str]]:
        out = runner.query(["toynet", "show"])
        return out.stdout.split() if out.ok else [f"(toynet show failed: {out.describe()})"]


@contextlib.contextmanager
def toy_registered() -> Iterator[base.Method]:
    """The toy as Debian's own tool (and any other Linux's), for the `with` block only."""
    with methods.registered(ToyMethod(), preferred_by=("debian", "linux")) as toy:
        yield toy


def toy_root(tmp_path, enabled: bool = True):
    root = make_root(tmp_path, "debian-12", name="toy-" + ("on" if enabled else "off"))
    write(root, TOOL, TOYNET, 0o755)
    if enabled:
        write(root, ENABLED, "")
    return root


# -- detected and planned from a fixture root ----------------------------------------------
def test_the_toy_is_detected_from_a_fixture_root(tmp_path):
    root = toy_root(tmp_path)
    with toy_registered():
        platform = detect(Runner(root=root))
        assert platform.method == "toynet"
        assert platform.reasons == (f"toynet is installed and enabled: {CONF}",)
        assert platform.stack.toynet and platform.to_json()["stack"]["toynet"] is True
        assert platform.stack.describe() == "ifupdown, systemd-networkd 252, toynet"
        # installed but not in use: Debian's own ifupdown, as without the toy
        assert detect(Runner(root=toy_root(tmp_path, enabled=False))).method == "ifupdown"
    # gone with the block: nothing of it stays registered
    assert detect(Runner(root=root)).method == "ifupdown"
    assert "toynet" not in detect(Runner(root=root)).to_json()["stack"]
    assert "toynet" not in methods.REGISTRY and "toynet" not in methods.PREFERENCES["debian"]


def test_the_toy_is_planned_from_a_fixture_root(tmp_path):
    root = toy_root(tmp_path)
    before = tree_digest(root)
    with toy_registered():
        plan = Service(root).plan(Options(vips=(VIP1, VIP2)))
        assert plan.method == "toynet"
        assert [(c.path, c.after) for c in plan.files] == [
            (CONF, base.header() + f"{VIP1}\n{VIP2}\n")]
        assert [c.argv for c in plan.commands] == [("toynet", "up")]
        # an --os preview: no release ships it, so `--method` assumes it installed
        preview = detect(Runner(root=tmp_path), "debian-12")
        assert preview.method == "ifupdown" and not preview.stack.toynet
        forced = with_method(preview, "toynet")
        assert forced.stack.toynet and forced.method == "toynet"
    assert tree_digest(root) == before  # planning wrote nothing


# -- applied, verified and rolled back in a namespace sandbox ---------------------------------
WIZARD = ("import sys\n"
          "from tests.live.test_toy_stack import toy_registered\n"
          "from clb_wizard.cli import main\n"
          "with toy_registered():\n"
          "    sys.exit(main(sys.argv[1:]))\n")
PRE_EXISTING = "192.0.2.50/32"


def toy_wizard(sandbox, *args: str):
    """The real clb-wizard CLI inside the sandbox, started with the toy registered."""
    path = "/usr/local/sbin:" + sandbox.env()["PATH"]
    return sandbox.run([sys.executable, "-c", WIZARD, *args], env={"PATH": path})


def test_the_toy_is_applied_verified_and_rolled_back_in_a_namespace(sandbox):
    # this host, in the sandbox, with toynet installed and in use (/usr/local/sbin is a
    # tmpfs inside the sandbox's mount namespace; /etc is its overlay)
    sandbox.sh(f"mkdir -p {TOOL.rsplit('/', 1)[0]} && mount -t tmpfs toy {TOOL.rsplit('/', 1)[0]}",
               check=True)
    sandbox.write(TOOL, TOYNET, 0o755)
    sandbox.write(ENABLED, "")
    sandbox.run(["ip", "addr", "add", PRE_EXISTING, "dev", "lo", "label", "lo:9"], check=True)
    lo_before = sandbox.lo_addresses()

    detected = toy_wizard(sandbox, "detect", "--json")
    assert detected.returncode == 0, detected.stderr
    assert json.loads(detected.stdout)["method"] == "toynet"

    applied = toy_wizard(sandbox, "apply", "--vip", VIP1, "--vip", VIP2, "--yes", "--json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    outcome = json.loads(applied.stdout)
    assert outcome["status"] == "applied" and outcome["plan"]["method"] == "toynet"
    facts = {f["name"]: f for f in outcome["verification"]["facts"]}
    assert facts["toynet reads it back"]["ok"], facts  # the toy's own tool read it back
    assert facts[f"{VIP1} on lo"]["ok"] and facts[f"{VIP2} routed locally"]["ok"]
    assert {f"{VIP1}/32", f"{VIP2}/32", PRE_EXISTING} <= sandbox.lo_addresses()
    assert vips_in(sandbox.read(CONF).decode()) == [VIP1, VIP2]

    verified = toy_wizard(sandbox, "verify", "--json")
    assert verified.returncode == 0 and json.loads(verified.stdout)["verification"]["ok"]
    again = toy_wizard(sandbox, "apply", "--vip", VIP1, "--vip", VIP2, "--yes", "--json")
    assert json.loads(again.stdout)["status"] == "no-change", again.stdout

    rolled = toy_wizard(sandbox, "rollback", "--json")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert sandbox.read(CONF) is None
    assert sandbox.lo_addresses() == lo_before  # the VIPs gone, 192.0.2.50 kept
