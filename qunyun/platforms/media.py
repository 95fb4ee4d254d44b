"""Fetching a message's images from where its platform keeps them (for the QR detector).

A reference is what the adapters put in ``MessagePosted.images``: an http(s) URL
(OneBot implementations, bridges) or ``telegram-file:<file id>``, downloaded through
the Bot API's getFile. Downloads are bounded in size and time, and by default never
reach a private, loopback or link-local address: the URL comes from a payload, and a
payload must not be able to make Qunyun read its own network.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import httpx

from qunyun.platforms.models import PlatformConnection
from qunyun.platforms.telegram.client import DEFAULT_API_URL
from qunyun.platforms.telegram.updates import FILE_PREFIX

MAX_BYTES = 8 * 1024 * 1024
TIMEOUT = httpx.Timeout(5.0, connect=3.0)


class MediaUnavailable(Exception):
    """Why an image could not be fetched: a stable code, never the URL (it may hold a token)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _public_host(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MediaUnavailable("media.bad_url")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError:
        raise MediaUnavailable("media.unresolvable") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise MediaUnavailable("media.private_address")


def _download(client: httpx.Client, url: str, max_bytes: int, allow_private: bool) -> bytes:
    if not allow_private:
        _public_host(url)
    try:
        with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise MediaUnavailable("media.http_status")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise MediaUnavailable("media.too_large")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise MediaUnavailable("media.too_large")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError:
        raise MediaUnavailable("media.network") from None


def _telegram_url(client: httpx.Client, connection: PlatformConnection, file_id: str) -> str:
    api = (connection.api_url or DEFAULT_API_URL).rstrip("/")
    token = connection.access_token
    if not token:
        raise MediaUnavailable("media.no_token")
    try:
        answer = client.post(f"{api}/bot{token}/getFile", json={"file_id": file_id})
        payload = answer.json()
    except (httpx.HTTPError, ValueError):
        raise MediaUnavailable("media.network") from None
    path = (payload.get("result") or {}).get("file_path") if isinstance(payload, dict) else None
    if not payload.get("ok") or not isinstance(path, str) or not path:
        raise MediaUnavailable("media.not_found")
    return f"{api}/file/bot{token}/{path}"


def fetch_image(
    connection: PlatformConnection | None,
    reference: str,
    *,
    max_bytes: int = MAX_BYTES,
    allow_private: bool = False,
    client: httpx.Client | None = None,
) -> bytes:
    """The image's bytes, or :class:`MediaUnavailable` saying why not."""
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    try:
        if reference.startswith(FILE_PREFIX):
            if connection is None or connection.platform != "telegram":
                raise MediaUnavailable("media.no_connection")
            url = _telegram_url(http, connection, reference.removeprefix(FILE_PREFIX))
            # The Bot API's own host (a local Bot API server is the operator's choice).
            return _download(http, url, max_bytes, allow_private=True)
        return _download(http, reference, max_bytes, allow_private)
    finally:
        if own:
            http.close()
