"""Validate and normalise the target URL an operator gives a short link.

Pure: no web, no database. :func:`normalise_url` either returns one canonical string or
raises :class:`~qunyun.errors.DomainError` with a stable ``url.*`` code.

Decisions worth knowing:

- Only ``http`` and ``https``. ``javascript:``, ``data:``, ``file:`` and ``vbscript:`` get
  their own code (``url.dangerous_scheme``), detected after removing tabs and newlines,
  which browsers ignore inside a scheme.
- No scheme: ``https://`` is assumed when the text starts with a plausible host (a name
  with a dot, ``localhost``, an IP literal) optionally followed by ``:port``, or with
  ``//``; anything else is ``url.missing_scheme``.
- Whitespace, control characters and invisible format characters anywhere inside are
  refused (``url.invalid_characters``) rather than guessed at; leading and trailing
  whitespace is stripped.
- Hosts are read as a browser would (WHATWG): percent-decoded, UTS #46 mapped
  (full-width letters and 。 become ASCII), and a host ending in a number is an IPv4
  address in any of the forms browsers accept (``2130706433``, ``0x7f.1``, ``0177.0.0.1``),
  re-serialised as a dotted quad, so no spelling slips past the private-address rule.
  Internationalised labels are stored as A-labels (``xn--``) checked by the ``idna``
  package (IDNA 2008); ASCII labels may hold letters, digits, ``-`` and ``_``. A single
  trailing dot is removed.
- Private hosts (``url.private_host``): loopback, private, shared, link-local, multicast,
  reserved and unspecified addresses, IPv6 forms embedding such an IPv4 address
  (mapped, 6to4, NAT64, Teredo), single-label names and the special-use or
  never-delegated suffixes in :data:`PRIVATE_NAME_SUFFIXES`. A public name can still
  resolve to a private address; only a fetch that resolves it (``title_fetch``) can tell.
- Path, query and fragment keep their order and existing ``%XX`` escapes (hex made
  upper-case); every other character outside RFC 3986's allowed set, including a lone
  ``%`` and non-ASCII text, is percent-encoded as UTF-8. Default ports are dropped, an
  empty path becomes ``/``, an empty ``?`` or ``#`` is dropped. Dot segments are kept.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from urllib.parse import quote, unquote, unquote_plus

import idna

from qunyun.errors import DomainError

ALLOWED_SCHEMES = frozenset({"http", "https"})
DANGEROUS_SCHEMES = frozenset({"javascript", "data", "file", "vbscript"})
DEFAULT_PORTS = {"http": 80, "https": 443}
DEFAULT_MAX_LENGTH = 2048
MAX_HOST_LENGTH = 253

# RFC 6761 / 6762 / 8375 special-use names, ICANN's .internal, and suffixes routers and
# intranets use that will never be public (ICANN name-collision list).
PRIVATE_NAME_SUFFIXES = frozenset(
    {
        "localhost",
        "local",
        "internal",
        "localdomain",
        "home.arpa",
        "lan",
        "home",
        "corp",
        "intranet",
        "private",
        "test",
        "invalid",
    }
)

UTM_FIELDS = ("source", "medium", "campaign", "term", "content")

_EDGE_CHARACTERS = " \t\r\n\f\v\u00a0\u3000\ufeff\u200b"
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_PORT_AFTER_HOST_RE = re.compile(r"[0-9]*(?:[/?#]|$)")
_DOTS = ".\u3002\uff0e\uff61"
_PLAUSIBLE_HOST_RE = re.compile(
    r"(?:\[[0-9A-Fa-f:.]+\]"
    rf"|[^\s/?#@:\[\]\\{_DOTS}][^\s/?#@:\[\]\\]*[{_DOTS}][^\s/?#@:\[\]\\]*"
    r"|localhost)"
    r"(?::[0-9]*)?(?:[/?#]|$)",
    re.IGNORECASE,
)
_PORT_RE = re.compile(r"[0-9]{1,5}")
_TOP_LABEL_RE = re.compile(r"[a-z](?:[a-z0-9\-]*[a-z0-9])?")  # real top-level domains
_ASCII_LABEL_RE = re.compile(r"[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?")
_IPV4_PART_RES = {
    10: re.compile(r"[0-9]+"),
    8: re.compile(r"[0-7]+"),
    16: re.compile(r"[0-9a-f]+"),
}
_UNRESERVED = "A-Za-z0-9\\-._~"
_SUB_DELIMS = "!$&'()*+,;="
# An existing escape, or one character that must be escaped in that component.
_PATH_ENCODE_RE = re.compile(rf"%[0-9A-Fa-f]{{2}}|[^{_UNRESERVED}{re.escape(_SUB_DELIMS)}:@/]")
_QUERY_ENCODE_RE = re.compile(rf"%[0-9A-Fa-f]{{2}}|[^{_UNRESERVED}{re.escape(_SUB_DELIMS)}:@/?]")
_NON_ASCII_ESCAPES_RE = re.compile(r"(?:%[89A-Fa-f][0-9A-Fa-f])+")
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_JOINERS = frozenset("\u200c\u200d")  # valid inside some IDN labels (CONTEXTJ)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass(frozen=True)
class ParsedUrl:
    """A normalised http(s) URL taken apart; ``str()`` puts it back together.

    ``host`` is ASCII (A-labels), an IPv6 literal without its brackets; ``port`` is
    ``None`` when it is the scheme's default; ``query`` and ``fragment`` are ``None``
    when absent and never empty.
    """

    scheme: str
    host: str
    port: int | None
    path: str
    query: str | None
    fragment: str | None

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS[self.scheme]

    @property
    def host_in_url(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def authority(self) -> str:
        """Host and non-default port, as in the URL and in an HTTP ``Host`` header."""
        return self.host_in_url if self.port is None else f"{self.host_in_url}:{self.port}"

    @property
    def request_target(self) -> str:
        return self.path if self.query is None else f"{self.path}?{self.query}"

    def __str__(self) -> str:
        url = f"{self.scheme}://{self.authority}{self.request_target}"
        return url if self.fragment is None else f"{url}#{self.fragment}"


def normalise_url(
    raw: str,
    *,
    allow_private: bool = False,
    blocked_hosts: Iterable[str] = (),
    max_length: int = DEFAULT_MAX_LENGTH,
) -> str:
    """Return the canonical form of ``raw`` or raise :class:`DomainError` (``url.*``)."""
    # Normalising can shorten text only by dropping a port, a trailing dot or
    # characters UTS #46 ignores; far longer input is refused before any parsing work.
    if len(raw) > 4 * max_length + 256:
        raise DomainError("url.too_long", length=len(raw), max_length=max_length)
    parsed = parse_url(raw)
    if not allow_private and is_private_host(parsed.host):
        raise DomainError("url.private_host", host=parsed.host)
    for pattern in blocked_hosts:
        normalised_pattern = normalise_host_pattern(pattern)
        if host_matches_pattern(parsed.host, normalised_pattern):
            raise DomainError("url.blocked_host", host=parsed.host, pattern=normalised_pattern)
    url = str(parsed)
    if len(url) > max_length:
        raise DomainError("url.too_long", length=len(url), max_length=max_length)
    return url


def parse_url(raw: str) -> ParsedUrl:
    """Parse and normalise ``raw`` without the private-host, block-list or length rules."""
    text = raw.strip(_EDGE_CHARACTERS)
    if not text:
        raise DomainError("url.empty")
    _refuse_dangerous_scheme(text)
    _refuse_invisible_characters(text)
    scheme, rest = _split_scheme(text)
    if not rest.startswith("//"):
        raise DomainError("url.missing_host")
    rest = rest[2:]
    authority_end = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:authority_end], rest[authority_end:]
    tail, _, fragment = tail.partition("#") if "#" in tail else (tail, "", None)
    path, _, query = tail.partition("?") if "?" in tail else (tail, "", None)
    host, port = _parse_authority(authority)
    if port == DEFAULT_PORTS[scheme]:
        port = None
    return ParsedUrl(
        scheme=scheme,
        host=host,
        port=port,
        path=_encode(_PATH_ENCODE_RE, path) or "/",
        query=_encode(_QUERY_ENCODE_RE, query or "") or None,
        fragment=_encode(_QUERY_ENCODE_RE, fragment or "") or None,
    )


def host_of(url: str) -> str:
    """The ASCII host of ``url`` (IPv6 without brackets); no policy is applied."""
    return parse_url(url).host


def display_url(url: str) -> str:
    """``url`` for people: Unicode host labels and readable non-ASCII path text.

    Escapes of ASCII characters, and of anything invisible or not valid UTF-8, stay
    encoded so the displayed text still names exactly one URL.
    """
    try:
        parsed = parse_url(url)
    except DomainError:
        return url
    labels = [_display_label(label) for label in parsed.host.split(".")]
    host = parsed.host_in_url if ":" in parsed.host else ".".join(labels)
    port = "" if parsed.port is None else f":{parsed.port}"
    shown = f"{parsed.scheme}://{host}{port}{_decode_readable(parsed.request_target)}"
    if parsed.fragment is not None:
        shown += "#" + _decode_readable(parsed.fragment)
    return shown


def append_utm(
    url: str,
    source: str | None = None,
    medium: str | None = None,
    campaign: str | None = None,
    term: str | None = None,
    content: str | None = None,
) -> str:
    """Set ``utm_*`` parameters on ``url``, keeping every other parameter and the fragment.

    ``None`` leaves a parameter as it is; a value replaces any existing parameter of that
    name (added at the end, in the order source, medium, campaign, term, content); an
    empty string removes it. The result is normalised as by :func:`parse_url` (no policy
    checks), except that with every value ``None`` the URL is returned untouched.
    """
    values = dict(zip(UTM_FIELDS, (source, medium, campaign, term, content), strict=True))
    updates = {f"utm_{field}": value for field, value in values.items() if value is not None}
    if not updates:
        return url
    parsed = parse_url(url)
    pairs = [pair for pair in (parsed.query or "").split("&") if pair]
    kept = [pair for pair in pairs if unquote_plus(pair.partition("=")[0]) not in updates]
    added = [f"{name}={quote(value, safe='')}" for name, value in updates.items() if value]
    return str(replace(parsed, query="&".join(kept + added) or None))


def is_private_address(ip_text: str) -> bool:
    """Whether an IP address (``127.0.0.1``, ``::1``, ``[fe80::1%eth0]``) is non-public.

    Raises ``ValueError`` if ``ip_text`` is not an IP address.
    """
    text = ip_text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return _is_private_ip(ipaddress.ip_address(text))


def is_private_host(host: str) -> bool:
    """Whether a normalised host (see :func:`host_of`) is not a public Internet host."""
    name = host.lower().removesuffix(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        return _is_private_ip(ipaddress.ip_address(name))
    except ValueError:
        pass
    if "." not in name:
        return True
    return any(name == suffix or name.endswith("." + suffix) for suffix in PRIVATE_NAME_SUFFIXES)


def normalise_host_pattern(pattern: str) -> str:
    """Canonical form of a block-list entry: ``example.com`` or ``*.example.com``.

    ``example.com`` blocks the domain and all its subdomains, ``*.example.com`` only its
    subdomains. Unicode names become A-labels. Raises ``url.invalid_block_pattern``.
    """
    text = pattern.strip(_EDGE_CHARACTERS)
    wildcard = text.startswith("*.")
    base = text[2:] if wildcard else text
    try:
        if base.startswith("[") and base.endswith("]") and not wildcard:
            host = _normalise_bracketed_host(base[1:-1])
        else:
            host = _normalise_host(base)
    except DomainError:
        raise DomainError("url.invalid_block_pattern", pattern=pattern) from None
    return f"*.{host}" if wildcard else host


def host_matches_pattern(host: str, pattern: str) -> bool:
    """Whether ``host`` falls under a pattern from :func:`normalise_host_pattern`."""
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern or host.endswith("." + pattern)


def _refuse_dangerous_scheme(text: str) -> None:
    match = _SCHEME_RE.match(re.sub(r"[\t\n\r]", "", text))
    if match and match.group(1).lower() in DANGEROUS_SCHEMES:
        raise DomainError("url.dangerous_scheme", scheme=match.group(1).lower())


def _refuse_invisible_characters(text: str) -> None:
    for char in text:
        category = unicodedata.category(char)
        if (
            char.isspace()
            or category in {"Cc", "Cs", "Zs", "Zl", "Zp"}
            or (category == "Cf" and char not in _JOINERS)
        ):
            raise DomainError("url.invalid_characters", char=f"U+{ord(char):04X}")


def _split_scheme(text: str) -> tuple[str, str]:
    match = _SCHEME_RE.match(text)
    if match and not _is_host_and_port(match.group(1), text[match.end() :]):
        scheme = match.group(1).lower()
        if scheme not in ALLOWED_SCHEMES:
            raise DomainError("url.scheme_not_allowed", scheme=scheme)
        return scheme, text[match.end() :]
    if text.startswith("//"):
        return "https", text
    if _PLAUSIBLE_HOST_RE.match(text):
        return "https", "//" + text
    raise DomainError("url.missing_scheme")


def _is_host_and_port(candidate: str, rest: str) -> bool:
    """``example.com:8080/x`` has no scheme though it starts like ``scheme:``."""
    looks_like_host = "." in candidate or candidate.lower() == "localhost"
    return looks_like_host and _PORT_AFTER_HOST_RE.match(rest) is not None


def _parse_authority(authority: str) -> tuple[str, int | None]:
    if "@" in authority:
        raise DomainError("url.credentials_not_allowed")
    if "\\" in authority:
        raise DomainError("url.malformed")
    if authority.startswith("["):
        close = authority.find("]")
        if close < 0:
            raise DomainError("url.malformed")
        after = authority[close + 1 :]
        if after and not after.startswith(":"):
            raise DomainError("url.malformed")
        host = _normalise_bracketed_host(authority[1:close])
        port_text = after[1:] if after else ""
    else:
        if authority.count(":") > 1:
            raise DomainError("url.malformed")
        host_text, _, port_text = authority.partition(":")
        if not host_text:
            raise DomainError("url.missing_host")
        host = _normalise_host(host_text)
    return host, _parse_port(port_text)


def _parse_port(text: str) -> int | None:
    if not text:
        return None
    if not _PORT_RE.fullmatch(text) or not 1 <= int(text) <= 65535:
        raise DomainError("url.invalid_port", port=text[:12])
    return int(text)


def _normalise_bracketed_host(text: str) -> str:
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        raise DomainError("url.invalid_host", host=text[:100]) from None
    if address.scope_id is not None:
        raise DomainError("url.invalid_host", host=text[:100])
    return address.compressed


def _normalise_host(text: str) -> str:
    """ASCII form of a non-bracketed host: a dotted-quad IPv4 address or A-labels."""
    try:
        mapped = idna.uts46_remap(unquote(text, errors="strict"), std3_rules=False)
    except (UnicodeError, ValueError):
        raise DomainError("url.invalid_host", host=text[:100]) from None
    mapped = mapped.removesuffix(".")
    if _ends_in_number(mapped):
        address = _parse_ipv4(mapped)
        if address is None:
            raise DomainError("url.invalid_host", host=text[:100])
        return str(address)
    labels = [_ascii_label(label, text) for label in mapped.split(".")]
    host = ".".join(labels)
    if len(host) > MAX_HOST_LENGTH or not _TOP_LABEL_RE.fullmatch(labels[-1]):
        raise DomainError("url.invalid_host", host=text[:100])
    return host


def _ascii_label(label: str, host_text: str) -> str:
    try:
        if not label.isascii():
            return idna.alabel(label).decode("ascii")
        if label.startswith("xn--"):
            idna.ulabel(label)  # refuses invalid and non-canonical Punycode
        if _ASCII_LABEL_RE.fullmatch(label):
            return label
    except (UnicodeError, ValueError):
        pass
    raise DomainError("url.invalid_host", host=host_text[:100])


def _ends_in_number(host: str) -> bool:
    last = host.rpartition(".")[2]
    if last and all("0" <= char <= "9" for char in last):
        return True
    return last[:2] == "0x" and _IPV4_PART_RES[16].fullmatch(last[2:] or "0") is not None


def _parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The WHATWG IPv4 parser: 1–4 parts, each decimal, octal (0…) or hex (0x…)."""
    parts = host.split(".")
    if len(parts) > 4:
        return None
    numbers = [_parse_ipv4_number(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    values = [number for number in numbers if number is not None]
    if any(value > 255 for value in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        return None
    address = values[-1] + sum(value * 256 ** (3 - i) for i, value in enumerate(values[:-1]))
    return ipaddress.IPv4Address(address)


def _parse_ipv4_number(part: str) -> int | None:
    radix = 10
    if part[:2] == "0x":
        radix, part = 16, part[2:]
        if not part:
            return 0
    elif len(part) > 1 and part[0] == "0":
        radix, part = 8, part[1:]
    if not part or len(part) > 40 or not _IPV4_PART_RES[radix].fullmatch(part):
        return None
    return int(part, radix)


def _is_private_ip(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded:
            return any(_is_private_ip(ipv4) for ipv4 in embedded)
        if address.is_site_local:
            return True
    return (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_unspecified
    )


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    if address in _NAT64:
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    return []


def _encode(pattern: re.Pattern[str], text: str) -> str:
    return pattern.sub(_escape_match, text)


def _escape_match(match: re.Match[str]) -> str:
    found = match.group()
    if len(found) == 3:
        return found.upper()
    return "".join(f"%{byte:02X}" for byte in found.encode("utf-8"))


def _display_label(label: str) -> str:
    if not label.startswith("xn--"):
        return label
    try:
        return idna.ulabel(label)
    except (UnicodeError, ValueError):
        return label


def _decode_readable(text: str) -> str:
    def decode(match: re.Match[str]) -> str:
        try:
            decoded = unquote(match.group(), errors="strict")
        except UnicodeDecodeError:
            return match.group()
        if all(char.isprintable() and char not in _BIDI_CONTROLS for char in decoded):
            return decoded
        return match.group()

    return _NON_ASCII_ESCAPES_RE.sub(decode, text)
