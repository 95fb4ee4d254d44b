"""Raw visits as CSV, for spreadsheets. Pure: rows in, text chunks out.

UTF-8 with a byte-order mark so Excel opens Chinese text correctly. Cells that a
spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` …) are prefixed with an
apostrophe: referrers and user agents are written by strangers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

BOM = "\ufeff"
COLUMNS = (
    "time",
    "referrer",
    "user_agent",
    "browser",
    "os",
    "device",
    "app",
    "is_bot",
    "bot_name",
    "ip",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class VisitRow:
    id: int
    ts: datetime
    referrer: str | None
    user_agent: str | None
    ip: str | None
    browser: str
    os: str
    device: str
    app: str | None
    is_bot: bool
    bot_name: str | None


def safe_cell(value: str | None) -> str:
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def csv_chunks(
    rows: Iterable[VisitRow],
    zone: ZoneInfo,
    *,
    ip_since: datetime | None,
    rows_per_chunk: int = 500,
) -> Iterator[str]:
    """The CSV text in chunks: BOM and header first, then ``rows_per_chunk`` rows each.

    ``ip_since``: addresses of visits before this instant are left out even if the
    hourly purge has not erased them yet; None leaves out every address.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield BOM + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    pending = 0
    for row in rows:
        show_ip = ip_since is not None and row.ip is not None and row.ts >= ip_since
        writer.writerow(
            (
                row.ts.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                safe_cell(row.referrer),
                safe_cell(row.user_agent),
                safe_cell(row.browser),
                safe_cell(row.os),
                row.device,
                row.app or "",
                "1" if row.is_bot else "0",
                safe_cell(row.bot_name),
                row.ip if show_ip else "",
            )
        )
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue()
