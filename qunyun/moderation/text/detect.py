"""Detectors for contact details that ads carry: phone numbers, WeChat ids, QQ numbers,
URLs and bare domains (shorteners named apart), contact and mini-program cards, and QR codes
inside images.

Text detectors take a `Normalized` message (see normalize.py) and report spans in the
normalised or compact text, which the matcher maps back to the original.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from qunyun.errors import DomainError
from qunyun.moderation.text.normalize import Normalized
from qunyun.qr import PayloadKind, decode_image
from qunyun.stream.records import MessageKind

__all__ = [
    "CARD_DETECTOR",
    "QR_DETECTOR",
    "SHORTENER_DOMAINS",
    "TEXT_DETECTORS",
    "Detection",
    "detect_card",
    "detect_phone",
    "detect_qq",
    "detect_qr",
    "detect_url",
    "detect_wechat_id",
]


@dataclass(frozen=True, slots=True)
class Detection:
    """One finding; `compact` tells whether start/end index the compact view."""

    detector: str
    rule_id: str
    start: int
    end: int
    compact: bool
    value: str


SHORTENER_DOMAINS = frozenset(
    {
        "t.cn",
        "dwz.cn",
        "url.cn",
        "w.url.cn",
        "suo.im",
        "suo.nu",
        "bit.ly",
        "tinyurl.com",
        "goo.gl",
        "t.co",
        "is.gd",
        "ow.ly",
        "u.nu",
        "s.id",
        "cutt.ly",
        "rebrand.ly",
        "mrw.so",
        "rrd.me",
        "0x3.me",
        "c7.gg",
        "tb.cn",
        "m.tb.cn",
        "v.douyin.com",
        "b23.tv",
        "xhslink.com",
        "kurl.cn",
        "sina.lt",
        "reurl.cc",
        "dwz.mk",
        "985.so",
    }
)

# Runs on the compact text: separators and digit forms are already gone.
_PHONE = re.compile(r"(?<![0-9])(?:0086|86)?(1[3-9][0-9]{9})(?![0-9])")

_WXID = re.compile(r"wxid_[a-z0-9_-]{4,30}")
_WECHAT_CUES = (
    "微信号",
    "微信",
    "威信",
    "薇信",
    "徽信",
    "维信",
    "微芯",
    "v信",
    "vx",
    "wx",
    "weixin",
    "wechat",
    "加v",
    "+v",
)
_WECHAT_ID = re.compile(
    r"(?<![a-z0-9])(?:"
    + "|".join(re.escape(cue) for cue in _WECHAT_CUES)
    + r")\s*(?:号|号码|id)?\s*[:：是]?\s*([a-z][a-z0-9_-]{5,19})(?![a-z0-9_-])"
)

_QQ_CUES = (
    "qq号",
    "qq群",
    "qq",
    "扣扣",
    "抠抠",
    "寇寇",
    "企鹅",
    "q群",
    "群号",
    "加群",
    "进群",
    "加裙",
    "进裙",
    "裙号",
    "君羊",
    "售后群",
    "公益群",
    "交流群",
    "外部群",
)
_QQ_DIGITS = r"([1-9][0-9]{4,10})"
_QQ_NUMBER = _QQ_DIGITS + r"(?![0-9])"
_QQ_AFTER_CUE = re.compile(
    r"(?:" + "|".join(re.escape(cue) for cue in _QQ_CUES) + r")[^0-9]{0,6}?" + _QQ_NUMBER
)
_QQ_BEFORE_CUE = re.compile(r"(?<![0-9])" + _QQ_DIGITS + r"(?:qq|扣扣|群)")

_TLDS = (
    "com|cn|net|org|top|xyz|cc|me|io|vip|club|info|ly|im|gl|co|tk|site|online|shop|store|ink"
    "|link|fun|icu|work|wang|ltd|tv|hk|biz|pro|app|lol|gg|so|nu|id|mk|lt|us|uk|ru|de|jp|tw|to"
    "|live|life|space|website|tech|cloud|games|xin|ren|la|pw|ws|cx|in|ai|gd|nb"
)
_DOT = r"(?:\s*[.。．]\s*|\s*点\s*|dot)"
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'，。！？、（）【】]+"
    r"|(?<![a-z0-9.@_-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?" + _DOT + r")+"
    r"(?:" + _TLDS + r")(?![a-z0-9])(?:/[^\s<>\"'，。！？、（）【】]*)?"
)
_SPACE_DOT = re.compile(r"\s*(?:[.。．]|点|dot)\s*")


def _host(url: str) -> str:
    url = _SPACE_DOT.sub(".", url)
    url = re.sub(r"^(?:https?://)", "", url)
    return url.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0].rstrip(".")


_FIVE_DIGITS = re.compile(r"[0-9]{5}")
_URL_HINT = re.compile(r"[.。．点/]|dot")


def detect_phone(normalized: Normalized) -> list[Detection]:
    compact = normalized.compact()
    if _FIVE_DIGITS.search(compact.text) is None:
        return []
    return [
        Detection("phone", "phone", m.start(1), m.end(1), True, m.group(1))
        for m in _PHONE.finditer(compact.text)
    ]


def detect_wechat_id(normalized: Normalized) -> list[Detection]:
    found = [
        Detection("wechat_id", "wechat_id", m.start(), m.end(), False, m.group())
        for m in _WXID.finditer(normalized.text)
    ]
    taken = [(d.start, d.end) for d in found]
    for m in _WECHAT_ID.finditer(normalized.text):
        value = m.group(1)
        inside = any(start <= m.start() < end for start, end in taken)
        if not inside and any(c.isdigit() for c in value):
            found.append(Detection("wechat_id", "wechat_id", m.start(), m.end(1), False, value))
    return found


def detect_qq(normalized: Normalized) -> list[Detection]:
    compact = normalized.compact()
    if _FIVE_DIGITS.search(compact.text) is None:
        return []
    found = [
        Detection("qq", "qq", m.start(), m.end(1), True, m.group(1))
        for m in _QQ_AFTER_CUE.finditer(compact.text)
    ]
    found.extend(
        Detection("qq", "qq", m.start(), m.end(), True, m.group(1))
        for m in _QQ_BEFORE_CUE.finditer(compact.text)
    )
    return found


def detect_url(normalized: Normalized) -> list[Detection]:
    found: list[Detection] = []
    if _URL_HINT.search(normalized.text) is None:
        return found
    for m in _URL.finditer(normalized.text):
        host = _host(m.group())
        if "." not in host or host.replace(".", "").isdigit():
            continue
        short = host in SHORTENER_DOMAINS or any(
            host.endswith("." + domain) for domain in SHORTENER_DOMAINS
        )
        rule_id = "short_url" if short else "url"
        found.append(Detection("url", rule_id, m.start(), m.end(), False, host))
    return found


TEXT_DETECTORS: Mapping[str, Callable[[Normalized], list[Detection]]] = {
    "phone": detect_phone,
    "wechat_id": detect_wechat_id,
    "qq": detect_qq,
    "url": detect_url,
}
CARD_DETECTOR = "card"
QR_DETECTOR = "qr"

# OneBot segment types and JSON app ids, WeChat appmsg types, that carry a contact or a
# mini program rather than words.
_CARD_SEGMENTS = frozenset({"contact", "json", "xml", "share", "music", "location"})
_CONTACT_APPS = ("com.tencent.contact", "com.tencent.troopsharecard", "contact")
_MINIPROGRAM_APPS = ("com.tencent.miniapp", "miniapp", "mini_program", "miniprogram")


def _walk(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _walk(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _walk(v)]
    return [value] if isinstance(value, str) else []


def detect_card(
    message_kind: MessageKind | str | None, raw: Mapping[str, Any] | None = None
) -> list[Detection]:
    """A contact card (a person's or a group's) or a mini-program card, told from the
    message kind and, when given, the platform payload."""
    strings = [s.lower() for s in _walk(raw)] if raw else []
    if any(app in s for s in strings for app in _MINIPROGRAM_APPS):
        return [Detection(CARD_DETECTOR, "mini_program_card", 0, 0, False, "mini_program")]
    if any(app in s for s in strings for app in _CONTACT_APPS):
        return [Detection(CARD_DETECTOR, "contact_card", 0, 0, False, "contact")]
    segments = raw.get("message") if raw else None
    if isinstance(segments, list):
        for segment in segments:
            if isinstance(segment, Mapping) and segment.get("type") in _CARD_SEGMENTS:
                kind = str(segment.get("type"))
                return [Detection(CARD_DETECTOR, "contact_card", 0, 0, False, kind)]
    if message_kind == MessageKind.card:
        return [Detection(CARD_DETECTOR, "contact_card", 0, 0, False, "card")]
    return []


_CONTACT_PAYLOADS = frozenset(
    {
        PayloadKind.WECHAT_GROUP,
        PayloadKind.WECHAT_CONTACT,
        PayloadKind.WECHAT_OFFICIAL_ACCOUNT,
        PayloadKind.WECOM_GROUP,
        PayloadKind.WECOM_CONTACT,
        PayloadKind.QQ_GROUP,
        PayloadKind.QQ_CONTACT,
    }
)


def detect_qr(image: bytes) -> list[Detection]:
    """QR codes in an image: a contact/group invitation, a link, or other text. An image that
    cannot be read (too large, not an image, damaged) yields nothing rather than an error."""
    try:
        codes = decode_image(image)
    except DomainError:
        return []
    found: list[Detection] = []
    for code in codes:
        if code.kind in _CONTACT_PAYLOADS:
            rule_id = f"qr_{code.kind.value}"
        elif code.kind == PayloadKind.URL:
            rule_id = "qr_url"
        else:
            rule_id = "qr_text"
        found.append(Detection(QR_DETECTOR, rule_id, 0, 0, False, code.text))
    return found
