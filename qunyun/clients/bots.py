"""Robots: link-preview fetchers, crawlers and scripts, told apart from people.

A *preview bot* fetches a shared link to draw its card in a chat or feed (Telegram,
WhatsApp, Slack, Discord, Facebook, X, LinkedIn, iMessage, WeChat's and QQ's fetchers).
It must get the link's preview page, never a redirect. Every other robot (search
engines, monitors, HTTP libraries, headless browsers) is a plain bot. Neither is ever
counted as a visitor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qunyun.clients.gate import Gated, any_word, gated


@dataclass(frozen=True, slots=True)
class BotMatch:
    name: str
    is_preview: bool


# (stable name, rule, is a link-preview fetcher). First match wins, so the specific
# rules precede the ones they contain (iMessage sends facebookexternalhit and Twitterbot).
_KNOWN: tuple[tuple[str, Gated, bool], ...] = (
    ("imessage", gated(r"facebookexternalhit/[\d.]+ Facebot Twitterbot/", "facebot", 0), True),
    ("telegram", gated(r"TelegramBot", "telegrambot"), True),
    # WhatsApp draws previews on the sender's phone with this bare UA; its desktop app's
    # own browser ("... WhatsApp/2.x Chrome/... Electron") is a person.
    ("whatsapp", gated(r"^WhatsApp/\d", "whatsapp/", 0), True),
    ("slack", gated(r"Slackbot|Slack-ImgProxy", "slack"), True),
    ("discord", gated(r"Discordbot", "discordbot"), True),
    (
        "facebook",
        gated(r"facebookexternalhit|Facebot|meta-externalfetcher", "facebook facebot meta-"),
        True,
    ),
    ("twitter", gated(r"Twitterbot", "twitterbot"), True),
    ("linkedin", gated(r"LinkedInBot", "linkedinbot"), True),
    ("skype", gated(r"SkypeUriPreview", "skypeuripreview"), True),
    ("vk", gated(r"vkShare", "vkshare"), True),
    ("mastodon", gated(r"^Mastodon/\d", "mastodon", 0), True),
    # Assumed from public sources (tests/fixtures/ua_inapp/SOURCES.md): WeChat's iOS share
    # extension fetches the page to build its card, and the fetcher behind QQ's link
    # previews and safety checks announces itself as QQ-URL-Manager.
    ("wechat", gated(r"WeChatShareExtension", "wechatshareextension"), True),
    ("qq", gated(r"QQ-URL-Manager", "qq-url-manager"), True),
    (
        "googlebot",
        gated(
            r"Googlebot|Google-InspectionTool|AdsBot-Google|Mediapartners-Google"
            r"|Google-Read-Aloud|Storebot-Google",
            "google",
        ),
        False,
    ),
    ("google-preview", gated(r"Google Web Preview", "google~web~preview"), True),
    (
        "bingbot",
        gated(r"bingbot|BingPreview|msnbot|adidxbot", "bingbot bingpreview msnbot adidxbot"),
        False,
    ),
    ("baiduspider", gated(r"Baiduspider", "baiduspider"), False),
    (
        "yandex",
        gated(r"Yandex\w*(?:Bot|Images|Metrika|Direct|Favicons|Resources)", "yandex"),
        False,
    ),
    ("sogou", gated(r"Sogou[ \w.-]{0,20}spider", "sogou"), False),
    ("360spider", gated(r"360Spider|HaoSouSpider", "360spider haosouspider"), False),
    ("bytespider", gated(r"Bytespider", "bytespider"), False),
    ("duckduckbot", gated(r"DuckDuckBot|DuckDuckGo-Favicons-Bot", "duckduck"), False),
    ("applebot", gated(r"Applebot", "applebot"), False),
    ("petalbot", gated(r"PetalBot|AspiegelBot", "petalbot aspiegelbot"), False),
    ("yisouspider", gated(r"YisouSpider", "yisouspider"), False),
    ("headless-chrome", gated(r"HeadlessChrome", "headlesschrome"), False),
    ("curl", gated(r"^curl/|\bcurl/\d", "curl/"), False),
    ("wget", gated(r"\bWget/", "wget/"), False),
    ("python-requests", gated(r"python-requests", "python-requests"), False),
    ("go-http-client", gated(r"Go-http-client", "go-http-client"), False),
)

# A fetcher that says it builds previews or unfurls links, unknown by name.
_GENERIC_PREVIEW = gated(
    r"preview|unfurl|Iframely|Embedly|link ?expand", "preview unfurl iframely embedly link"
)
# Anything that calls itself a bot, crawler or spider, carries a URL (browsers never
# do), or names an HTTP library, feed reader or site-survey tool. ``(?<!cu)bot`` spares
# Cubot phones.
_GENERIC = gated(
    r"(?<!cu)bot(?:\b|[/_;:-])|bots?/\d|crawl|spider|scraper|slurp|archiver|indexer|https?://"
    r"|feedfetcher|headless|phantomjs|lighthouse|PTST/|Pingdom|StatusCake|uptime|watchdog"
    r"|python-urllib|python-httpx|aiohttp|httpx/|\bJava/\d|Apache-HttpClient|libwww-perl"
    r"|okhttp/|node-fetch|axios/|undici|Scrapy|PostmanRuntime|HTTPie|\bcurl\b|\bwget\b"
    r"|HttpClient|http_request|httpunit|\bLWP\b|lwp-|Mechanize|Typhoeus|Twisted|Indy Library"
    r"|\bPHP/|^PHP|\bPEAR\b|\bPECL\b|^Ruby|zgrab|Netcraft|Wappalyzer|BuiltWith"
    r"|\bfeed|subscribers|\bRSS|Syndication|PubSub|Sitemap|\bSurvey|ImgProxy|Image ?proxy|Capture/"
    r"|ChatGPT-User|GPTBot|ClaudeBot|CCBot|PerplexityBot|\bWinHTTP\b|Datanyze|WhatWeb|masscan",
    "bot crawl spider scraper slurp archiver indexer http feed headless phantomjs lighthouse"
    " ptst/ pingdom statuscake uptime watchdog python aiohttp java/ libwww okhttp node-fetch"
    " axios/ undici scrapy postman curl wget lwp mechanize typhoeus twisted indy~library php"
    " pear pecl ruby zgrab netcraft wappalyzer builtwith subscribers rss syndication pubsub"
    " sitemap survey proxy capture/ chatgpt-user winhttp datanyze whatweb masscan",
)

EMPTY = BotMatch(name="empty", is_preview=False)
_VISIBLE = re.compile(r"[^\s\x00-\x1f\x7f]")


def detect_bot(ua: str, lowered: str | None = None) -> BotMatch | None:
    """The robot that sent ``ua``, or None when it looks like a person's browser."""
    if not _VISIBLE.search(ua):
        return EMPTY
    low = ua.lower() if lowered is None else lowered
    if not _ANY.opens(low):
        return None
    for name, rule, is_preview in _KNOWN:
        if rule.search(ua, low):
            return BotMatch(name=name, is_preview=is_preview)
    if _GENERIC_PREVIEW.search(ua, low):
        return BotMatch(name="other-preview", is_preview=True)
    if _GENERIC.search(ua, low):
        return BotMatch(name="other", is_preview=False)
    return None


RULES: tuple[Gated, ...] = (*(rule for _, rule, _ in _KNOWN), _GENERIC_PREVIEW, _GENERIC)
_ANY = any_word(RULES)
