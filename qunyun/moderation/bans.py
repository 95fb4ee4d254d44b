"""The community's shared ban list: banned in one group, kept out of all of them.

Services take the caller's session and never commit. :func:`add_ban`, :func:`lift_ban`
and :func:`is_banned` are for code that acts without a signed-in user (enforcement,
entry control); the ``*_as`` functions check the caller's role first. Viewers read the
list; operators add, lift, import and export.

A ban is keyed by (platform, platform user id): the list keeps people out of groups the
platform identifies them in, even ones Qunyun has never seen them in. Lifting keeps the
row (with ``lifted_at``) so the list shows its history; banning again re-activates it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community.models import MemberIdentity
from qunyun.db.base import utcnow
from qunyun.errors import DomainError, NotFound
from qunyun.i18n import gettext
from qunyun.moderation import audit
from qunyun.moderation.models import Ban
from qunyun.paging import Page

PLATFORM_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_USER_ID = 128
MAX_REASON = 500
MAX_NAME = 200
MAX_SEARCH = 100
MAX_IMPORT_ROWS = 50_000
MAX_CSV_BYTES = 8 * 1024 * 1024
CSV_COLUMNS = ("platform", "platform_user_id", "display_name", "reason", "expires_at")
EXPORT_COLUMNS = (
    "platform",
    "platform_user_id",
    "display_name",
    "reason",
    "expires_at",
    "member_id",
    "case_id",
    "created_at",
    "lifted_at",
)


def _clean_platform(platform: str) -> str:
    value = platform.strip().lower()
    if not PLATFORM_RE.match(value):
        raise DomainError("ban.bad_platform", platform=platform[:40])
    return value


def _clean_user_id(platform_user_id: str) -> str:
    value = platform_user_id.strip()
    if not value or len(value) > MAX_USER_ID or any(c.isspace() for c in value):
        raise DomainError("ban.bad_user_id", user_id=platform_user_id[:40])
    return value


def _active(ban: Ban, now: datetime) -> bool:
    return ban.lifted_at is None and (ban.expires_at is None or ban.expires_at > now)


def find_ban(
    session: Session, community_id: int, platform: str, platform_user_id: str
) -> Ban | None:
    """The row for this person, active or not."""
    return session.scalar(
        select(Ban).where(
            Ban.community_id == community_id,
            Ban.platform == platform,
            Ban.platform_user_id == platform_user_id,
        )
    )


def is_banned(
    session: Session,
    community_id: int,
    platform: str,
    platform_user_id: str,
    *,
    now: datetime | None = None,
) -> bool:
    """Whether the person is on the community's list now (not lifted, not expired)."""
    ban = find_ban(session, community_id, platform, platform_user_id)
    return ban is not None and _active(ban, now or utcnow())


