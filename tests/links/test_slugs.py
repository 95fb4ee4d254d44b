"""Custom slug rules and the slug generator (qunyun.links.slugs)."""

from __future__ import annotations

import string
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qunyun.errors import DomainError
from qunyun.i18n import LANGUAGES, load_catalog
from qunyun.links.slugs import (
    MAX_LENGTH_GROWTH,
    MAX_SLUG_LENGTH,
    RESERVED_SLUGS,
    SLUG_ALPHABET,
    generate_slug,
    pick_free_slug,
    slug_key,
    validate_slug,
)

SLUG_CHARACTERS = string.ascii_letters + string.digits + "-_"


def refusal(raw: str) -> DomainError:
    with pytest.raises(DomainError) as caught:
        validate_slug(raw)
    return caught.value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("spring-camp", "spring-camp"),
        ("  Spring_Camp2024 ", "Spring_Camp2024"),
        ("a1", "a1"),
        ("7", "7"),
        ("x" * 64, "x" * 64),
        ("a-_-b", "a-_-b"),
        ("Qr-code", "Qr-code"),
        ("apis", "apis"),
    ],
)
def test_valid_custom_slugs(raw: str, expected: str) -> None:
    assert validate_slug(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "slug.empty"),
        ("   ", "slug.empty"),
        ("x" * 65, "slug.too_long"),
        ("a b", "slug.invalid_chars"),
        ("a/b", "slug.invalid_chars"),
        ("a.b", "slug.invalid_chars"),
        ("favicon.ico", "slug.invalid_chars"),
        ("群运", "slug.invalid_chars"),
        ("ａｂｃ", "slug.invalid_chars"),
        ("abc\n", "abc"),
        ("-abc", "slug.invalid_chars"),
        ("abc-", "slug.invalid_chars"),
        ("abc_", "slug.invalid_chars"),
        ("-", "slug.invalid_chars"),
        ("_", "slug.reserved"),
        ("_abc", "slug.reserved"),
        ("_next", "slug.reserved"),
        ("api", "slug.reserved"),
        ("API", "slug.reserved"),
        ("Admin", "slug.reserved"),
        ("well-known", "slug.reserved"),
        ("healthz", "slug.reserved"),
        ("l", "slug.reserved"),
        ("S", "slug.reserved"),
        ("favicon", "slug.reserved"),
        ("livecodes", "slug.reserved"),
    ],
)
def test_custom_slug_refusals(raw: str, code: str) -> None:
    if code.startswith("slug."):
        assert refusal(raw).code == code
    else:  # surrounding whitespace, newline included, is stripped
        assert validate_slug(raw) == code


def test_reserved_refusal_names_the_slug_and_limits_are_reported() -> None:
    assert refusal("Login").params == {"slug": "Login"}
    assert refusal("x" * 65).params == {"max_length": MAX_SLUG_LENGTH}


def test_reserved_set_holds_the_routes_the_web_layer_needs() -> None:
    required = {
        "api", "static", "login", "logout", "admin", "links", "link", "qr", "settings",
        "healthz", "health", "favicon", "robots", "sitemap", "docs", "openapi", "assets",
        "l", "s", "c", "u", "account", "accounts", "tokens", "users", "stats", "live",
        "livecodes", "community", "groups", "members", "imports", "appeal", "rules",
        "_next", "well", "well-known",
    }  # fmt: skip
    assert required <= RESERVED_SLUGS
    assert all(word == slug_key(word) for word in RESERVED_SLUGS)


def test_slug_key_is_case_insensitive() -> None:
    assert slug_key("Spring-Camp") == slug_key("spring-camp") == "spring-camp"


def test_alphabet_is_unambiguous() -> None:
    assert len(SLUG_ALPHABET) == len(set(SLUG_ALPHABET)) == 31
    assert not set(SLUG_ALPHABET) & set("0Oo1lIi")
    assert SLUG_ALPHABET.islower()


def test_generate_slug_lengths() -> None:
    assert len(generate_slug()) == 6
    assert len(generate_slug(12)) == 12
    for bad in (0, -1, MAX_SLUG_LENGTH + 1):
        with pytest.raises(ValueError, match="slug length"):
            generate_slug(bad)


def test_generated_slugs_use_the_whole_alphabet() -> None:
    counts = Counter("".join(generate_slug(8) for _ in range(400)))
    assert set(counts) == set(SLUG_ALPHABET)


