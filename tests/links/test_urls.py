"""Target-URL validation and normalisation (qunyun.links.urls)."""

from __future__ import annotations

import string
from urllib.parse import unquote

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from hypothesis.provisional import domains

from qunyun.errors import DomainError
from qunyun.i18n import LANGUAGES, load_catalog
from qunyun.links.urls import (
    append_utm,
    display_url,
    host_of,
    is_private_address,
    is_private_host,
    normalise_host_pattern,
    normalise_url,
    parse_url,
)


def refusal(raw: str, **kwargs: object) -> DomainError:
    with pytest.raises(DomainError) as caught:
        normalise_url(raw, **kwargs)  # type: ignore[arg-type]
    return caught.value


# --- normalisation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://example.com", "https://example.com/"),
        ("HTTPS://Example.COM/Path?Q=1#Frag", "https://example.com/Path?Q=1#Frag"),
        ("  https://example.com/x \n", "https://example.com/x"),
        ("http://example.com:80/", "http://example.com/"),
        ("https://example.com:443/", "https://example.com/"),
        ("http://example.com:443/", "http://example.com:443/"),
        ("https://example.com:8443", "https://example.com:8443/"),
        ("https://example.com:/a", "https://example.com/a"),
        ("https://example.com./a", "https://example.com/a"),
        # no scheme: https assumed for something that starts like a host
        ("example.com/x", "https://example.com/x"),
        ("www.example.com", "https://www.example.com/"),
        ("example.com:8080/x?y=1", "https://example.com:8080/x?y=1"),
        ("//example.com/x", "https://example.com/x"),
        ("例子.中国/路径", "https://xn--fsqu00a.xn--fiqs8s/%E8%B7%AF%E5%BE%84"),
        # internationalised domains become A-labels (UTS #46 mapping, IDNA 2008)
        ("http://例子.中国/路径", "http://xn--fsqu00a.xn--fiqs8s/%E8%B7%AF%E5%BE%84"),
        ("http://例子。中国/", "http://xn--fsqu00a.xn--fiqs8s/"),
        ("https://ＥＸＡＭＰＬＥ．ｃｏｍ/", "https://example.com/"),
        ("https://Bücher.de/", "https://xn--bcher-kva.de/"),
        ("https://xn--bcher-kva.de/", "https://xn--bcher-kva.de/"),
        ("https://ex%61mple.com/", "https://example.com/"),
        ("https://my_site.example.com/", "https://my_site.example.com/"),
        # percent-encoding: encode what must be, keep valid escapes, never double-encode
        ("https://example.com/a%2fb%e4%bd%a0", "https://example.com/a%2Fb%E4%BD%A0"),
        ("https://example.com/100%", "https://example.com/100%25"),
        ("https://example.com/%zz", "https://example.com/%25zz"),
        (
            "https://example.com/你好?q=群运#片段",
            "https://example.com/%E4%BD%A0%E5%A5%BD?q=%E7%BE%A4%E8%BF%90#%E7%89%87%E6%AE%B5",
        ),
        (
            'https://example.com/a"b<c>{d}|e^f`g',
            "https://example.com/a%22b%3Cc%3E%7Bd%7D%7Ce%5Ef%60g",
        ),
        ("https://example.com/a\\b", "https://example.com/a%5Cb"),
        ("https://example.com/?a[]=1&b=2", "https://example.com/?a%5B%5D=1&b=2"),
        ("https://example.com/p?z=1&a=2&z=3", "https://example.com/p?z=1&a=2&z=3"),
        ("https://example.com/#a#b", "https://example.com/#a%23b"),
        ("https://example.com/?#", "https://example.com/"),
        ("https://example.com/@user/x:y;z=1,2", "https://example.com/@user/x:y;z=1,2"),
        (
            "https://example.com/?redirect=https://a.b/c?d",
            "https://example.com/?redirect=https://a.b/c?d",
        ),
        ("https://[2606:4700:0:0::1]:8443/", "https://[2606:4700::1]:8443/"),
        ("https://8.8.8.8", "https://8.8.8.8/"),
    ],
)
def test_normalises(raw: str, expected: str) -> None:
    assert normalise_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://localhost:8080/x", "http://localhost:8080/x"),
        ("localhost:3000", "https://localhost:3000/"),
        ("http://2130706433/", "http://127.0.0.1/"),
        ("http://0x7f.1/", "http://127.0.0.1/"),
        ("http://0177.0.0.1/", "http://127.0.0.1/"),
        ("http://0x7F000001/", "http://127.0.0.1/"),
        ("http://127.1/", "http://127.0.0.1/"),
        ("http://%31%32%37.0.0.1/", "http://127.0.0.1/"),
        ("http://１２７.０.０.１/", "http://127.0.0.1/"),
        ("http://[::1]/", "http://[::1]/"),
        ("http://intranet/", "http://intranet/"),
    ],
)
def test_private_hosts_are_normalised_when_allowed(raw: str, expected: str) -> None:
    assert normalise_url(raw, allow_private=True) == expected


