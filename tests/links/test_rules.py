"""The pure rules for a link's settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qunyun.errors import DomainError
from qunyun.links import rules
from qunyun.links.inputs import MAX_TAG_LENGTH, MAX_TAGS

NOW = datetime(2030, 1, 1, tzinfo=UTC)


@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=80), max_size=30))
def test_clean_tags_either_refuses_or_returns_clean_unique_names(names: list[str]) -> None:
    refusal: str | None = None
    try:
        cleaned = rules.clean_tags(names)
    except DomainError as exc:
        refusal = exc.code
    if refusal is not None:
        assert refusal in {"tag.too_long", "tag.too_many", "tag.invalid_chars", "link.invalid_text"}
        return
    assert len(cleaned) == len(set(cleaned)) <= MAX_TAGS
    for name in cleaned:
        assert name == " ".join(name.split())
        assert 0 < len(name) <= MAX_TAG_LENGTH
    assert rules.clean_tags(cleaned) == cleaned  # idempotent


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (datetime(2030, 1, 1, 9, 0), datetime(2030, 1, 1, 1, 0, tzinfo=UTC)),  # naive: Shanghai
        (NOW + timedelta(seconds=1), NOW + timedelta(seconds=1)),
    ],
)
def test_expiry(value: datetime | None, expected: datetime | None) -> None:
    assert rules.expiry(value, "Asia/Shanghai", NOW) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (NOW, "link.expiry_in_past"),
        (datetime(1, 1, 1, 0, 0), "link.invalid_expiry"),  # before year 1 in UTC
        (datetime(2029, 12, 31, 23, 0, tzinfo=UTC), "link.expiry_in_past"),
    ],
)
def test_expiry_refusals(value: datetime, code: str) -> None:
    with pytest.raises(DomainError) as caught:
        rules.expiry(value, "Asia/Shanghai", NOW)
    assert caught.value.code == code


def test_text_and_password() -> None:
    assert rules.clean_text("  标题  ", "title", 10) == "标题"
    assert rules.clean_text("   ", "title", 10) is None
    with pytest.raises(DomainError) as caught:
        rules.clean_text("a\ud800", "note", 10)
    assert caught.value.code == "link.invalid_text"
    assert rules.password("") is None
    assert rules.password(" kept as typed ") == " kept as typed "
