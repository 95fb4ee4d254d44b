"""Statistics queries on SQLite and PostgreSQL, fed by the real visit recorder."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from qunyun.db.engine import Database
from qunyun.errors import DomainError
from qunyun.links.models import Link
from qunyun.visits import stats
from qunyun.visits.recorder import PendingVisit, VisitRecorder
from qunyun.visits.stats import REST_KEY, Granularity, Share, StatsRange
from tests.visits.helpers import (
    ANDROID_CHROME,
    DESKTOP_CHROME,
    GOOGLEBOT,
    IPHONE_SAFARI,
    TELEGRAM_PREVIEW,
    WECHAT_IPHONE,
    at,
    make_link,
    utc,
)

pytestmark = pytest.mark.storage

SECRET = "stats-test-secret"
TZ = "Asia/Shanghai"
DAYS_1_TO_4 = StatsRange(date(2024, 5, 1), date(2024, 5, 4), Granularity.day)


def visit(link_id: int, when: float, ua: str | None, ip: str | None, ref: str | None = None):
    return PendingVisit(link_id=link_id, ts=when, referrer=ref, user_agent=ua, ip=ip)


@pytest.fixture
def recorder(db: Database) -> VisitRecorder:
    return VisitRecorder(db, SECRET, TZ)


@pytest.fixture
def seeded(db: Database, recorder: VisitRecorder) -> dict[str, int]:
    """Links a and b carry the tag "camp" (so does the deleted d); c has no tag."""
    ids = {
        "a": make_link(db, "alpha", tags=("camp",)),
        "b": make_link(db, "beta", tags=("camp", "other")),
        "c": make_link(db, "gamma"),
        "d": make_link(db, "delta", tags=("camp",), deleted=True),
    }
    a, b = ids["a"], ids["b"]
    recorder.write(
        [
            # 1 May: the same phone twice, a second person from Weibo, two bots.
            visit(a, at("2024-05-01 10:00"), WECHAT_IPHONE, "1.1.1.1"),
            visit(a, at("2024-05-01 10:20"), WECHAT_IPHONE, "1.1.1.1"),
            visit(a, at("2024-05-01 10:40"), IPHONE_SAFARI, "2.2.2.2", "https://weibo.com/n/1"),
            visit(a, at("2024-05-01 11:00"), TELEGRAM_PREVIEW, "149.154.161.1"),
            visit(a, at("2024-05-01 12:00"), GOOGLEBOT, "66.249.66.1"),
            # 2 May: the first phone comes back; two new people.
            visit(a, at("2024-05-02 09:00"), WECHAT_IPHONE, "1.1.1.1"),
            visit(a, at("2024-05-02 09:10"), ANDROID_CHROME, "3.3.3.3", "https://www.google.com/"),
            visit(a, at("2024-05-02 21:00"), DESKTOP_CHROME, "4.4.4.4"),
        ]
    )
    recorder.write(
        [
            # The same phone as on link a that day: one person for the tag.
            visit(b, at("2024-05-01 18:00"), WECHAT_IPHONE, "1.1.1.1"),
            visit(b, at("2024-05-02 08:00"), DESKTOP_CHROME, "5.5.5.5"),
            visit(ids["c"], at("2024-05-01 18:00"), DESKTOP_CHROME, "6.6.6.6"),
            visit(ids["d"], at("2024-05-01 18:00"), DESKTOP_CHROME, "7.7.7.7"),
        ]
    )
    return ids


def link_stats(db: Database, link_id: int, rng: StatsRange = DAYS_1_TO_4) -> stats.Stats:
    with db.transaction(write=False) as session:
        return stats.link_stats(session, link_id, rng, TZ)


def tag_stats(db: Database, name: str, rng: StatsRange = DAYS_1_TO_4) -> stats.Stats:
    with db.transaction(write=False) as session:
        tag = stats.tag_by_name(session, 1, name)
        return stats.tag_stats(session, tag.id, rng, TZ)


def shares(items: tuple[Share, ...]) -> dict[str, tuple[int, int]]:
    return {s.key: (s.people, s.bots) for s in items}


def test_daily_series_fills_empty_days_and_keeps_bots_apart(db, seeded):
    result = link_stats(db, seeded["a"])
    assert [(b.key, b.people, b.uniques, b.bots) for b in result.series] == [
        ("2024-05-01", 3, 2, 2),
        ("2024-05-02", 3, 3, 0),
        ("2024-05-03", 0, 0, 0),
        ("2024-05-04", 0, 0, 0),
    ]


def test_uniques_count_a_returning_visitor_once_per_day(db, seeded):
    totals = link_stats(db, seeded["a"]).totals
    # 1.1.1.1 with the same phone: twice on 1 May (one unique), again on 2 May (another).
    assert (totals.people, totals.uniques, totals.bots) == (6, 5, 2)


def test_link_counters_agree_with_stored_visits(db, seeded):
    with db.transaction(write=False) as session:
        link = session.scalar(select(Link).where(Link.id == seeded["a"]))
        assert link is not None
        assert (link.human_visits, link.bot_visits) == (6, 2)


def test_hourly_series_covers_every_local_hour(db, seeded):
    one_day = StatsRange(date(2024, 5, 1), date(2024, 5, 1), Granularity.hour)
    series = link_stats(db, seeded["a"], one_day).series
    assert len(series) == 24
    assert series[0].key == "2024-05-01T00:00:00+08:00"
    assert series[-1].key == "2024-05-01T23:00:00+08:00"
    by_key = {b.key[11:13]: (b.people, b.uniques, b.bots) for b in series}
    assert by_key["10"] == (3, 2, 0)
    assert by_key["11"] == (0, 0, 1)
    assert by_key["12"] == (0, 0, 1)
    assert sum(b.people + b.bots for b in series) == 5


def test_breakdowns_split_people_and_bots(db, seeded):
    b = link_stats(db, seeded["a"]).breakdowns
    assert shares(b.os) == {"iOS": (4, 0), "Android": (1, 0), "Windows": (1, 0), "Other": (0, 2)}
    assert shares(b.device) == {"phone": (5, 0), "desktop": (1, 0), "bot": (0, 2)}
    assert shares(b.browser) == {
        "WeChat": (3, 0),
        "Chrome": (1, 0),
        "Chrome Mobile": (1, 0),
        "Mobile Safari": (1, 0),
        "Googlebot": (0, 1),
        "TelegramBot": (0, 1),
    }
    assert shares(b.referrer) == {"direct": (4, 2), "weibo.com": (1, 0), "www.google.com": (1, 0)}
    assert shares(b.app) == {"wechat": (3, 0), "none": (3, 2)}
    assert shares(b.bot) == {"googlebot": (0, 1), "telegram": (0, 1)}
    # People rank first: the largest audience leads each list.
    assert b.os[0].key == "iOS"


def test_tag_adds_up_its_links_and_counts_a_person_once(db, seeded):
    result = tag_stats(db, "camp")
    # Link b's 1.1.1.1 visit on 1 May is the same person as on link a: uniques stay 2.
    assert [(b.people, b.uniques, b.bots) for b in result.series[:2]] == [(4, 2, 2), (4, 4, 0)]
    # Link c (untagged) and d (deleted) are left out.
    assert (result.totals.people, result.totals.uniques, result.totals.bots) == (8, 6, 2)


def test_tag_with_one_link(db, seeded):
    result = tag_stats(db, "other")
    assert (result.totals.people, result.totals.uniques, result.totals.bots) == (2, 2, 0)


def test_unknown_tag_is_not_found(db, seeded):
    with pytest.raises(DomainError) as info:
        tag_stats(db, "nope")
    assert (info.value.code, info.value.status) == ("stats.tag_not_found", 404)


def test_link_without_visits_has_zero_buckets(db):
    link_id = make_link(db, "quiet")
    result = link_stats(db, link_id)
    assert [(b.people, b.uniques, b.bots) for b in result.series] == [(0, 0, 0)] * 4
    assert result.totals == stats.Totals(0, 0, 0)
    assert result.breakdowns.os == ()


@pytest.mark.parametrize(
    ("zone", "days"),
    [
        # 15:30 UTC is 23:30 in Shanghai, 16:30 UTC already 00:30 the next day.
        ("Asia/Shanghai", {"2024-05-01": 1, "2024-05-02": 1}),
        ("UTC", {"2024-05-01": 2, "2024-05-02": 0}),
    ],
)
def test_day_boundary_follows_the_time_zone(db, zone, days):
    link_id = make_link(db, "midnight")
    VisitRecorder(db, SECRET, zone).write(
        [
            visit(link_id, utc("2024-05-01 15:30"), IPHONE_SAFARI, "8.8.8.8"),
            visit(link_id, utc("2024-05-01 16:30"), IPHONE_SAFARI, "8.8.8.8"),
        ]
    )
    rng = StatsRange(date(2024, 5, 1), date(2024, 5, 2), Granularity.day)
    with db.transaction(write=False) as session:
        result = stats.link_stats(session, link_id, rng, zone)
    assert {b.key: b.people for b in result.series} == days
    # In Shanghai the two visits fall on two days, so the same phone counts twice.
    assert result.totals.uniques == (2 if zone == "Asia/Shanghai" else 1)


def test_hours_are_shown_in_the_zone_and_match_the_days(db):
    link_id = make_link(db, "late")
    VisitRecorder(db, SECRET, TZ).write(
        [visit(link_id, at("2024-05-01 23:30"), IPHONE_SAFARI, "9.9.9.9")]
    )
    rng = StatsRange(date(2024, 5, 1), date(2024, 5, 1), Granularity.hour)
    with db.transaction(write=False) as session:
        result = stats.link_stats(session, link_id, rng, TZ)
    busy = [b.key for b in result.series if b.people]
    assert busy == ["2024-05-01T23:00:00+08:00"]


def test_referrers_past_the_top_ten_roll_up(db):
    link_id = make_link(db, "many")
    recorder = VisitRecorder(db, SECRET, TZ)
    batch = []
    for n in range(12):
        for _ in range(12 - n):  # site0 most visited, site11 least
            batch.append(
                visit(
                    link_id,
                    at("2024-05-03 12:00"),
                    DESKTOP_CHROME,
                    f"10.0.0.{n}",
                    f"https://site{n}.example/",
                )
            )
    recorder.write(batch)
    referrer = link_stats(db, link_id).breakdowns.referrer
    assert [s.key for s in referrer[:10]] == [f"site{n}.example" for n in range(10)]
    assert referrer[10] == Share(REST_KEY, 2 + 1, 0)
    assert len(referrer) == 11


def test_raw_visits_stream_in_pages(db, seeded):
    with db.transaction(write=False) as session:
        rows = list(stats.iter_visits(session, seeded["a"], batch_size=3))
        assert stats.count_visits(session, seeded["a"]) == 8
    assert len(rows) == 8
    assert len({r.id for r in rows}) == 8
    assert [r.ts for r in rows] == sorted(r.ts for r in rows)
    assert sum(r.is_bot for r in rows) == 2
    assert rows[0].user_agent == WECHAT_IPHONE
    assert rows[0].ip == "1.1.1.1"


def test_stats_to_dict_is_plain_json(db, seeded):
    import json

    data = link_stats(db, seeded["a"]).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["granularity"] == "day"
    assert data["timezone"] == TZ
    assert set(data["breakdowns"]) == {"os", "device", "browser", "referrer", "app", "bot"}
