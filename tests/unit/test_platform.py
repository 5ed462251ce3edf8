"""OS and network-stack detection (wizard/platform.py) on fixture roots, and --os."""

from __future__ import annotations

import copy
import json
import os
import pickle
from dataclasses import dataclass, field

import pytest

from clb_wizard import methods
from clb_wizard.methods import get_method
from clb_wizard.methods.probes import (
    AllOf,
    AnyOf,
    Ask,
    Fact,
    Live,
    Look,
    Not,
    Paths,
    Ref,
    named_paths,
)
from clb_wizard.platform import (
    KNOWN_RELEASES,
    STACK_PROBES,
    NetworkStack,
    Platform,
    PlatformError,
    detect,
    detect_stack,
    parse_os_arg,
    release_key,
    release_of,
    stock_stack,
    with_method,
)
from clb_wizard.runner import CommandResult, Runner
from clb_wizard.service import Options, Service
from tests.fixtures.roots import (
    LINUX_KEYS,
    RELEASE_KEYS,
    SPECS,
    make_root,
    os_release_text,
    tree_digest,
    write,
)


def detect_root(root, os_override=None):
    return detect(Runner(root=root), os_override)


@pytest.mark.parametrize("key", LINUX_KEYS)
def test_every_release_is_detected_from_its_root(tmp_path, key):
    spec = SPECS[key]
    platform = detect_root(make_root(tmp_path, key))
    assert platform.detected is True
    assert platform.method == spec.method, platform.reasons
    assert platform.packages == spec.packages
    # distro lower-cases the ID and renames some ("opensuse-leap" -> "opensuse")
    assert platform.os_id == {"opensuse-leap": "opensuse"}.get(
        spec.os_release["ID"].lower(), spec.os_release["ID"].lower())
    assert platform.version == spec.os_release.get("VERSION_ID", "")
    assert platform.name == spec.os_release["PRETTY_NAME"]
    assert platform.release == (spec.release or {"rocky-9.1": "rocky-9"}.get(key, key))
    assert platform.family == (spec.family or (
        "rhel" if spec.os_release["ID"] not in ("ubuntu", "debian") else "debian"))
    assert platform.reasons, "the method must come with a reason"
    assert platform.reasons[0] == get_method(spec.method).fits(
        release_of(platform), platform.stack).reason, "the first reason says why it fits"
    if spec.networkd:
        assert platform.stack.networkd_version == spec.networkd


@pytest.mark.parametrize("key", RELEASE_KEYS)
def test_every_release_via_os(tmp_path, key):
    spec = SPECS[key]
    platform = detect(Runner(root=tmp_path), key)
    assert platform.detected is False
    assert platform.method == spec.method
    assert platform.packages == spec.packages
    assert platform.key == key


def test_detection_follows_what_is_installed_not_the_name(tmp_path):
    # Rocky 8 with network-scripts installed: ifcfg, nothing to install.
    rocky8 = detect_root(make_root(tmp_path, "rocky-8", also=("network-scripts",)))
    assert (rocky8.method, rocky8.packages) == ("ifcfg", ())
    assert rocky8.stack.network_scripts
    # Rocky 9 that still carries network-scripts: NetworkManager >= 1.42 manages lo.
    rocky9 = detect_root(make_root(tmp_path, "rocky-9", also=("network-scripts",)))
    assert rocky9.method == "networkmanager"
    # A Debian 13 server install (ifupdown, no netplan) is not a cloud image.
    server = detect_root(make_root(tmp_path, "debian-13", without=("netplan",),
                                   also=("ifupdown",)))
    assert server.method == "ifupdown"
    # Debian 12 with netplan.io installed but /etc/netplan empty (like these test
    # machines): ifupdown still configures it.
    d12 = make_root(tmp_path, "debian-12", also=("netplan",), name="d12-netplan")
    (d12 / "etc/netplan/50-cloud-init.yaml").unlink()
    assert detect_root(d12).method == "ifupdown"
    # Ubuntu 18.04 with ifupdown installed too: netplan has the files, so netplan.
    both = detect_root(make_root(tmp_path, "ubuntu-18.04", also=("ifupdown",)))
    assert both.method == "netplan"
    # Ubuntu 22.04 with netplan installed but no files and no ifupdown: netplan, when
    # systemd-networkd (its renderer) is enabled, as Ubuntu ships it.
    bare = make_root(tmp_path, "ubuntu-22.04", name="u22-bare")
    (bare / "etc/netplan/50-cloud-init.yaml").unlink()
    wants = bare / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)  # the family fixture may enable it already
    if not os.path.lexists(wants / "systemd-networkd.service"):
        (wants / "systemd-networkd.service").symlink_to(
            "/lib/systemd/system/systemd-networkd.service")
    assert detect_root(bare).method == "netplan"
    # ... but not where networkd is disabled (Debian's netplan.io as installed, issue 13:
    # `networkctl reload` fails there): the systemd unit, proven by boots in tests/boot.
    (wants / "systemd-networkd.service").unlink()
    (bare / "etc/systemd/system/dbus-org.freedesktop.network1.service").unlink(missing_ok=True)
    assert not detect_root(bare).stack.networkd_enabled
    assert detect_root(bare).method == "systemd-unit"


