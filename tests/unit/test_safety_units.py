"""Issue 10's small defects, each reproduced without a sandbox: the VIP /032, the
`source` glob, the timeout message, the allow-list redaction, the state-file checks,
reads that must not hang, and paths that must stay inside --root."""

from __future__ import annotations

import base64
import json
import os

import pytest

from clb_wizard.files import FileRefused, atomic_write, resolve_in_root
from clb_wizard.methods.base import LoAddress
from clb_wizard.methods.ifupdown import sources_file
from clb_wizard.redact import REDACTED, redact
from clb_wizard.runner import Runner, RunnerError
from clb_wizard.sysctls import SysctlChange
from clb_wizard.transaction.journal import Journal, StateError, Store, parse_journal
from clb_wizard.vips import VipError, parse_vip


def test_a_prefix_with_a_leading_zero_is_refused():
    with pytest.raises(VipError, match="leading zero"):
        parse_vip("192.0.2.10/032")
    assert str(parse_vip("192.0.2.10/32")) == "192.0.2.10"


def test_a_source_glob_does_not_cross_directories():
    main = "auto lo\niface lo inet loopback\nsource /etc/network/*lo\n"
    assert not sources_file(main, "/etc/network/interfaces.d/clb-wizard-lo")
    assert sources_file("source /etc/network/interfaces.d/*\n",
                        "/etc/network/interfaces.d/clb-wizard-lo")
    assert sources_file("source interfaces.d/*-lo\n", "/etc/network/interfaces.d/clb-wizard-lo")


def test_a_timeout_names_the_seconds():
    result = Runner(command_timeout=0.2).query(["sleep", "5"])
    assert result.returncode == 124
    assert "timed out after 0.2 s" in result.stderr


SECRET = "s3cr3t-Value-42"


@pytest.mark.parametrize("path,text", [
    # the audit's seven misses, and a name nobody would list
    ("/etc/netplan/50-wg.yaml", "network:\n  tunnels:\n    wg0:\n      mode: wireguard\n"
     f"      key:\n        private: {SECRET}\n      peers:\n        - keys:\n"
     f"            public: pub\n            shared: {SECRET}\n"),
    ("/etc/netplan/50-wg.yaml", f"network:\n  tunnels:\n    wg0:\n      key: {SECRET}\n"),
    ("/etc/network/interfaces", f"iface wlan0 inet dhcp\n  wireless-key1 {SECRET}\n"),
    ("/etc/network/interfaces", f"iface wlan0 inet dhcp\n  wireless-key {SECRET}\n"),
    ("/etc/network/interfaces",
     f"iface eth0 inet dhcp\n  up curl -u admin:{SECRET} https://example.invalid/\n"),
    ("/etc/network/interfaces", f"iface eth0 inet dhcp\n  pre-up vpn --token={SECRET}\n"),
    ("/etc/network/interfaces", f"auto lo\n# root password is {SECRET}\n"),
    ("/etc/NetworkManager/system-connections/x.nmconnection",
     f"[connection]\nid=x\n[vendor]\nfrobnicator={SECRET}\n"),
])
def test_report_redaction_is_an_allow_list(path, text):
    cleaned, redacted = redact(path, text)
    assert redacted and SECRET not in cleaned and REDACTED in cleaned


def test_redaction_keeps_what_support_needs():
    text = ("auto lo\niface lo inet loopback\n\nauto lo:1\niface lo:1 inet static\n"
            "    address 203.0.113.10\n    netmask 255.255.255.255\n"
            "source /etc/network/interfaces.d/*\n")
    assert redact("/etc/network/interfaces", text) == (text, False)
    yaml_text = ("network:\n  version: 2\n  ethernets:\n    lo:\n      addresses:\n"
                 "      - 203.0.113.10/32\n")
    cleaned, redacted = redact("/etc/netplan/90.yaml", yaml_text)
    assert "203.0.113.10/32" in cleaned and not redacted
    conf = "net.ipv4.conf.all.arp_ignore = 1\nkernel.secret_thing = 7\n"
    cleaned, _ = redact("/etc/sysctl.d/90-x.conf", conf)
    assert "arp_ignore = 1" in cleaned and "kernel.secret_thing = <redacted>" in cleaned


