"""The support report (wizard/report.py) on fixture roots: golden keys, the journal
summarised without its base64 contents, secrets redacted, nothing from the environment.
On a real host: tests/live/test_report_live.py."""

from __future__ import annotations

import base64
import json

import pytest

from clb_wizard.cli import main
from clb_wizard.methods.base import LoAddress
from clb_wizard.platform import detect
from clb_wizard.replay import ReplayError, build_root
from clb_wizard.report import (
    KEYS,
    REDACTED,
    build_report,
    redact,
    report_json,
    report_text,
)
from clb_wizard.runner import Runner
from clb_wizard.service import Options, Service
from clb_wizard.transaction.journal import FileRecord, Journal
from tests.fixtures.roots import SPECS, VIP1, make_root, write

GOLDEN_KEYS = ["format", "generated", "tool", "host", "platform", "system", "lo", "interfaces",
               "files", "sysctls", "journal", "exports", "verification", "status_code",
               "errors"]
JOURNAL_SUMMARY_KEYS = ["id", "state", "method", "vips", "foreign", "platform", "files",
                        "live_before", "sysctls", "history", "error", "confirm_deadline",
                        "watchdog"]
SECRET = "pre-shared-secret-value-42"


def test_keys_are_golden():
    assert list(KEYS) == GOLDEN_KEYS


def test_report_of_a_root_is_offline_and_complete(tmp_path):
    root = make_root(tmp_path, "debian-12")
    data = build_report(Runner(root=root))
    assert list(data) == GOLDEN_KEYS
    assert data["errors"] == []
    assert data["host"] == {"hostname": None, "kernel": None, "root": str(root), "live": False}
    assert data["platform"]["method"] == "ifupdown"
    # kernel facts belong to the live host, not to a root
    assert data["lo"] is None and data["sysctls"] is None and data["verification"] is None
    paths = [f["path"] for f in data["files"]]
    assert "/etc/network/interfaces" in paths and "/etc/sysctl.d/90-clb-wizard-arp.conf" in paths
    interfaces = next(f for f in data["files"] if f["path"] == "/etc/network/interfaces")
    assert "source /etc/network/interfaces.d/*" in interfaces["content"]
    assert interfaces["mode"] == "0644" and len(interfaces["sha256"]) == 64
    assert data["journal"]["last"] is None and data["journal"]["active"] is None
    json.loads(report_json(data))  # serialisable


def _journal(root, state: str) -> Journal:
    after = b"# clb-wizard: CLB VIPs on the loopback (message forwarding mode).\nsecret-ish\n"
    journal = Journal.new(
        platform={"os_id": "debian", "version": "12", "name": "Debian 12", "method": "ifupdown",
                  "family": "debian", "release": "debian-12"},
        method="ifupdown", vips=[VIP1],
        files=[FileRecord("/etc/network/interfaces.d/clb-wizard-lo", None, 0o644, 0, 0, after,
                          0o644),
               FileRecord("/etc/network/interfaces", b"auto lo\n", 0o644, 0, 0,
                          b"auto lo\nsource x\n", 0o644)],
        live_before=[LoAddress("127.0.0.1", 8), LoAddress("192.0.2.50", 32, "lo:9")])
    journal.state = state
    name = "last.json" if state == "committed" else "journal.json"
    write(root, f"/var/lib/clb-wizard/{name}", json.dumps(journal.to_json()), 0o600)
    write(root, f"/var/lib/clb-wizard/log/{journal.id}.log", "a\nb\nifup lo:1\n", 0o600)
    return journal