def test_ifupdown_needs_its_interfaces_file(tmp_path):
    root = make_root(tmp_path, "debian-12")
    (root / "etc/network/interfaces").unlink()
    platform = detect_root(root)
    assert not platform.stack.ifupdown
    assert platform.method == "systemd-unit"


def test_network_scripts_ifup_is_not_mistaken_for_ifupdown(tmp_path):
    platform = detect_root(make_root(tmp_path, "centos-7"))
    assert platform.stack.network_scripts and not platform.stack.ifupdown


def test_a_linux_root_without_any_known_tool_is_refused(tmp_path):
    root = make_root(tmp_path, "debian-12", without=("ifupdown", "networkd", "systemd"))
    with pytest.raises(PlatformError) as info:
        detect_root(root)
    assert "ifupdown" in str(info.value) and "netplan" in str(info.value)


def test_debian_without_netplan_or_ifupdown_falls_back_to_a_systemd_unit(tmp_path):
    platform = detect_root(make_root(tmp_path, "debian-12", without=("ifupdown",)))
    assert platform.method == "systemd-unit"


@pytest.mark.parametrize(
    "version, nm, method",
    [("9.0", "1.36.0", "systemd-unit"), ("9.1", "1.40.0", "systemd-unit"),
     ("9.2", None, "networkmanager"), ("9.4", None, "networkmanager")],
)
def test_rhel9_minor_releases_follow_networkmanager_1_42(tmp_path, version, nm, method):
    via_os = detect(Runner(root=tmp_path), f"rocky-{version}")
    assert via_os.method == method
    if nm:
        assert via_os.stack.nm_version == nm
        assert any("1.42" in reason for reason in via_os.reasons)


def test_unknown_os_via_flag_lists_what_is_supported(tmp_path):
    for value in ("fedora-40", "ubuntu-23.10", "centos-6", "debian-9"):
        with pytest.raises(PlatformError) as info:
            detect(Runner(root=tmp_path), value)
        assert value in str(info.value)
        assert "rocky-9" in str(info.value) and "ubuntu-24.04" in str(info.value)
    for value in ("rocky", "rocky-", "9", "ubuntu-22.04;reboot", "rocky-9.x"):
        with pytest.raises(PlatformError, match="ID-VERSION"):
            parse_os_arg(value)


def test_an_unknown_linux_with_systemd_gets_the_unit_and_a_note(tmp_path):
    """Issue 14: an OS clb-wizard has no name for is taken by its stack, not refused."""
    platform = detect_root(make_root(tmp_path, "foolinux-1"))
    assert (platform.method, platform.family) == ("systemd-unit", "linux")
    assert any("not recognised: Foo Linux 1.0" in r and "'foolinux'" in r
               for r in platform.reasons), platform.reasons


def test_a_linux_without_systemd_or_a_known_stack_is_refused_with_manual_steps(tmp_path):
    root = tmp_path / "barlinux"
    write(root, "/etc/os-release", os_release_text({
        "NAME": "Bar Linux", "ID": "barlinux", "VERSION_ID": "2",
        "PRETTY_NAME": "Bar Linux 2"}))
    before = tree_digest(root)
    with pytest.raises(PlatformError) as info:
        Service(root).plan(Options(vips=("203.0.113.10", "203.0.113.11")))
    message = str(info.value)
    assert "no systemd" in message and "Nothing was changed" in message
    assert "ip addr add 203.0.113.10/32 dev lo label lo:1" in message
    assert "ip addr add 203.0.113.11/32 dev lo label lo:2" in message
    assert "arp_ignore=1" in message and "/etc/local.d/" in message
    assert tree_digest(root) == before
    with pytest.raises(PlatformError, match="ip addr add VIP/32"):  # detect: no VIPs yet
        detect_root(root)


def test_a_root_without_os_release_says_to_pass_os(tmp_path):
    root = make_root(tmp_path, "windows")
    with pytest.raises(PlatformError) as info:
        detect_root(root)
    assert "os-release" in str(info.value) and "--os" in str(info.value)
    assert detect_root(root, "windows").method == "windows"


