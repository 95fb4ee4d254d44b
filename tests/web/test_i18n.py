"""Every message exists in every language, and placeholders agree between them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qunyun.i18n import LANGUAGES, catalog, negotiate, normalise_language

PLACEHOLDER = re.compile(r"\{(\w+)\}")
PACKAGE = Path(__file__).resolve().parents[2] / "qunyun"


def test_every_message_has_every_language_with_the_same_placeholders() -> None:
    problems = []
    for key in catalog().messages:
        entry = catalog().messages[key]
        missing = [lang for lang in LANGUAGES if not entry.get(lang)]
        if missing:
            problems.append(f"{key}: missing {missing}")
            continue
        names = {lang: set(PLACEHOLDER.findall(entry[lang])) for lang in LANGUAGES}
        if len({frozenset(n) for n in names.values()}) != 1:
            problems.append(f"{key}: placeholders differ {names}")
    assert problems == []


def test_every_key_used_in_templates_exists() -> None:
    used = set()
    for template in PACKAGE.rglob("templates/**/*.html"):
        used |= set(
            re.findall(r"""_\(\s*["']([a-z0-9_.\-]+)["']\s*[,)]""", template.read_text("utf-8"))
        )
    missing = sorted(k for k in used if not catalog().has(k))
    assert missing == []


def test_every_error_code_raised_has_a_message() -> None:
    raised = set()
    pattern = re.compile(
        r"""(?:DomainError|NotFound|Forbidden|Conflict)\(\s*["']([a-z0-9_.]+)["']"""
    )
    for source in PACKAGE.rglob("*.py"):
        raised |= set(pattern.findall(source.read_text("utf-8")))
    missing = sorted(code for code in raised if not catalog().has(f"error.{code}"))
    assert missing == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "zh-CN"),
        ("en-US,en;q=0.9", "en"),
        ("zh-TW,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("fr-FR,en;q=0.5,zh;q=0.9", "zh-CN"),
        ("de-DE", "zh-CN"),
        ("en;q=0.1,zh;q=0", "en"),
    ],
)
def test_negotiate(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_normalise_language() -> None:
    assert normalise_language("zh_hans") == "zh-CN"
    assert normalise_language("EN-gb") == "en"
    assert normalise_language("") == "zh-CN"
