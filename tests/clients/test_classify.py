"""Behaviour of classify() beyond the sample files: API, order of rules, hints, caching."""

from __future__ import annotations

import dataclasses

import pytest

from qunyun.clients import OS, App, Client, DeviceType, classify
from qunyun.clients.classify import MAX_UA_LENGTH, _classify_ua
from qunyun.i18n import load_catalog

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
ANDROID_CHROME_NO_MOBILE = ANDROID_CHROME.replace(" Mobile Safari", " Safari")
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
WECOM_ANDROID = (
    "Mozilla/5.0 (Linux; Android 7.1.2; g3ds Build/NJH47F; wv) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Version/4.0 Chrome/53.0.2785.49 Mobile MQQBrowser/6.2 TBS/043508 Safari/537.36 "
    "wxwork/2.2.0 MicroMessenger/6.3.22 NetType/WIFI Language/zh"
)


def test_app_values_are_the_stored_ones() -> None:
    assert [app.value for app in App] == [
        "wechat", "wecom", "wechat_miniprogram", "qq", "qq_browser", "weibo", "dingtalk",
        "alipay", "douyin", "tiktok", "kuaishou", "xiaohongshu", "feishu", "lark", "baidu",
        "uc", "facebook", "instagram", "line", "x",
    ]  # fmt: skip
    assert [d.value for d in DeviceType] == ["phone", "tablet", "desktop", "bot", "other"]


def test_only_uc_and_qq_browser_are_standalone_browsers() -> None:
    assert {app for app in App if not app.in_app} == {App.UC, App.QQ_BROWSER}


def test_client_is_frozen_with_the_agreed_fields() -> None:
    client = classify(IPHONE_SAFARI)
    assert [f.name for f in dataclasses.fields(Client)] == [
        "app", "os", "os_version", "device", "browser", "browser_version", "is_bot",
        "is_preview_bot", "bot_name",
    ]  # fmt: skip
    with pytest.raises(dataclasses.FrozenInstanceError):
        client.app = App.WECHAT  # type: ignore[misc]


def test_plain_browser() -> None:
    client = classify(IPHONE_SAFARI)
    assert client == Client(
        app=None,
        os="iOS",
        os_version="17.5",
        device=DeviceType.PHONE,
        browser="Mobile Safari",
        browser_version="17.5",
        is_bot=False,
        is_preview_bot=False,
        bot_name=None,
    )
    assert not client.in_app
    assert client.is_mobile


def test_wecom_wins_over_the_wechat_token_it_carries() -> None:
    client = classify(WECOM_ANDROID)
    assert client.app is App.WECOM
    assert client.browser == "WeCom"
    assert client.browser_version == "2.2.0"


def test_x5_engine_token_is_not_the_qq_browser_app() -> None:
    x5_webview = (
        "Mozilla/5.0 (Linux; Android 9; V1938T Build/PKQ1; wv) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Version/4.0 Chrome/66.0.3359.126 MQQBrowser/6.2 TBS/045130 Mobile Safari/537.36"
    )
    assert classify(x5_webview).app is None
    assert classify(x5_webview.replace("MQQBrowser/6.2 TBS/045130 ", "MQQBrowser/12.1 ")).app is (
        App.QQ_BROWSER
    )


def test_wechat_on_android_is_named_after_the_app_not_its_engine() -> None:
    client = classify(
        "Mozilla/5.0 (Linux; Android 6.0; M5 Note Build/MRA58K; wv) AppleWebKit/537.36 (KHTML, "
        "like Gecko) Version/4.0 Chrome/53.0.2785.49 Mobile MQQBrowser/6.2 TBS/043024 "
        "Safari/537.36 MicroMessenger/6.5.7.1040 NetType/WIFI Language/zh_CN"
    )
    assert (client.app, client.browser, client.browser_version) == (
        App.WECHAT,
        "WeChat",
        "6.5.7.1040",
    )


def test_alipay_mini_program_stays_alipay() -> None:
    ua = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 AliApp(AP/10.3.0) AlipayClient/10.3.0 Language/zh-Hans "
        "MiniProgram"
    )
    assert classify(ua).app is App.ALIPAY


def test_bytedance_webview_alone_is_douyin_but_toutiao_is_not() -> None:
    base = IPHONE_SAFARI + " BytedanceWebview/d8a21c6"
    assert classify(base).app is App.DOUYIN
    assert classify(base + " NewsArticle/8.1.5").app is None


