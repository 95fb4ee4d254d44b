"""Fetch a page's title and Open Graph tags, only when an operator asks for it.

Fetching an operator-supplied URL from the server is a server-side request forgery
risk, so :func:`fetch_page_meta`:

- normalises the URL (:func:`~qunyun.links.urls.parse_url`: http and https only) and
  refuses private host names (``localhost``, ``*.internal``, single labels …) before any
  DNS query;
- resolves the host once (``socket.getaddrinfo``, in a helper thread so the timeout also
  bounds DNS) and refuses the fetch if *any* address is private, loopback, link-local …;
- connects to a vetted address, never to the name again: the request URL carries the
  IP address while the ``Host`` header, TLS SNI and certificate check carry the name
  (httpx's ``sni_hostname`` request extension), so DNS rebinding between the check and
  the connection cannot send the request elsewhere;
- ignores proxy settings from the environment (a proxy would resolve the name itself);
- follows at most :data:`MAX_REDIRECTS` redirects by hand, each hop normalised,
  resolved and vetted afresh;
- keeps one deadline for the whole fetch. It is checked between steps and body chunks,
  so one stalled read can overrun it by at most the time left when its request began:
  the total stays under twice ``timeout``;
- reads only ``text/html`` (or XHTML), asks for an uncompressed body and stops at
  ``max_bytes`` or at ``</head>``; a server that compresses anyway can expand one
  network chunk before the cap applies.

Decoding follows the HTML standard's order: byte-order mark, the ``Content-Type``
charset, a ``<meta>`` charset in the first 1024 bytes, else UTF-8; undecodable bytes
become U+FFFD. GB2312 and GBK labels decode as GB18030, their superset, because pages
labelled GB2312 routinely contain GBK characters.
"""

from __future__ import annotations

import codecs
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx

from qunyun.errors import DomainError
from qunyun.links.urls import (
    ParsedUrl,
    is_private_address,
    is_private_host,
    normalise_url,
    parse_url,
)

USER_AGENT = "QunyunBot/0.1 (+link title)"
MAX_REDIRECTS = 3
TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 500
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHARSET_PRESCAN_BYTES = 1024

Resolver = Callable[[str, int], Iterable[str]]

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CHARSET_ALIASES = {
    **dict.fromkeys(
        ("gb2312", "gbk", "x-gbk", "gb_2312", "gb_2312-80", "chinese", "csgb2312",
         "csiso58gb231280", "iso-ir-58", "gb18030", "cp936", "windows-936"),
        "gb18030",
    ),
    **dict.fromkeys(("big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"), "big5hkscs"),
    **dict.fromkeys(
        ("iso-8859-1", "iso8859-1", "latin1", "l1", "ascii", "us-ascii", "cp819", "ibm819",
         "windows-1252", "cp1252"),
        "cp1252",
    ),
    # UTF-7 and UTF-16 without a byte-order mark are treated as UTF-8, as browsers do.
    **dict.fromkeys(("utf-7", "utf-16", "utf-16le", "utf-16be", "utf-32"), "utf-8"),
}  # fmt: skip
_HEADER_CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.IGNORECASE)
_META_CHARSET_RE = re.compile(
    rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.IGNORECASE
)
_HEAD_END = b"</head"
_PARSE_SLICE = 16 * 1024
_WANTED_META = frozenset({"og:title", "og:description", "og:image", "og:image:url", "description"})
_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
_ACCEPT_LANGUAGE = "zh-CN,zh;q=0.9,en;q=0.8"


@dataclass(frozen=True)
class PageMeta:
    """What a page says about itself; any field may be missing."""

    url: str
    title: str | None = None
    og_title: str | None = None
    og_description: str | None = None
    og_image: str | None = None
    description: str | None = None
    encoding: str = "utf-8"

    @property
    def best_title(self) -> str | None:
        return self.og_title or self.title