# --- refusals, one table per code ------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "url.empty"),
        (" \t ", "url.empty"),
        ("ftp://example.com/", "url.scheme_not_allowed"),
        ("mailto:someone@example.com", "url.scheme_not_allowed"),
        ("weixin://dl/chat", "url.scheme_not_allowed"),
        ("about:blank", "url.scheme_not_allowed"),
        ("javascript:alert(1)", "url.dangerous_scheme"),
        ("JavaScript:alert(1)", "url.dangerous_scheme"),
        ("  javascript:alert(1)", "url.dangerous_scheme"),
        ("java\tscript:alert(1)", "url.dangerous_scheme"),
        ("java\nscript:alert(1)", "url.dangerous_scheme"),
        ("data:text/html,<script>alert(1)</script>", "url.dangerous_scheme"),
        ("file:///etc/passwd", "url.dangerous_scheme"),
        ("vbscript:msgbox(1)", "url.dangerous_scheme"),
        ("hello", "url.missing_scheme"),
        ("someone@example.com", "url.missing_scheme"),
        ("/relative/path", "url.missing_scheme"),
        ("http//example.com", "url.missing_scheme"),
        ("https://", "url.missing_host"),
        ("https:///path", "url.missing_host"),
        ("https:example.com", "url.missing_host"),
        ("https:/example.com", "url.missing_host"),
        ("https://:8080/", "url.missing_host"),
        ("https://a:b:c/", "url.malformed"),
        ("https://[::1/", "url.malformed"),
        ("https://[::1]x/", "url.malformed"),
        ("https://example.com\\evil.com/", "url.malformed"),
        ("https://user@example.com/", "url.credentials_not_allowed"),
        ("https://user:secret@example.com/", "url.credentials_not_allowed"),
        ("https://@example.com/", "url.credentials_not_allowed"),
        ("https://example.com@evil.com/", "url.credentials_not_allowed"),
        ("https://example.com:0/", "url.invalid_port"),
        ("https://example.com:65536/", "url.invalid_port"),
        ("https://example.com:123456/", "url.invalid_port"),
        ("https://example.com:http/", "url.invalid_port"),
        ("https://example.com:-1/", "url.invalid_port"),
        ("https://example.com/a b", "url.invalid_characters"),
        ("https://exa mple.com/", "url.invalid_characters"),
        ("https://example.com/a\u3000b", "url.invalid_characters"),
        ("https://example.com/a\x00b", "url.invalid_characters"),
        ("https://example.com/a\x7fb", "url.invalid_characters"),
        ("https://example.com/\u202egnp.exe", "url.invalid_characters"),
        ("https://example.com/a\u200bb", "url.invalid_characters"),
        ("https://example.com/\ud800", "url.invalid_characters"),
        ("https://-example.com/", "url.invalid_host"),
        ("https://example-.com/", "url.invalid_host"),
        ("https://exa!mple.com/", "url.invalid_host"),
        ("https://a..com/", "url.invalid_host"),
        ("https://xn--abc.com/", "url.invalid_host"),
        ("https://xn---bbk.com/", "url.invalid_host"),
        ("https://1.2.3.4.5/", "url.invalid_host"),
        ("https://256.1.1.1/", "url.invalid_host"),
        ("https://example.123/", "url.invalid_host"),
        ("https://08.1.1.1/", "url.invalid_host"),
        ("https://[::1%25eth0]/", "url.invalid_host"),
        ("https://[v1.abc]/", "url.invalid_host"),
        ("https://%2F.example.com/", "url.invalid_host"),
        ("https://%ff.example.com/", "url.invalid_host"),
        ("https://" + "a" * 64 + ".com/", "url.invalid_host"),
        ("https://" + "a." * 127 + "com/", "url.invalid_host"),
        ("https://i❤.ws/", "url.invalid_host"),
        ("https://example.my_tld/", "url.invalid_host"),
        ("https://example.2o/", "url.invalid_host"),
    ],
)
def test_refusal_codes(raw: str, code: str) -> None:
    assert refusal(raw, allow_private=True).code == code


def test_dangerous_and_other_schemes_name_the_scheme() -> None:
    assert refusal("JavaScript:void(0)").params == {"scheme": "javascript"}
    assert refusal("ftp://example.com").params == {"scheme": "ftp"}


