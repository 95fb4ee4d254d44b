"""Which app's browser sent a User-Agent: Qunyun's own rules for the in-app browsers.

Order matters. Many apps embed another vendor's engine and carry its token too:
WeCom sends ``MicroMessenger``, WeChat and QQ on Android send ``MQQBrowser/6.2 TBS``
(Tencent's X5 engine), DingTalk and Alipay send ``UCBrowser``/``UWS`` (Alibaba's UC
engine), Instagram may send Facebook tokens. The specific app is therefore tested before
the engine it embeds, and the standalone browsers (QQ Browser, UC) come last.
"""

from __future__ import annotations

import re

from qunyun.clients.gate import Gated, any_word, gated
from qunyun.clients.model import App

_WECOM = gated(r"wxwork/", "wxwork/")
_WECHAT = gated(r"MicroMessenger", "micromessenger")
_MINIPROGRAM = gated(r"miniprogram", "miniprogram")
_QQ = gated(r"(?:^|[\s;(])QQ/\d|V1_[A-Z]+_SQ_", "qq/ _sq_", 0)
_DINGTALK = gated(r"DingTalk", "dingtalk")
_ALIPAY = gated(r"AlipayClient|AliApp\(AP/", "alipayclient aliapp(ap/", 0)
_LARK = gated(r"\bLark/\d", "lark/", 0)
_FEISHU = gated(r"Feishu", "feishu")
_LARK_CHANNEL = gated(r"ChannelName/Lark\b", "channelname/lark", 0)
_LARK_CHINA_LOCALE = gated(r"LarkLocale/zh", "larklocale/zh")
_TIKTOK = gated(r"musical_ly|\btrill_\d|AppName/trill|\bTikTok\b", "musical_ly trill tiktok", 0)
_DOUYIN = gated(r"aweme", "aweme")
_BYTEDANCE_WEBVIEW = gated(r"BytedanceWebview", "bytedancewebview")
# Other ByteDance apps (Toutiao, Xigua) share the web-view but are not Douyin.
_OTHER_BYTEDANCE_APP = gated(r"NewsArticle|VideoArticle|NewsLite", "article newslite", 0)
_KUAISHOU = gated(r"\bKwai(?:_Lite|_Pro)?/|\bksNebula/|\bksthanos/", "kwai ksnebula/ ksthanos/")
# Xiaohongshu sends ``xhsdiscover``, ``XiaoHongShu/`` or, on iOS, ``discover/<version>``
# followed by its ``NetType/`` or ``Device/(...)`` fields.
_XIAOHONGSHU = gated(
    r"xhsdiscover|XiaoHongShu|\bdiscover/\d[\d.]*\b.{0,200}?(?:NetType/|Device/\()",
    "xhsdiscover xiaohongshu discover/",
)
_WEIBO = gated(r"weibo", "weibo")
_BAIDU = gated(r"baiduboxapp", "baiduboxapp")
_INSTAGRAM = gated(r"\bInstagram[ /]\d", "instagram", 0)
_FACEBOOK = gated(r"FBAN/|FBAV/|FB_IAB/|\bFBIOS\b|\bFB4A\b", "fban/ fbav/ fb_iab/ fbios fb4a", 0)
_LINE = gated(r"\bLine/\d", "line/", 0)
_X = gated(r"Twitter for (?:iPhone|iPad|Android)|TwitterAndroid|\bTwitter/\d", "twitter", 0)
# ``MQQBrowser/x TBS/`` is the X5 engine embedded in other apps, not the QQ Browser app.
_QQ_BROWSER = gated(r"QQBrowser", "qqbrowser", 0)
_X5_ENGINE = gated(r"MQQBrowser/[\d.]+ TBS/", "tbs/", 0)
_UC = gated(r"UCBrowser|UCWEB|\bUBrowser/", "ucbrowser ucweb ubrowser/")
_ALIBABA_APP = gated(r"AliApp\(", "aliapp(", 0)

RULES: tuple[Gated, ...] = (
    _WECOM,
    _WECHAT,
    _MINIPROGRAM,
    _QQ,
    _DINGTALK,
    _ALIPAY,
    _LARK,
    _FEISHU,
    _LARK_CHANNEL,
    _LARK_CHINA_LOCALE,
    _TIKTOK,
    _DOUYIN,
    _BYTEDANCE_WEBVIEW,
    _OTHER_BYTEDANCE_APP,
    _KUAISHOU,
    _XIAOHONGSHU,
    _WEIBO,
    _BAIDU,
    _INSTAGRAM,
    _FACEBOOK,
    _LINE,
    _X,
    _QQ_BROWSER,
    _X5_ENGINE,
    _UC,
    _ALIBABA_APP,
)
_ANY = any_word(RULES)


