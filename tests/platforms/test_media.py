"""Fetching images for the QR detector: bounded, and never into the private network."""

from __future__ import annotations

import httpx
import pytest

from qunyun.platforms.media import MediaUnavailable, fetch_image
from qunyun.platforms.models import PlatformConnection

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 100


def _client(handler: httpx.MockTransport) -> httpx.Client:
    return httpx.Client(transport=handler)


def _serve(routes: dict[str, httpx.Response]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        return routes.get(str(request.url), httpx.Response(404))

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1/image.png", "media.private_address"),
        ("http://10.1.2.3/image.png", "media.private_address"),
        ("http://[::1]/image.png", "media.private_address"),
        ("http://169.254.169.254/latest/meta-data", "media.private_address"),
        ("file:///etc/passwd", "media.bad_url"),
        ("javascript:alert(1)", "media.bad_url"),
    ],
)
def test_private_and_odd_addresses_are_refused(url: str, code: str) -> None:
    called: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        called.append(str(request.url))
        return httpx.Response(200, content=PNG)

    with pytest.raises(MediaUnavailable) as refused:
        fetch_image(None, url, client=_client(httpx.MockTransport(handle)))
    assert refused.value.code == code
    assert called == []


def test_a_url_is_downloaded_within_its_bound() -> None:
    url = "http://127.0.0.1/ok.png"
    routes = {url: httpx.Response(200, content=PNG)}
    got = fetch_image(None, url, allow_private=True, client=_client(_serve(routes)))
    assert got == PNG


@pytest.mark.parametrize(
    ("response", "code"),
    [
        (httpx.Response(200, content=b"x" * 2048), "media.too_large"),
        (
            httpx.Response(200, content=b"x" * 10, headers={"content-length": "99999"}),
            "media.too_large",
        ),
        (httpx.Response(500), "media.http_status"),
    ],
)
def test_oversized_or_failed_downloads_are_refused(response: httpx.Response, code: str) -> None:
    url = "http://127.0.0.1/big.png"
    with pytest.raises(MediaUnavailable) as refused:
        fetch_image(
            None, url, max_bytes=1024, allow_private=True, client=_client(_serve({url: response}))
        )
    assert refused.value.code == code


def test_a_telegram_file_goes_through_get_file() -> None:
    connection = PlatformConnection(
        platform="telegram", access_token="123:abc", api_url="http://127.0.0.1:9"
    )
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/bot123:abc/getFile":
            return httpx.Response(200, json={"ok": True, "result": {"file_path": "photos/f.jpg"}})
        if request.url.path == "/file/bot123:abc/photos/f.jpg":
            return httpx.Response(200, content=PNG)
        return httpx.Response(404)

    got = fetch_image(connection, "telegram-file:AgAC", client=_client(httpx.MockTransport(handle)))
    assert got == PNG
    assert seen == ["/bot123:abc/getFile", "/file/bot123:abc/photos/f.jpg"]


def test_a_telegram_file_without_a_telegram_connection_is_refused() -> None:
    with pytest.raises(MediaUnavailable) as refused:
        fetch_image(None, "telegram-file:AgAC")
    assert refused.value.code == "media.no_connection"


def test_an_unknown_telegram_file_is_not_found() -> None:
    connection = PlatformConnection(platform="telegram", access_token="1:a", api_url="http://x")
    transport = httpx.MockTransport(
        lambda request: httpx.Response(400, json={"ok": False, "description": "file not found"})
    )
    with pytest.raises(MediaUnavailable) as refused:
        fetch_image(connection, "telegram-file:nope", client=_client(transport))
    assert refused.value.code == "media.not_found"