@pytest.mark.parametrize(
    "raw",
    [
        "http://localhost/",
        "http://LOCALHOST./",
        "http://app.localhost/",
        "http://printer.local/",
        "http://db.internal/",
        "http://router.lan/",
        "http://nas.home.arpa/",
        "http://intranet/",
        "http://com/",
        "http://127.0.0.1/",
        "http://127.8.9.10/",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/",
        "http://0/",
        "http://224.0.0.1/",
        "http://239.255.255.250/",
        "http://240.0.0.1/",
        "http://255.255.255.255/",
        "http://192.0.2.1/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0x7f000001/",
        "http://017700000001/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://%31%32%37.0.0.1/",
        "http://１２７.０.０.１/",
        "http://[::1]/",
        "http://[::]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[fd12:3456::1]/",
        "http://[ff02::1]/",
        "http://[ff0e::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[::127.0.0.1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::1]/",
        "http://[2001:db8::1]/",
        "http://[fec0::1]/",
        "localhost:8000",
    ],
)
def test_private_hosts_are_refused(raw: str) -> None:
    error = refusal(raw)
    assert error.code == "url.private_host"
    assert normalise_url(raw, allow_private=True).startswith(("http://", "https://"))


@pytest.mark.parametrize(
    "raw",
    [
        "http://8.8.8.8/",
        "http://[2606:4700:4700::1111]/",
        "http://[::ffff:8.8.8.8]/",
        "http://[64:ff9b::808:808]/",
        "http://localhost.example.com/",
        "http://local.example.com/",
        "http://internal.example.com/",
    ],
)
def test_public_hosts_are_not_private(raw: str) -> None:
    assert normalise_url(raw).startswith("http://")


@pytest.mark.parametrize(
    ("pattern", "url", "blocked"),
    [
        ("example.com", "https://example.com/", True),
        ("example.com", "https://a.b.example.com/", True),
        ("example.com", "https://notexample.com/", False),
        ("example.com", "https://example.com.evil.net/", False),
        ("*.example.com", "https://example.com/", False),
        ("*.example.com", "https://www.example.com/x", True),
        ("EXAMPLE.COM.", "https://Example.com/", True),
        ("例子.中国", "https://www.例子.中国/", True),
        ("xn--fsqu00a.xn--fiqs8s", "https://例子.中国/", True),
        ("8.8.8.8", "https://8.8.8.8/", True),
        ("8.8.8.8", "https://134744072/", True),
        ("[2606:4700::1]", "https://[2606:4700:0::1]/", True),
    ],
)
def test_block_list(pattern: str, url: str, blocked: bool) -> None:
    if blocked:
        error = refusal(url, blocked_hosts=[pattern])
        assert error.code == "url.blocked_host"
        assert error.params["pattern"] == normalise_host_pattern(pattern)
    else:
        assert normalise_url(url, blocked_hosts=[pattern])


def test_block_list_accepts_any_iterable_and_checks_every_pattern() -> None:
    patterns = (p for p in ["a.example", "*.b.example", "example.org"])
    assert refusal("https://www.example.org/", blocked_hosts=patterns).code == "url.blocked_host"


@pytest.mark.parametrize("pattern", ["", "*.", "https://example.com/", "exa mple.com", "a@b.com"])
def test_invalid_block_patterns_are_reported(pattern: str) -> None:
    with pytest.raises(DomainError) as caught:
        normalise_host_pattern(pattern)
    assert caught.value.code == "url.invalid_block_pattern"


def test_too_long() -> None:
    url = "https://example.com/" + "a" * 2028
    assert len(url) == 2048
    assert normalise_url(url) == url
    error = refusal(url + "b")
    assert error.code == "url.too_long"
    assert error.params == {"length": 2049, "max_length": 2048}
    assert refusal("https://example.com/ab", max_length=21).code == "url.too_long"
    assert normalise_url("https://example.com/a", max_length=21) == "https://example.com/a"


def test_length_counts_the_normalised_form() -> None:
    # 5 Chinese characters are 45 characters once percent-encoded
    raw = "https://example.com/" + "群" * 5
    assert len(normalise_url(raw)) == 20 + 45
    assert refusal(raw, max_length=64).code == "url.too_long"


def test_huge_input_is_refused_cheaply() -> None:
    assert refusal("https://example.com/" + "a" * 1_000_000).code == "url.too_long"


# --- helpers -------------------------------------------------------------------------


