"""Changing, listing, deleting and restoring links; the block list. Both databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.db.engine import Database
from qunyun.errors import DomainError
from qunyun.links import service
from qunyun.links.inputs import LinkChanges, LinkQuery, LinkStatus, NewLink, SortKey
from qunyun.links.lookup import load_snapshot
from qunyun.links.models import Link
from qunyun.links.service import LinkEnv
from tests.links.conftest import Invalidations, counts

OWNER = service.installation_principal()


def create(db: Database, env: LinkEnv, **fields: object) -> Link:
    fields.setdefault("url", "https://example.com/")
    with db.transaction() as session:
        return service.create_link(session, env, OWNER, 1, NewLink(**fields))  # type: ignore[arg-type]


def change(
    db: Database, env: LinkEnv, slug: str, /, who: Principal = OWNER, **fields: object
) -> Link:
    with db.transaction() as session:
        return service.update_link(session, env, who, 1, slug, LinkChanges(**fields))  # type: ignore[arg-type]


def listing(db: Database, query: LinkQuery, who: Principal = OWNER) -> service.LinkPage:
    with db.session(write=False) as session:
        return service.list_links(session, who, 1, query)


def slugs(page: service.LinkPage) -> list[str]:
    return [link.slug for link in page.items]


# --- update ----------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields(
    db: Database, env: LinkEnv, invalidations: Invalidations
) -> None:
    create(db, env, slug="keep", title="Old", note="n", tags=("a",), max_visits=9, utm_source="s")
    invalidations.keys.clear()
    link = change(db, env, "keep", url="https://example.org/new", utm_medium="m")
    assert link.target_url == "https://example.org/new"
    assert (link.title, link.note, link.max_visits) == ("Old", "n", 9)
    assert (link.utm_source, link.utm_medium) == ("s", "m")
    assert [t.name for t in link.tags] == ["a"]
    assert invalidations.keys == ["keep"]
    snapshot = load_snapshot(db, "keep")
    assert snapshot is not None
    assert snapshot.location == "https://example.org/new?utm_source=s&utm_medium=m"


def test_none_clears_and_empty_password_removes(db: Database, env: LinkEnv) -> None:
    expiry = datetime.now(UTC) + timedelta(days=1)
    create(db, env, slug="full", title="T", expires_at=expiry, max_visits=3, password="pw")
    link = change(
        db, env, "full", title=None, expires_at=None, max_visits=None, password="", tags=()
    )
    assert (link.title, link.expires_at, link.max_visits, link.password_hash) == (
        None,
        None,
        None,
        None,
    )
    assert link.tags == []


def test_new_password_is_hashed(db: Database, env: LinkEnv) -> None:
    create(db, env, slug="pw")
    link = change(db, env, "pw", password="new secret")
    assert link.password_hash is not None
    assert env.passwords.verify(link.password_hash, "new secret")


def test_changing_the_slug_retires_the_old_one(
    db: Database, env: LinkEnv, invalidations: Invalidations
) -> None:
    create(db, env, slug="before")
    invalidations.keys.clear()
    link = change(db, env, "BEFORE", slug="After")
    assert (link.slug, link.slug_key) == ("After", "after")
    assert invalidations.keys == ["before", "after"]
    assert load_snapshot(db, "before") is None
    assert load_snapshot(db, "after") is not None
    # The same slug in another case is allowed: only the spelling changes.
    assert change(db, env, "after", slug="AFTER").slug == "AFTER"


def test_slug_change_to_a_taken_one_is_a_conflict(db: Database, env: LinkEnv) -> None:
    create(db, env, slug="one")
    create(db, env, slug="two", title="second")
    with pytest.raises(DomainError) as caught:
        change(db, env, "two", slug="ONE", title="changed")
    assert caught.value.code == "slug.taken"
    with db.session(write=False) as session:
        untouched = service.get_link_by_slug(session, "two")
    assert untouched.title == "second"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"url": "javascript:x"}, "url.dangerous_scheme"),
        ({"slug": "login"}, "slug.reserved"),
        ({"expires_at": datetime(2000, 1, 1, tzinfo=UTC)}, "link.expiry_in_past"),
        ({"max_visits": -1}, "link.invalid_max_visits"),
        ({"redirect_status": 200}, "link.invalid_redirect_status"),
        ({"tags": ("ok", "x" * 65)}, "tag.too_long"),
        ({"title": "ok", "note": "\x00"}, "link.invalid_text"),
    ],
)
def test_refused_changes_change_nothing(
    db: Database, env: LinkEnv, fields: dict[str, object], code: str
) -> None:
    create(db, env, slug="stay", title="T", tags=("a",))
    before = counts(db)
    with pytest.raises(DomainError) as caught:
        change(db, env, "stay", **fields)
    assert caught.value.code == code
    assert counts(db) == before
    with db.session(write=False) as session:
        link = service.get_link_by_slug(session, "stay")
        assert (link.title, link.target_url, [t.name for t in link.tags]) == (
            "T",
            "https://example.com/",
            ["a"],
        )


def test_viewer_cannot_change_and_unknown_slug_is_404(
    db: Database, env: LinkEnv, people: dict[Role, Principal]
) -> None:
    create(db, env, slug="mine")
    with pytest.raises(DomainError) as caught:
        change(db, env, "mine", who=people[Role.viewer], title="x")
    assert caught.value.status == 403
    with pytest.raises(DomainError) as caught:
        change(db, env, "nope", title="x")
    assert (caught.value.code, caught.value.status) == ("link.not_found", 404)


# --- disable, delete, restore -------------------------------------------------------------


def test_disable_enable(db: Database, env: LinkEnv, invalidations: Invalidations) -> None:
    create(db, env, slug="toggle")
    with db.transaction() as session:
        link = service.set_enabled(session, env, OWNER, 1, "toggle", False)
    assert service.link_status(link) is LinkStatus.disabled
    snapshot = load_snapshot(db, "toggle")
    assert snapshot is not None
    assert not snapshot.enabled
    with db.transaction() as session:
        link = service.set_enabled(session, env, OWNER, 1, "toggle", True)
    assert service.link_status(link) is LinkStatus.active
    assert invalidations.keys.count("toggle") == 3


def test_delete_hides_and_admin_restores(
    db: Database, env: LinkEnv, people: dict[Role, Principal]
) -> None:
    create(db, env, slug="del")
    with db.transaction() as session:
        service.delete_link(session, env, people[Role.operator], 1, "del")
    assert listing(db, LinkQuery()).total == 0
    snapshot = load_snapshot(db, "del")
    assert snapshot is not None
    assert snapshot.deleted
    with pytest.raises(DomainError) as caught, db.session() as session:
        service.get_link(session, OWNER, 1, "del")
    assert caught.value.status == 404
    with pytest.raises(DomainError) as caught, db.transaction() as session:
        service.restore_link(session, env, people[Role.operator], 1, "del")
    assert caught.value.status == 403
    assert slugs(listing(db, LinkQuery(status=LinkStatus.deleted), people[Role.admin])) == ["del"]
    with pytest.raises(DomainError):
        listing(db, LinkQuery(status=LinkStatus.deleted), people[Role.operator])
    with db.transaction() as session:
        restored = service.restore_link(session, env, people[Role.admin], 1, "del")
    assert restored.deleted_at is None
    assert slugs(listing(db, LinkQuery())) == ["del"]


# --- listing ----------------------------------------------------------------------------


@pytest.fixture
def catalogue(db: Database, env: LinkEnv) -> None:
    """Five links in every state, created in this order."""
    create(
        db,
        env,
        slug="alpha",
        url="https://shop.example.com/Sale",
        title="夏季促销 Sale",
        tags=("海报", "shop"),
    )
    create(
        db, env, slug="Beta", url="https://example.com/课程", note="100% off_today", tags=("shop",)
    )
    create(
        db,
        env,
        slug="gamma",
        url="https://docs.example.org",
        title="Docs",
        expires_at=datetime.now(UTC) + timedelta(days=1),
        max_visits=2,
    )
    create(db, env, slug="delta", url="https://example.net")
    create(db, env, slug="omega", url="https://example.net/o", title="Gone")
    with db.transaction() as session:
        service.set_enabled(session, env, OWNER, 1, "delta", False)
        service.delete_link(session, env, OWNER, 1, "omega")
        session.execute(update(Link).where(Link.slug_key == "gamma").values(human_visits=2))
        session.execute(
            update(Link)
            .where(Link.slug_key == "alpha")
            .values(expires_at=datetime.now(UTC) - timedelta(hours=1), human_visits=7)
        )


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("SALE", ["alpha"]),  # title and URL, any case
        ("促销", ["alpha"]),  # Chinese in the title
        ("课程", ["Beta"]),  # Chinese in the stored (percent-encoded) target
        ("beta", ["Beta"]),  # slug
        ("100%", ["Beta"]),  # LIKE wildcards are literal
        ("off_t", ["Beta"]),
        ("_", ["Beta"]),
        ("docs.example", ["gamma"]),
        ("example", ["delta", "gamma", "Beta", "alpha"]),
        ("gone", []),  # deleted
        ("\x00", ["delta", "gamma", "Beta", "alpha"]),  # nothing searchable left
    ],
)
def test_search(db: Database, q: str, expected: list[str]) -> None:
    assert slugs(listing(db, LinkQuery(q=q))) == expected


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (LinkStatus.active, ["Beta"]),
        (LinkStatus.disabled, ["delta"]),
        (LinkStatus.expired, ["alpha"]),
        (LinkStatus.used_up, ["gamma"]),
        (LinkStatus.deleted, ["omega"]),
    ],
)
def test_state_filter(db: Database, status: LinkStatus, expected: list[str]) -> None:
    page = listing(db, LinkQuery(status=status))
    assert slugs(page) == expected
    assert all(service.link_status(link) is status for link in page.items)


@pytest.mark.usefixtures("catalogue")
def test_tag_filter_and_tag_names(db: Database) -> None:
    assert slugs(listing(db, LinkQuery(tag="shop"))) == ["Beta", "alpha"]
    assert slugs(listing(db, LinkQuery(tag="海报"))) == ["alpha"]
    assert slugs(listing(db, LinkQuery(tag="none"))) == []
    with db.session(write=False) as session:
        assert service.list_tags(session, OWNER, 1) == sorted(["shop", "海报"])


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    ("sort", "descending", "expected"),
    [
        (SortKey.created_at, True, ["delta", "gamma", "Beta", "alpha"]),
        (SortKey.created_at, False, ["alpha", "Beta", "gamma", "delta"]),
        (SortKey.slug, False, ["alpha", "Beta", "delta", "gamma"]),
        (SortKey.human_visits, True, ["alpha", "gamma", "delta", "Beta"]),
        (SortKey.expires_at, False, ["alpha", "gamma", "Beta", "delta"]),  # no expiry: last
        (SortKey.expires_at, True, ["gamma", "alpha", "delta", "Beta"]),  # … either way
    ],
)
def test_sorting(db: Database, sort: SortKey, descending: bool, expected: list[str]) -> None:
    assert slugs(listing(db, LinkQuery(sort=sort, descending=descending))) == expected


@pytest.mark.usefixtures("catalogue")
def test_sorting_by_update_time(db: Database, env: LinkEnv) -> None:
    change(db, env, "Beta", note="touched")
    assert slugs(listing(db, LinkQuery(sort=SortKey.updated_at)))[0] == "Beta"


@pytest.mark.usefixtures("catalogue")
def test_pagination(db: Database) -> None:
    query = LinkQuery(sort=SortKey.slug, descending=False, per_page=3)
    first = listing(db, query)
    second = listing(db, replace(query, page=2))
    assert (first.total, first.pages, slugs(first)) == (4, 2, ["alpha", "Beta", "delta"])
    assert slugs(second) == ["gamma"]
    assert listing(db, replace(query, page=9)).items == []
    with pytest.raises(DomainError) as caught:
        listing(db, replace(query, per_page=101))
    assert caught.value.code == "link.invalid_per_page"


def test_viewers_read_but_do_not_see_other_communities(
    db: Database, env: LinkEnv, people: dict[Role, Principal]
) -> None:
    create(db, env, slug="visible")
    viewer = people[Role.viewer]
    assert slugs(listing(db, LinkQuery(), viewer)) == ["visible"]
    with db.session(write=False) as session:
        assert service.get_link(session, viewer, 1, "VISIBLE").slug == "visible"
        with pytest.raises(DomainError) as caught:
            service.get_link(session, viewer, 2, "visible")
        assert caught.value.code == "community.no_access"
        with pytest.raises(DomainError) as caught:
            service.get_link(session, viewer, 1, "../etc\x00")
        assert caught.value.code == "link.not_found"


# --- the block list ------------------------------------------------------------------


def test_blocked_host_crud(db: Database, people: dict[Role, Principal]) -> None:
    admin = people[Role.admin]
    with db.transaction() as session:
        host = service.add_blocked_host(session, admin, 1, " *.Spam.Example ", "spam")
    assert host.pattern == "*.spam.example"
    with pytest.raises(DomainError) as caught, db.transaction() as session:
        service.add_blocked_host(session, admin, 1, "*.spam.example")
    assert caught.value.code == "blocked_host.exists"
    with pytest.raises(DomainError) as caught, db.transaction() as session:
        service.add_blocked_host(session, admin, 1, "not a host!")
    assert caught.value.code == "url.invalid_block_pattern"
    with pytest.raises(DomainError) as caught, db.transaction() as session:
        service.add_blocked_host(session, people[Role.operator], 1, "x.example")
    assert caught.value.status == 403
    with db.session(write=False) as session:
        assert [h.pattern for h in service.list_blocked_hosts(session, admin, 1)] == [
            "*.spam.example"
        ]
    with db.transaction() as session:
        service.remove_blocked_host(session, admin, 1, host.id)
    with pytest.raises(DomainError) as caught, db.transaction() as session:
        service.remove_blocked_host(session, admin, 1, host.id)
    assert caught.value.code == "blocked_host.not_found"
    assert counts(db)[2] == 0
