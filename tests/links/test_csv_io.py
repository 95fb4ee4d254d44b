"""Reading and writing link CSV files (pure)."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qunyun.errors import DomainError
from qunyun.links import csv_io
from qunyun.links.csv_io import EXPORT_COLUMNS, ExportRow, export_lines, read_link_rows

TZ = "Asia/Shanghai"
HEADER = "url,slug,title,note,tags,expires_at,max_visits,redirect_status,utm_source,password\n"


def test_full_row_is_parsed() -> None:
    text = HEADER + (
        'https://example.com,Promo,"标题, with comma","line 1\nline 2",'
        "海报|wechat，群 ,2030-06-30 18:00,100,301,poster,s3cret\n"
    )
    (row,) = read_link_rows(text.encode(), TZ)
    assert row.error is None
    assert row.link is not None
    link = row.link
    assert (row.number, row.slug_key) == (2, "promo")
    assert (link.url, link.slug, link.title) == ("https://example.com", "Promo", "标题, with comma")
    assert link.note == "line 1\nline 2"
    assert link.tags == ("海报", "wechat", "群")
    assert link.expires_at == datetime(2030, 6, 30, 10, 0, tzinfo=UTC)
    assert (link.max_visits, link.redirect_status, link.utm_source) == (100, 301, "poster")
    assert link.password == "s3cret"


def test_row_numbers_count_records_and_skip_blank_rows() -> None:
    text = 'url,note\nhttps://a.example,"two\nlines"\n,\n\nhttps://b.example,\n'
    rows = read_link_rows(text.encode(), TZ)
    assert [r.number for r in rows] == [2, 5]


@pytest.mark.parametrize(
    "encoded",
    [
        ("url,title\nhttps://example.com,中文标题\n").encode(),
        codecs.BOM_UTF8 + ("url,title\nhttps://example.com,中文标题\n").encode(),
        ("url,title\nhttps://example.com,中文标题\n").encode("gbk"),
        ("url,title\nhttps://example.com,中文标题\n").encode("gb18030"),
        codecs.BOM_UTF16_LE
        + ("url\ttitle\r\nhttps://example.com\t中文标题\r\n").encode("utf-16-le"),
    ],
    ids=["utf8", "utf8-bom", "gbk", "gb18030", "utf16-tab"],
)
def test_encodings(encoded: bytes) -> None:
    (row,) = read_link_rows(encoded, TZ)
    assert row.link is not None
    assert row.link.title == "中文标题"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "csv.empty"),
        (b"slug,title\nabc,x\n", "csv.missing_url_column"),
        (b"url,URL\nx,y\n", "csv.duplicate_column"),
        (b"url,title\nhttps://e.com,\xff\xfe\xfa\n", "csv.bad_encoding"),
        (codecs.BOM_UTF8 + b"url\n\xff\n", "csv.bad_encoding"),
        (b"url\n" + b"https://e.com/x\n" * (csv_io.MAX_CSV_ROWS + 1), "csv.too_many_rows"),
        (b"url\n" + b"x" * (csv_io.MAX_CSV_BYTES), "csv.too_large"),
    ],
)
def test_file_refusals(data: bytes, code: str) -> None:
    with pytest.raises(DomainError) as caught:
        read_link_rows(data, TZ)
    assert caught.value.code == code


def test_bad_encoding_names_the_line() -> None:
    data = "url,title\nhttps://a.example,好\nhttps://b.example,".encode() + b"\x80\x80\xff\n"
    with pytest.raises(DomainError) as caught:
        read_link_rows(data, TZ)
    assert caught.value.params == {"line": 3}


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("https://e.com,x,soon", "csv.invalid_datetime"),
        ("https://e.com,x,2030-06-30", "csv.invalid_datetime"),  # a date alone is ambiguous
        ("https://e.com,ten,", "csv.invalid_integer"),
        (",x,", "url.empty"),
        ("https://e.com,1,,extra", "csv.too_many_cells"),
    ],
)
def test_row_refusals_are_reported_per_row(line: str, code: str) -> None:
    text = "url,max_visits,expires_at\nhttps://ok.example,,\n" + line + "\n"
    first, second = read_link_rows(text.encode(), TZ)
    assert first.error is None
    assert second.link is None
    assert second.error is not None
    assert second.error.code == code


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2030-06-30 18:00", datetime(2030, 6, 30, 10, 0, tzinfo=UTC)),
        ("2030-06-30T18:00:30", datetime(2030, 6, 30, 10, 0, 30, tzinfo=UTC)),
        ("2030-06-30T18:00:00+00:00", datetime(2030, 6, 30, 18, 0, tzinfo=UTC)),
        ("2030-06-30T18:00Z", datetime(2030, 6, 30, 18, 0, tzinfo=UTC)),
        ("2030/6/30 18:00", datetime(2030, 6, 30, 10, 0, tzinfo=UTC)),  # as Excel re-saves it
    ],
)
def test_datetimes(text: str, expected: datetime) -> None:
    assert csv_io.parse_datetime(text, TZ) == expected


def test_spreadsheet_artefacts_are_tolerated() -> None:
    (row,) = read_link_rows(b"URL , Max_Visits\nhttps://e.com,100.0\n", TZ)
    assert row.link is not None
    assert row.link.max_visits == 100


def _export_row(**changes: object) -> ExportRow:
    values: dict[str, object] = {
        "url": "https://example.com/",
        "slug": "abc",
        "title": None,
        "note": None,
        "tags": (),
        "expires_at": None,
        "max_visits": None,
        "redirect_status": 302,
        "utm_source": None,
        "utm_medium": None,
        "utm_campaign": None,
        "utm_term": None,
        "utm_content": None,
        "short_url": "https://s.example/abc",
        "human_visits": 0,
        "bot_visits": 0,
        "created_at": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        "state": "active",
    }
    values.update(changes)
    return ExportRow(**values)  # type: ignore[arg-type]


def test_export_starts_with_a_bom_and_the_header() -> None:
    lines = list(export_lines([_export_row(tags=("a", "海报"), max_visits=5)], TZ))
    assert lines[0] == "\ufeff" + ",".join(EXPORT_COLUMNS) + "\r\n"
    assert lines[1] == (
        # the five UTM cells, then the seven of who may open it and its share card
        "https://example.com/,abc,,,a|海报,,5,302,,,,,,,,,,,,,https://s.example/abc,0,0,"
        "2025-01-02 11:04:05,active\r\n"
    )


def test_export_defuses_formulas() -> None:
    lines = list(export_lines([_export_row(title='=HYPERLINK("x")', note="+1", tags=("-x",))], TZ))
    cells = lines[1].split(",")
    assert cells[2].startswith("\"'=HYPERLINK")
    assert cells[3] == "'+1"
    assert cells[4] == "'-x"


texts = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
).filter(lambda s: s.strip() == s and s != "")
tag_names = st.text(
    st.characters(blacklist_categories=("Cs", "Z", "Cc"), blacklist_characters="|,，"),
    min_size=1,
    max_size=10,
)


@given(
    title=st.one_of(st.none(), texts),
    note=st.one_of(st.none(), texts),
    tags=st.lists(tag_names, max_size=4, unique=True),
    utm=st.one_of(st.none(), texts),
    max_visits=st.one_of(st.none(), st.integers(1, 2**31 - 1)),
)
def test_export_reads_back(
    title: str | None, note: str | None, tags: list[str], utm: str | None, max_visits: int | None
) -> None:
    """Commas, quotes, newlines, Chinese and formula-like text survive a round trip."""
    expires = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    row = _export_row(
        title=title,
        note=note,
        tags=tuple(tags),
        utm_campaign=utm,
        max_visits=max_visits,
        expires_at=expires,
    )
    data = "".join(export_lines([row], TZ)).encode("utf-8")
    (parsed,) = read_link_rows(data, TZ)
    assert parsed.error is None
    assert parsed.link is not None
    link = parsed.link
    assert (link.url, link.slug) == (row.url, row.slug)
    assert (link.title, link.note, link.utm_campaign) == (title, note, utm)
    assert link.tags == tuple(tags)
    assert link.max_visits == max_visits
    assert link.expires_at == expires


@given(st.text(max_size=30))
def test_cell_escaping_is_reversible(value: str) -> None:
    assert csv_io.unescape_cell(csv_io.escape_cell(value)) == value