def detect_app(ua: str, lowered: str | None = None) -> App | None:
    """The app whose browser sent ``ua``, or None for a plain browser or an unknown app."""
    low = ua.lower() if lowered is None else lowered
    if not _ANY.opens(low):
        return None

    def has(rule: Gated) -> bool:
        return rule.search(ua, low) is not None

    if has(_WECOM):
        return App.WECOM
    if has(_WECHAT):
        return App.WECHAT_MINIPROGRAM if has(_MINIPROGRAM) else App.WECHAT
    if has(_QQ):
        return App.QQ
    if has(_DINGTALK):
        return App.DINGTALK
    if has(_ALIPAY):
        return App.ALIPAY
    if has(_LARK):
        if has(_FEISHU):
            return App.FEISHU
        if has(_LARK_CHANNEL):
            return App.LARK
        return App.FEISHU if has(_LARK_CHINA_LOCALE) else App.LARK
    if has(_TIKTOK):
        return App.TIKTOK
    if has(_DOUYIN) or (has(_BYTEDANCE_WEBVIEW) and not has(_OTHER_BYTEDANCE_APP)):
        return App.DOUYIN
    for rule, app in _PLAIN_ORDER:
        if has(rule):
            return app
    if has(_QQ_BROWSER) and not has(_X5_ENGINE):
        return App.QQ_BROWSER
    if has(_UC) and not has(_ALIBABA_APP):
        return App.UC
    # A web-view token with no app token at all: WeChat's mini-program is by far the
    # most common source (Alipay's ``MiniProgram`` was caught above as Alipay).
    if has(_MINIPROGRAM):
        return App.WECHAT_MINIPROGRAM
    return None


_PLAIN_ORDER: tuple[tuple[Gated, App], ...] = (
    (_KUAISHOU, App.KUAISHOU),
    (_XIAOHONGSHU, App.XIAOHONGSHU),
    (_WEIBO, App.WEIBO),
    (_BAIDU, App.BAIDU),
    (_INSTAGRAM, App.INSTAGRAM),
    (_FACEBOOK, App.FACEBOOK),
    (_LINE, App.LINE),
    (_X, App.X),
)


# The name Qunyun shows as the browser of an app's web-view, and where its version sits.
_APP_BROWSERS: dict[App, tuple[str, re.Pattern[str]]] = {
    App.WECHAT: ("WeChat", re.compile(r"MicroMessenger/([\d.]+)", re.I)),
    App.WECOM: ("WeCom", re.compile(r"wxwork/([\d.]+)", re.I)),
    App.WECHAT_MINIPROGRAM: ("WeChat Mini Program", re.compile(r"MicroMessenger/([\d.]+)", re.I)),
    App.QQ: ("QQ", re.compile(r"\bQQ/([\d.]+)")),
    App.QQ_BROWSER: ("QQ Browser", re.compile(r"QQBrowser/(?:Mini)?([\d.]+)")),
    App.WEIBO: ("Weibo", re.compile(r"__weibo__([\d.]+)")),
    App.DINGTALK: ("DingTalk", re.compile(r"DingTalk[/(]([\d.]+)", re.I)),
    App.ALIPAY: ("Alipay", re.compile(r"AlipayClient/([\d.]+)")),
    App.DOUYIN: ("Douyin", re.compile(r"app_version/([\d.]+)|aweme/([\d.]+)|aweme_(\d+\.[\d.]+)")),
    App.TIKTOK: (
        "TikTok",
        re.compile(r"app_version/([\d.]+)|musical_ly_(\d+\.[\d.]+)|trill_(\d+\.[\d.]+)"),
    ),
    App.KUAISHOU: ("Kuaishou", re.compile(r"Kwai(?:_Lite|_Pro)?/([\d.]+)", re.I)),
    App.XIAOHONGSHU: (
        "Xiaohongshu",
        re.compile(r"(?:xhsdiscover|XiaoHongShu|discover)/([\d.]+)", re.I),
    ),
    App.FEISHU: ("Feishu", re.compile(r"Lark/([\d.]+)")),
    App.LARK: ("Lark", re.compile(r"Lark/([\d.]+)")),
    App.BAIDU: ("Baidu App", re.compile(r"baiduboxapp/([\d.]+)", re.I)),
    App.UC: ("UC Browser", re.compile(r"UC ?Browser/?([\d.]+)|UBrowser/([\d.]+)", re.I)),
    App.FACEBOOK: ("Facebook", re.compile(r"FBAV/([\d.]+)")),
    App.INSTAGRAM: ("Instagram", re.compile(r"Instagram[ /]([\d.]+)")),
    App.LINE: ("LINE", re.compile(r"\bLine/([\d.]+)")),
    App.X: ("X", re.compile(r"Twitter for \w+/([\d.]+)|\bTwitter/([\d.]+)")),
}


def app_browser(app: App, ua: str) -> tuple[str, str | None]:
    """The browser name and version to report for ``app``'s web-view.

    ua-parser names many of these after the engine they embed (WeChat on Android comes
    out as "QQ Browser Mobile", DingTalk as "UC Browser", Douyin as "TikTok").
    """
    name, pattern = _APP_BROWSERS[app]
    match = pattern.search(ua)
    if match is None:
        return name, None
    version = next((group for group in match.groups() if group), "").strip(".")
    return name, version or None
