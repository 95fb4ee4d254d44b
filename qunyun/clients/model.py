"""The values a classification returns: who opened a link, on what, and whether a person did."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class App(StrEnum):
    """The app whose browser opened the page.

    The values are stored in the database and in settings such as "allowed platforms":
    never rename one, only add new members.
    """

    WECHAT = "wechat"
    WECOM = "wecom"
    WECHAT_MINIPROGRAM = "wechat_miniprogram"
    QQ = "qq"
    QQ_BROWSER = "qq_browser"
    WEIBO = "weibo"
    DINGTALK = "dingtalk"
    ALIPAY = "alipay"
    DOUYIN = "douyin"
    TIKTOK = "tiktok"
    KUAISHOU = "kuaishou"
    XIAOHONGSHU = "xiaohongshu"
    FEISHU = "feishu"
    LARK = "lark"
    BAIDU = "baidu"
    UC = "uc"
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    LINE = "line"
    X = "x"

    @property
    def in_app(self) -> bool:
        """True for an app's embedded browser, False for a standalone browser app."""
        return self not in _STANDALONE_BROWSERS


_STANDALONE_BROWSERS = frozenset({App.QQ_BROWSER, App.UC})


class DeviceType(StrEnum):
    PHONE = "phone"
    TABLET = "tablet"
    DESKTOP = "desktop"
    BOT = "bot"
    OTHER = "other"


class OS(StrEnum):
    """Operating-system families Qunyun distinguishes (``Client.os`` holds these values)."""

    IOS = "iOS"
    ANDROID = "Android"
    HARMONYOS = "HarmonyOS"
    WINDOWS = "Windows"
    MACOS = "macOS"
    LINUX = "Linux"
    CHROMEOS = "ChromeOS"
    OTHER = "Other"


@dataclass(frozen=True, slots=True)
class Client:
    app: App | None
    os: str
    os_version: str | None
    device: DeviceType
    browser: str
    browser_version: str | None
    is_bot: bool
    is_preview_bot: bool
    bot_name: str | None

    @property
    def in_app(self) -> bool:
        return self.app is not None and self.app.in_app

    @property
    def is_mobile(self) -> bool:
        return self.device in (DeviceType.PHONE, DeviceType.TABLET)