@pytest.mark.parametrize("state,kind", [("committed", "last"), ("written", "active")])
def test_journal_is_summarised_without_contents(tmp_path, monkeypatch, state, kind):
    monkeypatch.delenv("CLB_WIZARD_STATE_DIR", raising=False)
    root = make_root(tmp_path, "debian-12")
    journal = _journal(root, state)
    data = build_report(Runner(root=root))
    summary = data["journal"][kind]
    assert list(summary) == JOURNAL_SUMMARY_KEYS
    assert summary["id"] == journal.id and summary["state"] == state
    created, modified = summary["files"]
    assert created["action"] == "create" and modified["action"] == "modify"
    assert created["before"]["exists"] is False and created["after"]["size"] > 0
    assert modified["before"]["size"] == len(b"auto lo\n")
    assert summary["live_before"] == ["127.0.0.1/8 (lo)", "192.0.2.50/32 (lo:9)"]
    assert data["journal"]["log_tail"] == ["a", "b", "ifup lo:1"]
    text = report_json(data)
    for record in journal.files:  # no base64 content, no raw content
        for blob in (record.before, record.after):
            if blob:
                assert base64.b64encode(blob).decode() not in text
    assert "secret-ish" not in text
    assert f"transaction {journal.id}: {state}" in report_text(data)


def test_nothing_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("UCLOUD_PRIVATE_KEY", SECRET)
    monkeypatch.setenv("UCLOUD_PUBLIC_KEY", SECRET + "-public")
    data = build_report(Runner(root=make_root(tmp_path, "rocky-9")))
    assert SECRET not in report_json(data) and SECRET not in report_text(data)


NM_WIFI = f"""[connection]
id=office
type=wifi

[wifi]
ssid=office

[wifi-security]
key-mgmt=wpa-psk
psk={SECRET}

[ipv4]
method=auto
"""
NM_8021X = f"[connection]\nid=lan\n\n[802-1x]\neap=peap;\nidentity=bob\npassword={SECRET}\n"
NETPLAN_WIFI = f"""network:
  wifis:
    wlan0:
      access-points:
        office:
          password: "{SECRET}"
"""


@pytest.mark.parametrize("path,text", [
    ("/etc/NetworkManager/system-connections/office.nmconnection", NM_WIFI),
    ("/etc/NetworkManager/system-connections/lan.nmconnection", NM_8021X),
    ("/etc/netplan/60-wifi.yaml", NETPLAN_WIFI),
    ("/etc/sysconfig/network-scripts/keys-wlan0", f"WPA_PSK='{SECRET}'\n"),
    ("/etc/network/interfaces.d/wlan0", f"iface wlan0 inet dhcp\n  wpa-psk {SECRET}\n"),
])
def test_redact(path, text):
    cleaned, redacted = redact(path, text)
    assert redacted is True
    assert SECRET not in cleaned and REDACTED in cleaned


def test_redact_leaves_ordinary_configuration_alone():
    text = ("auto lo:1\niface lo:1 inet static\n    address 203.0.113.10\n"
            "    netmask 255.255.255.255\n[ipv4]\naddress1=203.0.113.10/32\nmethod=manual\n")
    assert redact("/etc/network/interfaces.d/clb-wizard-lo", text) == (text, False)


def test_secrets_in_watched_files_are_redacted_in_the_report(tmp_path):
    root = make_root(tmp_path, "rocky-9")
    write(root, "/etc/NetworkManager/system-connections/office.nmconnection", NM_WIFI, 0o600)
    data = build_report(Runner(root=root))
    office = next(f for f in data["files"] if f["path"].endswith("office.nmconnection"))
    assert office["redacted"] is True and "[wifi]\nssid=<redacted>" in office["content"]
    assert "id=office\ntype=wifi" in office["content"]  # the allow-list keeps the shape
    assert SECRET not in report_json(data) and SECRET not in report_text(data)


def test_a_broken_root_gives_errors_not_an_exception(tmp_path):
    data = build_report(Runner(root=tmp_path))  # no os-release at all
    assert list(data) == GOLDEN_KEYS
    assert data["platform"] is None and data["files"] is None
    assert any(e.startswith("platform: ") for e in data["errors"])
    assert "error: platform:" in report_text(data)