def test_short_generated_slugs_skip_reserved_words() -> None:
    # "c", "s" and "u" are in the alphabet and reserved, so length 1 has 28 usable slugs
    drawn = {generate_slug(1) for _ in range(600)}
    assert drawn.isdisjoint(RESERVED_SLUGS)
    assert drawn == set(SLUG_ALPHABET) - RESERVED_SLUGS


def test_pick_free_slug_avoids_taken() -> None:
    taken = {generate_slug() for _ in range(50)}
    slug = pick_free_slug(taken.__contains__)
    assert slug not in taken
    assert len(slug) == 6


def test_pick_free_slug_grows_after_repeated_collisions() -> None:
    asked: list[str] = []

    def taken(slug: str) -> bool:
        asked.append(slug)
        return len(slug) < 8

    slug = pick_free_slug(taken, length=6, attempts=3)
    assert len(slug) == 8
    assert [len(s) for s in asked] == [6, 6, 6, 7, 7, 7, 8]


def test_pick_free_slug_gives_up_when_everything_is_taken() -> None:
    calls: list[str] = []

    def everything_taken(slug: str) -> bool:
        calls.append(slug)
        return True

    with pytest.raises(DomainError) as caught:
        pick_free_slug(everything_taken, length=6, attempts=2)
    assert caught.value.code == "slug.exhausted"
    assert caught.value.status == 503
    assert len(calls) == 2 * (MAX_LENGTH_GROWTH + 1)
    assert max(len(s) for s in calls) == 6 + MAX_LENGTH_GROWTH


def test_pick_free_slug_never_grows_past_the_maximum() -> None:
    with pytest.raises(DomainError):
        pick_free_slug(lambda slug: len(slug) <= MAX_SLUG_LENGTH, length=MAX_SLUG_LENGTH - 1)


def test_every_code_has_a_message_in_every_language() -> None:
    catalog = load_catalog()
    codes = ["slug.empty", "slug.too_long", "slug.invalid_chars", "slug.reserved", "slug.exhausted"]
    for code in codes:
        for language in LANGUAGES:
            assert catalog.messages[f"error.{code}"][language]


# --- properties ----------------------------------------------------------------------


@given(st.integers(min_value=1, max_value=MAX_SLUG_LENGTH))
def test_generated_slugs_are_valid_and_their_own_key(length: int) -> None:
    slug = generate_slug(length)
    assert len(slug) == length
    assert set(slug) <= set(SLUG_ALPHABET)
    assert slug not in RESERVED_SLUGS
    assert validate_slug(slug) == slug
    assert slug_key(slug) == slug


@given(st.sets(st.text(SLUG_ALPHABET, min_size=6, max_size=6), max_size=50))
def test_picked_slug_is_never_taken_and_always_valid(taken: set[str]) -> None:
    slug = pick_free_slug(taken.__contains__)
    assert slug not in taken
    assert validate_slug(slug) == slug


@given(st.text(SLUG_CHARACTERS, min_size=1, max_size=MAX_SLUG_LENGTH))
def test_validation_matches_the_rules(raw: str) -> None:
    ok = raw[0] not in "-_" and raw[-1] not in "-_" and raw.lower() not in RESERVED_SLUGS
    if ok:
        assert validate_slug(raw) == raw
    else:
        assert refusal(raw).code in {"slug.invalid_chars", "slug.reserved"}


@given(st.text())
def test_arbitrary_text_only_raises_domain_errors(raw: str) -> None:
    try:
        slug = validate_slug(raw)
    except DomainError as error:
        refused: str | None = error.code
    else:
        refused = None
    if refused is not None:
        assert refused.startswith("slug.")
        return
    assert slug == raw.strip()
    assert set(slug) <= set(SLUG_CHARACTERS)
    assert 1 <= len(slug) <= MAX_SLUG_LENGTH
    assert slug_key(slug) not in RESERVED_SLUGS


@given(st.text(SLUG_CHARACTERS, min_size=1, max_size=20))
def test_case_variants_share_a_key_and_a_verdict(raw: str) -> None:
    variants = {raw, raw.upper(), raw.lower(), raw.swapcase()}
    assert len({slug_key(v) for v in variants}) == 1
    verdicts = set()
    for variant in variants:
        try:
            validate_slug(variant)
            verdicts.add("ok")
        except DomainError as error:
            verdicts.add(error.code)
    assert len(verdicts) == 1
