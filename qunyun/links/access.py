"""Who may open a link, and what a visitor is shown. Pure.

The order of the decision is fixed and small enough to read at once:

1. A link-preview bot gets the link's card (the landing page people can also see with
   ``?preview``), never a redirect: chat apps render that card, and a redirect could
   loop through another short link.
2. A visitor outside the link's allowed platforms gets a page saying where it opens.
3. ``landing`` mode: everybody gets the landing page (title, description, button, QR).
4. ``guide`` mode: inside an in-app browser that restricts outside links (WeChat, QQ,
   Weibo…), the visitor gets the "open in your browser" guide; everyone else goes on.
5. Otherwise: the destination (a redirect, or a live code's page).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from qunyun.clients import App, Client, DeviceType


class Mode(StrEnum):
    direct = "direct"
    guide = "guide"
    landing = "landing"


class Action(StrEnum):
    go = "go"  # redirect, or serve the live code
    preview = "preview"
    blocked = "blocked"
    guide = "guide"
    landing = "landing"


# Apps whose in-app browsers are known to block or warn on outside links.
DEFAULT_GUIDE_APPS: frozenset[str] = frozenset(
    {
        App.WECHAT,
        App.WECOM,
        App.WECHAT_MINIPROGRAM,
        App.QQ,
        App.WEIBO,
        App.DINGTALK,
        App.ALIPAY,
        App.DOUYIN,
        App.KUAISHOU,
        App.XIAOHONGSHU,
    }
)

# "browser" in an app list stands for any standalone browser (no in-app browser).
BROWSER = "browser"
APP_CHOICES: tuple[str, ...] = (BROWSER, *(a.value for a in App))
DEVICE_CHOICES: tuple[str, ...] = (
    DeviceType.PHONE.value,
    DeviceType.TABLET.value,
    DeviceType.DESKTOP.value,
)
OS_CHOICES: tuple[str, ...] = ("iOS", "Android", "HarmonyOS", "Windows", "macOS", "Linux")


@dataclass(frozen=True, slots=True)
class Gate:
    """Allowed platforms: each set None means "any"; a visitor must match every set."""

    apps: frozenset[str] | None = None
    devices: frozenset[str] | None = None
    os: frozenset[str] | None = None

    @classmethod
    def of(
        cls,
        apps: Iterable[str] | None = None,
        devices: Iterable[str] | None = None,
        os: Iterable[str] | None = None,
    ) -> Gate:
        def norm(values: Iterable[str] | None) -> frozenset[str] | None:
            chosen = frozenset(values or ())
            return chosen or None

        return cls(norm(apps), norm(devices), norm(os))

    @property
    def open_to_all(self) -> bool:
        return self.apps is None and self.devices is None and self.os is None

    def admits(self, client: Client) -> bool:
        if self.apps is not None:
            app = client.app.value if client.app is not None and client.in_app else BROWSER
            # A standalone app browser (UC, QQ Browser) also counts under its own name.
            named = client.app.value if client.app is not None else None
            if app not in self.apps and (named is None or named not in self.apps):
                return False
        if self.devices is not None and client.device.value not in self.devices:
            return False
        return self.os is None or client.os in self.os


def validate_choices(values: Iterable[str], allowed: tuple[str, ...]) -> list[str]:
    """The subset of ``values`` that are known choices, in the canonical order."""
    chosen = set(values)
    unknown = chosen - set(allowed)
    if unknown:
        raise ValueError(f"unknown choices: {sorted(unknown)}")
    return [v for v in allowed if v in chosen]


def decide(
    client: Client,
    *,
    mode: Mode,
    gate: Gate,
    guide_apps: frozenset[str] = DEFAULT_GUIDE_APPS,
) -> Action:
    if client.is_preview_bot:
        return Action.preview
    if not gate.open_to_all and not gate.admits(client):
        return Action.blocked
    if mode is Mode.landing:
        return Action.landing
    if mode is Mode.guide and client.app is not None and client.app.value in guide_apps:
        return Action.guide
    return Action.go
