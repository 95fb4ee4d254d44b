"""Real User-Agents of every app Qunyun tells apart, and the robots it must recognise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from qunyun.clients import App, DeviceType, classify

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ua_inapp"


def _load(name: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


SAMPLES = _load("samples.yaml")
BOTS = _load("bots.yaml")


def test_every_app_has_real_samples() -> None:
    covered = {sample["app"] for sample in SAMPLES}
    assert covered == {app.value for app in App}
    assert all(sample["source"] for sample in SAMPLES + BOTS)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: f"{s['app']}-{s['ua'][:40]}")
def test_in_app_sample(sample: dict[str, Any]) -> None:
    client = classify(sample["ua"])
    assert client.app == App(sample["app"])
    assert client.os == sample["os"]
    assert client.device == DeviceType(sample["device"])
    assert not client.is_bot
    assert client.in_app == (sample["app"] not in ("uc", "qq_browser"))


@pytest.mark.parametrize("sample", BOTS, ids=lambda s: f"{s['bot']}-{s['ua'][:40]}")
def test_bot_sample(sample: dict[str, Any]) -> None:
    client = classify(sample["ua"])
    assert client.is_bot
    assert client.bot_name == sample["bot"]
    assert client.is_preview_bot == sample["preview"]
    assert client.device is DeviceType.BOT
    assert client.app is None
