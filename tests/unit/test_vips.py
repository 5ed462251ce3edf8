"""VIP parsing and policy (wizard/vips.py): every rejection says what is wrong and what
to do; the internal/external policy only warns; hypothesis explores the input space."""

from __future__ import annotations

import contextlib
import ipaddress

import netaddr
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from clb_wizard.vips import (
    VipError,
    address_kind,
    check_vips,
    infer_clb_type,
    parse_vip,
    parse_vips,
    split_vip_text,
)

# Every range a VIP may not come from, as (network, words the message must contain).
REJECTED = (
    ("0.0.0.0/8", "0.0.0.0/8"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "class E"),
    ("255.255.255.255/32", "broadcast"),
)
REJECTED_NETS = [ipaddress.ip_network(n) for n, _ in REJECTED]
# Every message must tell the user what to do, not only what is wrong.
WHAT_TO_DO = ("enter", "use", "copy", "give", "type", "choose", "check", "e.g.")


def rejection(text) -> str:
    with pytest.raises(VipError) as info:
        parse_vips([text] if isinstance(text, str) else text)
    message = str(info.value)
    assert any(word in message.lower() for word in WHAT_TO_DO), message
    return message


# -- each kind of bad input ------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, says",
    [
        ("1.2.3", "not a valid IPv4 address"),
        ("1.2.3.4.5", "not a valid IPv4 address"),
        ("256.1.2.3", "not a valid IPv4 address"),
        ("203.0.113.010", "leading zeros"),
        ("0x7f.0.0.1", "not an IPv4 address"),
        ("vip.example.com", "not an IPv4 address"),
        ("203.0.113.10/", "not an IPv4 address"),
        ("203.0.113.10/32/32", "not an IPv4 address"),
        ("", "empty"),
        ("   ", "empty"),
    ],
)
def test_malformed_text_is_rejected_with_its_reason(text, says):
    assert says in rejection(text)


@pytest.mark.parametrize("prefix", [0, 8, 24, 31, 33, 128])
def test_a_prefix_other_than_32_is_rejected_and_the_fix_is_named(prefix):
    message = rejection(f"203.0.113.10/{prefix}")
    assert f"/{prefix}" in message
    assert "203.0.113.10" in message and "/32" in message


def test_slash_32_is_accepted_and_means_the_address():
    assert parse_vip("203.0.113.10/32") == netaddr.IPAddress("203.0.113.10")
    assert parse_vip("  198.51.100.7  ") == netaddr.IPAddress("198.51.100.7")


