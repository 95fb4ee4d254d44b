"""Properties of classify() over arbitrary input and over real browser User-Agents."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from qunyun.clients import App, Client, DeviceType, classify

CORPORA = Path(__file__).resolve().parents[1] / "fixtures" / "ua_corpora"


def _people_on_mobiles() -> list[str]:
    """Plain mobile browsers from the corpora (no app, not a bot), a few hundred of them."""
    found: list[str] = []
    for name in ("bowser", "ua_parser_js", "whichbrowser"):
        for line in (CORPORA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            ua = json.loads(line)["ua"]
            client = classify(ua)
            if client.is_mobile and client.app is None and not client.is_bot:
                found.append(ua)
    return sorted(set(found))[::4]


MOBILE_UAS = _people_on_mobiles()
user_agents = st.text(max_size=1500) | st.sampled_from(MOBILE_UAS)
hint_maps = st.dictionaries(
    st.sampled_from(
        [
            "Sec-CH-UA-Mobile",
            "sec-ch-ua-platform",
            "Sec-CH-UA-Platform-Version",
            "Sec-CH-UA-Model",
            "Sec-CH-UA-Full-Version-List",
            "Accept",
        ]
    ),
    st.text(max_size=80),
)


def test_the_corpora_give_enough_mobile_browsers() -> None:
    assert len(MOBILE_UAS) > 200


@settings(deadline=None)
@given(user_agents, st.none() | hint_maps)
def test_never_raises_and_is_deterministic(ua: str, hints: dict[str, str] | None) -> None:
    first = classify(ua, hints)
    assert isinstance(first, Client)
    assert classify(ua, hints) == first
    assert first.is_preview_bot <= first.is_bot
    assert (first.device is DeviceType.BOT) == first.is_bot
    assert first.in_app <= (first.app is not None)


@settings(deadline=None)
@given(st.sampled_from(MOBILE_UAS), st.sampled_from(["8.0", "8.0.47(0x18002f2c)", "7.0.22.1820"]))
def test_adding_micromessenger_to_a_mobile_browser_makes_it_wechat(ua: str, version: str) -> None:
    plain = classify(ua)
    wechat = classify(f"{ua} MicroMessenger/{version}")
    assert wechat.app is App.WECHAT
    # The app token says nothing about the device or its system.
    assert (wechat.device, wechat.os) == (plain.device, plain.os)


@settings(deadline=None)
@given(
    st.sampled_from(MOBILE_UAS),
    st.sampled_from(["wxwork/4.1.22", "wxwork/2.2.0 (MicroMessenger/6.2)"]),
    st.booleans(),
)
def test_wecom_is_never_wechat(ua: str, wecom: str, wechat_first: bool) -> None:
    tokens = ["MicroMessenger/8.0.47", wecom]
    if not wechat_first:
        tokens.reverse()
    client = classify(" ".join([ua, *tokens]))
    assert client.app is App.WECOM


@settings(deadline=None)
@given(st.text(max_size=300), st.text(max_size=300))
def test_wecom_token_wins_wherever_it_sits(before: str, after: str) -> None:
    client = classify(f"Mozilla/5.0 (iPhone) {before} wxwork/4.1 {after} MicroMessenger/8.0")
    if not client.is_bot:
        assert client.app is App.WECOM


@settings(deadline=None)
@given(st.sampled_from(MOBILE_UAS))
def test_mini_program_token_turns_wechat_into_its_mini_program(ua: str) -> None:
    client = classify(f"{ua} MicroMessenger/8.0.47 NetType/WIFI miniProgram/wx1234567890abcdef")
    assert client.app is App.WECHAT_MINIPROGRAM
    assert client.in_app


@settings(deadline=None)
@given(st.sampled_from(MOBILE_UAS))
def test_x5_engine_token_alone_is_not_qq_browser(ua: str) -> None:
    client = classify(f"{ua} MQQBrowser/6.2 TBS/045130")
    assert client.app is not App.QQ_BROWSER
