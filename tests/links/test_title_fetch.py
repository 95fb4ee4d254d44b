"""Page title fetching (qunyun.links.title_fetch) against real servers on 127.0.0.1."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme
from hypothesis import given
from hypothesis import strategies as st

from qunyun.errors import DomainError
from qunyun.i18n import LANGUAGES, load_catalog
from qunyun.links.title_fetch import (
    TITLE_MAX_LENGTH,
    USER_AGENT,
    decode_html,
    extract_meta,
    fetch_page_meta,
    resolve_host,
)
from qunyun.links.urls import is_private_host

pytestmark = pytest.mark.slow  # starts HTTP servers

HTML = "text/html; charset=utf-8"


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": HTML})
    stall: bool = False  # hold the response until the test ends
    drip: bool = False  # send the body one byte at a time


class PageServer:
    """A threaded HTTP(S) server on 127.0.0.1 serving canned routes and recording requests."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.release = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.scheme = "https" if tls else "http"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def page(self, path: str, html: str | bytes, content_type: str = HTML) -> None:
        body = html.encode("utf-8") if isinstance(html, str) else html
        self.routes[path] = Route(body, headers={"Content-Type": content_type})

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.routes[path] = Route(status=status, headers={"Location": location})

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.path, dict(self.headers.items())))
                route = server.routes.get(self.path, Route(b"missing", status=404))
                if route.stall and server.release.wait(10):
                    return
                try:
                    self.send_response(route.status)
                    for name, value in route.headers.items():
                        self.send_header(name, value)
                    if not route.drip:
                        self.send_header("Content-Length", str(len(route.body)))
                    self.end_headers()
                    if not route.drip:
                        self.wfile.write(route.body)
                        return
                    for index in range(len(route.body)):
                        self.wfile.write(route.body[index : index + 1])
                        self.wfile.flush()
                        if server.release.wait(0.02):
                            return
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    pass  # the client stopped reading, as it should past its limit

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def server() -> Iterator[PageServer]:
    page_server = PageServer()
    yield page_server
    page_server.close()


def pinned(mapping: dict[str, list[str]]) -> Callable[[str, int], Iterable[str]]:
    """A resolver answering from ``mapping`` and recording what it was asked."""
    asked: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return mapping[host]

    resolve.asked = asked  # type: ignore[attr-defined]
    return resolve


def never_resolve(host: str, port: int) -> list[str]:
    raise AssertionError(f"must not resolve {host}")


def fetch_error(url: str, **kwargs: object) -> DomainError:
    with pytest.raises(DomainError) as caught:
        fetch_page_meta(url, **kwargs)  # type: ignore[arg-type]
    return caught.value


# --- happy paths ---------------------------------------------------------------------

UTF8_PAGE = """<!doctype html>
<html><head>
  <meta charset="utf-8">
  <title>
     群运 &amp; 社群
     运营 &#8212; 首页
  </title>
  <meta property="og:title" content="群运：社群运营平台">
  <meta property="og:description" content="  短链接、活码
      与群规 &lt;一站式&gt; ">
  <meta property="og:image" content="/img/cover.png">
  <meta name="description" content="描述">
</head><body><svg><title>not the title</title></svg></body></html>"""


def test_utf8_page_with_open_graph_tags(server: PageServer) -> None:
    server.page("/", UTF8_PAGE)
    meta = fetch_page_meta(server.url("/"), allow_private=True, timeout=5)
    assert meta.title == "群运 & 社群 运营 — 首页"
    assert meta.og_title == "群运：社群运营平台"
    assert meta.best_title == "群运：社群运营平台"
    assert meta.og_description == "短链接、活码 与群规 <一站式>"
    assert meta.og_image == server.url("/img/cover.png")
    assert meta.description == "描述"
    assert meta.url == server.url("/")
    assert meta.encoding == "utf-8"
    path, headers = server.requests[0]
    assert path == "/"
    assert headers["User-Agent"] == USER_AGENT
    assert headers["Host"] == f"127.0.0.1:{server.port}"


def test_gbk_page_declared_in_the_header(server: PageServer) -> None:
    html = "<html><head><title>群运测试页面——欢迎</title></head></html>"
    server.page("/gbk", html.encode("gbk"), "text/html; charset=GBK")
    meta = fetch_page_meta(server.url("/gbk"), allow_private=True)
    assert meta.title == "群运测试页面——欢迎"
    assert meta.encoding == "gb18030"


