from __future__ import annotations

from qunyun.web.client_ip import client_ip

PROXY = ("10.0.0.0/8",)


def test_header_ignored_without_trusted_proxies() -> None:
    assert client_ip("198.51.100.7", "203.0.113.1", ()) == "198.51.100.7"


def test_header_ignored_when_peer_is_not_a_proxy() -> None:
    assert client_ip("198.51.100.7", "203.0.113.1", PROXY) == "198.51.100.7"


def test_rightmost_untrusted_hop_is_the_client() -> None:
    assert client_ip("10.0.0.2", "1.2.3.4, 203.0.113.1, 10.0.0.5", PROXY) == "203.0.113.1"


def test_garbage_hop_falls_back_to_peer() -> None:
    assert client_ip("10.0.0.2", "not-an-ip", PROXY) == "10.0.0.2"
