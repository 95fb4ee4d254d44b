"""Settings come from the environment and an optional TOML file, never at import."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from qunyun.settings import SECRET_KEY_FILE, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("QUNYUN_DATABASE_URL", "QUNYUN_LANGUAGE", "QUNYUN_SECRET_KEY", "QUNYUN_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    s = load_settings(data_dir=tmp_path)
    assert s.database_url == "sqlite:///qunyun.db"
    assert s.language == "zh-CN"
    assert s.redis_url is None
    assert len(s.secret_key) > 40


def test_secret_key_is_generated_once_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QUNYUN_SECRET_KEY", raising=False)
    first = load_settings(data_dir=tmp_path).secret_key
    assert load_settings(data_dir=tmp_path).secret_key == first
    key_file = tmp_path / SECRET_KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_environment_and_toml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "q.toml"
    config.write_text('base_url = "https://q.example.org/"\nlanguage = "en"\nworkers = 3\n')
    monkeypatch.setenv("QUNYUN_CONFIG", str(config))
    monkeypatch.setenv("QUNYUN_WORKERS", "4")
    s = load_settings(data_dir=tmp_path)
    assert s.base_url == "https://q.example.org"
    assert s.language == "en"
    assert s.workers == 4  # the environment wins over the file
    assert s.cookie_secure is True


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QUNYUN_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValidationError, match="unknown time zone"):
        load_settings(data_dir=tmp_path)


def test_missing_config_file_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QUNYUN_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(FileNotFoundError):
        load_settings(data_dir=tmp_path)


def test_base_url_follows_host_and_port_unless_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("QUNYUN_BASE_URL", raising=False)
    monkeypatch.setenv("QUNYUN_PORT", "8765")
    assert load_settings(data_dir=tmp_path).base_url == "http://127.0.0.1:8765"
    monkeypatch.setenv("QUNYUN_BASE_URL", "https://s.example.cn/")
    assert load_settings(data_dir=tmp_path).base_url == "https://s.example.cn"