def test_lark_without_channel_follows_its_locale() -> None:
    base = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Lark/7.10.5 "
    assert classify(base + "LarkLocale/zh_CN").app is App.FEISHU
    assert classify(base + "LarkLocale/en_US").app is App.LARK


@pytest.mark.parametrize(
    ("ua", "device"),
    [
        (ANDROID_CHROME, DeviceType.PHONE),
        (ANDROID_CHROME_NO_MOBILE, DeviceType.TABLET),
        (WINDOWS_CHROME, DeviceType.DESKTOP),
        (
            "Mozilla/5.0 (Linux; Android 9; KFMAWI) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Silk/91.2.3 like Chrome/91.0.4472.120 Safari/537.36",
            DeviceType.TABLET,
        ),
        (
            "Mozilla/5.0 (Tablet; OpenHarmony 5.0) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/114.0.0.0 Safari/537.36 ArkWeb/4.1.6.1 HuaweiBrowser/5.0.3.300",
            DeviceType.TABLET,
        ),
        (
            "Mozilla/5.0 (Phone; OpenHarmony 5.0) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/114.0.0.0 Safari/537.36 ArkWeb/4.1.6.1 Mobile HuaweiBrowser/5.0.3.300",
            DeviceType.PHONE,
        ),
        (
            "Mozilla/5.0 (Linux; Android 10; HarmonyOS; MRX-W09; HMSCore 6.1.0.314) "
            "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/92.0.4515.105 HuaweiBrowser/12.0 "
            "Safari/537.36",
            DeviceType.TABLET,
        ),
        (
            # iPadOS asking for the desktop site from an app's web-view.
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Mobile/15E148 MicroMessenger/8.0.40(0x18002831) NetType/WIFI",
            DeviceType.TABLET,
        ),
        (
            "Mozilla/5.0 (Linux; Android 12; Galaxy Tab) AppleWebKit/537.36 Chrome/120 Safari"
            "/537.36 SMART-TV",
            DeviceType.OTHER,
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; CUBOT NOTE 7) AppleWebKit/537.36 Mobile Safari/537.36",
            DeviceType.PHONE,
        ),
    ],
)
def test_device_type(ua: str, device: DeviceType) -> None:
    assert classify(ua).device is device


def test_harmonyos_versions() -> None:
    next_ua = "Mozilla/5.0 (Phone; OpenHarmony 5.0) AppleWebKit/537.36 Chrome/114 ArkWeb/4.1"
    assert (classify(next_ua).os, classify(next_ua).os_version) == ("HarmonyOS", "5.0")
    compat = "Mozilla/5.0 (Linux; Android 12; HarmonyOS; DCO-AL00) AppleWebKit/537.36 Mobile"
    # "Android 12" is the compatibility level, not the HarmonyOS version.
    assert (classify(compat).os, classify(compat).os_version) == ("HarmonyOS", None)


def test_ipad_desktop_mode_reports_ios() -> None:
    ua = (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) FxiOS/21.0 Version/13.0.3 Safari/605.1.15"
    )
    assert (classify(ua).os, classify(ua).device) == ("iOS", DeviceType.TABLET)


def test_os_families_are_folded() -> None:
    mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/17 Safari"
    cases = {
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 Chrome/120 Safari": "ChromeOS",
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0": "Linux",
        mac: "macOS",
        WINDOWS_CHROME: "Windows",
        ANDROID_CHROME: "Android",
        "Mozilla/5.0 (Mobile; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5": "Other",
    }  # fmt: skip
    assert {ua: classify(ua).os for ua in cases} == cases
    assert set(cases.values()) <= {family.value for family in OS}