def test_gb2312_meta_label_with_gbk_only_characters(server: PageServer) -> None:
    title = "陶喆的歌"  # 喆 is in GBK but not in GB2312
    with pytest.raises(UnicodeEncodeError):
        title.encode("gb2312")
    html = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    html += f"<title>{title}</title></head></html>"
    server.page("/gb2312", html.encode("gbk"), "text/html")
    meta = fetch_page_meta(server.url("/gb2312"), allow_private=True)
    assert meta.title == title


def test_undeclared_encoding_is_utf8_with_replacement(server: PageServer) -> None:
    server.page("/bad", b"<title>ok \xff\xfe bytes</title>", "text/html")
    assert fetch_page_meta(server.url("/bad"), allow_private=True).title == "ok \ufffd\ufffd bytes"


def test_oversized_page_is_truncated(server: PageServer) -> None:
    padding = "<!-- " + "x" * 1_000_000 + " -->"
    html = f'<html><head><title>early</title>{padding}<meta property="og:title" content="late">'
    server.page("/big", html)
    meta = fetch_page_meta(server.url("/big"), allow_private=True, max_bytes=64 * 1024)
    assert meta.title == "early"
    assert meta.og_title is None
    whole = fetch_page_meta(server.url("/big"), allow_private=True, max_bytes=2 * 1024 * 1024)
    assert whole.og_title == "late"


def test_reading_stops_after_the_head(server: PageServer) -> None:
    html = '<head><title>t</title></head><body><meta property="og:title" content="in body">'
    server.page("/head", html)
    meta = fetch_page_meta(server.url("/head"), allow_private=True)
    assert (meta.title, meta.og_title) == ("t", None)


def test_title_is_capped(server: PageServer) -> None:
    server.page("/long", "<title>" + "长" * 500 + "</title>")
    title = fetch_page_meta(server.url("/long"), allow_private=True).title
    assert title == "长" * TITLE_MAX_LENGTH


def test_redirect_chain_is_followed(server: PageServer) -> None:
    server.redirect("/r1", "/r2", 302)
    server.redirect("/r2", server.url("/r3"), 301)
    server.redirect("/r3", "page?x=1", 307)
    server.page("/page?x=1", "<title>arrived</title>")
    meta = fetch_page_meta(server.url("/r1"), allow_private=True)
    assert meta.title == "arrived"
    assert meta.url == server.url("/page?x=1")
    assert [path for path, _ in server.requests] == ["/r1", "/r2", "/r3", "/page?x=1"]


def test_too_many_redirects(server: PageServer) -> None:
    for hop in range(1, 5):
        server.redirect(f"/hop{hop}", f"/hop{hop + 1}")
    server.page("/hop5", "<title>too far</title>")
    error = fetch_error(server.url("/hop1"), allow_private=True)
    assert error.code == "title.too_many_redirects"
    assert len(server.requests) == 4


def test_redirect_to_a_dangerous_scheme_fails(server: PageServer) -> None:
    server.redirect("/r", "file:///etc/passwd")
    error = fetch_error(server.url("/r"), allow_private=True)
    assert error.code == "title.fetch_failed"
    assert "url.dangerous_scheme" in error.params["reason"]


def test_every_redirect_hop_is_vetted(server: PageServer) -> None:
    resolve = pinned({"rebind.example.com": ["10.0.0.7"]})
    server.redirect("/r", "http://rebind.example.com/admin")

    def loopback_counts_as_public(host: str) -> bool:
        return host != "127.0.0.1" and is_private_host(host)

    with pytest.MonkeyPatch.context() as patch:  # let the first hop reach the test server
        patch.setattr("qunyun.links.title_fetch.is_private_host", loopback_counts_as_public)
        error = fetch_error(server.url("/r"), resolve=resolve)
    assert error.code == "title.private_address"
    assert error.params == {"host": "rebind.example.com", "address": "10.0.0.7"}
    assert resolve.asked == [("rebind.example.com", 80)]  # type: ignore[attr-defined]
    assert [path for path, _ in server.requests] == ["/r"]


@pytest.mark.parametrize(
    "content_type", ["application/json", "image/png", "text/plain; charset=utf-8", ""]
)
def test_non_html_is_refused(server: PageServer, content_type: str) -> None:
    server.routes["/x"] = Route(
        b"{}", headers={"Content-Type": content_type} if content_type else {}
    )
    error = fetch_error(server.url("/x"), allow_private=True)
    assert error.code == "title.not_html"
    assert error.params["content_type"] == (content_type.split(";")[0] or "-")


def test_xhtml_is_accepted(server: PageServer) -> None:
    server.page("/x", "<title>xhtml</title>", "application/xhtml+xml")
    assert fetch_page_meta(server.url("/x"), allow_private=True).title == "xhtml"


