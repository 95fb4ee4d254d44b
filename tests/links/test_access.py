"""The anti-block and platform-gate decision, by the thousand."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from qunyun.clients import App, Client, DeviceType, classify
from qunyun.links.access import (
    APP_CHOICES,
    BROWSER,
    DEFAULT_GUIDE_APPS,
    DEVICE_CHOICES,
    OS_CHOICES,
    Action,
    Gate,
    Mode,
    decide,
)

WECHAT_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) "
    "NetType/WIFI Language/zh_CN"
)
QQ_ANDROID = (
    "Mozilla/5.0 (Linux; Android 13; V2203A Build/TP1A.220624.014; wv) "
    "AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/98.0.4758.102 MQQBrowser/6.2 TBS/046805 "
    "Mobile Safari/537.36 "
    "V1_AND_SQ_8.9.68_4264_YYB_D A_8096800 QQ/8.9.68.11565 NetType/WIFI WebP/0.3.0 AppId/537168313"
)
SAFARI_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
TELEGRAM = "TelegramBot (like TwitterBot)"

clients = st.builds(
    Client,
    app=st.none() | st.sampled_from(list(App)),
    os=st.sampled_from([*OS_CHOICES, "Other"]),
    os_version=st.none(),
    device=st.sampled_from(list(DeviceType)),
    browser=st.just("X"),
    browser_version=st.none(),
    is_bot=st.booleans(),
    is_preview_bot=st.booleans(),
    bot_name=st.none(),
)
gates = st.builds(
    Gate.of,
    st.lists(st.sampled_from(APP_CHOICES), max_size=4),
    st.lists(st.sampled_from(DEVICE_CHOICES), max_size=3),
    st.lists(st.sampled_from(OS_CHOICES), max_size=3),
)


@given(clients, st.sampled_from(list(Mode)), gates)
def test_decision_rules(client: Client, mode: Mode, gate: Gate) -> None:
    action = decide(client, mode=mode, gate=gate)
    if client.is_preview_bot:
        assert action is Action.preview
    elif not gate.admits(client):
        assert action is Action.blocked
    elif mode is Mode.landing:
        assert action is Action.landing
    elif mode is Mode.guide and client.app is not None and client.app in DEFAULT_GUIDE_APPS:
        assert action is Action.guide
    else:
        assert action is Action.go


@given(clients)
def test_an_open_gate_admits_everyone(client: Client) -> None:
    assert Gate.of().admits(client)
    assert decide(client, mode=Mode.direct, gate=Gate.of()) in (Action.go, Action.preview)


@given(clients, gates)
def test_gate_dimensions_are_conjunctive(client: Client, gate: Gate) -> None:
    admitted = gate.admits(client)
    if gate.devices is not None and client.device.value not in gate.devices:
        assert not admitted
    if gate.os is not None and client.os not in gate.os:
        assert not admitted


def test_real_user_agents() -> None:
    wechat_only = Gate.of(apps=["wechat"])
    phones_only = Gate.of(devices=["phone"])
    not_desktop = Gate.of(devices=["phone", "tablet"])
    wechat, qq, safari, desktop = (
        classify(u) for u in (WECHAT_IOS, QQ_ANDROID, SAFARI_IOS, DESKTOP)
    )
    assert wechat_only.admits(wechat)
    assert not wechat_only.admits(qq)
    assert not wechat_only.admits(safari)
    assert phones_only.admits(safari) and phones_only.admits(wechat)
    assert not not_desktop.admits(desktop)
    assert Gate.of(apps=[BROWSER]).admits(safari)
    assert not Gate.of(apps=[BROWSER]).admits(wechat)
    assert decide(wechat, mode=Mode.guide, gate=Gate.of()) is Action.guide
    assert decide(qq, mode=Mode.guide, gate=Gate.of()) is Action.guide
    assert decide(safari, mode=Mode.guide, gate=Gate.of()) is Action.go
    assert decide(desktop, mode=Mode.landing, gate=Gate.of()) is Action.landing
    assert decide(classify(TELEGRAM), mode=Mode.direct, gate=wechat_only) is Action.preview
    # A crawler is not waved through a gate a person would meet.
    assert (
        decide(
            classify("Googlebot/2.1 (+http://www.google.com/bot.html)"),
            mode=Mode.direct,
            gate=wechat_only,
        )
        is Action.blocked
    )
