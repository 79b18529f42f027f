"""Which proxy an upstream call goes through: `HTTPS_PROXY` for https URLs, `HTTP_PROXY` for
http ones (either spelling's case), unless `NO_PROXY` lists the host (a name, a domain suffix,
`*`, an address or a network, each with an optional `:port`), as curl and Python's urllib
read them. Read from the settings' environment, not from the process's."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit


class Proxies:
    def __init__(self, environ: Mapping[str, str]) -> None:
        def get(name: str) -> str | None:
            return environ.get(name.lower()) or environ.get(name.upper()) or None

        self.by_scheme = {"http": get("http_proxy"), "https": get("https_proxy")}
        self.bypass = [item.strip().lower() for item in (get("no_proxy") or "").split(",")]
        self.bypass = [item for item in self.bypass if item]

    def for_url(self, url: str) -> str | None:
        parts = urlsplit(url)
        proxy = self.by_scheme.get(parts.scheme)
        if proxy is None or self._bypassed(parts.hostname or "", parts.port):
            return None
        return proxy

    def _bypassed(self, host: str, port: int | None) -> bool:
        return any(_matches(entry, host.lower(), port) for entry in self.bypass)


def _matches(entry: str, host: str, port: int | None) -> bool:
    if entry == "*":
        return True
    name, _, entry_port = entry.rpartition(":") if _has_port(entry) else (entry, "", "")
    if entry_port and port is not None and str(port) != entry_port:
        return False
    try:
        return ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False)
    except ValueError:
        pass
    name = name.lstrip(".")
    return host == name or host.endswith("." + name)


def _has_port(entry: str) -> bool:
    head, _, tail = entry.rpartition(":")
    return bool(head) and tail.isdigit() and "]" not in tail and entry.count(":") == 1