PLATFORM = {"os_id": "debian", "version": "12", "name": "Debian GNU/Linux 12", "family": "debian",
            "release": "debian-12", "method": "ifupdown", "stack": {"ifupdown": True}}


def _journal_text(**changes) -> str:
    journal = Journal.new(platform=PLATFORM, method="ifupdown", vips=["203.0.113.10"])
    data = {**journal.to_json(), **changes}
    return json.dumps(data, indent=1)


@pytest.mark.parametrize("text,why", [
    ("", "empty"),
    (_journal_text()[:100], "damaged"),  # truncated
    (_journal_text(state="half-done"), "checksum"),  # edited by hand
    (_journal_text().replace("203.0.113.10", "203.0.113.11"), "checksum"),
    ("[1, 2]", "not a JSON object"),
], ids=["empty", "truncated", "state-edited", "vip-edited", "not-an-object"])  # stable ids:
# the journal's id and clock differ between pytest-xdist workers, which must collect alike
def test_a_damaged_state_file_is_a_clear_error(text, why):
    with pytest.raises(StateError, match=why) as caught:
        parse_journal("/var/lib/clb-wizard/journal.json", text)
    assert "mv /var/lib/clb-wizard/journal.json" in str(caught.value)


def test_a_sound_state_file_reads_back():
    journal = parse_journal("j", _journal_text())
    assert journal.vips == ["203.0.113.10"] and journal.state == "started"


def test_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(RunnerError, match="FIFO"):
        Runner(root=tmp_path).file_state("/pipe")  # would block forever if opened


def test_paths_under_a_root_never_lead_out_of_it(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (tmp_path / "outside").write_text("host secret")
    (root / "etc" / "abs").symlink_to(tmp_path / "outside")
    (root / "etc" / "rel").symlink_to("../../../../../../../outside")
    for name in ("abs", "rel"):
        resolved = resolve_in_root(root, f"/etc/{name}")
        assert resolved.is_relative_to(root), resolved
        with pytest.raises(RunnerError, match="which does not exist"):  # inside the root
            Runner(root=root).file_state(f"/etc/{name}")


def test_atomic_write_refuses_a_symlink_at_the_final_name(tmp_path):
    (tmp_path / "victim").write_text("precious")
    (tmp_path / "out").symlink_to(tmp_path / "victim")
    with pytest.raises(FileRefused, match="symbolic link"):
        atomic_write(tmp_path / "out", b"x", 0o600)
    assert (tmp_path / "victim").read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()].count("out") == 1
    assert len(list(tmp_path.iterdir())) == 2  # no temp file left behind


def test_xattrs_in_a_journal_round_trip():
    from clb_wizard.transaction.journal import FileRecord

    record = FileRecord("/x", b"a", 0o640, 0, 4, b"b", 0o640, "x.real",
                        {"user.k": b"\x00\x01"})
    again = FileRecord.from_json(json.loads(json.dumps(record.to_json())))
    assert again == record
    assert record.to_json()["before_xattrs"] == {"user.k": base64.b64encode(b"\x00\x01").decode()}


def test_links_are_never_removed_except_our_own_leftover_temp_links(tmp_path):
    (tmp_path / "target").write_text("keep")
    (tmp_path / "admins-link").symlink_to("target")
    (tmp_path / ".clb-wizard.0123abcd").symlink_to("target")  # write_link, killed mid-way
    runner = Runner(root=tmp_path)
    with pytest.raises(RunnerError, match="does not remove links"):
        runner.remove_file("/admins-link")
    runner.remove_file("/.clb-wizard.0123abcd")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["admins-link", "target"]


def test_a_last_json_from_before_the_history_joins_it(tmp_path):
    from clb_wizard.transaction.journal import COMMITTED

    store = Store(Runner(), tmp_path / "state")
    old = Journal.new(platform=PLATFORM, method="ifupdown", vips=["203.0.113.10"])
    old.history.append([COMMITTED, 1.0])
    legacy = {**old.to_json(), "format": 1}
    del legacy["checksum"]
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "last.json").write_text(json.dumps(legacy))
    new = Journal.new(platform=PLATFORM, method="ifupdown", vips=["203.0.113.11"])
    store.finish(new, COMMITTED)
    assert [j.vips for j in store.history()] == [["203.0.113.10"], ["203.0.113.11"]]
    assert store.last().id == new.id