def test_exports_state_is_reported(tmp_path, monkeypatch):
    monkeypatch.delenv("CLB_WIZARD_STATE_DIR", raising=False)
    root = make_root(tmp_path, "debian-12")
    write(root, "/var/lib/clb-wizard/script/last", "20250101-000000-1\n")
    write(root, "/var/lib/clb-wizard/script/20250101-000000-1/vips", f"{VIP1}\n")
    write(root, "/var/lib/clb-wizard/script/20250101-000000-1/files",
          "/etc/network/interfaces.d/clb-wizard-lo\n")
    (root / "var/lib/clb-wizard/ansible/20250102T000000-7").mkdir(parents=True)
    exports = build_report(Runner(root=root))["exports"]
    assert exports["script"]["last"] == "20250101-000000-1"
    assert exports["script"]["vips"] == [VIP1]
    assert exports["ansible_runs"] == ["20250102T000000-7"]


def test_cli_report(tmp_path, capsys):
    root = make_root(tmp_path, "centos-7")
    assert main(["report", "--root", str(root), "--json"]) == 0
    assert list(json.loads(capsys.readouterr().out)) == GOLDEN_KEYS
    assert main(["report", "--root", str(root)]) == 0
    assert "method ifcfg" in capsys.readouterr().out
    assert main(["report", "--root", str(tmp_path / "missing")]) == 2
    assert "no such directory" in capsys.readouterr().err


# -- replay: a report rebuilt into a root that detects and plans the same ----------------------
REPLAYABLE = sorted(k for k in SPECS if k != "windows")


@pytest.mark.parametrize("key", REPLAYABLE)
def test_a_report_replays_into_a_root_that_detects_and_plans_the_same(tmp_path, key):
    """What `clb-wizard replay` rebuilds from a report (os-release, what detection probes,
    the watched files) gives the platform and the Preview the reported system gives."""
    root = make_root(tmp_path / "customer", key)
    report = json.loads(report_json(build_report(Runner(root=root))))
    replayed = build_root(report, tmp_path / "replayed")
    here = Runner(root=tmp_path / "replayed")
    assert replayed.method == report["platform"]["method"]
    there = detect(Runner(root=root))
    again = detect(here)
    assert (again.os_id, again.version, again.family, again.release, again.method,
            again.packages) == (there.os_id, there.version, there.family, there.release,
                                there.method, there.packages)
    assert again.stack == there.stack
    assert replayed.method_override is None
    options = Options(vips=(VIP1,), force=True)
    customer, support = Service(root).plan(options), Service(here.root).plan(options)
    redacted = {f["path"] for f in report["files"] if f["redacted"]}

    def shown(plan):  # what the Preview shows; of a redacted file, the lines that change
        return [(c.path, c.action, c.diff() if c.path not in redacted else
                 [line for line in c.diff().splitlines() if line[:1] in "+-@"])
                for c in plan.files]

    assert shown(support) == shown(customer)
    assert [c.shell() for c in support.commands] == [c.shell() for c in customer.commands]


def test_a_replayed_file_keeps_its_mode_and_the_redaction(tmp_path):
    root = make_root(tmp_path / "customer", "centos-7")
    write(root, "/etc/sysconfig/network-scripts/ifcfg-eth0",
          f"DEVICE=eth0\nIPADDR=10.0.0.5\nWPA_PSK={SECRET}\n", 0o600)
    report = json.loads(report_json(build_report(Runner(root=root))))
    assert SECRET not in json.dumps(report)
    replayed = build_root(report, tmp_path / "replayed")
    path = tmp_path / "replayed/etc/sysconfig/network-scripts/ifcfg-eth0"
    assert path.stat().st_mode & 0o777 == 0o600
    assert f"WPA_PSK={REDACTED}" in path.read_text() and "IPADDR=10.0.0.5" in path.read_text()
    assert any("redacted" in note for note in replayed.notes)
    assert "ifcfg-eth0" in "\n".join(replayed.summary(report))


def test_a_report_that_names_a_path_outside_is_refused(tmp_path):
    report = {"format": 1, "platform": {"method": "ifupdown"},
              "files": [{"path": "/etc/x/../../../escape", "exists": True, "content": "x"}]}
    with pytest.raises(ReplayError, match="unusable path"):
        build_root(report, tmp_path / "r")
    assert not (tmp_path / "escape").exists()