def test_error_status(server: PageServer) -> None:
    error = fetch_error(server.url("/nowhere"), allow_private=True)
    assert (error.code, error.params) == ("title.http_error", {"status_code": 404})


def test_redirect_without_location(server: PageServer) -> None:
    server.routes["/r"] = Route(status=302, headers={})
    assert fetch_error(server.url("/r"), allow_private=True).code == "title.http_error"


# --- timeouts ------------------------------------------------------------------------


def test_slow_page_times_out(server: PageServer) -> None:
    server.routes["/slow"] = Route(b"<title>late</title>", stall=True)
    error = fetch_error(server.url("/slow"), allow_private=True, timeout=0.3)
    assert (error.code, error.params) == ("title.timeout", {"seconds": 0.3})


def test_dripping_page_hits_the_overall_deadline(server: PageServer) -> None:
    server.routes["/drip"] = Route(b"<html>" + b" " * 5000, drip=True)
    error = fetch_error(server.url("/drip"), allow_private=True, timeout=0.4)
    assert error.code == "title.timeout"


def test_slow_dns_times_out() -> None:
    gate = threading.Event()

    def hanging(host: str, port: int) -> list[str]:
        gate.wait(10)
        return ["93.184.216.34"]

    try:
        error = fetch_error("https://slow-dns.example.com/", resolve=hanging, timeout=0.2)
    finally:
        gate.set()
    assert error.code == "title.timeout"


# --- address safety ------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "2130706433", "db.internal"])
def test_private_targets_are_refused_without_any_connection(server: PageServer, host: str) -> None:
    error = fetch_error(server.url("/", host=host), resolve=never_resolve)
    assert error.code == "title.private_address"
    assert server.requests == []


def test_a_name_resolving_to_any_private_address_is_refused(server: PageServer) -> None:
    resolve = pinned({"www.example.com": ["93.184.216.34", "127.0.0.1"]})
    error = fetch_error(f"http://www.example.com:{server.port}/", resolve=resolve)
    assert error.code == "title.private_address"
    assert error.params["address"] == "127.0.0.1"
    assert server.requests == []


def test_connection_goes_to_the_vetted_address_with_the_name_in_host(server: PageServer) -> None:
    server.page("/p", "<title>pinned</title>")
    resolve = pinned({"pinned.example.com": ["127.0.0.1"]})
    url = f"http://pinned.example.com:{server.port}/p"
    meta = fetch_page_meta(url, resolve=resolve, allow_private=True)
    assert meta.title == "pinned"
    assert meta.url == url
    assert resolve.asked == [("pinned.example.com", server.port)]  # type: ignore[attr-defined]
    assert server.requests[0][1]["Host"] == f"pinned.example.com:{server.port}"


def test_unreachable_address_falls_back_to_the_next(server: PageServer) -> None:
    server.page("/p", "<title>second address</title>")
    # the server listens on 127.0.0.1 only, so 127.0.0.2 refuses the connection
    resolve = pinned({"two.example.com": ["127.0.0.2", "127.0.0.1"]})
    url = f"http://two.example.com:{server.port}/p"
    assert fetch_page_meta(url, resolve=resolve, allow_private=True).title == "second address"


def test_system_resolver_and_fallback_on_localhost(server: PageServer) -> None:
    addresses = resolve_host("localhost", server.port)
    assert "127.0.0.1" in addresses
    server.page("/p", "<title>via getaddrinfo</title>")
    meta = fetch_page_meta(server.url("/p", host="localhost"), allow_private=True)
    assert meta.title == "via getaddrinfo"


def test_resolver_failure_is_reported() -> None:
    def failing(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    error = fetch_error("https://no-such-host.example.com/", resolve=failing)
    assert error.code == "title.fetch_failed"
    assert "no-such-host.example.com" in error.params["reason"]


def test_invalid_urls_are_refused_before_fetching() -> None:
    assert fetch_error("javascript:alert(1)", resolve=never_resolve).code == "url.dangerous_scheme"
    assert fetch_error("ftp://example.com/", resolve=never_resolve).code == "url.scheme_not_allowed"


# --- https: SNI and certificate checked against the name, connection to the address ----


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


def tls_server(ca: trustme.CA, name: str, seen_sni: list[str | None]) -> PageServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)

    def remember(sock: ssl.SSLObject, server_name: str | None, ctx: ssl.SSLContext) -> None:
        seen_sni.append(server_name)

    context.sni_callback = remember
    return PageServer(tls=context)


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def test_https_is_pinned_with_sni_and_verified_for_the_name(ca: trustme.CA) -> None:
    seen_sni: list[str | None] = []
    server = tls_server(ca, "pinned.example.com", seen_sni)
    try:
        server.page("/", "<title>secure</title>")
        resolve = pinned({"pinned.example.com": ["127.0.0.1"]})
        url = f"https://pinned.example.com:{server.port}/"
        meta = fetch_page_meta(
            url, resolve=resolve, allow_private=True, ssl_context=client_context(ca)
        )
        assert meta.title == "secure"
        assert seen_sni == ["pinned.example.com"]
        assert server.requests[0][1]["Host"] == f"pinned.example.com:{server.port}"
    finally:
        server.close()