# -- issue 21 ---------------------------------------------------------------------------------
# 2. SUSE: a block of ours that is not whole is refused, never taken as "ours to the end"
ADMINS = "IPADDR_web='198.51.100.5/32'\nMTU='1500'\n"


@pytest.mark.parametrize("block", [
    "\n# clb-wizard: CLB VIPs on the loopback (message forwarding mode).\n"
    "IPADDR_CLB1='203.0.113.10/32'\n",  # the begin line without the end line
    "\n# clb-wizard: CLB VIPs on the loopback (message forwarding mode).\n"
    "IPADDR_CLB1='203.0.113.10/32'\nIPADDR_web2='198.51.100.6/32'\n"
    "# clb-wizard: end of the CLB VIPs.\n",  # the admin's line inside our block
])
def test_a_wicked_block_that_is_not_whole_is_refused(tmp_path, capsys, block):
    import clb_wizard.cli
    from tests.fixtures.roots import make_root, tree_digest, write

    root = make_root(tmp_path, "sles-15")
    stock = "IPADDR=127.0.0.1/8\nSTARTMODE=nfsroot\n"
    write(root, "/etc/sysconfig/network/ifcfg-lo", stock + block + ADMINS)
    before = tree_digest(root)
    code = clb_wizard.cli.main(["plan", "--root", str(root), "--vip", "203.0.113.10"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "ifcfg-lo" in err and "Nothing was changed" in err and "Traceback" not in err
    assert tree_digest(root) == before


# 3. a directory another user could change
@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root (CI is root)")
def test_a_directory_is_trusted_only_if_no_other_user_can_change_it(tmp_path):
    from clb_wizard.files import open_trusted_dir

    mine = tmp_path / "mine"
    mine.mkdir(mode=0o700)
    os.close(open_trusted_dir(str(mine), shared_final=False))
    shared = tmp_path / "shared"  # like /tmp: others add names, but cannot touch ours
    shared.mkdir()
    shared.chmod(0o1777)
    os.close(open_trusted_dir(str(shared / "made"), create=True))
    assert (shared / "made").is_dir()
    with pytest.raises(FileRefused, match="can be written by other users"):
        open_trusted_dir(str(shared), shared_final=False)  # a state directory may not be
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, 65534, 65534)
    with pytest.raises(FileRefused, match="belongs to user nobody"):
        open_trusted_dir(str(theirs / "sub"), create=True)
    assert not (theirs / "sub").exists()
    link = shared / "link"
    link.symlink_to(mine)
    os.lchown(link, 65534, 65534)
    with pytest.raises(FileRefused, match="symbolic link that belongs to user nobody"):
        open_trusted_dir(str(link))
    group = tmp_path / "group"
    group.mkdir()
    os.chown(group, 0, 100)
    group.chmod(0o775)
    with pytest.raises(FileRefused, match="mode 0775"):
        open_trusted_dir(str(group))
    os.chown(group, 0, 0)  # root's own group may write
    os.close(open_trusted_dir(str(group)))



def test_every_directory_on_the_way_is_checked_once_root_included(tmp_path, monkeypatch):
    """A spy on the check (the check itself is exercised above): "/" is the first directory
    of every way, and none is checked twice."""
    from clb_wizard import files

    seen: list[str] = []
    real = files.dir_problem

    def spy(st, shown, **kwargs):
        seen.append(shown)
        return real(st, shown, **kwargs)

    monkeypatch.setattr(files, "dir_problem", spy)
    (tmp_path / "a" / "b").mkdir(parents=True)
    os.close(files.open_trusted_dir(str(tmp_path / "a" / "b")))
    assert seen == ["/", *(str(p) for p in reversed((tmp_path / "a" / "b").parents)
                           if str(p) != "/"), str(tmp_path / "a" / "b")]

# 4. checksum-valid records that say what clb-wizard never does (needs root to write them)
def _record(**changes) -> dict:
    from clb_wizard.transaction.journal import FileRecord

    journal = Journal.new(
        platform=PLATFORM, method="ifupdown", vips=["203.0.113.10"],
        files=[FileRecord("/etc/network/interfaces.d/clb-wizard-lo", None, 0o644, 0, 0, b"x",
                          0o644)],
        live_before=[LoAddress("127.0.0.1", 8)],
        sysctls=[SysctlChange("net.ipv4.conf.all.arp_ignore", "0", "1")])
    return {**journal.to_json(), **changes}


def _file(**changes) -> dict:
    return {**_record()["files"][0], **changes}


def _lo(**changes) -> dict:
    return {"address": "127.0.0.1", "prefixlen": 8, "label": "lo", "family": "inet", **changes}


HOSTILE_RECORDS = [
    # ids that name files outside the state directory, or are not ours
    {"id": "../../../../etc/cron.d/x"}, {"id": "20240101-000000-abcdef/x"}, {"id": ""},
    {"id": 7}, {"id": None},
    # methods
    {"method": "sh"}, {"method": "windows"}, {"method": ["ifupdown"]},
    # paths
    {"files": [_file(path="/etc/cron.d/x")]}, {"files": [_file(path="etc/network/x")]},
    {"files": [_file(path="/etc/network/interfaces.d/../../cron.d/x")]},
    {"files": [_file(path="/etc/network/interfaces.d/./x")]},
    {"files": [_file(path="//etc/network/interfaces")]},
    {"files": [_file(path="/etc/network/interfaces.d/sub/x")]},
    {"files": [_file(path="/etc/network/interfaces.d/\x1b[2Jx")]},
    {"files": [_file(), _file()]}, {"files": [_file(path=None)]}, {"files": "x"},
    {"files": ["x"]}, {"files": [_file(extra=1)]},
    # what a file gets
    {"files": [_file(before_mode="0644")]}, {"files": [_file(before_mode=0o17777)]},
    {"files": [_file(after_mode=-1)]}, {"files": [_file(before_mode=True)]},
    {"files": [_file(before_uid=-1)]}, {"files": [_file(before_gid="root")]},
    {"files": [_file(before="not base64!")]}, {"files": [_file(after=5)]},
    {"files": [_file(before_link=7)]}, {"files": [_file(before_link="")]},
    {"files": [_file(before_xattrs={"security.capability": "AAAA"})]},
    {"files": [_file(before_xattrs={"bogus": "AAAA"})]},
    {"files": [_file(before_xattrs=["user.x"])]},
    # VIPs and lo's addresses
    {"vips": ["203.0.113.10\x1b]0;owned\x07"]}, {"vips": ["203.0.113.10,203.0.113.11"]},
    {"vips": ["203.0.113.010"]}, {"vips": [17]}, {"vips": "203.0.113.10"},
    {"foreign": ["lo"]},
    {"live_before": [_lo(address="127.0.0.1; reboot")]}, {"live_before": [_lo(prefixlen=33)]},
    {"live_before": [_lo(family="inet7")]}, {"live_before": [_lo(label="lo:1 x\x1b")]},
    {"live_before": [_lo(prefixlen="8")]}, {"live_before": ["127.0.0.1/8"]},
    # sysctls: the ARP ones only, to our values
    {"sysctls": [{"name": "kernel.core_pattern", "before": "|/tmp/x", "after": "core"}]},
    {"sysctls": [{"name": "net.ipv4.conf.all.arp_ignore", "before": "0", "after": "8"}]},
    {"sysctls": [{"name": "net.ipv4.conf.all.arp_ignore", "before": "0 x", "after": "1"}]},
    {"sysctls": "x"},
    # the rest
    {"platform": {}}, {"platform": "debian"}, {"platform": {**PLATFORM, "stack": []}},
    {"platform": {**PLATFORM, "name": ["x"]}},
    {"watchdog": {"kind": "process", "pid": "1"}}, {"watchdog": {"kind": "systemd",
                                                                 "unit": "sshd"}},
    {"watchdog": "x"}, {"confirm_deadline": "soon"}, {"confirm_deadline": float("nan")},
    {"error": ["x"]}, {"history": [["committed"]]}, {"history": "x"},
]


@pytest.mark.parametrize("changes", HOSTILE_RECORDS, ids=range(len(HOSTILE_RECORDS)))
def test_a_record_naming_what_clb_wizard_never_writes_is_damaged_not_a_traceback(changes):
    from clb_wizard.transaction.journal import checksum

    data = _record(**changes)
    body = {k: v for k, v in data.items() if k != "checksum"}
    text = json.dumps({**body, "checksum": checksum(body)})
    with pytest.raises(StateError, match="is damaged") as caught:
        parse_journal("/var/lib/clb-wizard/history/x.json", text)
    assert "\x1b" not in str(caught.value)
    # format 1 (no checksum) is held to the same rules
    with pytest.raises(StateError, match="is damaged"):
        parse_journal("/var/lib/clb-wizard/last.json", json.dumps({**body, "format": 1}))


def test_a_sound_record_of_each_kind_reads_back():
    from clb_wizard.transaction.journal import checksum

    for changes in ({}, {"id": "20240101T000000-4242-ansible"},
                    {"files": [_file(path="/etc/network/interfaces")]},
                    {"files": [_file(path="/etc/sysctl.d/90-clb-wizard-arp.conf")]},
                    {"platform": {**PLATFORM, "stack": {"a_field_of_another_version": 1}}}):
        body = {k: v for k, v in _record(**changes).items() if k != "checksum"}
        parse_journal("j", json.dumps({**body, "checksum": checksum(body)}))
        parse_journal("j", json.dumps({**body, "format": 1}))


# 9. history is kept to HISTORY_KEEP changes, with their backups and logs
def test_history_keeps_the_newest_changes_and_their_backups_and_logs(tmp_path):
    from clb_wizard.transaction.journal import COMMITTED, HISTORY_KEEP, FileRecord, Store

    store = Store(Runner(), tmp_path / "state")
    ids = []
    for n in range(HISTORY_KEEP + 5):
        journal = Journal.new(platform=PLATFORM, method="ifupdown", vips=["203.0.113.10"],
                              files=[FileRecord("/etc/network/interfaces", b"old", 0o644, 0, 0,
                                                b"new", 0o644)])
        journal.id = f"20240101-0000{n:02d}-abcdef"
        store.save(journal)
        store.write_backups(journal)
        store.write_log(journal, ["applied"])
        store.finish(journal, COMMITTED)
        ids.append(journal.id)
    kept = ids[-HISTORY_KEEP:]
    assert [j.id for j in store.history()] == kept
    assert sorted(os.listdir(tmp_path / "state/backups")) == kept
    assert sorted(os.listdir(tmp_path / "state/log")) == [f"{i}.log" for i in kept]
    assert store.last().id == ids[-1]


# 8. a tool missing from the system is found before the change, not by verification
def test_a_missing_read_back_tool_stops_apply_before_any_change(tmp_path, monkeypatch):
    from clb_wizard import runner as runner_module
    from clb_wizard.service import Options, Service
    from clb_wizard.transaction import Transaction, TransactionError
    from clb_wizard.transaction.apply import Apply
    from tests.fixtures.roots import make_root

    bin_dir = tmp_path / "bin"  # ifup and ip, but no ifquery (verification reads back with it)
    bin_dir.mkdir()
    for tool in ("ifup", "ip"):
        (bin_dir / tool).write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / tool).chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(runner_module, "DEFAULT_PATH", str(bin_dir))
    root = make_root(tmp_path, "debian-12")
    runner = Runner(root=root)
    plan = Service(root).plan(Options(vips=("203.0.113.10",), method="ifupdown"))
    steps = Transaction(runner, Store(runner, tmp_path / "state")).steps
    with pytest.raises(TransactionError, match=r"Missing tool\(s\): ifquery"):
        Apply(steps)._preflight(plan)


def test_what_a_record_only_shows_is_made_safe_to_show():
    from clb_wizard.transaction.records import platform_from_json

    shown = platform_from_json({**PLATFORM, "name": "Debian\x1b]0;owned\x07",
                                "reasons": ["ok\x1b[2J"]})
    assert shown.name == "Debian\\x1b]0;owned\\x07" and shown.reasons == ("ok\\x1b[2J",)
