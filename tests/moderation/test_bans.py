"""The shared ban list: services, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from qunyun.accounts.roles import Role
from qunyun.db.engine import Database
from qunyun.errors import DomainError
from qunyun.moderation import bans
from qunyun.moderation.models import AuditEntry, Ban
from tests.community.helpers import ingest, joined, owner

OWNER = owner()


def _actions(db: Database) -> list[str]:
    with db.session(write=False) as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_add_ban_is_idempotent_and_is_banned_sees_it(db: Database) -> None:
    with db.transaction() as s:
        assert not bans.is_banned(s, 1, "onebot", "10001")
        first = bans.add_ban(s, 1, "onebot", " 10001 ", reason="赌博广告")
        again = bans.add_ban(s, 1, "OneBot", "10001", reason="second time")
        assert again.id == first.id
        assert again.reason == "赌博广告"
    with db.session(write=False) as s:
        assert bans.is_banned(s, 1, "onebot", "10001")
        assert not bans.is_banned(s, 1, "telegram", "10001")
        assert not bans.is_banned(s, 1, "onebot", "10002")
    assert _actions(db) == ["ban.added"]


def test_ban_links_the_member_and_lift_then_reban(db: Database) -> None:
    ingest(db, [joined("100", "u7", "赵六", 0)])
    with db.transaction() as s:
        ban = bans.add_ban(s, 1, "onebot", "u7", reason="引流")
        assert ban.member_id is not None
        ban_id = ban.id
    with db.transaction() as s:
        bans.lift_ban(s, 1, ban_id, note="误判")
        bans.lift_ban(s, 1, ban_id)  # twice: nothing more happens
    with db.session(write=False) as s:
        assert not bans.is_banned(s, 1, "onebot", "u7")
    with db.transaction() as s:
        again = bans.add_ban(s, 1, "onebot", "u7", reason="又来了")
        assert again.id == ban_id and again.lifted_at is None and again.reason == "又来了"
    with db.session(write=False) as s:
        assert bans.is_banned(s, 1, "onebot", "u7")
    assert _actions(db) == ["ban.added", "ban.lifted", "ban.added"]


def test_expired_ban_no_longer_counts(db: Database) -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    with db.transaction() as s:
        bans.add_ban(s, 1, "telegram", "42", expires_at=now + timedelta(days=1), now=now)
    with db.session(write=False) as s:
        assert bans.is_banned(s, 1, "telegram", "42", now=now + timedelta(hours=23))
        assert not bans.is_banned(s, 1, "telegram", "42", now=now + timedelta(days=2))


def test_ban_is_per_community(db: Database) -> None:
    from qunyun.community.models import Community

    with db.transaction() as s:
        other = Community(slug="other", name="别的社群", timezone="Asia/Shanghai")
        s.add(other)
        s.flush()
        other_id = other.id
        bans.add_ban(s, 1, "onebot", "9")
    with db.session(write=False) as s:
        assert bans.is_banned(s, 1, "onebot", "9")
        assert not bans.is_banned(s, other_id, "onebot", "9")
    with db.transaction() as s, pytest.raises(DomainError) as exc:
        ban = s.scalar(select(Ban))
        assert ban is not None
        bans.lift_ban(s, other_id, ban.id)
    assert exc.value.code == "ban.not_found"


@pytest.mark.parametrize(
    ("platform", "uid", "code"),
    [
        ("", "1", "ban.bad_platform"),
        ("on bot", "1", "ban.bad_platform"),
        ("onebot", "", "ban.bad_user_id"),
        ("onebot", "a b", "ban.bad_user_id"),
        ("onebot", "x" * 129, "ban.bad_user_id"),
    ],
)
def test_bad_identities_are_refused(
    sqlite_db: Database, platform: str, uid: str, code: str
) -> None:
    with sqlite_db.transaction() as s, pytest.raises(DomainError) as exc:
        bans.add_ban(s, 1, platform, uid)
    assert exc.value.code == code


def test_roles_and_listing(db: Database) -> None:
    viewer = owner(role=Role.viewer)
    with db.transaction() as s:
        with pytest.raises(DomainError):
            bans.add_ban_as(s, viewer, 1, "onebot", "1")
        bans.add_ban_as(s, OWNER, 1, "onebot", "1", reason="卖号", display_name="小明")
        b2 = bans.add_ban_as(s, OWNER, 1, "telegram", "2", reason="porn_bot")
        bans.lift_ban_as(s, OWNER, 1, b2.id)
    with db.session(write=False) as s:
        active = bans.list_bans(s, viewer, 1, bans.BanQuery())
        assert [b.platform_user_id for b in active.items] == ["1"]
        assert bans.list_bans(s, viewer, 1, bans.BanQuery(status="lifted")).total == 1
        assert bans.list_bans(s, viewer, 1, bans.BanQuery(status="all")).total == 2
        assert bans.list_bans(s, viewer, 1, bans.BanQuery(q="小明")).total == 1
        assert bans.list_bans(s, viewer, 1, bans.BanQuery(q="%", status="all")).total == 0
        assert (
            bans.list_bans(s, viewer, 1, bans.BanQuery(platform="telegram", status="all")).total
            == 1
        )


CSV_OK = (
    "platform,platform_user_id,display_name,reason,expires_at\n"
    "onebot,111,张三,刷屏广告,\n"
    'telegram,222,,=HYPERLINK("x"),2099-01-01T00:00:00+00:00\n'
)


def test_csv_import_is_idempotent_and_exports_round_trip(db: Database) -> None:
    with db.transaction() as s:
        report = bans.import_csv(s, OWNER, 1, CSV_OK)
        assert (report.added, report.unchanged, report.problems) == (2, 0, [])
    with db.transaction() as s:
        report = bans.import_csv(s, OWNER, 1, "\ufeff" + CSV_OK)
        assert (report.added, report.unchanged) == (0, 2)
    with db.session(write=False) as s:
        text = "".join(bans.export_csv(s, OWNER, 1, bans.BanQuery(status="all")))
    assert text.startswith("\ufeffplatform,platform_user_id")
    assert "'=HYPERLINK" in text  # a formula is defused
    assert "张三" in text
    with db.transaction() as s:
        report = bans.import_csv(s, OWNER, 1, text)
        assert (report.added, report.unchanged) == (0, 2)
    assert _actions(db).count("ban.added") == 2


def test_csv_import_refuses_malformed_rows_with_line_numbers(db: Database) -> None:
    text = (
        "platform,platform_user_id,reason\n"
        "onebot,1,ok\n"
        "on bot,2,bad platform\n"
        "\n"
        "onebot,,no id\n"
        "onebot,4\n"
    )
    with db.transaction() as s:
        report = bans.import_csv(s, OWNER, 1, text)
    assert [(p.line, p.code) for p in report.problems] == [
        (3, "ban.bad_platform"),
        (5, "ban.bad_user_id"),
        (6, "ban.csv_cell_count"),
    ]
    assert report.added == 0
    with db.session(write=False) as s:
        assert s.scalar(select(Ban)) is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "ban.csv_empty"),
        ("platform,user\nonebot,1\n", "ban.csv_missing_column"),
        ("platform,platform_user_id,phone\nonebot,1,138\n", "ban.csv_unknown_column"),
        ("platform,platform_user_id,expires_at\nonebot,1,tomorrow\n", "ban.csv_bad_date"),
        ("platform,platform_user_id,expires_at\nonebot,1,2001-01-01\n", "ban.expiry_past"),
    ],
)
def test_csv_header_and_cell_problems(sqlite_db: Database, text: str, code: str) -> None:
    with sqlite_db.transaction() as s:
        report = bans.import_csv(s, OWNER, 1, text)
    assert [p.code for p in report.problems] == [code]


def test_csv_import_skips_lifted_rows_of_an_export(sqlite_db: Database) -> None:
    text = (
        "platform,platform_user_id,display_name,reason,expires_at,member_id,case_id,created_at,lifted_at\n"
        "onebot,1,,,,,,2026-01-01T00:00:00+00:00,2026-02-01T00:00:00+00:00\n"
        "onebot,2,,,,,,2026-01-01T00:00:00+00:00,\n"
    )
    with sqlite_db.transaction() as s:
        report = bans.import_csv(s, OWNER, 1, text)
    assert (report.added, report.skipped_lifted) == (1, 1)
