"""Client addresses: kept only for the retention period; visitor keys change every day."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from qunyun.db.engine import Database
from qunyun.visits.keys import visitor_key
from qunyun.visits.models import Visit
from qunyun.visits.recorder import PendingVisit, VisitRecorder
from tests.visits.helpers import IPHONE_SAFARI, at, make_link

pytestmark = pytest.mark.storage

DAY = 86400.0


def write(recorder: VisitRecorder, link_id: int, *visits: tuple[float, str]) -> None:
    recorder.write(
        [
            PendingVisit(link_id=link_id, ts=ts, referrer=None, user_agent=IPHONE_SAFARI, ip=ip)
            for ts, ip in visits
        ]
    )


def stored(db: Database) -> list[tuple[str | None, str]]:
    with db.transaction(write=False) as session:
        return [
            (row.ip, row.visitor_key)
            for row in session.execute(select(Visit.ip, Visit.visitor_key).order_by(Visit.ts))
        ]


def test_purge_erases_old_addresses_and_keeps_recent_ones(db):
    link_id = make_link(db, "kept")
    recorder = VisitRecorder(db, "secret", "Asia/Shanghai", ip_retention_days=7)
    now = time.time()
    write(
        recorder, link_id, (now - 9 * DAY, "1.1.1.1"), (now - 6 * DAY, "2.2.2.2"), (now, "3.3.3.3")
    )
    assert recorder.purge_ips() == 1
    rows = stored(db)
    assert [ip for ip, _ in rows] == [None, "2.2.2.2", "3.3.3.3"]
    # The visitor key stays, so uniques still count after the address is gone.
    assert all(len(key) == 32 for _, key in rows)
    assert recorder.purge_ips() == 0


def test_retention_zero_stores_no_address(db):
    link_id = make_link(db, "anonymous")
    recorder = VisitRecorder(db, "secret", "Asia/Shanghai", ip_retention_days=0)
    now = time.time()
    write(recorder, link_id, (now, "1.1.1.1"), (now, "2.2.2.2"))
    rows = stored(db)
    assert [ip for ip, _ in rows] == [None, None]
    # Two people are still two people.
    assert rows[0][1] != rows[1][1]


def test_purge_with_retention_zero_erases_everything_stored_before(db):
    link_id = make_link(db, "tightened")
    write(
        VisitRecorder(db, "secret", "UTC", ip_retention_days=30),
        link_id,
        (time.time() - 60, "1.1.1.1"),
    )
    assert VisitRecorder(db, "secret", "UTC", ip_retention_days=0).purge_ips() == 1
    assert stored(db)[0][0] is None


def test_visitor_keys_change_across_days_not_across_links(db):
    first, second = make_link(db, "one"), make_link(db, "two")
    recorder = VisitRecorder(db, "secret", "Asia/Shanghai")
    write(recorder, first, (at("2024-05-01 09:00"), "1.1.1.1"), (at("2024-05-01 23:59"), "1.1.1.1"))
    write(recorder, second, (at("2024-05-01 12:00"), "1.1.1.1"))
    write(recorder, first, (at("2024-05-02 00:01"), "1.1.1.1"))
    keys = [key for _, key in stored(db)]
    assert keys[0] == keys[1] == keys[2]  # one person, one day, two links
    assert keys[3] != keys[0]  # the next day the same person is unlinkable


def test_visitor_key_depends_on_secret_day_address_and_agent():
    from datetime import date

    base = visitor_key(b"s", date(2024, 5, 1), "1.1.1.1", "ua")
    assert base == visitor_key(b"s", date(2024, 5, 1), "1.1.1.1", "ua")
    variants = {
        visitor_key(b"t", date(2024, 5, 1), "1.1.1.1", "ua"),
        visitor_key(b"s", date(2024, 5, 2), "1.1.1.1", "ua"),
        visitor_key(b"s", date(2024, 5, 1), "1.1.1.2", "ua"),
        visitor_key(b"s", date(2024, 5, 1), "1.1.1.1", "ub"),
    }
    assert base not in variants
    assert len(variants) == 4
    assert "1.1.1.1" not in base