def test_display_url_shows_unicode_host_and_readable_path() -> None:
    stored = normalise_url("http://例子.中国/路径?q=群 运".replace(" ", "%20"))
    assert stored == "http://xn--fsqu00a.xn--fiqs8s/%E8%B7%AF%E5%BE%84?q=%E7%BE%A4%20%E8%BF%90"
    assert display_url(stored) == "http://例子.中国/路径?q=群%20运"


def test_display_url_keeps_invisible_and_invalid_escapes_encoded() -> None:
    assert display_url("https://example.com/%E2%80%AEx") == "https://example.com/%E2%80%AEx"
    assert display_url("https://example.com/%FF%FE") == "https://example.com/%FF%FE"
    assert display_url("https://example.com/%2F%41") == "https://example.com/%2F%41"
    assert display_url("not a url") == "not a url"


def test_host_of() -> None:
    assert host_of("https://Example.com:8443/x") == "example.com"
    assert host_of("http://例子.中国/") == "xn--fsqu00a.xn--fiqs8s"
    assert host_of("http://[::1]:80/") == "::1"
    assert host_of("http://0x7f.1/") == "127.0.0.1"


def test_parse_url_parts() -> None:
    parsed = parse_url("HTTPS://Example.com:8443/a?b=1#c")
    assert (parsed.scheme, parsed.host, parsed.port) == ("https", "example.com", 8443)
    assert (parsed.path, parsed.query, parsed.fragment) == ("/a", "b=1", "c")
    assert parsed.authority == "example.com:8443"
    assert parsed.request_target == "/a?b=1"
    assert parse_url("http://[::1]/").authority == "[::1]"
    assert parse_url("https://example.com/").effective_port == 443


@pytest.mark.parametrize(
    ("ip", "private"),
    [
        ("127.0.0.1", True),
        ("10.0.0.1", True),
        ("169.254.1.1", True),
        ("100.64.1.1", True),
        ("224.0.0.251", True),
        ("0.0.0.0", True),  # noqa: S104 - an address under test, not a bind
        ("8.8.8.8", False),
        ("1.1.1.1", False),
        ("::1", True),
        ("[::1]", True),
        ("fe80::1%eth0", True),
        ("::ffff:192.168.0.1", True),
        ("::ffff:8.8.8.8", False),
        ("2606:4700:4700::1111", False),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", True),  # Teredo: client 192.0.2.45
    ],
)
def test_is_private_address(ip: str, private: bool) -> None:
    assert is_private_address(ip) is private


def test_is_private_address_rejects_non_addresses() -> None:
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 address"):
        is_private_address("localhost")


def test_append_utm_adds_and_replaces() -> None:
    url = "https://example.com/p?utm_source=old&a=1&utm_medium=x#frag"
    result = append_utm(url, source="wechat", campaign="双十一 2024")
    assert result == (
        "https://example.com/p?a=1&utm_medium=x&utm_source=wechat"
        "&utm_campaign=%E5%8F%8C%E5%8D%81%E4%B8%80%202024#frag"
    )
    assert normalise_url(result) == result


def test_append_utm_empty_removes_and_none_keeps() -> None:
    url = "https://example.com/?utm_source=a&utm_medium=b"
    assert append_utm(url, source="") == "https://example.com/?utm_medium=b"
    assert append_utm(url) == url
    assert append_utm("HTTP://Example.com") == "HTTP://Example.com"  # nothing to set: untouched
    assert append_utm("https://example.com/?utm_term=x", term="") == "https://example.com/"


def test_append_utm_encodes_reserved_characters_in_values() -> None:
    result = append_utm("https://example.com/", content="a&b=c#d")
    assert result == "https://example.com/?utm_content=a%26b%3Dc%23d"


# --- messages ------------------------------------------------------------------------

URL_CODES = {
    "url.empty", "url.malformed", "url.missing_scheme", "url.scheme_not_allowed",
    "url.dangerous_scheme", "url.missing_host", "url.invalid_host",
    "url.credentials_not_allowed", "url.invalid_port", "url.invalid_characters",
    "url.too_long", "url.private_host", "url.blocked_host", "url.invalid_block_pattern",
}  # fmt: skip


def test_every_code_has_a_message_in_every_language() -> None:
    catalog = load_catalog()
    for code in URL_CODES:
        for language in LANGUAGES:
            text = catalog.gettext(f"error.{code}", language)
            assert text != f"error.{code}"
            assert catalog.messages[f"error.{code}"][language]


# --- properties ----------------------------------------------------------------------

_LABEL_WORDS = ["例子", "中国", "测试", "群运", "bücher", "пример", "日本語", "ελληνικά"]
_TLDS = ["com", "cn", "net", "org", "中国", "рф", "公司"]
_PATH_CHARACTERS = st.characters(
    blacklist_categories=("Cc", "Cs", "Cf", "Zs", "Zl", "Zp"), blacklist_characters="#?"
)