def add_ban(
    session: Session,
    community_id: int,
    platform: str,
    platform_user_id: str,
    *,
    reason: str | None = None,
    display_name: str | None = None,
    member_id: int | None = None,
    case_id: int | None = None,
    added_by_id: int | None = None,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> Ban:
    """Put the person on the list; writes "ban.added" unless they were on it already.

    Idempotent: an active ban is returned as it is (a repeat from the same case or a
    second grave violation changes nothing); a lifted or expired one is re-activated
    with the new reason. ``member_id`` is looked up from the identity when not given.
    """
    platform = _clean_platform(platform)
    platform_user_id = _clean_user_id(platform_user_id)
    when = now or utcnow()
    if expires_at is not None and expires_at <= when:
        raise DomainError("ban.expiry_past")
    if member_id is None:
        member_id = session.scalar(
            select(MemberIdentity.member_id).where(
                MemberIdentity.community_id == community_id,
                MemberIdentity.platform == platform,
                MemberIdentity.platform_user_id == platform_user_id,
            )
        )
    reason = (reason or "").strip()[:MAX_REASON] or None
    display_name = (display_name or "").strip()[:MAX_NAME] or None
    ban = find_ban(session, community_id, platform, platform_user_id)
    if ban is not None and _active(ban, when):
        return ban
    if ban is None:
        ban = Ban(community_id=community_id, platform=platform, platform_user_id=platform_user_id)
        session.add(ban)
    ban.member_id = member_id if member_id is not None else ban.member_id
    ban.display_name = display_name or ban.display_name
    ban.reason = reason
    ban.case_id = case_id
    ban.added_by_id = added_by_id
    ban.created_at = when
    ban.expires_at = expires_at
    ban.lifted_at = None
    session.flush()
    audit.record(
        session,
        community_id,
        "ban.added",
        summary=f"{platform}:{platform_user_id}" + (f" — {reason}" if reason else ""),
        actor_user_id=added_by_id,
        member_id=ban.member_id,
        case_id=case_id,
        detail={"ban_id": ban.id, "platform": platform, "platform_user_id": platform_user_id},
    )
    return ban


def lift_ban(
    session: Session,
    community_id: int,
    ban_id: int,
    *,
    lifted_by_id: int | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Ban:
    """Take the person off the list; writes "ban.lifted". Lifting twice is a no-op."""
    ban = session.get(Ban, ban_id)
    if ban is None or ban.community_id != community_id:
        raise NotFound("ban.not_found")
    if ban.lifted_at is not None:
        return ban
    ban.lifted_at = now or utcnow()
    audit.record(
        session,
        community_id,
        "ban.lifted",
        summary=f"{ban.platform}:{ban.platform_user_id}" + (f" — {note}" if note else ""),
        actor_user_id=lifted_by_id,
        member_id=ban.member_id,
        case_id=ban.case_id,
        detail={
            "ban_id": ban.id,
            "platform": ban.platform,
            "platform_user_id": ban.platform_user_id,
        },
    )
    return ban


# --- reading and bulk work, for signed-in users ---------------------------------------


@dataclass(frozen=True)
class BanQuery:
    q: str = ""
    # "active", "lifted" or "all".
    status: str = "active"
    platform: str = ""
    page: int = 1
    per_page: int = 50


def _filtered(community_id: int, query: BanQuery, now: datetime) -> Select[Ban]:
    stmt = select(Ban).where(Ban.community_id == community_id)
    live = (Ban.lifted_at.is_(None)) & (Ban.expires_at.is_(None) | (Ban.expires_at > now))
    if query.status == "active":
        stmt = stmt.where(live)
    elif query.status == "lifted":
        stmt = stmt.where(~live)
    if query.platform:
        stmt = stmt.where(Ban.platform == query.platform.strip().lower())
    text = query.q.strip()[:MAX_SEARCH]
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                Ban.platform_user_id.ilike(like, escape="\\"),
                Ban.display_name.ilike(like, escape="\\"),
                Ban.reason.ilike(like, escape="\\"),
            )
        )
    return stmt


