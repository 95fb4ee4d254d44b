"""Views queued by the landing, written by the visit recorder, counted by the stats,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from qunyun.db.engine import Database
from qunyun.livecodes import members as pool
from qunyun.livecodes import service
from qunyun.livecodes.lookup import code_members
from qunyun.livecodes.public import record_press
from qunyun.livecodes.service import LiveCodeEnv
from qunyun.livecodes.stats import code_link_ids, code_scope, code_tables
from qunyun.visits.models import Visit
from qunyun.visits.recorder import PendingVisit, VisitRecorder
from qunyun.visits.stats import Granularity, StatsRange, compute_stats
from tests.livecodes.conftest import MakeCode
from tests.livecodes.helpers import DESKTOP_UA, TELEGRAM_BOT, WECHAT_GROUPS, WECHAT_UA

OWNER = service.installation_principal()
NOW = datetime.now(UTC).timestamp()


def recorder(db: Database) -> VisitRecorder:
    return VisitRecorder(db, secret="s", timezone="Asia/Shanghai")


def test_views_add_scans_to_the_member_shown(db: Database, make_code: MakeCode) -> None:
    code = make_code("A", members=WECHAT_GROUPS[:2])
    with db.session(write=False) as s:
        link = service.main_link(s, code.id).id
        first, second = (m.id for m in code_members(s, code.id))
    batch = [
        PendingVisit(link, NOW, None, WECHAT_UA, "10.0.0.1", member_id=first),
        PendingVisit(link, NOW, None, WECHAT_UA, "10.0.0.2", member_id=first),
        # A returning visitor: recorded, not counted against the threshold.
        PendingVisit(link, NOW, None, WECHAT_UA, "10.0.0.1", member_id=first, count_scan=False),
        # A bot never counts.
        PendingVisit(link, NOW, None, TELEGRAM_BOT, "10.0.0.3", member_id=second),
        PendingVisit(link, NOW, None, DESKTOP_UA, "10.0.0.4", member_id=second),
        PendingVisit(link, NOW, None, DESKTOP_UA, "10.0.0.5"),
    ]
    recorder(db).write(batch)
    with db.session(write=False) as s:
        assert [m.scans for m in code_members(s, code.id)] == [2, 1]
        rows = list(s.scalars(select(Visit).order_by(Visit.id)))
        assert [v.member_id for v in rows] == [first, first, first, second, second, None]
        link_row = service.main_link(s, code.id)
        assert (link_row.human_visits, link_row.bot_visits) == (5, 1)


def test_a_member_deleted_before_the_flush_does_not_lose_the_batch(
    db: Database, env: LiveCodeEnv, make_code: MakeCode
) -> None:
    code = make_code("A", members=WECHAT_GROUPS[:2])
    with db.session(write=False) as s:
        link = service.main_link(s, code.id).id
        first, second = (m.id for m in code_members(s, code.id))
    with db.transaction() as s:
        pool.delete_member(s, env, OWNER, 1, code.id, first)
    recorder(db).write(
        [
            PendingVisit(link, NOW, None, WECHAT_UA, "10.0.0.1", member_id=first),
            PendingVisit(link, NOW, None, WECHAT_UA, "10.0.0.2", member_id=second),
        ]
    )
    with db.session(write=False) as s:
        assert [v.member_id for v in s.scalars(select(Visit).order_by(Visit.id))] == [None, second]
        assert [m.scans for m in code_members(s, code.id)] == [1]


def test_stats_per_code_member_channel_and_presses(
    db: Database, env: LiveCodeEnv, make_code: MakeCode
) -> None:
    code = make_code("A", members=WECHAT_GROUPS[:2])
    merged = make_code("Old")
    with db.transaction() as s:
        channel = service.add_channel(s, env, OWNER, 1, code.id, "海报").link.id
        main = service.main_link(s, code.id).id
        old_link = service.main_link(s, merged.id).id
        service.merge_code(s, env, OWNER, 1, merged.id, code.id)
        first, second = (m.id for m in code_members(s, code.id))
    recorder(db).write(
        [
            PendingVisit(main, NOW, None, WECHAT_UA, "1.1.1.1", member_id=first),
            PendingVisit(main, NOW, None, WECHAT_UA, "1.1.1.1", member_id=first, count_scan=False),
            PendingVisit(channel, NOW, None, WECHAT_UA, "2.2.2.2", member_id=second),
            PendingVisit(old_link, NOW, None, DESKTOP_UA, "3.3.3.3", member_id=second),
            PendingVisit(channel, NOW, None, TELEGRAM_BOT, "4.4.4.4"),
        ]
    )
    day = datetime.fromtimestamp(NOW, ZoneInfo("Asia/Shanghai")).date()
    with db.transaction() as s:
        record_press(s, code.id, first, main, datetime.now(UTC), day, "k1")
        record_press(s, code.id, second, channel, datetime.now(UTC), day, "k2")
        record_press(s, code.id, 10**9, 10**9, datetime.now(UTC), day, "k3")  # both gone
    rng = StatsRange(day - timedelta(days=1), day + timedelta(days=1), Granularity.day)
    with db.session(write=False) as s:
        ids = code_link_ids(s, code.id)
        assert sorted(ids) == sorted([main, channel, old_link])
        tables = code_tables(s, code.id, rng)
        assert tables.total.to_dict() == {"people": 4, "uniques": 3, "presses": 3}
        assert tables.members[first].to_dict() == {"people": 2, "uniques": 1, "presses": 1}
        assert tables.members[second].to_dict() == {"people": 2, "uniques": 2, "presses": 1}
        assert tables.members[None].presses == 1
        assert tables.links[channel].to_dict() == {"people": 1, "uniques": 1, "presses": 1}
        assert tables.links[old_link].people == 1
        whole = compute_stats(s, code_scope(ids), rng, "Asia/Shanghai")
        assert (whole.totals.people, whole.totals.bots) == (4, 1)
        one = compute_stats(s, code_scope(ids, member_id=second), rng, "Asia/Shanghai")
        assert one.totals.people == 2
        devices = {share.key: share.people for share in one.breakdowns.device}
        assert devices == {"phone": 1, "desktop": 1}
        poster = compute_stats(s, code_scope(ids, link_id=channel), rng, "Asia/Shanghai")
        assert (poster.totals.people, poster.totals.bots) == (1, 1)
