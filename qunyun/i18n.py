"""Translations: zh-CN first, en beside it.

Each feature folder may hold a ``messages.toml`` whose tables are message keys with
one string per language::

    ["link.created"]
    zh-CN = "已创建短链接 {slug}"
    en = "Short link {slug} created"

Keeping both languages of a message side by side makes a missing translation obvious
in review; a test checks that every key has every language.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qunyun.errors import DomainError

LANGUAGES: tuple[str, ...] = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
_PACKAGE_ROOT = Path(__file__).resolve().parent


def normalise_language(value: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Map ``zh``, ``zh-cn``, ``zh_Hans``, ``en-US`` … onto a supported language."""
    if not value:
        return default
    v = value.strip().lower().replace("_", "-")
    if v.startswith("zh"):
        return "zh-CN"
    if v.startswith("en"):
        return "en"
    return default


def negotiate(accept_language: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Pick the best supported language from an ``Accept-Language`` header."""
    if not accept_language:
        return default
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.strip()))
    for _, _, tag in sorted(ranked):
        lowered = tag.lower()
        if lowered.startswith("zh"):
            return "zh-CN"
        if lowered.startswith("en"):
            return "en"
    return default


@dataclass(frozen=True)
class Catalog:
    messages: Mapping[str, Mapping[str, str]]

    def gettext(self, key: str, language: str, /, **params: Any) -> str:
        entry = self.messages.get(key)
        if entry is None:
            return key
        text = entry.get(language) or entry.get(DEFAULT_LANGUAGE) or key
        if params:
            try:
                return text.format(**params)
            except (KeyError, IndexError, ValueError):
                return text
        return text

    def has(self, key: str) -> bool:
        return key in self.messages

    def keys(self) -> Iterable[str]:
        return self.messages.keys()


def catalogue_files(root: Path = _PACKAGE_ROOT) -> list[Path]:
    return sorted(root.rglob("messages.toml"))


def load_catalog(root: Path = _PACKAGE_ROOT) -> Catalog:
    merged: dict[str, dict[str, str]] = {}
    for path in catalogue_files(root):
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        for key, entry in data.items():
            if key in merged:
                raise ValueError(f"message key {key!r} defined twice (again in {path})")
            if not isinstance(entry, dict):
                raise ValueError(f"message {key!r} in {path} must be a table of languages")
            merged[key] = {str(lang): str(text) for lang, text in entry.items()}
    return Catalog(merged)


_catalog: Catalog | None = None


def catalog() -> Catalog:
    """The package's catalogue, loaded once on first use (not at import)."""
    global _catalog
    if _catalog is None:
        _catalog = load_catalog()
    return _catalog


def gettext(key: str, language: str, /, **params: Any) -> str:
    return catalog().gettext(key, language, **params)


def error_text(error: DomainError, language: str) -> str:
    """The message of a refusal, for people, in ``language``."""
    return gettext(f"error.{error.code}", language, **error.params)
