"""Issue 10's small defects, each reproduced without a sandbox: the VIP /032, the
`source` glob, the timeout message, the allow-list redaction, the state-file checks,
reads that must not hang, and paths that must stay inside --root."""

from __future__ import annotations

import base64
import json
import os

import pytest

from clb_wizard.files import FileRefused, atomic_write, resolve_in_root
from clb_wizard.methods.ifupdown import sources_file
from clb_wizard.redact import REDACTED, redact
from clb_wizard.runner import Runner, RunnerError
from clb_wizard.transaction.journal import Journal, StateError, parse_journal
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
])
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
    from clb_wizard.transaction.journal import COMMITTED, Store

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
