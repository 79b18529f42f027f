"""Which addresses the gateway may fetch a URL from when the URL is not its own configuration
(an upstream's image link, a user's URL): public ones only, unless the operator allows more.

A URL pointing at a private, loopback or link-local address would let whoever chose it reach
the gateway's own network (cloud metadata at 169.254.169.254, an admin port on 127.0.0.1).
`WMGW_FETCH_ALLOW` lists what the operator allows anyway: networks (`10.0.0.0/8`), addresses
(`127.0.0.1`) or host names (`minio.internal`), separated by commas.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*")
_NAT64 = (IPv6Network("64:ff9b::/96"), IPv6Network("64:ff9b:1::/48"))
REFUSED = (
    "points to an address the gateway does not fetch from (private, loopback, link-local or "
    "reserved)"
)
UNRESOLVED = "names a host that could not be resolved"


@dataclass(frozen=True, slots=True)
class FetchAllow:
    """What the operator allows besides public addresses."""

    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    def allows_host(self, host: str) -> bool:
        return _canonical(host) in self.hosts

    def allows_address(self, address: Address) -> bool:
        return any(address in network for network in self.networks)


PUBLIC_ONLY = FetchAllow()


def parse_allow(text: str) -> FetchAllow:
    """`WMGW_FETCH_ALLOW`'s value; ValueError names an item that is neither kind."""
    networks: list[Network] = []
    hosts: set[str] = set()
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ip_network(item, strict=False))
        except ValueError:
            if not _HOST_NAME.fullmatch(_canonical(item)):
                raise ValueError(
                    f"WMGW_FETCH_ALLOW: {item!r} is neither a network, an address nor a host name"
                ) from None
            hosts.add(_canonical(item))
    return FetchAllow(tuple(networks), frozenset(hosts))


def _canonical(host: str) -> str:
    return host.lower().rstrip(".")


def _embedded(address: Address) -> Iterable[Address]:
    """The IPv4 addresses an IPv6 one carries (mapped, 6to4, Teredo, NAT64): a packet to it
    can end up there, so each must pass too."""
    if isinstance(address, IPv4Address):
        return ()
    found = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if any(address in prefix for prefix in _NAT64):
        found.append(IPv4Address(int(address) & 0xFFFFFFFF))
    return [inner for inner in found if inner is not None]


def is_public(address: Address) -> bool:
    """Reachable on the internet at large: not private, loopback, link-local, site-local,
    shared (100.64.0.0/10), multicast, reserved or unspecified."""
    for candidate in (address, *_embedded(address)):
        special = candidate.is_multicast or candidate.is_reserved
        if not candidate.is_global or special or getattr(candidate, "is_site_local", False):
            return False
    return True


def refusal(host: str, addresses: Sequence[str], allow: FetchAllow) -> str | None:
    """Why a URL on `host`, which resolved to `addresses`, must not be fetched; None when it
    may. Every address is checked: the connection could go to any of them."""
    if allow.allows_host(host):
        return None
    if not addresses:
        return UNRESOLVED
    for text in addresses:
        address = ip_address(text.split("%", 1)[0])  # an IPv6 scope (`%eth0`) is no part of it
        if not is_public(address) and not allow.allows_address(address):
            return REFUSED
    return None
