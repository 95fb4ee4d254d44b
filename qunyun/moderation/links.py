"""Find links in a message and judge them against the rule book's link policy. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from qunyun.moderation.rulebook import LinkMode, LinkRules

# Scheme links, and bare host names on the TLDs that spam actually uses ("t.cn/xyz").
_TLDS = (
    "com|cn|net|org|io|me|cc|top|xyz|vip|co|info|link|ly|gl|ru|tk|app|site|online|shop"
    "|club|ink|ltd|wang|tv|hk|tw|jp|de|uk|us"
)
_LINK = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'，。！？、；：（）()【】「」]+"
    r"|(?<![\w.@-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:" + _TLDS + r")"
    r"(?![\w-])(?:[/?#][^\s<>\"'，。！？、；：（）()【】「」]*)?",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class FoundLink:
    url: str
    host: str
    span: tuple[int, int]


def host_of(url: str) -> str:
    candidate = url if "://" in url else "http://" + url
    try:
        host = urlsplit(candidate).hostname or ""
    except ValueError:
        return ""
    return host.lower().rstrip(".")


def find_links(text: str) -> list[FoundLink]:
    out = []
    for match in _LINK.finditer(text):
        url = match.group(0).rstrip(".,;:!?")
        host = host_of(url)
        if host:
            out.append(FoundLink(url, host, (match.start(), match.start() + len(url))))
    return out


def host_allowed(host: str, domains: Iterable[str]) -> bool:
    """``example.com`` allows itself and its subdomains."""
    return any(host == d or host.endswith("." + d) for d in domains)


def refused_links(
    rules: LinkRules, links: Iterable[FoundLink], own_hosts: Iterable[str] = ()
) -> list[FoundLink]:
    """The links this policy refuses."""
    if rules.mode is LinkMode.any:
        return []
    links = list(links)
    if rules.mode is LinkMode.none:
        return links
    allowed = tuple(h.lower() for h in own_hosts)
    if rules.mode is LinkMode.allow_list:
        allowed += rules.allow_domains
    return [link for link in links if not host_allowed(link.host, allowed)]
