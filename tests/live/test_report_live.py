"""`clb-wizard report` on a real (namespaced) host: unconfigured, then configured by
`clb-wizard apply`, with golden JSON keys and no secrets in it."""

from __future__ import annotations

import json

import pytest

from clb_wizard.report import KEYS
from tests.live.hosts import PRE_EXISTING, prepare

pytestmark = pytest.mark.live  # needs root and namespaces (CI runs as root)

VIP = "203.0.113.10"
SECRETS = {
    "UCLOUD_PRIVATE_KEY": "sEcReT-private-key-0123456789",
    "UCLOUD_PUBLIC_KEY": "pUbLiC-key-9876543210",
    "CLB_TEST_PASSWORD": "hunter2-do-not-leak",
}
JOURNAL_KEYS = ["id", "state", "method", "vips", "foreign", "platform", "files", "live_before",
                "sysctls", "history", "error", "confirm_deadline", "watchdog"]
FILE_KEYS = ["path", "exists", "mode", "uid", "gid", "size", "sha256", "ours", "redacted",
             "content"]


def report(sb, *args):
    result = sb.wizard("report", "--json", *args, env=SECRETS)
    assert result.returncode == 0, result.stderr
    for value in SECRETS.values():
        assert value not in result.stdout and value not in result.stderr
    return json.loads(result.stdout)


def test_report_on_an_unconfigured_host(sandbox):
    prepare(sandbox, "ifupdown")
    data = report(sandbox)
    assert list(data) == list(KEYS)
    assert data["errors"] == []
    assert data["platform"]["method"] == "ifupdown"
    assert data["platform"]["stack"]["ifupdown"] is True
    assert data["host"]["live"] is True
    lo = {f"{a['address']}/{a['prefixlen']}": a["label"] for a in data["lo"]}
    assert lo[PRE_EXISTING] == "lo:9" and "127.0.0.1/8" in lo
    assert data["sysctls"]["net.ipv4.conf.all.arp_ignore"] == "0"
    assert "net.ipv4.conf.all.rp_filter" in data["sysctls"]
    files = {f["path"]: f for f in data["files"]}
    assert list(files["/etc/network/interfaces"]) == FILE_KEYS
    assert files["/etc/network/interfaces"]["content"].startswith("auto lo\n")
    assert not any(f["ours"] for f in data["files"])
    assert data["journal"]["active"] is None and data["journal"]["last"] is None
    assert data["verification"] == {"vips": [], "source": "none", "ok": None, "facts": []}
    # asked for a VIP that is not there: verification says so
    asked = report(sandbox, "--vip", VIP)["verification"]
    assert asked["source"] == "given" and asked["ok"] is False
    assert any(f["name"] == f"{VIP} on lo" and not f["ok"] for f in asked["facts"])


def test_report_on_a_configured_host(sandbox):
    prepare(sandbox, "ifupdown")
    applied = sandbox.wizard("apply", "--vip", VIP, "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    data = report(sandbox)
    assert list(data) == list(KEYS)
    assert data["errors"] == []
    last = data["journal"]["last"]
    assert list(last) == JOURNAL_KEYS
    assert last["state"] == "committed" and last["vips"] == [VIP]
    ours = "/etc/network/interfaces.d/clb-wizard-lo"
    assert [f["path"] for f in last["files"]] == [ours]
    change = last["files"][0]
    assert change["action"] == "create" and change["before"]["exists"] is False
    assert change["after"]["size"] > 0 and len(change["after"]["sha256"]) == 64
    # summarised: the journal's base64 contents are not in the report
    journal_text = (sandbox.dir / "varlib" / "clb-wizard" / "last.json").read_text()
    b64 = json.loads(journal_text)["files"][0]["after"]
    assert b64 not in json.dumps(data)
    assert any("ifup lo:1" in line for line in data["journal"]["log_tail"])
    files = {f["path"]: f for f in data["files"]}
    assert files[ours]["ours"] is True and f"address {VIP}" in files[ours]["content"]
    verification = data["verification"]
    assert verification["source"] == "last-change" and verification["vips"] == [VIP]
    assert verification["ok"] is True
    names = {f["name"]: f for f in verification["facts"]}
    assert names[f"{VIP} on lo"]["ok"] and names[f"{VIP} routed locally"]["ok"]
    assert names["ARP sysctls"]["ok"] is False and names["ARP sysctls"]["fatal"] is False
    assert any(a["address"] == VIP and a["prefixlen"] == 32 for a in data["lo"])

    text = sandbox.wizard("report", env=SECRETS)
    assert text.returncode == 0
    assert "Verification (last-change: 203.0.113.10): passed" in text.stdout
    assert "Last transaction" in text.stdout and "create " + ours in text.stdout
    for value in SECRETS.values():
        assert value not in text.stdout


def test_report_redacts_secrets_in_watched_files(sandbox):
    prepare(sandbox, "ifupdown")
    sandbox.write("/etc/network/interfaces.d/wlan0",
                  "iface wlan0 inet dhcp\n    wpa-ssid office\n    wpa-psk s3cr3t-psk-value\n")
    data = report(sandbox)
    wlan = next(f for f in data["files"] if f["path"].endswith("/wlan0"))
    assert wlan["redacted"] is True
    assert "s3cr3t-psk-value" not in json.dumps(data)
    assert "iface wlan0 inet dhcp\n    wpa-ssid <redacted>" in wlan["content"]


def test_report_saved_with_output_is_private(sandbox):
    prepare(sandbox, "ifupdown")
    target = sandbox.dir / "out" / "report.json"
    result = sandbox.wizard("report", "--json", "--output", str(target), env=SECRETS)
    assert result.returncode == 0, result.stderr
    assert target.stat().st_mode & 0o777 == 0o600
    assert list(json.loads(target.read_text())) == list(KEYS)
