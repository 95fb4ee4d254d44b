"""The client's address, believing X-Forwarded-For only from configured proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_ip(peer: str | None, forwarded_for: str | None, trusted: tuple[str, ...]) -> str | None:
    """Walk X-Forwarded-For from the right, skipping trusted proxies.

    Only when the direct peer is a trusted proxy is the header read at all; the first
    untrusted address from the right is the client.
    """
    if not trusted or not forwarded_for or peer is None:
        return peer
    networks = _networks(trusted)
    if not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return hops[0] if hops else peer


def scope_client_ip(scope: Mapping[str, object], trusted: tuple[str, ...]) -> str | None:
    client = scope.get("client")
    peer = client[0] if isinstance(client, tuple | list) and client else None
    forwarded = None
    headers = scope.get("headers")
    if trusted and isinstance(headers, list):
        for name, value in headers:
            if name == b"x-forwarded-for":
                forwarded = value.decode("latin-1")
                break
    return client_ip(peer if isinstance(peer, str) else None, forwarded, trusted)