@pytest.mark.parametrize(
    "text, says",
    [
        ("0.0.0.0", "0.0.0.0/8"),
        ("0.1.2.3", "0.0.0.0/8"),
        ("127.0.0.1", "loopback"),
        ("127.9.9.9", "loopback"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("169.254.169.254", "link-local"),
        ("255.255.255.255", "limited broadcast"),
        ("240.0.0.1", "class E"),
        ("250.1.2.3", "class E"),
    ],
)
def test_addresses_that_cannot_be_a_vip_are_rejected(text, says):
    message = rejection(text)
    assert says in message and "VIP" in message


@pytest.mark.parametrize(
    "text",
    [
        "1.2.3.4;reboot",
        "203.0.113.10 && reboot",
        "$(reboot)",
        "`reboot`",
        "203.0.113.10|sh",
        "203.0.113.10>/etc/passwd",
        "203.0.113.10\nreboot",
        "203.0.113.10'",
        '"203.0.113.10"',
        "203.0.113.10\x00",
        "２０３.0.113.10",  # full-width digits
    ],
)
def test_shell_metacharacters_and_other_characters_are_rejected(text):
    message = rejection(text)
    assert "not an IPv4 address" in message or "not a valid IPv4 address" in message


@pytest.mark.parametrize("text", ["2001:db8::10", "2001:db8::10/128", "::ffff:203.0.113.10"])
def test_ipv6_is_rejected_with_an_explanation(text):
    message = rejection(text)
    assert "IPv6" in message and "IPv4" in message


@pytest.mark.parametrize(
    "entries",
    [
        ["203.0.113.10", "203.0.113.10"],
        ["203.0.113.10", "203.0.113.10/32"],
        ["203.0.113.10, 198.51.100.1 203.0.113.10"],
        ["198.51.100.1", "203.0.113.10,198.51.100.1"],
    ],
)
def test_duplicates_are_rejected(entries):
    assert "listed twice" in rejection(entries)


def test_no_vip_at_all_is_rejected():
    assert "at least one" in rejection([])


def test_several_vips_in_one_entry_split_on_commas_semicolons_and_spaces():
    assert split_vip_text(" 203.0.113.10, 203.0.113.11;198.51.100.1\t192.0.2.9 ") == [
        "203.0.113.10", "203.0.113.11", "198.51.100.1", "192.0.2.9",
    ]
    assert [str(v) for v in parse_vips(["203.0.113.10,203.0.113.11", "192.0.2.9"])] == [
        "203.0.113.10", "203.0.113.11", "192.0.2.9",
    ]


# -- this host's own addresses ---------------------------------------------------------------
def test_a_vip_that_is_a_non_loopback_address_of_this_host_is_an_error():
    host = {"lo": ["127.0.0.1/8", "203.0.113.10/32"], "eth0": ["198.51.100.7/24", "fe80::1/64"]}
    with pytest.raises(VipError) as info:
        check_vips(["198.51.100.7"], "external", host_addresses=host)
    message = str(info.value)
    assert "198.51.100.7" in message and "eth0" in message and "VIP" in message
    # The same address on lo (already configured) is fine, and so is a neighbour.
    assert check_vips(["203.0.113.10", "198.51.100.8"], host_addresses=host).vips == (
        "203.0.113.10", "198.51.100.8",
    )


def test_host_addresses_may_come_without_prefix():
    with pytest.raises(VipError, match="ens5"):
        check_vips(["10.0.0.5"], host_addresses={"ens5": ("10.0.0.5",)})


# -- internal / external policy --------------------------------------------------------------
@pytest.mark.parametrize("vip", ["10.9.8.7", "172.16.0.1", "172.31.255.254", "192.168.1.1",
                                 "100.64.0.1", "100.127.255.254"])
def test_private_and_shared_addresses_are_private(vip):
    assert address_kind(netaddr.IPAddress(vip)) == "private"
    assert check_vips([vip], "internal").warnings == ()
    report = check_vips([vip], "external")
    assert len(report.warnings) == 1 and "private" in report.warnings[0]
    assert "external" in report.warnings[0]


@pytest.mark.parametrize("vip", ["8.8.8.8", "172.32.0.1", "100.128.0.1", "11.0.0.1"])
def test_public_addresses_warn_for_an_internal_clb(vip):
    assert address_kind(netaddr.IPAddress(vip)) == "public"
    assert check_vips([vip], "external").warnings == ()
    report = check_vips([vip], "internal")
    assert len(report.warnings) == 1 and "public" in report.warnings[0]
    assert "Check the CLB type" in report.warnings[0]


@pytest.mark.parametrize("vip", ["192.0.2.1", "198.51.100.7", "203.0.113.10"])
def test_documentation_ranges_are_accepted_with_a_note(vip):
    for clb_type in ("internal", "external", None):
        report = check_vips([vip], clb_type)
        assert report.warnings == ()
        assert any("documentation range" in n and "RFC 5737" in n for n in report.notes)


def test_the_clb_type_is_inferred_and_said_when_not_given():
    report = check_vips(["10.1.2.3"])
    assert report.clb_type == "internal"
    assert any("internal" in note for note in report.notes)
    assert check_vips(["8.8.4.4"]).clb_type == "external"
    assert infer_clb_type([netaddr.IPAddress("10.1.2.3"), netaddr.IPAddress("8.8.4.4")]) is None
    assert check_vips(["203.0.113.10"]).clb_type is None


def test_unknown_clb_type_is_rejected():
    with pytest.raises(VipError, match="internal' or 'external"):
        check_vips(["10.1.2.3"], "public")


# -- hypothesis --------------------------------------------------------------------------------
def _rejected(ip: ipaddress.IPv4Address) -> bool:
    return any(ip in net for net in REJECTED_NETS)


acceptable = st.ip_addresses(v=4).filter(lambda ip: not _rejected(ip))


@given(acceptable)
def test_any_acceptable_dotted_quad_round_trips(ip):
    assert str(parse_vip(str(ip))) == str(ip)
    assert str(parse_vip(f"{ip}/32")) == str(ip)
    assert [str(v) for v in parse_vips([str(ip)])] == [str(ip)]


@given(acceptable, st.integers(min_value=0, max_value=999).filter(lambda p: p != 32))
def test_every_prefix_but_32_is_rejected(ip, prefix):
    with pytest.raises(VipError):
        parse_vip(f"{ip}/{prefix}")


@given(st.sampled_from(range(len(REJECTED))), st.data())
def test_addresses_in_rejected_ranges_are_rejected_with_their_reason(index, data):
    network = REJECTED_NETS[index]
    offset = data.draw(st.integers(min_value=0, max_value=network.num_addresses - 1))
    ip = network.network_address + offset
    with pytest.raises(VipError) as info:
        parse_vip(str(ip))
    # 255.255.255.255 is also in class E: its own, more precise reason is given
    says = "broadcast" if str(ip) == "255.255.255.255" else REJECTED[index][1]
    assert says in str(info.value)


@given(st.text())
def test_random_text_never_raises_anything_but_vip_error(text):
    try:
        result = parse_vip(text)
    except VipError as exc:
        assert str(exc)
    else:  # anything accepted really is a usable IPv4 address
        assert isinstance(result, netaddr.IPAddress) and result.version == 4
        assert not _rejected(ipaddress.IPv4Address(str(result)))
    with contextlib.suppress(VipError):  # anything else propagates and fails the test
        check_vips([text], "internal", host_addresses={"eth0": ["198.51.100.7/24"]})


@given(st.text(alphabet="0123456789./:;, abcx-$`'\"\n", max_size=40))
def test_address_like_text_never_raises_anything_but_vip_error(text):
    try:
        vips = parse_vips([text])
    except VipError:
        return
    for vip in vips:  # accepted: each entry is a plain dotted quad (with /32 at most)
        assert not _rejected(ipaddress.IPv4Address(str(vip)))


@given(st.lists(acceptable, min_size=1, max_size=6, unique=True), st.data())
def test_duplicates_in_any_order_are_rejected(ips, data):
    texts = [str(ip) for ip in ips]
    duplicate = data.draw(st.sampled_from(texts))
    position = data.draw(st.integers(min_value=0, max_value=len(texts)))
    spelled = data.draw(st.sampled_from([duplicate, f"{duplicate}/32", f" {duplicate} "]))
    texts.insert(position, spelled)
    with pytest.raises(VipError, match="listed twice"):
        parse_vips(texts)


@given(st.lists(acceptable, min_size=1, max_size=6, unique=True))
def test_distinct_vips_keep_their_order(ips):
    assume(len({str(i) for i in ips}) == len(ips))
    texts = [str(ip) for ip in ips]
    assert [str(v) for v in parse_vips(texts)] == texts
    assert list(check_vips([", ".join(texts)]).vips) == texts
