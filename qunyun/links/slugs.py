"""Short-link slugs: the rules for custom ones and the generator for the rest.

Pure: no web, no database.

Custom slugs (:func:`validate_slug`)
    1–64 ASCII letters, digits, ``-`` and ``_``, not starting or ending with ``-`` or
    ``_``. Slugs are case-insensitive: stored as typed for display, compared and made
    unique by :func:`slug_key` (lower case). A slug starting with ``_`` and every word in
    :data:`RESERVED_SLUGS` (compared by key) is refused as ``slug.reserved``, so the web
    layer can mount its own routes at those names; every single letter is reserved too.

Generated slugs (:func:`generate_slug`)
    Drawn with :mod:`secrets` from :data:`SLUG_ALPHABET`: digits 2–9 and lower-case
    letters without i, l, o (31 symbols), so nobody misreads 0/O/o or 1/l/I/i when
    copying a slug off a poster. They are lower case, so already their own key, and are
    re-drawn in the rare case they hit a reserved word.

Collision arithmetic
    Length 6 gives N = 31**6 ≈ 8.9e8 slugs. With n slugs already taken, one draw
    collides with probability n/N: 1.1e-4 at n = 100,000 and 1.1e-3 at n = 1,000,000.
    :func:`pick_free_slug` draws up to ``attempts`` (8) times per length, so it must grow
    to length 7 only with probability (n/N)**8 — about 2e-24 at a million links. Among
    n slugs drawn blindly the chance of any two being equal (birthday bound) is about
    n**2 / (2N): even odds near n ≈ 35,000, which is why every draw is checked against
    the store rather than trusted; the store's unique index on the key stays the final
    word when two requests race.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from qunyun.errors import DomainError

MAX_SLUG_LENGTH = 64
DEFAULT_SLUG_LENGTH = 6
SLUG_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
MAX_LENGTH_GROWTH = 4

_SLUG_RE = re.compile(r"[A-Za-z0-9_\-]+")
_EDGE_CHARACTERS = "-_"

# fmt: off
RESERVED_SLUGS: frozenset[str] = frozenset(
    {
        # web layer and documentation
        "api", "static", "assets", "media", "uploads", "files", "docs", "openapi", "redoc",
        "swagger", "healthz", "health", "metrics", "status", "ws", "web", "app", "ui",
        # files browsers and crawlers ask for at the root
        "favicon", "robots", "sitemap", "manifest", "humans", "security", "ads", "app-ads",
        "apple-touch-icon", "apple-app-site-association", "browserconfig", "sw",
        "service-worker", "well", "well-known", "_next",
        # accounts and settings
        "login", "logout", "signin", "signout", "signup", "register", "auth", "oauth",
        "callback", "account", "accounts", "users", "user", "me", "tokens", "token",
        "settings", "admin", "dashboard", "home", "index", "help", "about", "privacy",
        "terms", "new", "edit", "language", "lang",
        # the product's features (DESIGN.md folders and glossary nouns)
        "links", "link", "qr", "stats", "visits", "clients", "live", "livecodes",
        "community", "groups", "members", "imports", "ingest", "platforms", "moderation",
        "rules", "appeal", "appeals", "calendar", "events", "qa", "points", "analytics",
        "reports", "webhook", "webhooks", "invite", "invites", "join", "communities",
        "tags", "codes", "channels", "preview", "blocked-hosts", "import", "export",
        "hooks", "connections", "actions", "todos", "group", "member", "accept", "entry",
        "bans", "audit", "cases",
        # every single letter, "l", "s", "c", "u" included
        *"abcdefghijklmnopqrstuvwxyz",
    }
)
# fmt: on


def slug_key(slug: str) -> str:
    """The form slugs are compared and made unique by."""
    return slug.lower()


def validate_slug(raw: str) -> str:
    """Return the stripped custom slug, or raise ``slug.*``."""
    slug = raw.strip()
    if not slug:
        raise DomainError("slug.empty")
    if len(slug) > MAX_SLUG_LENGTH:
        raise DomainError("slug.too_long", max_length=MAX_SLUG_LENGTH)
    if not _SLUG_RE.fullmatch(slug):
        raise DomainError("slug.invalid_chars")
    if slug.startswith("_") or slug_key(slug) in RESERVED_SLUGS:
        raise DomainError("slug.reserved", slug=slug)
    if slug[0] in _EDGE_CHARACTERS or slug[-1] in _EDGE_CHARACTERS:
        raise DomainError("slug.invalid_chars")
    return slug


def generate_slug(length: int = DEFAULT_SLUG_LENGTH) -> str:
    """A random slug of ``length`` characters from :data:`SLUG_ALPHABET`, never reserved."""
    if not 1 <= length <= MAX_SLUG_LENGTH:
        raise ValueError(f"slug length must be 1..{MAX_SLUG_LENGTH}, not {length}")
    while True:
        slug = "".join(secrets.choice(SLUG_ALPHABET) for _ in range(length))
        if slug not in RESERVED_SLUGS:
            return slug


def pick_free_slug(
    taken: Callable[[str], bool],
    length: int = DEFAULT_SLUG_LENGTH,
    attempts: int = 8,
) -> str:
    """A generated slug for which ``taken(slug)`` is false.

    After ``attempts`` collisions the length grows by one, up to
    :data:`MAX_LENGTH_GROWTH` times; if even that fails (``taken`` answering yes to
    everything is a bug, not bad luck) it raises ``slug.exhausted`` (status 503).
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    last_length = min(length + MAX_LENGTH_GROWTH, MAX_SLUG_LENGTH)
    for current_length in range(length, last_length + 1):
        for _ in range(attempts):
            slug = generate_slug(current_length)
            if not taken(slug):
                return slug
    raise DomainError("slug.exhausted", status=503)
