"""Rule books as signed-in users edit them: versions, refusals, overrides, history, diffs."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from qunyun.accounts.roles import Role
from qunyun.community.models import Group
from qunyun.db.engine import Database
from qunyun.errors import DomainError
from qunyun.moderation import books, editing
from qunyun.moderation.books import starter_book
from qunyun.moderation.models import AuditEntry
from qunyun.moderation.yaml_io import RulebookInvalid, dump_rulebook
from tests.community.helpers import ingest, joined, owner

ADMIN = owner(role=Role.admin)
OPERATOR = owner(role=Role.operator)
VIEWER = owner(role=Role.viewer)

GOOD = dump_rulebook(starter_book()).replace("dry_run: false", "dry_run: true")


def _group(db: Database) -> int:
    ingest(db, [joined("100", "u1", "张三", 0)])
    with db.session(write=False) as s:
        gid: int | None = s.scalar(select(Group.id))
        assert gid is not None
        return gid


def _audit(db: Database) -> list[tuple[str, int | None, str]]:
    with db.session(write=False) as s:
        return [
            (e.action, e.group_id, e.summary)
            for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def test_save_reads_back_as_the_new_version_with_an_audit_entry(db: Database) -> None:
    with db.session(write=False) as s:
        snap = editing.snapshot(s, VIEWER, 1)
        assert snap.version == 0 and not snap.effective.dry_run
    with db.transaction() as s:
        saved = editing.save_yaml(s, ADMIN, 1, None, GOOD, note="试运行一周")
        assert saved.version == 1
    with db.session(write=False) as s:
        snap = editing.snapshot(s, VIEWER, 1)
        assert snap.version == 1 and snap.effective.dry_run
        assert "dry_run: true" in snap.yaml
        hist = editing.history(s, VIEWER, 1)
        assert [(v.version, v.note, v.in_force) for v in hist] == [
            (1, "试运行一周", True),
            (0, "", False),
        ]
    assert _audit(db) == [("rulebook.saved", None, "v1 — 试运行一周")]


def test_operators_and_viewers_may_not_save(db: Database) -> None:
    for who in (OPERATOR, VIEWER):
        with db.transaction() as s, pytest.raises(DomainError) as exc:
            editing.save_yaml(s, who, 1, None, GOOD)
        assert (exc.value.status, exc.value.code) == (403, "role.insufficient")
    with db.transaction() as s, pytest.raises(DomainError) as exc:
        editing.snapshot(s, owner(community_id=2), 1)
    assert exc.value.status == 404
    assert _audit(db) == []


BAD = {
    "bad_yaml": ("version: 1\nname: 群规\n  topic: 互助\n", 3, "YAML"),
    "bad_pattern": (
        "version: 1\ncategories:\n  ads:\n    label: 广告\n    patterns: ['(加微信']\n",
        5,
        "正则表达式无效",
    ),
    "catastrophic_pattern": (
        "version: 1\ncategories:\n  ads:\n    label: 广告\n    patterns: ['(a+)+$']\n",
        5,
        "无限回溯",
    ),
    "unknown_key": ("version: 1\nflood:\n  max_mesages: 5\n", 3, "max_mesages"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_refused_import_keeps_the_book_in_force(db: Database, case: str) -> None:
    with db.transaction() as s:
        editing.save_yaml(s, ADMIN, 1, None, GOOD)
    text, line, words = BAD[case]
    with db.transaction() as s, pytest.raises(RulebookInvalid) as exc:
        editing.save_yaml(s, ADMIN, 1, None, text)
    assert exc.value.problems[0].code == case
    assert exc.value.problems[0].line == line
    message = exc.value.messages("zh-CN")[0]
    assert message.startswith(f"第 {line} 行") and words in message
    assert exc.value.messages("en")[0].startswith(f"Line {line}")
    with db.session(write=False) as s:
        book, version = books.community_book(s, 1)
        assert version == 1 and book.dry_run
    assert [a for a, _, _ in _audit(db)] == ["rulebook.saved"]


def test_json_documents_name_the_field_not_a_line(db: Database) -> None:
    data = starter_book().to_data()
    data["flood"]["max_messages"] = 0
    with db.transaction() as s, pytest.raises(RulebookInvalid) as exc:
        editing.save_data(s, ADMIN, 1, None, data)
    problem = exc.value.problems[0]
    assert (problem.line, problem.path) == (None, "flood.max_messages")
    assert exc.value.messages("en")[0].startswith("flood.max_messages: ")


def test_group_override_merges_and_a_breaking_community_book_is_refused(db: Database) -> None:
    gid = _group(db)
    with db.transaction() as s:
        editing.save_yaml(
            s,
            ADMIN,
            1,
            gid,
            "categories:\n  abuse: {enabled: false}\n"
            "ladder:\n  grave_categories: [porn, religion]\n",
        )
        editing.apply_switches(s, ADMIN, 1, gid, {"notice": {"where": "private"}})
    with db.session(write=False) as s:
        snap = editing.snapshot(s, VIEWER, 1, gid)
        assert snap.version == 2
        assert snap.document == {
            "categories": {"abuse": {"enabled": False}},
            "ladder": {"grave_categories": ["porn", "religion"]},
            "notice": {"where": "private"},
        }
        assert not snap.effective.categories["abuse"].enabled
        assert snap.effective.notice.where.value == "private"
        assert snap.effective.categories["ads"].enabled
    # The community book without "religion" would leave the group's override dangling.
    data = starter_book().to_data()
    del data["categories"]["religion"]
    with db.transaction() as s, pytest.raises(RulebookInvalid) as exc:
        editing.save_data(s, ADMIN, 1, None, data)
    assert exc.value.problems[0].code == "group_override_breaks"
    assert "群100" in exc.value.messages("zh-CN")[0]
    # A bad override is refused with its own line.
    with db.transaction() as s, pytest.raises(RulebookInvalid) as exc:
        editing.save_yaml(s, ADMIN, 1, gid, "flood:\n  max_messages: -1\n")
    assert exc.value.problems[0].line == 2
    assert [(a, g) for a, g, _ in _audit(db)] == [("rulebook.saved", gid)] * 2


def test_history_diff_and_restore(db: Database) -> None:
    with db.transaction() as s:
        editing.save_yaml(s, ADMIN, 1, None, GOOD)
        editing.apply_switches(s, ADMIN, 1, None, {"links": {"mode": "none"}}, note="严格")
    with db.session(write=False) as s:
        lines = editing.diff(s, VIEWER, 1, None, 1, 2)
        changed = [(d.kind, d.text) for d in lines if d.kind in ("add", "del")]
        assert changed == [("del", "-  mode: own_short_links"), ("add", "+  mode: none")]
        assert lines[0].kind == "file"
        assert editing.version_document(s, VIEWER, 1, None, 0) == starter_book().to_data()
        with pytest.raises(DomainError) as exc:
            editing.version_document(s, VIEWER, 1, None, 9)
        assert exc.value.status == 404
    with db.transaction() as s:
        restored = editing.restore(s, ADMIN, 1, None, 0)
        assert (restored.version, restored.note) == (3, "v0")
    with db.session(write=False) as s:
        book, version = books.community_book(s, 1)
        assert version == 3 and book == starter_book()
        assert [v.version for v in editing.history(s, VIEWER, 1)] == [3, 2, 1, 0]
