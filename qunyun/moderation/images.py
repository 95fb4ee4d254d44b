"""QR codes inside a message's images: fetched through the platform, decoded, matched.

Only for rule books that use the ``qr`` detector, and at most ``MAX_IMAGES`` images per
message. An image that cannot be fetched or read is logged by its reason and skipped:
the text checks still apply, and a missing image must not stop moderation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from qunyun.moderation.rulebook import RuleBook
from qunyun.moderation.text import Match, Matcher
from qunyun.moderation.text.detect import QR_DETECTOR
from qunyun.platforms.media import MediaUnavailable, fetch_image
from qunyun.platforms.models import PlatformConnection

log = logging.getLogger("qunyun.moderation")

MAX_IMAGES = 3


def image_references(data: dict[str, object] | None) -> list[str]:
    """The image references a stored message's ``data`` carries."""
    found = (data or {}).get("images")
    if not isinstance(found, list):
        return []
    return [ref for ref in found if isinstance(ref, str)][:MAX_IMAGES]


def checks_images(book: RuleBook) -> bool:
    """Whether any enabled category of the book looks for QR codes."""
    return any(QR_DETECTOR in c.detectors for c in book.categories.values() if c.enabled)


def qr_matches(
    book: RuleBook,
    matcher: Matcher,
    references: Sequence[str],
    *,
    connection: PlatformConnection | None = None,
    max_bytes: int,
    allow_private: bool,
) -> list[Match]:
    """Every QR match in the images, in order; nothing when the book has no QR rule."""
    if not references or not checks_images(book):
        return []
    found: list[Match] = []
    for reference in references[:MAX_IMAGES]:
        try:
            image = fetch_image(
                connection, reference, max_bytes=max_bytes, allow_private=allow_private
            )
        except MediaUnavailable as exc:
            log.info("image skipped by the QR check: %s", exc.code)
            continue
        found.extend(matcher.scan_image(image))
    return found
