"""Creating links through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.db.engine import Database
from qunyun.errors import DomainError
from qunyun.links import service
from qunyun.links.inputs import NewLink
from qunyun.links.lookup import load_snapshot
from qunyun.links.models import Link, Tag
from qunyun.links.service import LinkEnv
from qunyun.links.slugs import SLUG_ALPHABET
from tests.links.conftest import Invalidations, counts

OWNER = service.installation_principal()


def create(db: Database, env: LinkEnv, data: NewLink, who: Principal = OWNER) -> Link:
    with db.transaction() as session:
        return service.create_link(session, env, who, 1, data)


def test_minimal_link_gets_a_generated_slug_and_defaults(db: Database, env: LinkEnv) -> None:
    link = create(db, env, NewLink(url="Example.COM/页面?q=1"))
    assert len(link.slug) == 6
    assert set(link.slug) <= set(SLUG_ALPHABET)
    assert link.slug_key == link.slug
    assert link.target_url == "https://example.com/%E9%A1%B5%E9%9D%A2?q=1"
    assert link.redirect_status == 302
    assert link.is_enabled
    assert link.deleted_at is None
    assert link.created_by_id is None  # the installation itself
    assert service.link_status(link).value == "active"


def test_every_option_is_stored(
    db: Database, env: LinkEnv, people: dict[Role, Principal], invalidations: Invalidations
) -> None:
    expiry = datetime.now(UTC) + timedelta(days=3)
    data = NewLink(
        url="https://example.com/camp",
        slug="Spring-Camp_2025",
        title="  春季训练营  ",
        note="海报二维码\n第二行",
        tags=(" 海报 ", "wechat", "海报", ""),
        expires_at=expiry,
        max_visits=500,
        password="秘密 password",
        redirect_status=301,
        utm_source="poster",
        utm_medium="offline",
        utm_campaign="spring",
        utm_term="camp",
        utm_content="a4",
    )
    operator = people[Role.operator]
    link = create(db, env, data, operator)
    assert link.slug == "Spring-Camp_2025"
    assert link.slug_key == "spring-camp_2025"
    assert link.title == "春季训练营"
    assert link.note == "海报二维码\n第二行"
    assert sorted(t.name for t in link.tags) == ["wechat", "海报"]
    assert link.expires_at is not None
    assert abs(link.expires_at - expiry) < timedelta(seconds=1)
    assert link.max_visits == 500
    assert link.password_hash is not None
    assert "秘密" not in link.password_hash
    assert env.passwords.verify(link.password_hash, "秘密 password")
    assert link.redirect_status == 301
    assert (link.utm_source, link.utm_medium, link.utm_campaign) == ("poster", "offline", "spring")
    assert (link.utm_term, link.utm_content) == ("camp", "a4")
    assert link.created_by_id == operator.user_id
    assert invalidations.keys == ["spring-camp_2025"]
    snapshot = load_snapshot(db, "spring-camp_2025")
    assert snapshot is not None
    assert snapshot.location == (
        "https://example.com/camp?utm_source=poster&utm_medium=offline"
        "&utm_campaign=spring&utm_term=camp&utm_content=a4"
    )


def test_naive_expiry_is_read_in_the_configured_zone(db: Database, env: LinkEnv) -> None:
    local = datetime.now() + timedelta(days=30)
    local = local.replace(microsecond=0)
    link = create(db, env, NewLink(url="https://example.com", expires_at=local))
    assert env.settings.timezone == "Asia/Shanghai"
    assert link.expires_at is not None
    assert link.expires_at.astimezone(UTC) == (local - timedelta(hours=8)).replace(tzinfo=UTC)


def test_empty_password_means_none(db: Database, env: LinkEnv) -> None:
    link = create(db, env, NewLink(url="https://example.com", password=""))
    assert link.password_hash is None


def test_tags_are_created_once_per_community(db: Database, env: LinkEnv) -> None:
    create(db, env, NewLink(url="https://a.example.com", tags=("x", "y")))
    create(db, env, NewLink(url="https://b.example.com", tags=("y", "z")))
    with db.session(write=False) as session:
        names = sorted(session.scalars(select(Tag.name)))
    assert names == ["x", "y", "z"]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (NewLink(url="javascript:alert(1)"), "url.dangerous_scheme"),
        (NewLink(url="data:text/html,<b>x</b>"), "url.dangerous_scheme"),
        (NewLink(url="file:///etc/passwd"), "url.dangerous_scheme"),
        (NewLink(url="ftp://example.com"), "url.scheme_not_allowed"),
        (NewLink(url="https://user:pw@example.com"), "url.credentials_not_allowed"),
        (NewLink(url="http://127.0.0.1/admin"), "url.private_host"),
        (NewLink(url="http://192.168.1.1"), "url.private_host"),
        (NewLink(url="https://example.com/" + "a" * 3000), "url.too_long"),
        (NewLink(url="   "), "url.empty"),
        (NewLink(url="https://example.com", slug="api"), "slug.reserved"),
        (NewLink(url="https://example.com", slug="bad slug"), "slug.invalid_chars"),
        (NewLink(url="https://example.com", slug="x" * 65), "slug.too_long"),
        (NewLink(url="https://example.com", title="t" * 201), "link.text_too_long"),
        (NewLink(url="https://example.com", note="a\x00b"), "link.invalid_text"),
        (
            NewLink(url="https://example.com", tags=tuple(f"t{i}" for i in range(21))),
            "tag.too_many",
        ),
        (NewLink(url="https://example.com", tags=("x" * 65,)), "tag.too_long"),
        (NewLink(url="https://example.com", tags=("a|b",)), "tag.invalid_chars"),
        (
            NewLink(url="https://example.com", expires_at=datetime.now(UTC) - timedelta(minutes=1)),
            "link.expiry_in_past",
        ),
        (NewLink(url="https://example.com", max_visits=0), "link.invalid_max_visits"),
        (NewLink(url="https://example.com", max_visits=2**31), "link.invalid_max_visits"),
        (NewLink(url="https://example.com", password="p" * 201), "link.password_too_long"),
        (NewLink(url="https://example.com", redirect_status=307), "link.invalid_redirect_status"),
        (NewLink(url="https://example.com", utm_source="u" * 101), "link.text_too_long"),
    ],
)
def test_refusals_leave_the_database_unchanged(
    db: Database, env: LinkEnv, invalidations: Invalidations, data: NewLink, code: str
) -> None:
    before = counts(db)
    with pytest.raises(DomainError) as caught, db.transaction() as session:
        service.create_link(session, env, OWNER, 1, data)
    assert caught.value.code == code
    assert caught.value.status == 400
    assert counts(db) == before
    assert invalidations.keys == []


def test_private_targets_pass_when_the_settings_allow_them(db: Database, env: LinkEnv) -> None:
    relaxed = LinkEnv(
        env.settings.model_copy(update={"allow_private_targets": True}), env.passwords
    )
    link = create(db, relaxed, NewLink(url="http://10.0.0.8:8080/wiki"))
    assert link.target_url == "http://10.0.0.8:8080/wiki"


def test_configured_url_length_is_enforced(db: Database, env: LinkEnv) -> None:
    short = LinkEnv(env.settings.model_copy(update={"max_url_length": 40}), env.passwords)
    with pytest.raises(DomainError) as caught, db.transaction() as session:
        service.create_link(
            session, short, OWNER, 1, NewLink(url="https://example.com/" + "a" * 30)
        )
    assert caught.value.code == "url.too_long"
    assert caught.value.params["max_length"] == 40


def test_blocked_hosts_refuse_their_domain_and_subdomains(db: Database, env: LinkEnv) -> None:
    with db.transaction() as session:
        service.add_blocked_host(session, OWNER, 1, "Bad.Example", "phishing")
    before = counts(db)
    for url in ("https://bad.example/x", "https://www.BAD.example"):
        with pytest.raises(DomainError) as caught, db.transaction() as session:
            service.create_link(session, env, OWNER, 1, NewLink(url=url))
        assert caught.value.code == "url.blocked_host"
        assert caught.value.params["pattern"] == "bad.example"
    assert counts(db) == before
    assert create(db, env, NewLink(url="https://notbad.example")).slug


def test_custom_slugs_are_unique_whatever_their_case(db: Database, env: LinkEnv) -> None:
    create(db, env, NewLink(url="https://example.com/1", slug="Promo"))
    before = counts(db)
    for slug in ("promo", "PROMO", " Promo "):
        with pytest.raises(DomainError) as caught, db.transaction() as session:
            service.create_link(session, env, OWNER, 1, NewLink(url="https://x.example", slug=slug))
        assert caught.value.code == "slug.taken"
        assert caught.value.status == 409
    assert counts(db) == before


def test_a_deleted_link_keeps_its_slug(db: Database, env: LinkEnv) -> None:
    create(db, env, NewLink(url="https://example.com", slug="gone"))
    with db.transaction() as session:
        service.delete_link(session, env, OWNER, 1, "gone")
    with pytest.raises(DomainError) as caught, db.transaction() as session:
        service.create_link(session, env, OWNER, 1, NewLink(url="https://x.example", slug="GONE"))
    assert caught.value.code == "slug.taken"


def test_generated_slugs_avoid_taken_ones(
    db: Database, env: LinkEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    create(db, env, NewLink(url="https://example.com", slug="aaaaaa"))
    draws = iter(["aaaaaa", "aaaaaa", "bbbbbb"])
    monkeypatch.setattr("qunyun.links.slugs.generate_slug", lambda length=6: next(draws))
    link = create(db, env, NewLink(url="https://example.com/2"))
    assert link.slug == "bbbbbb"


def test_many_generated_slugs_are_distinct(db: Database, env: LinkEnv) -> None:
    with db.transaction() as session:
        slugs = {
            service.create_link(session, env, OWNER, 1, NewLink(url=f"https://e.com/{i}")).slug
            for i in range(60)
        }
    assert len(slugs) == 60


def test_title_is_fetched_only_when_asked(db: Database, env: LinkEnv, fetched: list[str]) -> None:
    link = create(db, env, NewLink(url="https://example.com/page"))
    assert link.title is None
    assert fetched == []
    title = service.fetch_title(env, "example.com/page")
    assert title == "活动报名 · Sign-up"  # Open Graph title first
    assert fetched == ["https://example.com/page"]


def test_title_fetch_refuses_blocked_and_private_targets(env: LinkEnv, fetched: list[str]) -> None:
    with pytest.raises(DomainError) as caught:
        service.fetch_title(env, "https://evil.example/x", ["evil.example"])
    assert caught.value.code == "url.blocked_host"
    with pytest.raises(DomainError) as caught:
        service.fetch_title(env, "http://localhost:8080/")
    assert caught.value.code == "url.private_host"
    assert fetched == []


@pytest.mark.parametrize("role", [Role.viewer])
def test_viewers_cannot_create(
    db: Database, env: LinkEnv, people: dict[Role, Principal], role: Role
) -> None:
    before = counts(db)
    with pytest.raises(DomainError) as caught, db.transaction() as session:
        service.create_link(session, env, people[role], 1, NewLink(url="https://example.com"))
    assert caught.value.status == 403
    assert counts(db) == before


def test_no_role_in_the_community_means_no_access(
    db: Database, env: LinkEnv, people: dict[Role, Principal]
) -> None:
    with pytest.raises(DomainError) as caught, db.transaction() as session:
        service.create_link(session, env, people[Role.owner], 2, NewLink(url="https://e.com"))
    assert caught.value.code == "community.no_access"
