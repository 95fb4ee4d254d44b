"""QR codes in images: fetched over a real local HTTP server, decoded, matched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qunyun.moderation import books
from qunyun.moderation.book_matcher import matcher_for
from qunyun.moderation.images import checks_images, image_references, qr_matches
from qunyun.moderation.rulebook import RuleBook
from tests.image_server import serve_images


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    with serve_images(tmp_path) as url:
        yield url


def test_a_qr_code_in_an_image_is_matched(served: str) -> None:
    book = books.starter_book()
    assert checks_images(book)
    found = qr_matches(
        book,
        matcher_for(book),
        [f"{served}/qr.png"],
        max_bytes=1 << 20,
        allow_private=True,
    )
    assert found and all(m.category == "ads" and m.kind == "detector" for m in found)
    assert any("wechat" in m.normalized_text for m in found)


def test_broken_missing_and_private_images_are_skipped(served: str) -> None:
    book = books.starter_book()
    refs = [f"{served}/broken.png", f"{served}/missing.png"]
    assert qr_matches(book, matcher_for(book), refs, max_bytes=1 << 20, allow_private=True) == []
    # By default a private address is never fetched, even when it holds a QR code.
    private = [f"{served}/qr.png"]
    assert (
        qr_matches(book, matcher_for(book), private, max_bytes=1 << 20, allow_private=False) == []
    )


def test_a_book_without_the_qr_detector_fetches_nothing(served: str) -> None:
    data = books.starter_book().to_data()
    for category in data["categories"].values():
        category["detectors"] = [d for d in category.get("detectors", []) if d != "qr"]
    book = RuleBook.model_validate(data)
    assert not checks_images(book)
    refs = [f"{served}/qr.png"]
    assert qr_matches(book, matcher_for(book), refs, max_bytes=1 << 20, allow_private=True) == []


def test_image_references_reads_only_strings() -> None:
    assert image_references({"images": ["a", 3, "b", "c", "d"]}) == ["a", "b", "c"]
    assert image_references({"images": "a"}) == []
    assert image_references(None) == []
