"""Rule books in storage: versions, group overrides, refused documents, compiled matchers."""

from __future__ import annotations

import pytest

from qunyun.community.models import Group
from qunyun.db.engine import Database
from qunyun.errors import NotFound
from qunyun.moderation import books
from qunyun.moderation.rulebook import RuleBook
from qunyun.moderation.yaml_io import RulebookInvalid, dump_rulebook


def _group(db: Database, name: str = "一群", community_id: int = 1) -> int:
    with db.transaction() as s:
        group = Group(community_id=community_id, platform="qq", platform_group_id=name, name=name)
        s.add(group)
        s.flush()
        return group.id


def _book(**changes: object) -> RuleBook:
    return RuleBook.model_validate({**books.starter_book().to_data(), **changes})


def test_the_starter_book_is_in_force_until_a_community_saves_its_own(db: Database) -> None:
    gid = _group(db)
    with db.session(write=False) as s:
        effective = books.effective_book(s, 1, gid)
    assert effective.book == books.starter_book()
    assert effective.key == (0, 0) and effective.cited_book_id is None


def test_every_save_is_a_new_version_and_older_ones_stay_readable(db: Database) -> None:
    with db.transaction() as s:
        books.save_community_book(s, 1, _book(dry_run=True), author_id=None, note="first week")
    with db.transaction() as s:
        books.save_community_book(s, 1, _book(dry_run=False), author_id=None)
    with db.session(write=False) as s:
        book, version = books.community_book(s, 1)
        history = books.versions(s, 1, None)
        first = books.version_of(s, 1, None, 1)
        with pytest.raises(NotFound):
            books.version_of(s, 1, None, 9)
    assert version == 2 and book.dry_run is False
    assert [v.version for v in history] == [2, 1]
    assert first.document["dry_run"] is True and first.note == "first week"


def test_a_group_override_merges_over_the_community_book(db: Database) -> None:
    gid = _group(db)
    other = _group(db, "二群")
    with db.transaction() as s:
        books.save_group_override(
            s, 1, gid, {"flood": {"max_messages": 3}, "dry_run": True}, author_id=None
        )
    with db.session(write=False) as s:
        effective = books.effective_book(s, 1, gid)
        untouched = books.effective_book(s, 1, other)
    assert effective.book.flood.max_messages == 3 and effective.book.dry_run is True
    # Only the named field changed: the rest of flood is the community's.
    assert effective.book.flood.window_seconds == books.starter_book().flood.window_seconds
    assert effective.key == (0, 1) and effective.cited_version == 1
    assert untouched.book == books.starter_book()


def test_refused_documents_change_nothing(db: Database) -> None:
    gid = _group(db)
    with db.transaction() as s:
        books.save_community_book(s, 1, _book(), author_id=None)
    bad_documents = [
        "flood: [unclosed",
        "categories:\n  ads:\n    patterns: ['(a+)+$']\n",
        "flood:\n  max_messagez: 3\n",
    ]
    for text in bad_documents:
        with pytest.raises(RulebookInvalid) as refused, db.transaction() as s:
            books.import_community_yaml(s, 1, text, author_id=None)
        assert refused.value.problems[0].line is not None
    with pytest.raises(RulebookInvalid), db.transaction() as s:
        books.import_group_yaml(s, 1, gid, "flood:\n  max_messages: -1\n", author_id=None)
    with pytest.raises(RulebookInvalid), db.transaction() as s:
        books.save_group_override(s, 1, gid, {"ladder": {"steps": []}}, author_id=None)
    with db.session(write=False) as s:
        assert books.community_book(s, 1)[1] == 1
        assert books.group_override(s, 1, gid) == ({}, 0)
        assert [v.version for v in books.versions(s, 1, None)] == [1]


def test_yaml_round_trip_through_storage(db: Database) -> None:
    text = dump_rulebook(_book(dry_run=True))
    with db.transaction() as s:
        saved = books.import_community_yaml(s, 1, text, author_id=None)
    with db.session(write=False) as s:
        book, version = books.community_book(s, 1)
    assert version == saved.version == 1 and book == _book(dry_run=True)


def test_another_communitys_group_is_not_found(db: Database) -> None:
    gid = _group(db)
    with db.session(write=False) as s, pytest.raises(NotFound):
        books.group_override(s, 2, gid)


def test_groups_without_an_override_share_one_compiled_matcher(db: Database) -> None:
    first, second, special = _group(db), _group(db, "二群"), _group(db, "三群")
    with db.transaction() as s:
        books.save_group_override(
            s, 1, special, {"categories": {"ads": {"words": ["团购"]}}}, author_id=None
        )
    cache = books.MatcherCache()
    with db.session(write=False) as s:
        a = cache.matcher(1, first, books.effective_book(s, 1, first))
        b = cache.matcher(1, second, books.effective_book(s, 1, second))
        c = cache.matcher(1, special, books.effective_book(s, 1, special))
    assert a is b and c is not a
    assert any(m.category == "ads" for m in c.scan("这里团购便宜"))