def test_rhel_rebuilds_are_recognised_through_id_like(tmp_path):
    # Oracle Linux: os-release ID "ol", which distro reports as "oracle".
    root = tmp_path / "ol9"
    write(root, "/etc/os-release", os_release_text({
        "NAME": "Oracle Linux Server", "VERSION": "9.4", "ID": "ol", "ID_LIKE": "fedora",
        "VERSION_ID": "9.4", "PRETTY_NAME": "Oracle Linux Server 9.4"}))
    write(root, "/usr/sbin/NetworkManager", "")
    write(root, "/usr/lib/systemd/systemd", "")
    platform = detect_root(root)
    assert (platform.release, platform.method) == ("rhel-9", "networkmanager")
    assert release_key("opencloudos", "9.0", "") == "opencloudos-9"
    assert release_key("miraclelinux", "9.2", "rhel fedora") == "rhel-9"
    assert release_key("anything", "8.6", "rhel centos fedora") == "rhel-8"
    assert release_key("raspbian", "12", "debian") == "debian-12"
    assert release_key("ubuntu", "22.04") == "ubuntu-22.04"
    assert release_key("ubuntu", "23.10") is None


def test_with_method_refuses_methods_that_cannot_work(tmp_path):
    rocky8 = detect_root(make_root(tmp_path, "rocky-8"))
    with pytest.raises(PlatformError, match="1.42"):
        with_method(rocky8, "networkmanager")
    rocky9 = detect_root(make_root(tmp_path, "rocky-9"))
    with pytest.raises(PlatformError, match="network-scripts"):
        with_method(rocky9, "ifcfg")
    with pytest.raises(PlatformError, match="does not apply"):
        with_method(rocky9, "windows")
    with pytest.raises(PlatformError, match="Unknown method"):
        with_method(rocky9, "bogus")
    forced = with_method(rocky9, "systemd-unit")
    assert forced.method == "systemd-unit" and forced.packages == ()
    centos8 = with_method(detect(Runner(root=tmp_path), "centos-8"), "ifcfg")
    assert centos8.packages == ("network-scripts",)


def test_the_known_releases_cover_the_issue_list():
    for key in ("centos-7", "rocky-8", "rocky-9", "ubuntu-16.04", "ubuntu-20.04",
                "ubuntu-24.04", "debian-10", "debian-12", "windows"):
        assert key in KNOWN_RELEASES


def test_detect_json_shape(tmp_path):
    data = detect_root(make_root(tmp_path, "ubuntu-20.04")).to_json()
    assert data["method"] == "netplan" and data["os_id"] == "ubuntu"
    assert set(data["stack"]) >= {"netplan", "netplan_configured", "ifupdown",
                                  "network_scripts", "networkmanager", "nm_version",
                                  "networkd_version", "systemd"}
    assert data["stack"]["networkd_version"] == 245


def test_netplan_needs_a_renderer_that_runs_here(tmp_path):
    """Issue 13: Debian 12 with netplan.io installed, systemd-networkd not enabled and no
    YAML yet: netplan would fail at `networkctl reload`, so the next method is chosen."""
    root = make_root(tmp_path, "debian-12", also=("netplan",), without=("ifupdown",))
    (root / "etc/netplan/50-cloud-init.yaml").unlink()
    platform = detect_root(root)
    assert platform.method == "systemd-unit"
    assert any("systemd-networkd" in r and "neither enabled nor running" in r
               for r in platform.reasons)
    # once networkd is enabled, netplan fits
    enabled = make_root(tmp_path, "debian-12", name="enabled",
                        also=("netplan", "networkd-enabled"), without=("ifupdown",))
    (enabled / "etc/netplan/50-cloud-init.yaml").unlink()
    assert detect_root(enabled).method == "netplan"
    # a netplan configuration rendered by networkd: netplan's generator enables it at boot
    assert detect_root(make_root(tmp_path, "debian-13")).method == "netplan"


def test_netplan_with_networkmanager_as_renderer_is_not_netplan_for_lo(tmp_path):
    root = make_root(tmp_path, "ubuntu-22.04", without=("networkd-enabled",))
    write(root, "/etc/netplan/01-network-manager-all.yaml",
          "network:\n  version: 2\n  renderer: NetworkManager\n", 0o600)
    (root / "etc/netplan/50-cloud-init.yaml").unlink()
    platform = detect_root(root)
    assert platform.stack.netplan_renderer == "NetworkManager"
    assert platform.method == "systemd-unit"  # no NetworkManager >= 1.42 in this root


