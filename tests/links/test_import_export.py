"""Bulk import and export through the service, on both databases."""

from __future__ import annotations

import pytest

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.db.engine import Database
from qunyun.errors import DomainError
from qunyun.links import service
from qunyun.links.csv_io import export_lines, read_link_rows
from qunyun.links.inputs import LinkQuery, LinkStatus, NewLink
from qunyun.links.service import ImportReport, LinkEnv
from tests.links.conftest import counts

OWNER = service.installation_principal()
TZ = "Asia/Shanghai"

MIXED = (
    "url,slug,title,tags,max_visits,expires_at\n"
    "https://example.com/ok,first,第一,海报|群,10,2031-01-01 08:00\n"  # row 2: fine
    "javascript:alert(1),,bad scheme,,,\n"  # row 3: refused
    "https://example.com/dup,FIRST,,,,\n"  # row 4: slug already used by row 2
    "https://example.com/gen,,,new-tag,,\n"  # row 5: fine, generated slug
    "https://example.com/taken,existing,,,,\n"  # row 6: slug taken in the database
    "https://example.com/half,half,,too-long-tag-" + "x" * 60 + ",,\n"  # row 7: bad tag
    "https://example.com/past,,,,,2001-01-01 00:00\n"  # row 8: expired already
)


def run_import(
    db: Database, env: LinkEnv, data: bytes, dry_run: bool = False, who: Principal = OWNER
) -> ImportReport:
    rows = read_link_rows(data, TZ)
    with db.transaction() as session:
        return service.import_links(session, env, who, 1, rows, dry_run=dry_run)


def seed(db: Database, env: LinkEnv) -> None:
    with db.transaction() as session:
        service.create_link(session, env, OWNER, 1, NewLink(url="https://e.com", slug="existing"))


def test_each_row_is_all_or_nothing(db: Database, env: LinkEnv) -> None:
    seed(db, env)
    links_before, tags_before, _ = counts(db)
    report = run_import(db, env, MIXED.encode())
    outcome = {r.row: (r.slug, r.error.code if r.error else None) for r in report.rows}
    assert outcome[2] == ("first", None)
    assert outcome[3] == (None, "url.dangerous_scheme")
    assert outcome[4] == (None, "csv.duplicate_slug")
    assert outcome[5][1] is None
    assert outcome[5][0]
    assert outcome[6] == (None, "slug.taken")
    assert outcome[7] == (None, "tag.too_long")
    assert outcome[8] == (None, "link.expiry_in_past")
    assert (report.created, report.failed) == (2, 5)
    links_after, tags_after, _ = counts(db)
    assert links_after == links_before + 2
    # Only the created rows' tags exist: the refused row 7 left nothing behind.
    assert tags_after == tags_before + 3
    with db.session(write=False) as session:
        first = service.get_link_by_slug(session, "first")
        assert sorted(t.name for t in first.tags) == ["海报", "群"]
        assert first.max_visits == 10


def test_duplicate_rows_report_the_first_row(db: Database, env: LinkEnv) -> None:
    data = b"url,slug\nhttps://a.com,Same\nhttps://b.com,same\n"
    report = run_import(db, env, data)
    error = report.rows[1].error
    assert error is not None
    assert error.params["first_row"] == 2


def test_dry_run_checks_everything_and_creates_nothing(db: Database, env: LinkEnv) -> None:
    seed(db, env)
    before = counts(db)
    report = run_import(db, env, MIXED.encode(), dry_run=True)
    assert report.dry_run
    assert [r.ok for r in report.rows] == [True, False, False, True, False, False, False]
    assert report.rows[4].error is not None
    assert report.rows[4].error.code == "slug.taken"
    assert counts(db) == before


def test_gbk_file_from_excel(db: Database, env: LinkEnv) -> None:
    data = "url,title,tags\nhttps://example.com/课程,春季课程,海报，朋友圈\n".encode("gbk")
    report = run_import(db, env, data)
    assert report.failed == 0
    slug = report.rows[0].slug
    assert slug is not None
    with db.session(write=False) as session:
        link = service.get_link_by_slug(session, slug)
        assert link.title == "春季课程"
        assert link.target_url == "https://example.com/%E8%AF%BE%E7%A8%8B"
        assert sorted(t.name for t in link.tags) == ["朋友圈", "海报"]


def test_viewer_cannot_import(db: Database, env: LinkEnv, people: dict[Role, Principal]) -> None:
    before = counts(db)
    with pytest.raises(DomainError) as caught:
        run_import(db, env, b"url\nhttps://e.com\n", who=people[Role.viewer])
    assert caught.value.status == 403
    assert counts(db) == before


def test_export_round_trip(db: Database, env: LinkEnv) -> None:
    source = (
        "url,slug,title,note,tags,expires_at,max_visits,redirect_status,utm_source,utm_content\n"
        'https://example.com/a,a-one,"Quote ""this"", comma","多行\n备注",x|海报,'
        "2031-02-03 04:05,7,301,poster,=SUM(A1)\n"
        "https://example.com/b,b-two,,,,,,,,\n"
    )
    assert run_import(db, env, source.encode()).failed == 0
    with db.transaction() as session:
        service.set_enabled(session, env, OWNER, 1, "b-two", False)
    with db.session(write=False) as session:
        rows = list(service.iter_export_rows(session, env, 1, LinkQuery()))
    exported = "".join(export_lines(rows, TZ))
    assert exported.startswith("\ufeffurl,slug,")
    assert "https://s.example.cn/a-one" in exported
    assert ",disabled\r\n" in exported
    assert ",active\r\n" in exported
    # The exported file is itself importable: into a fresh namespace of slugs.
    renamed = exported.replace("a-one", "a-copy").replace("b-two", "b-copy")
    report = run_import(db, env, renamed.encode("utf-8"))
    assert report.failed == 0
    with db.session(write=False) as session:
        original = service.get_link_by_slug(session, "a-one")
        copy = service.get_link_by_slug(session, "a-copy")
    for name in (
        "target_url",
        "title",
        "note",
        "expires_at",
        "max_visits",
        "redirect_status",
        "utm_source",
        "utm_content",
    ):
        assert getattr(copy, name) == getattr(original, name), name
    assert copy.note == "多行\n备注"
    assert copy.utm_content == "=SUM(A1)"
    assert [t.name for t in copy.tags] == [t.name for t in original.tags]


def test_export_follows_the_filters(db: Database, env: LinkEnv) -> None:
    run_import(db, env, b"url,slug,tags\nhttps://a.com,aa,keep\nhttps://b.com,bb,\n")
    with db.session(write=False) as session:
        tagged = list(service.iter_export_rows(session, env, 1, LinkQuery(tag="keep")))
        disabled = list(
            service.iter_export_rows(session, env, 1, LinkQuery(status=LinkStatus.disabled))
        )
    assert [r.slug for r in tagged] == ["aa"]
    assert disabled == []