def test_https_certificate_for_another_name_is_refused(ca: trustme.CA) -> None:
    server = tls_server(ca, "other.example.com", [])
    try:
        server.page("/", "<title>impostor</title>")
        resolve = pinned({"pinned.example.com": ["127.0.0.1"]})
        url = f"https://pinned.example.com:{server.port}/"
        error = fetch_error(
            url, resolve=resolve, allow_private=True, ssl_context=client_context(ca)
        )
        assert error.code == "title.fetch_failed"
        assert "certificate" in error.params["reason"].lower()
        assert server.requests == []
    finally:
        server.close()


# --- parsing and decoding, no network -------------------------------------------------


def test_decode_html_order_of_precedence() -> None:
    body = '<meta charset="gbk"><title>群</title>'.encode("gbk")
    assert decode_html(body, "text/html")[1] == "gb18030"
    assert decode_html(body, "text/html; charset=utf-8")[1] == "utf-8"
    utf16 = "\ufeff<title>群</title>".encode("utf-16-le")
    assert decode_html(utf16, "text/html; charset=gbk") == ("<title>群</title>", "utf-16-le")
    assert decode_html(b"<title>x</title>", 'text/html; charset="no-such"')[1] == "utf-8"
    assert decode_html(b"<title>x</title>", "text/html; charset=base64")[1] == "utf-8"
    assert decode_html(b"<title>x</title>", "text/html; charset=utf-7")[1] == "utf-8"
    assert decode_html(b"<title>x</title>", "text/html; charset=ISO-8859-1")[1] == "cp1252"


def test_extract_meta_drops_unusable_images() -> None:
    page = "https://example.com/a/b"
    html = '<meta property="og:image" content="javascript:alert(1)">'
    assert extract_meta(html, page).og_image is None
    html = '<meta property="og:image" content="http://10.0.0.1/x.png">'
    assert extract_meta(html, page).og_image is None
    assert extract_meta(html, page, allow_private=True).og_image == "http://10.0.0.1/x.png"
    html = '<meta property="og:image" content="../img/封面.png">'
    assert extract_meta(html, page).og_image == "https://example.com/img/%E5%B0%81%E9%9D%A2.png"


def test_first_title_and_first_meta_win() -> None:
    html = "<title>one</title><title>two</title>"
    html += '<meta property="og:title" content="a"><meta property="og:title" content="b">'
    meta = extract_meta(html, "https://example.com/")
    assert (meta.title, meta.og_title) == ("one", "a")


def test_only_the_head_is_read() -> None:
    html = '<html><head><title>head</title></head><body><meta property="og:title" content="b">'
    assert extract_meta(html, "https://example.com/").og_title is None
    html = '<meta property="og:title" content="a"><body><title>in body</title>'
    meta = extract_meta(html, "https://example.com/")
    assert (meta.og_title, meta.title) == ("a", None)


def test_unterminated_title_is_kept() -> None:
    assert extract_meta("<head><title>cut off he", "https://example.com/").title == "cut off he"


@given(st.text(max_size=300) | st.builds("<title>{}</title>".format, st.text(max_size=400)))
def test_extract_meta_never_fails_and_cleans_titles(html: str) -> None:
    meta = extract_meta(html, "https://example.com/")
    for text in (meta.title, meta.og_title):
        if text is not None:
            assert 0 < len(text) <= TITLE_MAX_LENGTH
            assert text == " ".join(text.split())


@given(st.binary(max_size=300), st.sampled_from([None, "text/html", "text/html; charset=gbk"]))
def test_decode_html_never_fails(body: bytes, content_type: str | None) -> None:
    text, encoding = decode_html(body, content_type)
    assert isinstance(text, str)
    assert encoding


def test_every_code_has_a_message_in_every_language() -> None:
    catalog = load_catalog()
    codes = [
        "title.private_address", "title.timeout", "title.fetch_failed", "title.not_html",
        "title.too_many_redirects", "title.http_error",
    ]  # fmt: skip
    for code in codes:
        for language in LANGUAGES:
            assert catalog.messages[f"error.{code}"][language]