def test_netplan_reads_yaml_only_in_detection(tmp_path):
    from clb_wizard.methods.netplan import CONFIG_PATTERN

    root = make_root(tmp_path, "ubuntu-22.04")
    (root / "etc/netplan/50-cloud-init.yaml").rename(root / "etc/netplan/50-cloud-init.yml")
    assert detect_root(root).stack.netplan_configured is False
    assert CONFIG_PATTERN == "*.yaml"


def test_reasons_say_why_the_preferred_methods_were_passed_over(tmp_path):
    platform = detect(Runner(root=tmp_path), "rocky-9.1")
    assert platform.method == "systemd-unit"
    assert platform.reasons[0].startswith("systemd is the init system")
    assert any(r.startswith("not networkmanager:") and "1.42" in r for r in platform.reasons)
    assert any(r.startswith("not ifcfg:") for r in platform.reasons)


def test_openeuler_with_a_rocky_9_stack_is_networkmanager(tmp_path):
    """The issue's report: openEuler 22.03 whose stack is a Rocky 9 one (NetworkManager
    1.48 and nmcli) was "Unsupported OS"; it follows its stack now."""
    root = make_root(tmp_path, "openeuler-22.03", without=("nm-lib-1.32.12", "ifcfg-rh"),
                     also=("nm-lib-1.48.10", "nm-keyfile-eth0"))
    platform = detect_root(root)
    assert (platform.family, platform.method) == ("rhel", "networkmanager")
    assert platform.stack.nm_version == "1.48.10"
    assert platform.reasons[0].startswith("NetworkManager 1.48.10 manages lo")


def test_debian_with_networkd_enabled_and_no_netplan_is_networkd(tmp_path):
    """A Debian root whose admin enabled systemd-networkd (ifupdown still installed, no
    netplan): networkd's own .network file, not ifupdown."""
    platform = detect_root(make_root(tmp_path, "debian-12", also=("networkd-enabled",)))
    assert platform.method == "networkd"
    assert platform.reasons[0].startswith("systemd-networkd is enabled and there is no netplan")


def test_uos_and_kylin_follow_their_package_manager(tmp_path):
    server = detect_root(make_root(tmp_path, "uos-20"))
    desktop = detect_root(make_root(tmp_path, "uos-20-desktop"))
    assert (server.family, desktop.family) == ("rhel", "debian")
    assert (server.method, desktop.method) == ("ifcfg", "ifupdown")


# -- detection generated from the methods' declarations (issue 22) ---------------------------
@dataclass
class LiveRunner(Runner):
    """A fixture root taken for this very host: detection asks its commands, answered here
    (nmcli, networkctl, systemctl cannot be run against a fixture root)."""

    answers: dict = field(default_factory=dict)
    asked: list = field(default_factory=list)

    @property
    def is_live_root(self) -> bool:
        return True

    def query(self, argv, timeout=None, input=None):
        self.asked.append(tuple(argv))
        out, code = self.answers.get(tuple(argv), ("", 127))
        return CommandResult(tuple(argv), code, stdout=out)


def test_on_this_very_host_the_binaries_are_asked(tmp_path):
    root = make_root(tmp_path, "ubuntu-22.04", without=("networkd-enabled",))
    runner = LiveRunner(root=root, answers={
        ("nmcli", "--version"): ("nmcli tool, version 1.46.0\n", 0),
        ("networkctl", "--version"): ("systemd 249 (249.11-0ubuntu3.12)\n+PAM +AUDIT\n", 0),
        ("systemctl", "is-active", "--quiet", "systemd-networkd"): ("", 0),
    })
    stack = detect_stack(runner)
    assert (stack.nm_version, stack.networkmanager) == ("1.46.0", True)  # nmcli alone says
    assert stack.networkd_version == 249 and stack.networkd_enabled  # running, not linked
    # off this host, the same root says none of that
    off = detect_stack(Runner(root=root))
    assert (off.nm_version, off.networkmanager, off.networkd_version) == (None, False, None)
    assert not off.networkd_enabled


@pytest.mark.parametrize("systemd_pid1, networkctl_says, running", [
    (True, "IDX LINK TYPE\n  1 lo loopback\n", False),  # systemctl said no: that stands
    (False, "IDX LINK TYPE\n  1 lo loopback\n", True),  # no systemd: networkctl tells
    (False, "WARNING: systemd-networkd is not running, output will be incomplete.\n", False),
])
def test_networkd_running_without_systemctl(tmp_path, systemd_pid1, networkctl_says,
                                            running):
    root = make_root(tmp_path, "debian-12")
    if systemd_pid1:
        (root / "run/systemd/system").mkdir(parents=True)
    runner = LiveRunner(root=root, answers={
        ("systemctl", "is-active", "--quiet", "systemd-networkd"): ("", 3),
        ("networkctl", "--no-pager", "list"): (networkctl_says, 0)})
    assert detect_stack(runner).networkd_enabled is running
    assert (("networkctl", "--no-pager", "list") in runner.asked) is not systemd_pid1