def list_bans(
    session: Session, principal: Principal, community_id: int, query: BanQuery
) -> Page[Ban]:
    principal.require(community_id, Role.viewer)
    if query.status not in ("active", "lifted", "all"):
        raise DomainError("ban.bad_status")
    now = utcnow()
    stmt = _filtered(community_id, query, now)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    per_page = max(1, min(query.per_page, 200))
    page = max(1, query.page)
    items = list(
        session.scalars(
            stmt.order_by(Ban.created_at.desc(), Ban.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    return Page(items=items, total=total, page=page, per_page=per_page)


def is_active(ban: Ban, now: datetime | None = None) -> bool:
    return _active(ban, now or utcnow())


def add_ban_as(
    session: Session,
    principal: Principal,
    community_id: int,
    platform: str,
    platform_user_id: str,
    *,
    reason: str = "",
    display_name: str = "",
    expires_at: datetime | None = None,
) -> Ban:
    principal.require(community_id, Role.operator)
    return add_ban(
        session,
        community_id,
        platform,
        platform_user_id,
        reason=reason,
        display_name=display_name,
        expires_at=expires_at,
        added_by_id=principal.user_id or None,
    )


def lift_ban_as(
    session: Session, principal: Principal, community_id: int, ban_id: int, note: str = ""
) -> Ban:
    principal.require(community_id, Role.operator)
    return lift_ban(
        session, community_id, ban_id, lifted_by_id=principal.user_id or None, note=note
    )


# --- CSV ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    line: int
    code: str
    value: str = ""


@dataclass
class ImportReport:
    added: int = 0
    unchanged: int = 0
    # Rows of an export that were lifted there: history, not bans to copy.
    skipped_lifted: int = 0
    problems: list[RowProblem] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    line: int
    platform: str
    platform_user_id: str
    display_name: str
    reason: str
    expires_at: datetime | None
    lifted: bool


def _parse_expiry(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _parse_rows(text: str) -> tuple[list[_Row], list[RowProblem]]:
    rows: list[_Row] = []
    problems: list[RowProblem] = []
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header: list[str] | None = None
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in record]
            missing = [c for c in ("platform", "platform_user_id") if c not in header]
            unknown = [c for c in header if c not in EXPORT_COLUMNS]
            if missing:
                problems.append(RowProblem(line, "ban.csv_missing_column", ", ".join(missing)))
                return [], problems
            if unknown:
                problems.append(RowProblem(line, "ban.csv_unknown_column", ", ".join(unknown)))
                return [], problems
            continue
        if len(rows) >= MAX_IMPORT_ROWS:
            problems.append(RowProblem(line, "ban.csv_too_many", str(MAX_IMPORT_ROWS)))
            break
        if len(record) != len(header):
            problems.append(RowProblem(line, "ban.csv_cell_count", str(len(record))))
            continue
        cells = dict(zip(header, record, strict=True))
        try:
            platform = _clean_platform(cells["platform"])
            user_id = _clean_user_id(cells["platform_user_id"])
        except DomainError as exc:
            problems.append(RowProblem(line, exc.code, str(next(iter(exc.params.values()), ""))))
            continue
        try:
            expires = _parse_expiry(cells.get("expires_at", ""))
        except ValueError:
            problems.append(RowProblem(line, "ban.csv_bad_date", cells.get("expires_at", "")[:40]))
            continue
        rows.append(
            _Row(
                line,
                platform,
                user_id,
                cells.get("display_name", "").strip(),
                cells.get("reason", "").strip(),
                expires,
                bool(cells.get("lifted_at", "").strip()),
            )
        )
    if header is None:
        problems.append(RowProblem(1, "ban.csv_empty"))
    return rows, problems


def import_csv(
    session: Session, principal: Principal, community_id: int, text: str
) -> ImportReport:
    """Add every row, or none: any malformed row refuses the file with its line number.

    Idempotent: people already actively banned are counted as unchanged.
    Columns: ``platform,platform_user_id[,display_name,reason,expires_at]`` (the export's
    extra columns are accepted and ignored, so an export imports into another community).
    """
    principal.require(community_id, Role.operator)
    rows, problems = _parse_rows(text)
    now = utcnow()
    seen: set[tuple[str, str]] = set()
    for row in rows:
        if not row.lifted and row.expires_at is not None and row.expires_at <= now:
            problems.append(RowProblem(row.line, "ban.expiry_past", row.expires_at.isoformat()))
    report = ImportReport(problems=problems)
    if problems:
        return report
    for row in rows:
        if row.lifted:
            report.skipped_lifted += 1
            continue
        key = (row.platform, row.platform_user_id)
        existing = find_ban(session, community_id, *key)
        if key in seen or (existing is not None and _active(existing, now)):
            report.unchanged += 1
            continue
        seen.add(key)
        add_ban(
            session,
            community_id,
            row.platform,
            row.platform_user_id,
            reason=row.reason,
            display_name=row.display_name,
            expires_at=row.expires_at,
            added_by_id=principal.user_id or None,
            now=now,
        )
        report.added += 1
    return report


def problem_text(problem: RowProblem, lang: str) -> str:
    """A malformed row for people: "第 3 行：平台……"."""
    value = problem.value
    text = gettext(f"error.{problem.code}", lang, value=value, platform=value, user_id=value)
    return gettext("ban.csv_line", lang, line=problem.line, text=text)


def decode_csv(data: bytes) -> str:
    """A CSV upload's text: UTF-8 (with or without BOM), else GB18030 (Excel in Chinese)."""
    if len(data) > MAX_CSV_BYTES:
        raise DomainError("ban.csv_too_large", status=413, limit=MAX_CSV_BYTES // (1024 * 1024))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise DomainError("ban.csv_not_utf8") from None


def _cell(text: str) -> str:
    # A cell starting like a formula would run in the spreadsheet that opens it.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def check_export(principal: Principal, community_id: int) -> None:
    """Refuse before a streamed response starts (a refusal cannot follow its first byte)."""
    principal.require(community_id, Role.operator)


def export_csv(
    session: Session, principal: Principal, community_id: int, query: BanQuery
) -> Iterator[str]:
    """The bans the query matches (no paging), as CSV chunks with a BOM, for streaming."""
    check_export(principal, community_id)
    stmt = _filtered(community_id, query, utcnow()).order_by(Ban.id)
    yield "\ufeff" + _csv_line(EXPORT_COLUMNS)
    for ban in session.scalars(stmt.execution_options(yield_per=500)):
        yield _csv_line(
            [
                ban.platform,
                ban.platform_user_id,
                _cell(ban.display_name or ""),
                _cell(ban.reason or ""),
                ban.expires_at.isoformat() if ban.expires_at else "",
                str(ban.member_id or ""),
                str(ban.case_id or ""),
                ban.created_at.isoformat(),
                ban.lifted_at.isoformat() if ban.lifted_at else "",
            ]
        )


def _csv_line(cells: Iterable[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(list(cells))
    return out.getvalue()