ascii_labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True).filter(
    lambda label: label[2:4] != "--"
)
unicode_hosts = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(st.sampled_from(_LABEL_WORDS) | ascii_labels, min_size=1, max_size=3),
    st.sampled_from(_TLDS),
)
paths = st.lists(st.text(_PATH_CHARACTERS, max_size=8), max_size=4).map("/".join)
queries = st.none() | st.text(_PATH_CHARACTERS, max_size=12)
ports = st.none() | st.integers(min_value=1, max_value=65535)


@st.composite
def valid_urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    host = draw(unicode_hosts | domains(max_length=253))
    port = draw(ports)
    url = f"{scheme}://{host}" + (f":{port}" if port else "") + "/" + draw(paths)
    query = draw(queries)
    if query is not None:
        url += "?" + query
    fragment = draw(queries)
    if fragment is not None:
        url += "#" + fragment
    return url


def _check_accepted(url: str, max_length: int = 2048) -> None:
    parsed = parse_url(url)
    assert str(parsed) == url
    assert parsed.scheme in {"http", "https"}
    assert parsed.host
    assert "@" not in parsed.authority
    assert len(url) <= max_length
    assert not is_private_host(parsed.host)
    assert url.isascii()
    assert all(char not in url for char in " \t\r\n\x00")


@given(valid_urls())
@example("http://例子.中国/路径")
@example("https://Bücher.de/ä?ö=ü#ß")
def test_generated_valid_urls_are_accepted(raw: str) -> None:
    assume(not is_private_host(parse_url(raw).host))
    url = normalise_url(raw)
    _check_accepted(url)
    assert normalise_url(url) == url


@given(valid_urls())
def test_display_url_round_trips_the_host(raw: str) -> None:
    url = normalise_url(raw, allow_private=True)
    shown = display_url(url)
    assert normalise_url(shown, allow_private=True) == url


_TRICKY = string.printable + "%@:[]\\/?#.。０１２ｘ例子中国\u3000\u200b\u202e\ud800xX0123456789"


def _insert(url: str, position: int, text: str) -> str:
    position %= len(url) + 1
    return url[:position] + text + url[position:]


prefixed_text = st.builds(
    "{}{}".format,
    st.sampled_from(["http://", "https://", "HTTP://", "//", "javascript:", "http://[", ""]),
    st.text(alphabet=_TRICKY),
)
mutated_urls = st.builds(_insert, valid_urls(), st.integers(), st.text(_TRICKY, max_size=3))


@given(st.text() | st.text(alphabet=_TRICKY) | prefixed_text | mutated_urls)
@example("http://%ff/")
@example("http://" + "9" * 5000 + "/")
@example("http://xn--/")
@example("http://0x/")
def test_random_text_only_raises_domain_error_and_accepted_is_normal(raw: str) -> None:
    try:
        url = normalise_url(raw, max_length=256)
    except DomainError as error:
        refused: str | None = error.code
    else:
        refused = None
    if refused is not None:
        assert refused.startswith("url.")
        return
    _check_accepted(url, max_length=256)
    assert normalise_url(url, max_length=256) == url


@given(st.text(alphabet=_TRICKY))
def test_normalisation_is_idempotent_with_private_hosts_allowed(raw: str) -> None:
    try:
        url = normalise_url(raw, allow_private=True)
    except DomainError:
        return
    assert normalise_url(url, allow_private=True) == url


@given(st.text(_PATH_CHARACTERS, max_size=30))
def test_path_text_survives_encoding(text: str) -> None:
    assume("%" not in text)
    url = normalise_url("https://example.com/" + text)
    assert url.isascii()
    assert unquote(parse_url(url).path, errors="strict") == "/" + text


@given(
    st.text(string.ascii_letters + string.digits + "-_.~ 中文&=#", max_size=10),
    st.text(string.ascii_letters + string.digits + "-_.~ 中文&=#", max_size=10),
)
def test_append_utm_output_is_normal_and_keeps_values(source: str, campaign: str) -> None:
    assume(source and campaign)
    result = append_utm("https://example.com/x?a=1#top", source=source, campaign=campaign)
    assert normalise_url(result) == result
    query = parse_url(result).query or ""
    pairs = [pair.split("=", 1) for pair in query.split("&")]
    assert pairs[0] == ["a", "1"]
    assert {name: unquote(value) for name, value in pairs[1:]} == {
        "utm_source": source,
        "utm_campaign": campaign,
    }
    assert result.endswith("#top")
