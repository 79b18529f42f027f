"""Which addresses the gateway fetches a URL from (domain/fetch_rules.py): public ones, and
what `WMGW_FETCH_ALLOW` adds."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from domain.fetch_rules import PUBLIC_ONLY, REFUSED, UNRESOLVED, parse_allow, refusal

NOT_PUBLIC = [
    "127.0.0.1",  # loopback
    "127.255.0.9",
    "::1",
    "10.1.2.3",  # private
    "172.16.0.1",
    "192.168.1.1",
    "fd00::1",  # unique local
    "169.254.169.254",  # link-local: cloud metadata
    "fe80::1",
    "fec0::1",  # site-local (deprecated, still routed by some)
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "0.0.0.0",  # unspecified: Linux connects it to loopback
    "::",
    "224.0.0.1",  # multicast
    "ff02::1",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.2.1",  # documentation
    "198.18.0.1",  # benchmarking
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:10.0.0.1",
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a00:1::",  # 6to4 of 10.0.0.1
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700::1111", "2a00:1450:4001:82a::200e"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_private_loopback_link_local_and_reserved_addresses_are_refused(address: str) -> None:
    assert refusal("example.com", [address], PUBLIC_ONLY) == REFUSED


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_fetched(address: str) -> None:
    assert refusal("example.com", [address], PUBLIC_ONLY) is None


def test_every_address_of_a_name_is_checked_not_only_the_first() -> None:
    assert refusal("rebind.example", ["8.8.8.8", "127.0.0.1"], PUBLIC_ONLY) == REFUSED
    assert refusal("rebind.example", ["127.0.0.1", "8.8.8.8"], PUBLIC_ONLY) == REFUSED


def test_a_name_that_resolves_to_nothing_is_refused() -> None:
    assert refusal("nowhere.example", [], PUBLIC_ONLY) == UNRESOLVED


def test_an_ipv6_scope_is_no_part_of_the_address() -> None:
    assert refusal("host", ["fe80::1%eth0"], PUBLIC_ONLY) == REFUSED
    assert refusal("host", ["fe80::1%eth0"], parse_allow("fe80::/10")) is None


def test_allowed_networks_let_their_addresses_through_and_no_others() -> None:
    allow = parse_allow("127.0.0.1/32, 10.0.0.0/8")
    assert refusal("fake", ["127.0.0.1"], allow) is None
    assert refusal("minio", ["10.20.30.40"], allow) is None
    assert refusal("other", ["127.0.0.2"], allow) == REFUSED
    assert refusal("mixed", ["10.0.0.1", "192.168.0.1"], allow) == REFUSED
    assert refusal("public", ["8.8.8.8"], allow) is None


def test_a_bare_address_is_a_network_of_one() -> None:
    allow = parse_allow("127.0.0.1,::1")
    assert allow.allows_address(ip_address("127.0.0.1"))
    assert allow.allows_address(ip_address("::1"))
    assert not allow.allows_address(ip_address("127.0.0.2"))


def test_allowed_host_names_pass_whatever_they_resolve_to() -> None:
    allow = parse_allow("MinIO.internal., images_cache")
    assert refusal("minio.internal", ["10.0.0.5"], allow) is None
    assert refusal("Images_Cache", ["172.17.0.2"], allow) is None
    assert refusal("minio.internal.evil.example", ["10.0.0.5"], allow) == REFUSED


def test_an_empty_setting_allows_nothing_more() -> None:
    assert parse_allow("") == PUBLIC_ONLY
    assert parse_allow(" , ") == PUBLIC_ONLY


@pytest.mark.parametrize("item", ["10.0.0.0/33", "http://10.0.0.1", "bad host", "a..b", "*"])
def test_a_malformed_setting_is_refused_at_start_up_naming_the_item(item: str) -> None:
    with pytest.raises(ValueError, match="WMGW_FETCH_ALLOW") as caught:
        parse_allow(f"127.0.0.1/32,{item}")
    assert repr(item) in str(caught.value)
