"""``classify``: who opened a link, from its User-Agent and optional Client Hints."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import ua_parser
from ua_parser import Domain

from qunyun.clients.apps import app_browser, detect_app
from qunyun.clients.bots import BotMatch, detect_bot
from qunyun.clients.hints import Hints, read_hints, refine
from qunyun.clients.model import OS, Client, DeviceType
from qunyun.clients.platform import (
    IPAD_DESKTOP_MODE,
    device_from_ua,
    harmony_version,
    normalise_os,
)

MAX_UA_LENGTH = 1000
CACHE_SIZE = 20_000

_SPIDER = BotMatch(name="other", is_preview=False)
_UNKNOWN = Client(
    app=None,
    os=OS.OTHER.value,
    os_version=None,
    device=DeviceType.OTHER,
    browser="Other",
    browser_version=None,
    is_bot=False,
    is_preview_bot=False,
    bot_name=None,
)


def classify(user_agent: str | None, hints: Mapping[str, str] | None = None) -> Client:
    """Classify one request. Never raises: unreadable input gives an "Other" client."""
    try:
        ua = _clean(user_agent)
        if hints:
            read = read_hints(hints)
            if not read.empty:
                return _classify_with_hints(ua, read)
        return _classify_ua(ua)
    except Exception:  # any input must yield a Client, never an error page
        return _UNKNOWN


def cache_clear() -> None:
    """Forget cached answers (for tests and benchmarks)."""
    _classify_ua.cache_clear()
    _classify_with_hints.cache_clear()


def _clean(user_agent: str | None) -> str:
    if not user_agent:
        return ""
    text = user_agent if isinstance(user_agent, str) else str(user_agent)
    text = text[:MAX_UA_LENGTH]
    # Lone surrogates cannot cross into the Rust regex engine.
    return text.encode("utf-8", "replace").decode("utf-8")


@functools.lru_cache(maxsize=CACHE_SIZE)
def _classify_with_hints(ua: str, hints: Hints) -> Client:
    return refine(_classify_ua(ua), hints)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _classify_ua(ua: str) -> Client:
    low = ua.lower()
    bot = detect_bot(ua, low)
    # ua-parser's device domain is its slowest and only needed in rare cases: asked lazily.
    parsed = _parser()(ua, Domain.USER_AGENT | Domain.OS) if ua else None
    user_agent = parsed.user_agent if parsed else None
    os_family, os_version = _os(ua, low, parsed.os if parsed else None)
    # ua-parser's spider list is wider than ours; trust it only for strings that do not
    # look like a browser at all (its list also holds e.g. Kindle's "Silk").
    if bot is None and ua and not ua.startswith("Mozilla/") and _device_family(ua) == "Spider":
        bot = _SPIDER
    app = None if bot is not None else detect_app(ua, low)
    if bot is not None:
        device_type = DeviceType.BOT
    else:
        device_type = device_from_ua(ua, os_family, functools.partial(_device_family, ua), low)
    if app is not None:
        browser, browser_version = app_browser(app, ua)
    else:
        browser = user_agent.family if user_agent else "Other"
        browser_version = _version(user_agent) if user_agent else None
    return Client(
        app=app,
        os=os_family.value,
        os_version=os_version,
        device=device_type,
        browser=browser,
        browser_version=browser_version,
        is_bot=bot is not None,
        is_preview_bot=bot is not None and bot.is_preview,
        bot_name=bot.name if bot is not None else None,
    )


def _device_family(ua: str) -> str | None:
    device = _parser()(ua, Domain.DEVICE).device
    return device.family if device else None


def _os(ua: str, low: str, parsed: ua_parser.OS | None) -> tuple[OS, str | None]:
    if "harmony" in low:
        is_harmony, harmony = harmony_version(ua)
        if is_harmony:
            return OS.HARMONYOS, harmony
    if IPAD_DESKTOP_MODE.search(ua, low):
        return OS.IOS, None
    if parsed is None:
        return OS.OTHER, None
    family = normalise_os(parsed.family)
    return family, _version(parsed)


def _version(part: ua_parser.UserAgent | ua_parser.OS) -> str | None:
    numbers = [n for n in (part.major, part.minor, part.patch, part.patch_minor) if n]
    return ".".join(numbers) if numbers else None


@functools.cache
def _parser() -> ua_parser.Parser:
    """ua-parser with its fastest engine and no cache of its own (ours sits above it)."""
    return ua_parser.Parser(ua_parser.BestAvailableResolver(ua_parser.load_lazy_builtins()))
