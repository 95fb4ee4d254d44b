"""What a decoded QR payload is: a plain link, a chat-app invitation, or text.

Formats, as the apps put them in their QR codes:

- WeChat group (群二维码): ``https://weixin.qq.com/g/<token>``. Valid 7 days from when the
  member generated it (or until the group passes 200 members), but the token does not
  carry the date, so the expiry is unknown (``None``); see :data:`KNOWN_VALIDITY`.
- WeChat personal card (个人二维码): ``https://u.wechat.com/<token>`` (sometimes ``?s=2``).
- WeChat official account (公众号): ``http://weixin.qq.com/r/<token>`` (permanent) and
  ``http://weixin.qq.com/q/<token>`` (parametric; may be temporary, expiry set server-side).
- WeCom (企业微信): ``https://work.weixin.qq.com/gm/<32 hex>`` customer-group join code;
  ``/u/vc<hex>?v=…`` a member's card, ``/ca/cawcde<hex>`` a customer-acquisition link and
  ``/ct/…`` a contact card, all of which add a contact.
- QQ group: ``https://jq.qq.com/?_wv=1027&k=<key>`` (older share links),
  ``https://qm.qq.com/cgi-bin/qm/qr?k=<key>&jump_from=webapi&authKey=…``,
  ``https://qun.qq.com/universal-share/share?…&busi_data=<base64 JSON with groupCode>…``
  and the short ``https://qm.qq.com/q/<token>``. The short form is also used for personal
  cards and cannot be told apart offline; it is reported as a group, the common case.
  ``qm.qq.com/cgi-bin/qm/qr?k=…#&noverify=0&personal_qrcode_source=…`` is a personal card.

None of these URLs encodes an expiry date, so ``classify_payload`` returns ``None`` for the
expiry of every kind today; the slot is there for formats that do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from urllib.parse import parse_qs, urlsplit


class PayloadKind(StrEnum):
    URL = "url"
    TEXT = "text"
    WECHAT_GROUP = "wechat_group"
    WECHAT_CONTACT = "wechat_contact"
    WECHAT_OFFICIAL_ACCOUNT = "wechat_official_account"
    WECOM_GROUP = "wecom_group"
    WECOM_CONTACT = "wecom_contact"
    QQ_GROUP = "qq_group"
    QQ_CONTACT = "qq_contact"


KNOWN_VALIDITY: Mapping[PayloadKind, timedelta] = MappingProxyType(
    {PayloadKind.WECHAT_GROUP: timedelta(days=7)}
)
"""How long a code of this kind stays valid after it was generated, where the app fixes it."""


def _token_after(prefix: str) -> Callable[[str, str], bool]:
    """A path test: the path is ``prefix`` followed by a non-empty token."""

    def test(path: str, _query: str) -> bool:
        return path.startswith(prefix) and len(path) > len(prefix)

    return test


def _qm_qq_card(path: str, query: str) -> bool:
    return path == "/cgi-bin/qm/qr" and "personal_qrcode_source" in parse_qs(query)


def _qm_qq_group(path: str, query: str) -> bool:
    if path == "/cgi-bin/qm/qr":
        return bool(parse_qs(query).get("k"))
    return path.startswith("/q/") and len(path) > 3


def _jq_qq_group(path: str, query: str) -> bool:
    return path in ("", "/") and bool(parse_qs(query).get("k"))


def _qun_qq_group(path: str, query: str) -> bool:
    params = parse_qs(query)
    return path == "/universal-share/share" and (
        "busi_data" in params or params.get("tempid") == ["h5_group_info"]
    )


_PathTest = Callable[[str, str], bool]
# First match wins: the personal-card test for qm.qq.com must precede the group one.
_RULES: tuple[tuple[str, _PathTest, PayloadKind], ...] = (
    ("weixin.qq.com", _token_after("/g/"), PayloadKind.WECHAT_GROUP),
    ("weixin.qq.com", _token_after("/r/"), PayloadKind.WECHAT_OFFICIAL_ACCOUNT),
    ("weixin.qq.com", _token_after("/q/"), PayloadKind.WECHAT_OFFICIAL_ACCOUNT),
    ("u.wechat.com", _token_after("/"), PayloadKind.WECHAT_CONTACT),
    ("work.weixin.qq.com", _token_after("/gm/"), PayloadKind.WECOM_GROUP),
    ("work.weixin.qq.com", _token_after("/u/"), PayloadKind.WECOM_CONTACT),
    ("work.weixin.qq.com", _token_after("/ca/"), PayloadKind.WECOM_CONTACT),
    ("work.weixin.qq.com", _token_after("/ct/"), PayloadKind.WECOM_CONTACT),
    ("qm.qq.com", _qm_qq_card, PayloadKind.QQ_CONTACT),
    ("qm.qq.com", _qm_qq_group, PayloadKind.QQ_GROUP),
    ("jq.qq.com", _jq_qq_group, PayloadKind.QQ_GROUP),
    ("qun.qq.com", _qun_qq_group, PayloadKind.QQ_GROUP),
)


def classify_payload(text: str) -> tuple[PayloadKind, datetime | None]:
    """The kind of a decoded payload and, when the payload encodes one, its expiry (UTC)."""
    candidate = text.strip()
    try:
        parts = urlsplit(candidate)
        host = parts.hostname
    except ValueError:  # e.g. an unbalanced "[" in what looked like an IPv6 host
        return PayloadKind.TEXT, None
    if (
        parts.scheme.lower() not in ("http", "https")
        or not host
        or any(c.isspace() for c in candidate)
    ):
        return PayloadKind.TEXT, None
    # QQ's personal links carry their parameters after "#&", so the fragment counts too.
    query = "&".join(piece for piece in (parts.query, parts.fragment.lstrip("&")) if piece)
    for rule_host, matches, kind in _RULES:
        if host == rule_host and matches(parts.path, query):
            return kind, None
    return PayloadKind.URL, None
