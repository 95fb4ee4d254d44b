"""Every refusal the link modules raise has a message in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import qunyun.links
from qunyun.i18n import LANGUAGES, catalog

LINKS = Path(qunyun.links.__file__).parent
RAISED = re.compile(r'(?:DomainError|Conflict|NotFound|Forbidden)\(\s*"([a-z_.]+)"')
TEMPLATE_KEYS = re.compile(r'_\(\s*"([a-z_.0-9]+[a-z_0-9])"')
OWN_TEMPLATES = ("list", "_results", "form", "detail", "import", "blocked_hosts")


def raised_codes() -> set[str]:
    codes: set[str] = set()
    for path in LINKS.glob("*.py"):
        codes |= set(RAISED.findall(path.read_text(encoding="utf-8")))
    return codes


def test_the_scan_finds_codes() -> None:
    assert {"slug.taken", "link.expiry_in_past", "csv.bad_encoding"} <= raised_codes()


@pytest.mark.parametrize("code", sorted(raised_codes()))
def test_code_has_both_languages(code: str) -> None:
    entry = catalog().messages.get(f"error.{code}")
    assert entry is not None, f"error.{code} has no message"
    assert set(LANGUAGES) <= set(entry)


def test_template_keys_exist() -> None:
    missing = set()
    for name in OWN_TEMPLATES:
        path = LINKS / "templates" / "links" / f"{name}.html"
        for key in TEMPLATE_KEYS.findall(path.read_text(encoding="utf-8")):
            if not catalog().has(key):
                missing.add(f"{path.name}: {key}")
    assert not missing
