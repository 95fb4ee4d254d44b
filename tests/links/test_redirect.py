"""The redirect at /{slug}, through real requests to the application."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from qunyun.accounts.passwords import Passwords
from qunyun.links.models import Link
from qunyun.visits.models import Visit
from tests.conftest import App
from tests.links.factories import make_link

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
TELEGRAM_BOT = "TelegramBot (like TwitterBot)"


def _visits(app: App) -> list[Visit]:
    app.flush_visits()
    with app.db.session(write=False) as s:
        return list(s.scalars(select(Visit).order_by(Visit.id)))


def test_redirects_with_302_and_no_store(app: App) -> None:
    make_link(app.db, "spring", "https://example.com/camp?x=1")
    r = app.client.get("/spring", follow_redirects=False, headers={"User-Agent": IPHONE})
    assert r.status_code == 302
    assert r.headers["location"] == "https://example.com/camp?x=1"
    assert r.headers["cache-control"] == "no-store"
    assert r.content == b""


def test_slugs_are_case_insensitive_and_a_trailing_slash_is_fine(app: App) -> None:
    make_link(app.db, "SpringCamp")
    assert app.client.get("/springcamp", follow_redirects=False).status_code == 302
    assert app.client.get("/SPRINGCAMP/", follow_redirects=False).status_code == 302


def test_permanent_redirect_is_cacheable_for_an_hour_only(app: App) -> None:
    make_link(app.db, "forever", redirect_status=301)
    r = app.client.get("/forever", follow_redirects=False)
    assert r.status_code == 301
    assert r.headers["cache-control"] == "private, max-age=3600"


def test_utm_parameters_are_appended(app: App) -> None:
    make_link(
        app.db,
        "utm",
        "https://example.com/p?utm_source=old&keep=1#top",
        utm_source="wechat",
        utm_campaign="双十一",
    )
    location = app.client.get("/utm", follow_redirects=False).headers["location"]
    assert location.startswith("https://example.com/p?")
    assert "keep=1" in location
    assert "utm_source=wechat" in location
    assert "utm_source=old" not in location
    assert "utm_campaign=%E5%8F%8C%E5%8D%81%E4%B8%80" in location
    assert location.endswith("#top")


def test_unknown_link_page_in_both_languages(app: App) -> None:
    zh = app.client.get("/nothere")
    assert zh.status_code == 404
    assert "链接不存在" in zh.text
    en = app.client.get("/nothere", headers={"Accept-Language": "en"})
    assert "This link does not exist" in en.text
    assert "This link does not exist" in app.client.get("/nothere?lang=en").text


@pytest.mark.parametrize(
    ("fields", "status", "text"),
    [
        ({"is_enabled": False}, 404, "链接已停用"),
        ({"expires_at": datetime.now(UTC) - timedelta(minutes=1)}, 410, "链接已过期"),
        ({"deleted_at": datetime.now(UTC)}, 404, "链接不存在"),
        ({"max_visits": 3, "human_visits": 3}, 410, "访问次数已用完"),
    ],
)
def test_links_that_cannot_be_followed(
    app: App, fields: dict[str, object], status: int, text: str
) -> None:
    make_link(app.db, "closed", **fields)
    r = app.client.get("/closed", follow_redirects=False)
    assert r.status_code == status
    assert text in r.text
    assert r.headers["cache-control"] == "no-store"
    assert _visits(app) == []


def test_visit_cap_is_exact_and_bots_do_not_use_it_up(app: App) -> None:
    link_id = make_link(app.db, "two", max_visits=2)
    # A preview bot gets the link's card, and does not use up a visit.
    card = app.client.get("/two", follow_redirects=False, headers={"User-Agent": TELEGRAM_BOT})
    assert card.status_code == 200
    assert 'property="og:url" content="http://testserver/two"' in card.text
    codes = [
        app.client.get("/two", follow_redirects=False, headers={"User-Agent": IPHONE}).status_code
        for _ in range(3)
    ]
    assert codes == [302, 302, 410]
    visits = _visits(app)
    assert len(visits) == 3
    with app.db.session(write=False) as s:
        link = s.get(Link, link_id)
        assert link is not None
        assert (link.human_visits, link.bot_visits) == (2, 1)


def test_head_requests_do_not_count(app: App) -> None:
    make_link(app.db, "peek")
    assert app.client.head("/peek", follow_redirects=False).status_code == 302
    assert _visits(app) == []


def test_each_visit_is_recorded_with_its_details(app: App) -> None:
    link_id = make_link(app.db, "rec")
    app.client.get(
        "/rec",
        follow_redirects=False,
        headers={"User-Agent": IPHONE, "Referer": "https://mp.weixin.qq.com/s/abc"},
    )
    app.client.get("/rec", follow_redirects=False, headers={"User-Agent": TELEGRAM_BOT})
    human, bot = _visits(app)
    assert (human.link_id, human.is_bot, human.os, human.device) == (link_id, False, "iOS", "phone")
    assert human.referrer_host == "mp.weixin.qq.com"
    assert human.ip == "testclient"
    assert len(human.visitor_key) == 32
    assert bot.is_bot
    with app.db.session(write=False) as s:
        link = s.get(Link, link_id)
        assert link is not None and (link.human_visits, link.bot_visits) == (1, 1)


def test_forwarded_for_is_ignored_from_untrusted_peers(app: App) -> None:
    make_link(app.db, "fwd")
    app.client.get("/fwd", follow_redirects=False, headers={"X-Forwarded-For": "203.0.113.9"})
    (visit,) = _visits(app)
    assert visit.ip == "testclient"


def test_reserved_paths_are_not_treated_as_links(app: App) -> None:
    r = app.client.get("/login")
    assert r.status_code == 200
    assert 'name="password"' in r.text


class TestPassword:
    @pytest.fixture
    def protected(self, app: App) -> App:
        make_link(
            app.db,
            "secret",
            "https://example.com/private",
            password_hash=Passwords("test").hash("open sesame"),
        )
        return app

    def _form(self, app: App) -> str:
        page = app.client.get("/secret")
        assert page.status_code == 200
        assert "请输入访问密码" in page.text
        return page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

    def test_right_password_redirects_and_counts(self, protected: App) -> None:
        token = self._form(protected)
        r = protected.client.post(
            "/secret", data={"password": "open sesame", "csrf_token": token}, follow_redirects=False
        )
        assert r.status_code == 303
        assert r.headers["location"] == "https://example.com/private"
        assert len(_visits(protected)) == 1

    def test_wrong_password_is_refused(self, protected: App) -> None:
        token = self._form(protected)
        r = protected.client.post("/secret", data={"password": "guess", "csrf_token": token})
        assert r.status_code == 403
        assert "密码不正确" in r.text
        assert _visits(protected) == []

    def test_form_without_its_cookie_is_refused(self, protected: App) -> None:
        token = self._form(protected)
        protected.client.cookies.clear()
        r = protected.client.post("/secret", data={"password": "open sesame", "csrf_token": token})
        assert r.status_code == 403

    def test_attempts_are_throttled_per_link_and_client(self, protected: App) -> None:
        token = self._form(protected)
        codes = [
            protected.client.post(
                "/secret", data={"password": f"guess{i}", "csrf_token": token}
            ).status_code
            for i in range(6)
        ]
        assert codes == [403] * 5 + [429]
        right = protected.client.post(
            "/secret", data={"password": "open sesame", "csrf_token": token}
        )
        assert right.status_code == 429


def test_nothing_is_lost_when_the_app_stops(app: App) -> None:
    make_link(app.db, "shut")
    for _ in range(25):
        app.client.get("/shut", follow_redirects=False)
    # The lifespan's shutdown flushes what is queued; stop the client to trigger it.
    app.client.__exit__(None, None, None)
    with app.db.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Visit)) == 25


def test_concurrent_misses_read_the_database_once(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from qunyun.links import redirect

    make_link(app.db, "popular")
    reads: list[str] = []
    real = redirect.load_snapshot

    def counting(db: object, key: str) -> object:
        reads.append(key)
        return real(db, key)  # type: ignore[arg-type]

    monkeypatch.setattr(redirect, "load_snapshot", counting)
    front = app.client.app
    assert isinstance(front, redirect.RedirectFront)
    app.ctx.link_cache.clear()

    async def many() -> list[object]:
        return await asyncio.gather(*(front._load(app.ctx, "popular") for _ in range(50)))

    portal = app.client.portal
    assert portal is not None
    results = portal.call(many)
    assert reads == ["popular"]
    assert all(r is results[0] and r is not None for r in results)
    assert app.ctx.link_cache.get("popular") is results[0]
