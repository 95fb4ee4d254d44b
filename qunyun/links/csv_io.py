"""CSV files of short links: reading an import, writing an export. Pure.

Reading accepts UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order
mark, and GB18030 (a superset of GBK and GB2312, which Excel writes on Chinese Windows);
a file that is none of these is refused with the line of the first bad byte. Commas,
tabs and semicolons are recognised as the separator from the header line.

Spreadsheets run cells starting with ``=``, ``+``, ``-`` or ``@`` as formulas, so text
cells written here get a leading ``'`` in that case (any existing run of leading
apostrophes before such a character gets one more), and reading removes exactly one:
a written file reads back to the same values.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from qunyun.errors import DomainError
from qunyun.links.inputs import GATE_NAMES, PREVIEW_NAMES, UTM_NAMES, NewLink
from qunyun.links.slugs import slug_key

MAX_CSV_BYTES = 5 * 1024 * 1024
MAX_CSV_ROWS = 10_000
IMPORT_COLUMNS = (
    "url",
    "slug",
    "title",
    "note",
    "tags",
    "expires_at",
    "max_visits",
    "redirect_status",
    *UTM_NAMES,
    *GATE_NAMES,
    "anti_block_mode",
    *PREVIEW_NAMES,
    "password",
)
# Passwords are stored hashed, so an export cannot hold them.
EXPORT_COLUMNS = (
    *(c for c in IMPORT_COLUMNS if c != "password"),
    "short_url",
    "human_visits",
    "bot_visits",
    "created_at",
    "state",
)
TAG_SEPARATORS = re.compile(r"[|,，]")
# Platform lists are written "wechat|qq"; commas and spaces are read too.
CHOICE_SEPARATORS = re.compile(r"[|,，\s]+")
EXPORT_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

_FORMULA_RE = re.compile(r"'*[=+\-@\t\r]")
_ESCAPED_FORMULA_RE = re.compile(r"'+[=+\-@\t\r]")
_LOCAL_FORMATS = ("%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y.%m.%d %H:%M:%S")


@dataclass(frozen=True)
class CsvRow:
    """One data row: the link it describes, or why it describes none.

    ``number`` counts records as a spreadsheet numbers rows: the header is row 1.
    """

    number: int
    link: NewLink | None
    error: DomainError | None = None
    slug_key: str | None = None


@dataclass(frozen=True)
class ExportRow:
    url: str
    slug: str
    title: str | None
    note: str | None
    tags: tuple[str, ...]
    expires_at: datetime | None
    max_visits: int | None
    redirect_status: int
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None
    utm_content: str | None
    short_url: str
    human_visits: int
    bot_visits: int
    created_at: datetime
    state: str
    allowed_apps: tuple[str, ...] = ()
    allowed_devices: tuple[str, ...] = ()
    allowed_os: tuple[str, ...] = ()
    anti_block_mode: str | None = None
    preview_title: str | None = None
    preview_description: str | None = None
    preview_image_url: str | None = None


# --- reading -------------------------------------------------------------------------


def decode_csv(data: bytes) -> str:
    """The text of an uploaded CSV file, or ``csv.bad_encoding`` naming the line."""
    if len(data) > MAX_CSV_BYTES:
        raise DomainError("csv.too_large", max_mb=MAX_CSV_BYTES // (1024 * 1024))
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise _bad_encoding(data, exc.start + len(bom)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise _bad_encoding(data, utf8_error.start) from None


def _bad_encoding(data: bytes, offset: int) -> DomainError:
    return DomainError("csv.bad_encoding", line=data.count(b"\n", 0, offset) + 1)


def read_link_rows(data: bytes, timezone: str) -> list[CsvRow]:
    """Every non-empty data row of an import file, parsed; whole-file problems raise."""
    text = decode_csv(data)
    if not text.strip():
        raise DomainError("csv.empty")
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [cell.strip().lstrip("\ufeff").lower() for cell in next(reader)]
        duplicates = sorted({name for name in header if name and header.count(name) > 1})
        if duplicates:
            raise DomainError("csv.duplicate_column", column=duplicates[0])
        if "url" not in header:
            raise DomainError("csv.missing_url_column")
        rows: list[CsvRow] = []
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_CSV_ROWS:
                raise DomainError("csv.too_many_rows", max_rows=MAX_CSV_ROWS)
            rows.append(_parse_row(number, header, cells, timezone))
    except csv.Error as exc:
        raise DomainError("csv.malformed", line=reader.line_num, reason=str(exc)) from None
    return rows


def _parse_row(number: int, header: list[str], cells: list[str], timezone: str) -> CsvRow:
    if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
        error = DomainError("csv.too_many_cells", cells=len(cells), columns=len(header))
        return CsvRow(number, None, error)
    values = {name: unescape_cell(cell) for name, cell in zip(header, cells, strict=False)}

    def text(name: str) -> str | None:
        value = values.get(name, "")
        return value if value.strip() else None

    try:
        url = text("url")
        if url is None:
            raise DomainError("url.empty")
        slug = text("slug")
        status = _integer(text("redirect_status"), "redirect_status")
        link = NewLink(
            url=url,
            slug=slug.strip() if slug else None,
            title=text("title"),
            note=text("note"),
            tags=split_tags(values.get("tags", "")),
            expires_at=_optional(text("expires_at"), "expires_at", timezone),
            max_visits=_integer(text("max_visits"), "max_visits"),
            password=values.get("password") or None,
            redirect_status=302 if status is None else status,
            utm_source=text("utm_source"),
            utm_medium=text("utm_medium"),
            utm_campaign=text("utm_campaign"),
            utm_term=text("utm_term"),
            utm_content=text("utm_content"),
            allowed_apps=split_choices(values.get("allowed_apps", "")),
            allowed_devices=split_choices(values.get("allowed_devices", "")),
            allowed_os=split_choices(values.get("allowed_os", "")),
            anti_block_mode=text("anti_block_mode"),
            preview_title=text("preview_title"),
            preview_description=text("preview_description"),
            preview_image_url=text("preview_image_url"),
        )
    except DomainError as exc:
        return CsvRow(number, None, exc)
    return CsvRow(number, link, slug_key=slug_key(link.slug) if link.slug else None)


def split_tags(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in TAG_SEPARATORS.split(text) if part.strip())


def split_choices(text: str) -> tuple[str, ...]:
    return tuple(part for part in CHOICE_SEPARATORS.split(text) if part)


def _optional(text: str | None, column: str, timezone: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_datetime(text, timezone)
    except DomainError as exc:
        raise DomainError(exc.code, column=column, **exc.params) from None


def _integer(text: str | None, column: str) -> int | None:
    if text is None:
        return None
    cleaned = text.strip()
    if cleaned.endswith(".0"):  # spreadsheets like to write 100 as 100.0
        cleaned = cleaned[:-2]
    if not re.fullmatch(r"[+-]?[0-9]{1,12}", cleaned):
        raise DomainError("csv.invalid_integer", column=column, value=text[:40])
    return int(cleaned)


def parse_datetime(text: str, timezone: str) -> datetime:
    """ISO 8601 or ``YYYY-MM-DD HH:MM`` (also with ``/``), local to ``timezone`` if no offset.

    A date without a time is refused: "until 2025-06-30" is read differently by
    different people.
    """
    cleaned = text.strip()
    value: datetime | None = None
    if ":" in cleaned:
        try:
            value = datetime.fromisoformat(cleaned)
        except ValueError:
            for fmt in _LOCAL_FORMATS:
                try:
                    value = datetime.strptime(cleaned, fmt)
                    break
                except ValueError:
                    continue
    if value is None:
        raise DomainError("csv.invalid_datetime", value=text[:40])
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value.astimezone(UTC)


def unescape_cell(cell: str) -> str:
    return cell[1:] if _ESCAPED_FORMULA_RE.match(cell) else cell


# --- writing -------------------------------------------------------------------------


def escape_cell(value: str) -> str:
    return "'" + value if _FORMULA_RE.match(value) else value


def export_lines(rows: Iterable[ExportRow], timezone: str) -> Iterator[str]:
    """The export file line by line: a UTF-8 byte-order mark (for Excel), header, rows."""
    zone = ZoneInfo(timezone)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Iterable[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    yield "\ufeff" + line(EXPORT_COLUMNS)
    for row in rows:
        yield line(_cells(row, zone))


def _cells(row: ExportRow, zone: ZoneInfo) -> list[str]:
    def local(value: datetime | None) -> str:
        return "" if value is None else value.astimezone(zone).strftime(EXPORT_TIME_FORMAT)

    def opt(value: object) -> str:
        return "" if value is None else escape_cell(str(value))

    return [
        escape_cell(row.url),
        escape_cell(row.slug),
        opt(row.title),
        opt(row.note),
        escape_cell("|".join(row.tags)),
        local(row.expires_at),
        opt(row.max_visits),
        str(row.redirect_status),
        opt(row.utm_source),
        opt(row.utm_medium),
        opt(row.utm_campaign),
        opt(row.utm_term),
        opt(row.utm_content),
        escape_cell("|".join(row.allowed_apps)),
        escape_cell("|".join(row.allowed_devices)),
        escape_cell("|".join(row.allowed_os)),
        opt(row.anti_block_mode),
        opt(row.preview_title),
        opt(row.preview_description),
        opt(row.preview_image_url),
        escape_cell(row.short_url),
        str(row.human_visits),
        str(row.bot_visits),
        local(row.created_at),
        row.state,
    ]
