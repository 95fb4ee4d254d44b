"""The landing page through the running application: rotation, stickiness, fallback,
working hours, channels, long presses, merges and gates."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from qunyun.db.engine import Database
from qunyun.livecodes import members as pool
from qunyun.livecodes import service
from qunyun.livecodes.alerts import worker_of
from qunyun.livecodes.landing import LiveCodeLanding, landing_of
from qunyun.livecodes.lookup import code_members
from qunyun.livecodes.models import LiveCode, LiveCodeAlert, LiveCodeMember, LiveCodePress
from qunyun.livecodes.service import LiveCodeEnv
from qunyun.visits.models import Visit
from tests.conftest import App
from tests.livecodes.helpers import (
    DESKTOP_UA,
    STAFF_CARDS,
    TELEGRAM_BOT,
    WECHAT_GROUPS,
    WECHAT_UA,
    qr_png,
)

OWNER = service.installation_principal()
SHANGHAI = ZoneInfo("Asia/Shanghai")
ALT = re.compile(r'id="lc-qr" src="([^"]+)" alt="([^"]+) 的二维码" data-press="([^"]+)"')


def env_of(app: App) -> LiveCodeEnv:
    return LiveCodeEnv.from_context(app.ctx)


def landing(app: App) -> LiveCodeLanding:
    found = landing_of(app.ctx)
    assert found is not None
    return found


def make(
    app: App,
    slug: str,
    members: list[str] | tuple[str, ...] = (),
    member_fields: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> LiveCode:
    env = env_of(app)
    fields.setdefault("name", f"活码 {slug}")
    with app.db.transaction() as s:
        code = service.create_code(s, env, OWNER, 1, fields, slug=slug)
        for index, text in enumerate(members):
            extra = (member_fields or [{}] * len(members))[index]
            extra = {"name": f"群{index + 1}", **extra}
            pool.add_member(s, env, OWNER, 1, code.id, qr_png(text), extra)
        return code


def visit(app: App, slug: str, ua: str = WECHAT_UA, keep_cookies: bool = False) -> Any:
    if not keep_cookies:
        app.client.cookies.clear()
    return app.client.get(f"/{slug}", headers={"User-Agent": ua}, follow_redirects=False)


def shown(response: Any) -> str | None:
    """The member name on a landing page, None on the fallback page."""
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    match = ALT.search(response.text)
    if match is None:
        assert 'data-page="live-code-fallback"' in response.text
        return None
    return match.group(2)


def member_ids(db: Database, code_id: int) -> dict[str, int]:
    with db.session(write=False) as s:
        return {m.name: m.id for m in code_members(s, code_id)}


def scans(db: Database, code_id: int) -> dict[str, int]:
    with db.session(write=False) as s:
        return {m.name: m.scans for m in code_members(s, code_id)}


# --- rotation --------------------------------------------------------------------------


def test_in_order_moves_on_at_the_threshold(app: App) -> None:
    code = make(app, "camp", WECHAT_GROUPS[:2], [{"scan_threshold": 2}, {"scan_threshold": 2}])
    # The thresholds hold between flushes: the worker counts what it served.
    assert [shown(visit(app, "camp")) for _ in range(3)] == ["群1", "群1", "群2"]
    app.flush_visits()
    assert scans(app.db, code.id) == {"群1": 2, "群2": 1}
    landing(app).cache.clear()  # as after the cache's TTL: counts come from the database
    assert [shown(visit(app, "camp")) for _ in range(2)] == ["群2", None]
    app.flush_visits()
    assert scans(app.db, code.id) == {"群1": 2, "群2": 2}
    with app.db.session(write=False) as s:
        shown_members = [v.member_id for v in s.scalars(select(Visit).order_by(Visit.id))]
    ids = member_ids(app.db, code.id)
    assert shown_members == [ids["群1"], ids["群1"], ids["群2"], ids["群2"], None]


def test_an_expired_member_is_skipped(app: App) -> None:
    code = make(app, "exp", WECHAT_GROUPS[:2])
    ids = member_ids(app.db, code.id)
    with app.db.transaction() as s:
        s.execute(
            update(LiveCodeMember)
            .where(LiveCodeMember.id == ids["群1"])
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    landing(app).cache.invalidate([code.id])
    assert shown(visit(app, "exp")) == "群2"


def test_switching_a_member_off_takes_effect_at_once(app: App) -> None:
    code = make(app, "off", WECHAT_GROUPS[:2])
    assert shown(visit(app, "off")) == "群1"
    with app.db.transaction() as s:
        pool.update_member(
            s,
            env_of(app),
            OWNER,
            1,
            code.id,
            member_ids(app.db, code.id)["群1"],
            {"is_enabled": False},
        )
    # The change dropped the cached snapshot after its commit.
    assert shown(visit(app, "off")) == "群2"


def test_round_robin_spreads_new_visitors(app: App) -> None:
    make(app, "rr", WECHAT_GROUPS, strategy="round_robin")
    seen = [shown(visit(app, "rr")) for _ in range(6)]
    assert seen == ["群1", "群2", "群3", "群1", "群2", "群3"]


# --- returning visitors ----------------------------------------------------------------


def test_a_returning_visitor_keeps_the_member_without_counting_again(app: App) -> None:
    code = make(app, "stay", WECHAT_GROUPS[:2], [{"scan_threshold": 1}, {}])
    first = visit(app, "stay")
    assert shown(first) == "群1"
    cookie = f"qy_lc{code.id}"
    assert cookie in first.cookies
    assert "httponly" in first.headers["set-cookie"].lower()
    # Seven days, rounded up to the hour.
    max_age = int(re.search(r"Max-Age=(\d+)", first.headers["set-cookie"]).group(1))  # type: ignore[union-attr]
    assert 7 * 86400 <= max_age <= 7 * 86400 + 3600
    # 群1 is now full, but the returning visitor already took their place in it.
    again = visit(app, "stay", keep_cookies=True)
    assert shown(again) == "群1"
    assert "set-cookie" not in again.headers
    assert shown(visit(app, "stay")) == "群2"  # a new visitor
    app.flush_visits()
    assert scans(app.db, code.id) == {"群1": 1, "群2": 1}
    with app.db.session(write=False) as s:
        assert len(list(s.scalars(select(Visit)))) == 3


def test_a_forged_or_foreign_sticky_cookie_is_ignored(app: App) -> None:
    code = make(app, "forge", WECHAT_GROUPS[:2], [{"scan_threshold": 1}, {}])
    other = make(app, "other", WECHAT_GROUPS[2:])
    ids = member_ids(app.db, code.id)
    signer = landing(app).signer
    app.client.cookies.set(f"qy_lc{code.id}", "W1sxLDJdXQ.forged")
    assert shown(visit(app, "forge", keep_cookies=True)) == "群1"
    # A valid value made for another code does not carry over.
    app.client.cookies.clear()
    foreign = signer.sticky_value(other.id, ids["群2"], 2**31)
    app.client.cookies.set(f"qy_lc{code.id}", foreign)
    assert shown(visit(app, "forge", keep_cookies=True)) == "群2"


def test_a_returning_visitor_whose_member_left_gets_another(app: App) -> None:
    code = make(app, "left", WECHAT_GROUPS[:2])
    assert shown(visit(app, "left")) == "群1"
    with app.db.transaction() as s:
        pool.update_member(
            s,
            env_of(app),
            OWNER,
            1,
            code.id,
            member_ids(app.db, code.id)["群1"],
            {"is_enabled": False},
        )
    again = visit(app, "left", keep_cookies=True)
    assert shown(again) == "群2"
    assert f"qy_lc{code.id}" in again.cookies  # remembered afresh


# --- nobody available --------------------------------------------------------------------


def test_the_fallback_page_and_its_alert(app: App) -> None:
    code = make(
        app,
        "full",
        WECHAT_GROUPS[:1],
        [{"scan_threshold": 1}],
        fallback_message="今天的群都满了",
        fallback_contact="微信号 qunyun-help",
    )
    assert shown(visit(app, "full")) == "群1"
    page = visit(app, "full")
    assert shown(page) is None
    assert "今天的群都满了" in page.text
    assert "qunyun-help" in page.text
    app.flush_visits()
    worker = worker_of(app.ctx)
    assert worker is not None
    portal = app.client.portal
    assert portal is not None
    portal.call(worker.run_once)
    with app.db.session(write=False) as s:
        alerts = list(s.scalars(select(LiveCodeAlert).where(LiveCodeAlert.live_code_id == code.id)))
    assert [a.kind for a in alerts] == ["fallback_served"]
    # Served again the same day: still one alert.
    visit(app, "full")
    portal.call(worker.run_once)
    with app.db.session(write=False) as s:
        count = len(list(s.scalars(select(LiveCodeAlert))))
    assert count == 1


def test_an_empty_pool_is_never_an_empty_page(app: App) -> None:
    make(app, "empty")
    page = visit(app, "empty")
    assert shown(page) is None
    assert "暂时没有可加入的群" in page.text
    english = app.client.get("/empty?lang=en", headers={"User-Agent": WECHAT_UA})
    assert "There is no group to join right now" in english.text


def test_a_paused_code_says_so(app: App) -> None:
    code = make(app, "paused", WECHAT_GROUPS[:1])
    with app.db.transaction() as s:
        service.set_status(s, env_of(app), OWNER, 1, code.id, "paused")
    page = visit(app, "paused")
    assert shown(page) is None
    assert "此活码暂停使用" in page.text


# --- staff codes and hours -------------------------------------------------------------


def at(local: datetime) -> float:
    return local.replace(tzinfo=SHANGHAI).timestamp()


def test_staff_working_hours_and_the_next_working_time(app: App) -> None:
    make(
        app,
        "kefu",
        STAFF_CARDS,
        kind="staff",
        strategy="weighted",
        member_fields=[
            {
                "name": "小王",
                "working_hours": {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "18:00"},
            },
            {"name": "小李", "working_hours": {"days": [6, 7], "start": "10:00", "end": "16:00"}},
        ],
    )
    front = landing(app)
    front.clock = lambda: at(datetime(2025, 6, 2, 10, 0))  # Monday 10:00
    page = visit(app, "kefu")
    assert shown(page) == "小王"
    assert "小王 在线" in page.text
    front.clock = lambda: at(datetime(2025, 6, 7, 11, 0))  # Saturday 11:00
    assert shown(visit(app, "kefu")) == "小李"
    front.clock = lambda: at(datetime(2025, 6, 6, 20, 0))  # Friday 20:00: nobody
    page = visit(app, "kefu")
    assert shown(page) is None
    assert "客服现在不在线" in page.text
    assert "下次开放：周六 2025-06-07 10:00（Asia/Shanghai）" in page.text
    english = app.client.get("/kefu?lang=en", headers={"User-Agent": WECHAT_UA})
    assert "Next available: Sat 2025-06-07 10:00 (Asia/Shanghai)" in english.text


def test_a_staff_member_is_shown_in_proportion_to_weight(app: App) -> None:
    make(
        app,
        "weights",
        STAFF_CARDS,
        kind="staff",
        strategy="weighted",
        member_fields=[{"name": "甲", "weight": 1}, {"name": "乙", "weight": 9}],
    )
    landing(app).rng.seed(7)
    seen = [shown(visit(app, "weights")) for _ in range(40)]
    assert seen.count("乙") > seen.count("甲") > 0


def test_active_hours_close_a_code(app: App) -> None:
    make(
        app,
        "night",
        WECHAT_GROUPS[:1],
        active_hours={"days": [5], "start": "22:00", "end": "02:00"},
    )
    front = landing(app)
    front.clock = lambda: at(datetime(2025, 6, 7, 1, 0))  # Saturday 01:00: Friday's night
    assert shown(visit(app, "night")) == "群1"
    front.clock = lambda: at(datetime(2025, 6, 7, 3, 0))
    page = visit(app, "night")
    assert shown(page) is None
    assert "现在不在开放时间" in page.text
    assert "2025-06-13 22:00" in page.text


# --- channels, long presses, images ------------------------------------------------------


def test_channels_are_counted_apart(app: App) -> None:
    code = make(app, "poster-main", WECHAT_GROUPS[:1])
    with app.db.transaction() as s:
        row = service.add_channel(s, env_of(app), OWNER, 1, code.id, "地铁海报", slug="metro")
        channel_link = row.link.id
        main_link = service.main_link(s, code.id).id
    assert shown(visit(app, "metro")) == "群1"
    assert shown(visit(app, "metro")) == "群1"
    assert shown(visit(app, "poster-main")) == "群1"
    app.flush_visits()
    with app.db.session(write=False) as s:
        links = [v.link_id for v in s.scalars(select(Visit).order_by(Visit.id))]
    assert links == [channel_link, channel_link, main_link]
    assert scans(app.db, code.id) == {"群1": 3}


def test_a_long_press_is_recorded_and_rate_limited(app: App) -> None:
    code = make(app, "press", WECHAT_GROUPS[:1])
    page = visit(app, "press")
    match = ALT.search(page.text)
    assert match is not None
    token = match.group(3)
    ok = app.client.post("/livecodes/press", content=token, headers={"Content-Type": "text/plain"})
    assert ok.status_code == 204
    forged = app.client.post("/livecodes/press", content=token[:-3] + "abc")
    assert forged.status_code == 204
    with app.db.session(write=False) as s:
        presses = list(s.scalars(select(LiveCodePress)))
    assert len(presses) == 1
    assert presses[0].live_code_id == code.id
    assert presses[0].member_id == member_ids(app.db, code.id)["群1"]
    assert len(presses[0].visitor_key) == 32
    statuses = [app.client.post("/livecodes/press", content=token).status_code for _ in range(12)]
    assert statuses.count(429) >= 2
    assert "<script>" in page.text
    assert "sendBeacon" in page.text


def test_member_images_are_served_for_a_year_and_cannot_be_guessed(app: App) -> None:
    code = make(app, "img", WECHAT_GROUPS[:1])
    match = ALT.search(visit(app, "img").text)
    assert match is not None
    image = app.client.get(match.group(1))
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert image.content[:8] == b"\x89PNG\r\n\x1a\n"
    forged = app.client.get(match.group(1)[:-2] + "xx")
    assert forged.status_code == 404
    # The address names one member's one image: another member under a reused id
    # (SQLite reuses the highest id after a delete) gets another address.
    member_id = member_ids(app.db, code.id)["群1"]
    stale = landing(app).signer.member_image_url(member_id, 12345)
    assert app.client.get(stale).status_code == 404


def test_the_page_makes_no_outside_request(app: App) -> None:
    make(app, "light", WECHAT_GROUPS[:1])
    page = visit(app, "light").text
    assert re.findall(r'(?:src|href)="(https?:)?//', page) == []
    assert "<link" not in page  # styles are inline


# --- merge, gates, bots ------------------------------------------------------------------


def test_a_merged_code_serves_the_other_pool(app: App) -> None:
    old = make(app, "old-camp", WECHAT_GROUPS[:1], member_fields=[{"name": "旧群"}])
    new = make(app, "new-camp", WECHAT_GROUPS[1:2], member_fields=[{"name": "新群"}])
    assert shown(visit(app, "old-camp")) == "旧群"
    with app.db.transaction() as s:
        service.merge_code(s, env_of(app), OWNER, 1, old.id, new.id)
    assert shown(visit(app, "old-camp")) == "新群"
    app.flush_visits()
    assert scans(app.db, new.id) == {"新群": 1}


def test_a_gate_shows_the_blocked_page_to_a_desktop(app: App) -> None:
    make(app, "wx-only", WECHAT_GROUPS[:1], allowed_apps=["wechat"])
    blocked = visit(app, "wx-only", ua=DESKTOP_UA)
    assert blocked.status_code == 403
    assert 'data-page="blocked"' in blocked.text
    assert "lc-qr" not in blocked.text
    assert shown(visit(app, "wx-only")) == "群1"


def test_preview_bots_get_the_card_and_count_nothing(app: App) -> None:
    code = make(app, "card", WECHAT_GROUPS[:1], title="春季训练营 · 扫码进群")
    card = visit(app, "card", ua=TELEGRAM_BOT)
    assert card.status_code == 200
    assert 'property="og:title" content="春季训练营 · 扫码进群"' in card.text
    assert "lc-qr" not in card.text
    app.flush_visits()
    assert scans(app.db, code.id) == {"群1": 0}


def test_head_requests_count_nothing(app: App) -> None:
    code = make(app, "head", WECHAT_GROUPS[:1])
    assert app.client.head("/head", headers={"User-Agent": WECHAT_UA}).status_code == 200
    app.flush_visits()
    with app.db.session(write=False) as s:
        assert list(s.scalars(select(Visit))) == []
    assert scans(app.db, code.id) == {"群1": 0}


def test_a_deleted_code_link_is_gone(app: App) -> None:
    code = make(app, "bye", WECHAT_GROUPS[:1])
    with app.db.transaction() as s:
        service.delete_code(s, env_of(app), OWNER, 1, code.id)
    assert visit(app, "bye").status_code == 404


@pytest.mark.parametrize("ua", [WECHAT_UA, DESKTOP_UA])
def test_english_page(app: App, ua: str) -> None:
    make(app, "en", WECHAT_GROUPS[:1])
    page = app.client.get("/en", headers={"User-Agent": ua, "Accept-Language": "en-US"})
    assert "Press and hold the QR code to open it" in page.text


def test_the_fallback_picture_is_shown_and_served(app: App) -> None:
    with app.db.transaction() as s:
        service.create_code(
            s,
            env_of(app),
            OWNER,
            1,
            {"name": "备用"},
            slug="spare",
            fallback_picture=qr_png("https://u.wechat.com/EHelpDeskCard01"),
        )
    page = visit(app, "spare")
    assert shown(page) is None
    match = re.search(r'<img src="(/livecodes/img/[^"]+)" alt="备用二维码"', page.text)
    assert match is not None
    picture = app.client.get(match.group(1))
    assert picture.status_code == 200
    assert picture.headers["content-type"] == "image/png"