def test_a_root_that_cannot_tell_takes_the_releases_stock_values(tmp_path):
    """`fill`: no nmcli to ask and no plugin directory, so NetworkManager's version is the
    one the release (and point release) ships; networkd's likewise."""
    root = make_root(tmp_path, "rocky-9.1")
    assert detect_stack(Runner(root=root)).nm_version is None  # the root alone
    assert detect_root(root).stack.nm_version == "1.40.0"  # Rocky 9.1's
    assert detect_root(make_root(tmp_path, "debian-11")).stack.networkd_version == 247
    # a release clb-wizard has no record of has no stock values to give
    assert detect_root(make_root(tmp_path, "foolinux-1")).stack.networkd_version is None


def test_stock_stacks_come_from_the_methods():
    assert stock_stack(KNOWN_RELEASES["ubuntu-22.04"]).to_json() == {
        "netplan": True, "netplan_configured": True, "netplan_renderer": "networkd",
        "ifupdown": False, "ifupdown_ng": False, "network_scripts": False, "wicked": False,
        "networkmanager": False, "nm_version": None, "networkd_version": 249,
        "networkd_enabled": True, "systemd": True}
    centos7 = stock_stack(KNOWN_RELEASES["centos-7"])
    assert (centos7.network_scripts, centos7.nm_version, centos7.systemd) == (True, "1.18.8",
                                                                               True)
    assert stock_stack(KNOWN_RELEASES["rhel-9"], "9.0").nm_version == "1.36.0"
    assert not stock_stack(KNOWN_RELEASES["alpine-3"]).systemd
    assert stock_stack(KNOWN_RELEASES["sles-15"]).describe() == "wicked"


def test_the_stack_has_one_field_per_declared_fact():
    facts = methods.declared_facts()
    stack = NetworkStack(netplan=True, nm_version="1.48.10")
    assert list(stack.to_json()) == list(facts)
    assert stack.netplan and stack.nm_version == "1.48.10" and stack.wicked is False
    assert stack.replace(wicked=True).wicked and not stack.wicked
    with pytest.raises(TypeError, match="netplann"):
        NetworkStack(netplann=True)
    with pytest.raises(AttributeError):
        stack.netplan = False
    with pytest.raises(AttributeError):
        stack.bogus  # noqa: B018
    assert NetworkStack.from_json({**stack.to_json(), "retired_fact": 1}) == stack
    assert pickle.loads(pickle.dumps(stack)) == stack == copy.deepcopy(stack)
    assert hash(stack) == hash(NetworkStack(nm_version="1.48.10", netplan=True))
    assert named_paths(facts) == STACK_PROBES and STACK_PROBES["interfaces"] == (
        "/etc/network/interfaces",)


def test_a_journal_platform_round_trips(tmp_path):
    platform = detect_root(make_root(tmp_path, "ubuntu-24.04"))
    again = Platform.from_json(json.loads(json.dumps(platform.to_json())))
    assert again == platform


def test_probes_combine_like_and_or_not(tmp_path):
    write(tmp_path, "/bin/a", "")
    facts = {f.name: f for f in (
        Fact("a", Paths("a", ("/bin/a",))),
        Fact("b", Paths("b", ("/bin/b",))),
        Fact("a_not_b", AllOf(Ref("a"), Not(Ref("b")))),
        Fact("either", AnyOf(Ref("b"), Ref("a"))),
        Fact("version", AllOf(Ref("a"), Live(Ask(("tool", "--version"), find=r"(\d+)"))),
             default=None),
        Fact("loop", Ref("loop")),
    )}
    look = Look(facts, Runner(root=tmp_path))
    assert (look.fact("a_not_b"), look.fact("either"), look.fact("version")) == (True, True,
                                                                                  None)
    with pytest.raises(ValueError, match="loop -> loop"):
        look.fact("loop")
    with pytest.raises(KeyError, match="nothing"):
        Look(facts, Runner(root=tmp_path)).fact("nothing")
    live = Look(facts, LiveRunner(root=tmp_path, answers={("tool", "--version"): ("v7", 0)}))
    assert live.fact("version") == "7"
