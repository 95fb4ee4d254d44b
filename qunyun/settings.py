"""The one settings object.

Built once at start (``load_settings``) and passed down; nothing reads the environment
at import time. Sources, strongest first: keyword arguments, ``QUNYUN_*`` environment
variables, an optional TOML file (``QUNYUN_CONFIG`` or ``qunyun.toml`` in the working
directory), defaults. A missing secret key is generated once and kept in a file beside
the data so sessions survive restarts.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from qunyun.i18n import LANGUAGES, normalise_language

DEFAULT_SQLITE_FILE = "qunyun.db"
SECRET_KEY_FILE = ".qunyun-secret"  # noqa: S105 - a file name


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QUNYUN_", extra="ignore", frozen=True)

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_SQLITE_FILE}",
        description="SQLAlchemy URL; sqlite:///file.db (default) or postgresql+psycopg://…",
    )
    redis_url: str | None = Field(
        default=None, description="redis://host:port/db; shared rate limits and cache invalidation"
    )
    base_url: str = Field(
        default="",
        description="public origin used to build short URLs; default http://HOST:PORT",
    )
    secret_key: str = Field(default="", description="signs sessions and visitor keys")
    language: str = Field(default="zh-CN", description="default language of pages and messages")
    data_dir: Path = Field(default=Path("."), description="where the secret key file is kept")
    timezone: str = Field(
        default="Asia/Shanghai", description="the day boundary of statistics and reports"
    )

    # Short links
    allow_private_targets: bool = False
    max_url_length: int = 2048
    link_cache_seconds: float = Field(
        default=2.0, ge=0, description="how long a worker trusts a cached link before re-reading it"
    )
    link_create_rate: str = Field(default="120/minute", description="per user")
    link_password_rate: str = Field(default="5/minute", description="per link and client")

    # Visits
    visit_flush_seconds: float = Field(default=0.5, gt=0, le=60)
    visit_batch_size: int = Field(default=1000, ge=1)
    visit_ip_retention_days: int = Field(
        default=7, ge=0, description="raw client IPs are erased after this many days; 0 stores none"
    )
    trusted_proxies: list[str] = Field(
        default_factory=list, description="addresses/CIDRs whose X-Forwarded-For is believed"
    )

    # Accounts
    login_rate: str = Field(default="10/minute", description="per client address and user name")
    session_max_age_days: int = 14
    session_cookie_secure: bool | None = Field(
        default=None, description="defaults to true when base_url is https"
    )
    argon2_profile: Literal["rfc_9106_low_memory", "rfc_9106_high_memory", "test"] = (
        "rfc_9106_low_memory"
    )

    # Moderation: images fetched to look for QR codes
    media_max_bytes: int = Field(
        default=8 * 1024 * 1024, ge=1024, description="largest image fetched for the QR check"
    )
    media_allow_private: bool = Field(
        default=False,
        description="let the QR check fetch images from private addresses (a local OneBot)",
    )

    # Imports
    import_max_bytes: int = Field(
        default=4 * 1024**3, ge=1, description="largest chat export accepted for import"
    )

    # Server
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1)
    apply_migrations_on_start: bool = True

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        lang = normalise_language(value)
        if lang not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}")
        return lang

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _default_base_url(self) -> Settings:
        if not self.base_url:
            # Frozen model: set once, here, while it is being built.
            object.__setattr__(self, "base_url", f"http://{self.host}:{self.port}")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def cookie_secure(self) -> bool:
        if self.session_cookie_secure is not None:
            return self.session_cookie_secure
        return self.base_url.startswith("https://")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))


class _TomlSource(PydanticBaseSettingsSource):
    """Reads ``QUNYUN_CONFIG`` (or ./qunyun.toml when present): top-level keys as fields."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get("QUNYUN_CONFIG")
        candidate = Path(path) if path else Path("qunyun.toml")
        if not candidate.is_file():
            if path:
                raise FileNotFoundError(f"QUNYUN_CONFIG points to {path}, which does not exist")
            return {}
        with candidate.open("rb") as fh:
            data = tomllib.load(fh)
        return {k: v for k, v in data.items() if k in self.settings_cls.model_fields}


def _ensure_secret(settings: Settings) -> Settings:
    if settings.secret_key:
        return settings
    path = settings.data_dir / SECRET_KEY_FILE
    if path.is_file():
        key = path.read_text(encoding="utf-8").strip()
    else:
        key = secrets.token_urlsafe(48)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(key + "\n")
    return settings.model_copy(update={"secret_key": key})


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from the environment (and overrides), keeping a generated secret."""
    return _ensure_secret(Settings(**overrides))