def fetch_page_meta(
    url: str,
    *,
    timeout: float = 5.0,
    max_bytes: int = 512 * 1024,
    allow_private: bool = False,
    user_agent: str = USER_AGENT,
    resolve: Resolver | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> PageMeta:
    """Fetch ``url`` and read its title and Open Graph tags.

    ``resolve`` (host, port → IP addresses) defaults to ``getaddrinfo``; ``ssl_context``
    defaults to httpx's verifying context. Raises ``url.*`` for a URL that cannot be
    fetched at all and ``title.*`` for everything that goes wrong fetching it.
    """
    deadline = _Deadline(timeout)
    target = parse_url(url)
    try:
        with httpx.Client(
            trust_env=False, verify=ssl_context or True, follow_redirects=False
        ) as client:
            for _ in range(MAX_REDIRECTS + 1):
                addresses = _vetted_addresses(
                    target, allow_private, resolve or resolve_host, deadline
                )
                response = _send_pinned(client, target, addresses, user_agent, deadline)
                try:
                    if response.status_code in REDIRECT_STATUSES:
                        target = _redirect_target(target, response)
                        continue
                    _check_response(response)
                    body = _read_head(response, max_bytes, deadline)
                finally:
                    response.close()
                text, encoding = decode_html(body, response.headers.get("content-type"))
                return replace(extract_meta(text, str(target), allow_private), encoding=encoding)
    except httpx.TimeoutException:
        raise DomainError("title.timeout", seconds=timeout) from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise DomainError("title.fetch_failed", reason=_describe(exc)) from None
    raise DomainError("title.too_many_redirects", max_redirects=MAX_REDIRECTS)


def resolve_host(host: str, port: int) -> list[str]:
    """All addresses ``host`` resolves to, in the resolver's order of preference."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def decode_html(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Decode an HTML body; returns the text and the Python codec used."""
    for bom, bom_encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(bom_encoding, "replace"), bom_encoding
    header_match = _HEADER_CHARSET_RE.search(content_type or "")
    meta_match = _META_CHARSET_RE.search(body[:CHARSET_PRESCAN_BYTES])
    if header_match:
        label = header_match.group(1)
    elif meta_match:
        label = meta_match.group(1).decode("ascii")
    else:
        label = "utf-8"
    encoding = _codec_for(label)
    try:
        return body.decode(encoding, "replace"), encoding
    except LookupError:  # a bytes-to-bytes codec such as base64 is no text encoding
        return body.decode("utf-8", "replace"), "utf-8"


def extract_meta(html_text: str, page_url: str, allow_private: bool = False) -> PageMeta:
    """Title, Open Graph tags and description of an HTML document's head.

    The document may be truncated; parsing stops soon after ``<body>`` starts.
    Text is unescaped, whitespace collapsed and capped; ``og:image`` is resolved against
    ``page_url`` and kept only if it is an acceptable http(s) URL.
    """
    parser = _HeadParser()
    try:
        for start in range(0, len(html_text), _PARSE_SLICE):
            parser.feed(html_text[start : start + _PARSE_SLICE])
            if parser.in_body:
                break
        parser.close()
    except AssertionError:  # the stdlib parser's way of giving up on broken markup
        pass
    meta = parser.meta
    return PageMeta(
        url=page_url,
        title=_clean(parser.title_text(), TITLE_MAX_LENGTH),
        og_title=_clean(meta.get("og:title"), TITLE_MAX_LENGTH),
        og_description=_clean(meta.get("og:description"), DESCRIPTION_MAX_LENGTH),
        og_image=_image_url(
            meta.get("og:image") or meta.get("og:image:url"), page_url, allow_private
        ),
        description=_clean(meta.get("description"), DESCRIPTION_MAX_LENGTH),
    )


class _Deadline:
    """One time budget for the whole fetch: DNS, every hop and the body."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise DomainError("title.timeout", seconds=self.seconds)
        return left


def _vetted_addresses(
    target: ParsedUrl, allow_private: bool, resolve: Resolver, deadline: _Deadline
) -> list[str]:
    if not allow_private and is_private_host(target.host):
        raise DomainError("title.private_address", host=target.host, address=target.host)
    if _is_ip(target.host):
        return [target.host]
    addresses = _resolve_within(resolve, target.host, target.effective_port, deadline)
    if not addresses:
        raise DomainError("title.fetch_failed", reason=f"{target.host} has no address")
    for address in addresses:
        if not _is_ip(address):
            raise DomainError("title.fetch_failed", reason=f"{address!r} is not an IP address")
        if not allow_private and is_private_address(address):
            raise DomainError("title.private_address", host=target.host, address=address)
    return addresses


def _resolve_within(resolve: Resolver, host: str, port: int, deadline: _Deadline) -> list[str]:
    outcome: list[list[str] | Exception] = []

    def run() -> None:
        try:
            outcome.append([str(address) for address in resolve(host, port)])
        except Exception as exc:  # reported to the caller below
            outcome.append(exc)

    worker = threading.Thread(target=run, name=f"resolve {host}", daemon=True)
    worker.start()
    worker.join(deadline.remaining())
    if not outcome:
        raise DomainError("title.timeout", seconds=deadline.seconds)
    result = outcome[0]
    if isinstance(result, Exception):
        raise DomainError("title.fetch_failed", reason=f"cannot resolve {host}: {result}")
    return result


def _send_pinned(
    client: httpx.Client,
    target: ParsedUrl,
    addresses: list[str],
    user_agent: str,
    deadline: _Deadline,
) -> httpx.Response:
    """Send the request to the first vetted address that accepts a connection."""
    headers = {
        "Host": target.authority,
        "User-Agent": user_agent,
        "Accept": _ACCEPT,
        "Accept-Language": _ACCEPT_LANGUAGE,
        "Accept-Encoding": "identity",
    }
    extensions: dict[str, str] = {}
    if target.scheme == "https" and not _is_ip(target.host):
        extensions["sni_hostname"] = target.host
    failure: httpx.ConnectError | None = None
    for address in addresses:
        pinned = replace(target, host=address.partition("%")[0], fragment=None)
        request = client.build_request(
            "GET",
            str(pinned),
            headers=headers,
            extensions=extensions,
            timeout=httpx.Timeout(deadline.remaining()),
        )
        try:
            return client.send(request, stream=True)
        except httpx.ConnectError as exc:
            failure = exc
    raise DomainError("title.fetch_failed", reason=_describe(failure))


def _redirect_target(current: ParsedUrl, response: httpx.Response) -> ParsedUrl:
    location = response.headers.get("location", "").strip()
    if not location:
        raise DomainError("title.http_error", status_code=response.status_code)
    try:
        return parse_url(urljoin(str(current), location))
    except DomainError as exc:
        raise DomainError(
            "title.fetch_failed", reason=f"redirect to an unusable URL ({exc.code})"
        ) from None


def _check_response(response: httpx.Response) -> None:
    if not 200 <= response.status_code < 300:
        raise DomainError("title.http_error", status_code=response.status_code)
    content_type = response.headers.get("content-type", "")
    mime = content_type.partition(";")[0].strip().lower()
    if mime not in HTML_TYPES:
        raise DomainError("title.not_html", content_type=mime or "-")


def _read_head(response: httpx.Response, max_bytes: int, deadline: _Deadline) -> bytes:
    body = bytearray()
    for chunk in response.iter_bytes():
        search_from = max(0, len(body) - len(_HEAD_END))
        body += chunk
        if len(body) >= max_bytes:
            del body[max_bytes:]
            break
        head_end = body.lower().find(_HEAD_END, search_from)
        if head_end >= 0:  # what follows the head is never read, whatever the chunking
            del body[head_end:]
            break
        deadline.remaining()
    return bytes(body)


def _codec_for(label: str) -> str:
    name = label.strip().lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return "utf-8"
    return _CHARSET_ALIASES.get(codec, codec)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _clean(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    return " ".join(text.split())[:limit].rstrip() or None


def _image_url(value: str | None, page_url: str, allow_private: bool) -> str | None:
    if not value or not value.strip():
        return None
    try:
        return normalise_url(urljoin(page_url, value.strip()), allow_private=allow_private)
    except DomainError:
        return None


def _describe(exc: Exception | None) -> str:
    if exc is None:
        return "no address to connect to"
    return str(exc) or type(exc).__name__


class _HeadParser(HTMLParser):
    """Collects the first ``<title>`` outside SVG and the wanted ``<meta>`` contents.

    Notes where ``<body>`` starts so the caller can stop feeding it there.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self._title_parts: list[str] | None = None
        self._title_done = False
        self._svg_depth = 0
        self.in_body = False

    def title_text(self) -> str | None:
        return None if self._title_parts is None else "".join(self._title_parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body" or self.in_body:
            self.in_body = True
        elif tag == "svg":
            self._svg_depth += 1
        elif tag == "title" and self._svg_depth == 0 and self._title_parts is None:
            self._title_parts = []
        elif tag == "meta":
            values = {name.lower(): value for name, value in attrs if value is not None}
            key = (values.get("property") or values.get("name") or "").strip().lower()
            if key in _WANTED_META and "content" in values:
                self.meta.setdefault(key, values["content"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg" and self._svg_depth:
            self._svg_depth -= 1
        elif tag == "title" and self._title_parts is not None:
            self._title_done = True

    def handle_data(self, data: str) -> None:
        if self._title_parts is not None and not self._title_done:
            self._title_parts.append(data)