def test_preview_bots_are_bots_and_the_wechat_browser_is_a_person() -> None:
    assert classify("TelegramBot (like TwitterBot)").is_preview_bot
    googlebot = classify("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
    assert googlebot.is_bot
    assert not googlebot.is_preview_bot
    wechat = classify(IPHONE_SAFARI + " MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI")
    assert (wechat.is_bot, wechat.app) == (False, App.WECHAT)
    whatsapp_desktop = classify(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "WhatsApp/2.2017.6 Chrome/76.0.3809.146 Electron/6.1.9 Safari/537.36"
    )
    assert not whatsapp_desktop.is_bot


@pytest.mark.parametrize("ua", [None, "", "   ", "\x00", "\t\n"])
def test_empty_user_agent_is_a_bot(ua: str | None) -> None:
    client = classify(ua)
    assert (client.is_bot, client.is_preview_bot, client.bot_name) == (True, False, "empty")


@pytest.mark.parametrize(
    "ua",
    [
        "\ud800\udfff garbage",
        "微信 浏览器 😀",
        "\x1b[31mred",
        "(" * 5000,
        "Mozilla/5.0 (" + "Ä" * 3000,
    ],
)
def test_garbage_gives_a_client(ua: str) -> None:
    assert isinstance(classify(ua), Client)


def test_long_user_agents_are_truncated_before_parsing() -> None:
    long_ua = IPHONE_SAFARI + " x" * 2000
    assert classify(long_ua) is classify(long_ua[:MAX_UA_LENGTH])
    tail_only = "A" * MAX_UA_LENGTH + " MicroMessenger/8.0"
    assert classify(tail_only).app is None  # the token lies past the cut


def test_answers_are_cached_per_user_agent() -> None:
    before = _classify_ua.cache_info()
    first = classify(IPHONE_SAFARI + " cache-probe")
    second = classify(IPHONE_SAFARI + " cache-probe")
    after = _classify_ua.cache_info()
    assert first is second
    assert after.hits >= before.hits + 1
    assert after.maxsize == 20_000


class TestClientHints:
    def test_reduced_android_ua_and_tablet_hints(self) -> None:
        client = classify(
            ANDROID_CHROME_NO_MOBILE.replace("Chrome/124.0.0.0", "Chrome/120.0.0.0"),
            {
                "Sec-CH-UA-Mobile": "?0",
                "Sec-CH-UA-Platform": '"Android"',
                "Sec-CH-UA-Platform-Version": '"14.0.0"',
                "Sec-CH-UA-Model": '"SM-X700"',
                "Sec-CH-UA-Full-Version-List": (
                    '"Not_A Brand";v="8.0.0.0", "Chromium";v="120.0.6099.130", '
                    '"Google Chrome";v="120.0.6099.130"'
                ),
            },
        )
        assert (client.os, client.os_version, client.device) == ("Android", "14", DeviceType.TABLET)
        assert client.browser_version == "120.0.6099.130"

    def test_mobile_hint_makes_a_phone(self) -> None:
        hinted = classify(ANDROID_CHROME_NO_MOBILE, {"sec-ch-ua-mobile": "?1"})
        assert classify(ANDROID_CHROME_NO_MOBILE).device is DeviceType.TABLET
        assert hinted.device is DeviceType.PHONE

    @pytest.mark.parametrize(
        ("version", "windows"),
        [("15.0.0", "11"), ("13.0.0", "11"), ("10.0.0", "10"), ("0.3.0", "8.1")],
    )
    def test_windows_version_from_hints(self, version: str, windows: str) -> None:
        client = classify(
            WINDOWS_CHROME,
            {"Sec-CH-UA-Platform": '"Windows"', "Sec-CH-UA-Platform-Version": f'"{version}"'},
        )
        assert (client.os, client.os_version, client.device) == (
            "Windows",
            windows,
            DeviceType.DESKTOP,
        )

    def test_hints_never_turn_a_bot_into_a_person(self) -> None:
        client = classify("curl/8.5.0", {"Sec-CH-UA-Mobile": "?1"})
        assert client.is_bot
        assert client.device is DeviceType.BOT

    def test_harmonyos_survives_an_android_platform_hint(self) -> None:
        ua = "Mozilla/5.0 (Linux; Android 12; HarmonyOS; DCO-AL00) AppleWebKit/537.36 Mobile"
        assert classify(ua, {"Sec-CH-UA-Platform": '"Android"'}).os == "HarmonyOS"

    def test_irrelevant_or_odd_hints_are_harmless(self) -> None:
        plain = classify(IPHONE_SAFARI)
        assert classify(IPHONE_SAFARI, {"Accept": "text/html"}) is plain
        odd = classify(
            IPHONE_SAFARI, {"Sec-CH-UA-Platform-Version": '"x.y"', "Sec-CH-UA-Mobile": "?"}
        )
        assert odd.os == "iOS"


def test_every_app_and_device_has_a_name_in_both_languages() -> None:
    # Keys used by the pages that show "allowed platforms": platform.app.<App value>,
    # platform.device.<DeviceType value>.
    catalog = load_catalog()
    keys = [f"platform.app.{a.value}" for a in App] + [
        f"platform.device.{d.value}" for d in DeviceType
    ]
    for key in keys:
        assert catalog.has(key), key
        assert catalog.gettext(key, "zh-CN") != key
        assert catalog.gettext(key, "en") != key
