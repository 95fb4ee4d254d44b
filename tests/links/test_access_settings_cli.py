"""``qunyun link create`` with who may open the link, its mode and share card."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qunyun.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def installation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("QUNYUN_CONFIG", raising=False)
    monkeypatch.delenv("QUNYUN_REDIS_URL", raising=False)
    monkeypatch.setenv("QUNYUN_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("QUNYUN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("QUNYUN_ARGON2_PROFILE", "test")
    monkeypatch.setenv("QUNYUN_BASE_URL", "https://s.example.cn")
    monkeypatch.setenv("QUNYUN_LANGUAGE", "zh-CN")
    return tmp_path


def link(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["link", *args])
    return result.exit_code, result.stdout, result.stderr


def test_create_with_every_access_option() -> None:
    code, out, err = link(
        "create",
        "https://example.com/cli",
        "--slug",
        "gated",
        "--allow-app",
        "wechat",
        "--allow-app",
        "QQ",
        "--allow-device",
        "phone",
        "--allow-os",
        "iOS",
        "--allow-os",
        "android",
        "--mode",
        "landing",
        "--preview-title",
        "命令行卡片",
        "--preview-description",
        "说明",
        "--preview-image",
        "https://example.com/c.png",
        "--json",
    )
    assert code == 0, err
    created = json.loads(out)
    assert created["allowed_apps"] == ["wechat", "qq"]
    assert created["allowed_devices"] == ["phone"]
    assert created["allowed_os"] == ["iOS", "Android"]
    assert created["anti_block_mode"] == "landing"
    assert (created["preview_title"], created["preview_description"]) == ("命令行卡片", "说明")
    assert created["preview_image_url"] == "https://example.com/c.png"
    code, out, _ = link("show", "gated")
    assert code == 0
    assert "wechat, qq" in out
    code, out, _ = link("export", "-")
    (row,) = csv.DictReader(io.StringIO(out))
    assert (row["allowed_apps"], row["allowed_os"], row["anti_block_mode"]) == (
        "wechat|qq",
        "iOS|Android",
        "landing",
    )


def test_without_options_anyone_may_open_it_and_the_community_decides() -> None:
    code, out, _ = link("create", "https://example.com/", "--slug", "open", "--json")
    assert code == 0
    created = json.loads(out)
    assert (created["allowed_apps"], created["anti_block_mode"]) == ([], None)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--allow-app", "wechat", "--allow-app", "orkut"), "orkut"),
        (("--allow-device", "watch"), "watch"),
        (("--allow-os", "Plan9"), "Plan9"),
        (("--mode", "cloak"), "cloak"),
        (("--preview-image", "javascript:alert(1)"), "javascript"),
    ],
)
def test_invalid_options_exit_2_naming_the_value_and_store_nothing(
    args: tuple[str, ...], named: str
) -> None:
    code, out, err = link("create", "https://example.com/", *args)
    assert code == 2
    assert out == ""
    assert named in err
    assert json.loads(link("list", "--json")[1])["total"] == 0


def test_help_lists_the_choices() -> None:
    code, out, _ = link("create", "--help")
    assert code == 0
    for option in ("--allow-app", "--allow-device", "--allow-os", "--mode", "--preview-image"):
        assert option in out
    assert "landing" in out
