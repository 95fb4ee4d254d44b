"""Opening appeals: by the member through the link in the notice (a one-time code
proves who they are) or by an operator. Services never commit.

A case can be appealed while it stands (status "applied") and has no open appeal; the
member may appeal a case once (an operator may open another appeal after a decision).
Opening locks the case row, so two appeals never open on one case at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.appeals import codes
from qunyun.appeals.notify import Wake, member_user_id, send_code
from qunyun.community.models import Group
from qunyun.db.base import utcnow
from qunyun.errors import Conflict, DomainError, NotFound
from qunyun.moderation import audit
from qunyun.moderation.models import Appeal, AppealCode, ModerationCase

MAX_TOKEN = 48
MAX_STATEMENT = 2000
APPEALABLE = "applied"


def appeal_path(token: str) -> str:
    """Where the member appeals a case, relative to the installation's base URL."""
    return f"/appeal/{token}"


def appeal_url(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + appeal_path(token)


# --- finding the case ----------------------------------------------------------------


def case_by_token(session: Session, token: str, *, lock: bool = False) -> ModerationCase:
    """The case the link names; a forged or mangled token is simply not found."""
    found = None
    if 16 <= len(token) <= MAX_TOKEN and token.replace("-", "").replace("_", "").isalnum():
        stmt = select(ModerationCase).where(ModerationCase.appeal_token == token)
        found = session.scalar(stmt.with_for_update() if lock else stmt)
    if found is None:
        raise NotFound("appeal.link_invalid")
    return found


def get_case(
    session: Session, community_id: int, case_id: int, *, lock: bool = False
) -> ModerationCase:
    found = None
    if 1 <= case_id < 2**63:
        found = session.get(ModerationCase, case_id, with_for_update=lock)
    if found is None or found.community_id != community_id:
        raise NotFound("appeal.case_not_found", id=case_id)
    return found


def appeals_of_case(session: Session, case_id: int) -> list[Appeal]:
    """Newest first."""
    return list(
        session.scalars(
            select(Appeal)
            .where(Appeal.case_id == case_id)
            .order_by(Appeal.created_at.desc(), Appeal.id.desc())
        )
    )


def open_appeal_of(session: Session, case_id: int) -> Appeal | None:
    return session.scalar(
        select(Appeal).where(Appeal.case_id == case_id, Appeal.status == "open").limit(1)
    )


def ensure_appealable(session: Session, case: ModerationCase, *, by_member: bool) -> None:
    if case.status != APPEALABLE:
        raise Conflict("appeal.case_not_appealable", state=case.status)
    if open_appeal_of(session, case.id) is not None:
        raise Conflict("appeal.already_open")
    if by_member:
        earlier = session.scalar(
            select(Appeal.id).where(Appeal.case_id == case.id, Appeal.via == "member").limit(1)
        )
        if earlier is not None:
            raise Conflict("appeal.already_appealed")


def _insert(session: Session, appeal: Appeal) -> None:
    """Store a new open appeal; the database refuses a second open one for the same case
    (a race the checks above cannot see), and the caller is told so."""
    try:
        with session.begin_nested():
            session.add(appeal)
    except IntegrityError as exc:
        raise Conflict("appeal.already_open") from exc


def clean_statement(text: str) -> str:
    statement = text.strip()
    if not statement or len(statement) > MAX_STATEMENT or "\x00" in statement:
        raise DomainError("appeal.bad_statement", field="statement", max=MAX_STATEMENT)
    return statement


# --- one-time codes ------------------------------------------------------------------


def codes_in_window(session: Session, case_id: int, now: datetime) -> int:
    since = now - codes.CODES_WINDOW
    return int(
        session.scalar(
            select(func.count())
            .select_from(AppealCode)
            .where(AppealCode.case_id == case_id, AppealCode.created_at > since)
        )
        or 0
    )


def latest_code(session: Session, case_id: int) -> AppealCode | None:
    return session.scalar(
        select(AppealCode)
        .where(AppealCode.case_id == case_id)
        .order_by(AppealCode.created_at.desc(), AppealCode.id.desc())
        .limit(1)
    )


def request_code(
    session: Session, token: str, *, now: datetime | None = None, wake: Wake | None = None
) -> AppealCode:
    """Make a code for the case and send it privately to its member through the
    platform (a to-do showing the code to a steward in manual mode). A new code
    replaces the earlier ones: only the newest is accepted."""
    when = now or utcnow()
    case = case_by_token(session, token, lock=True)
    ensure_appealable(session, case, by_member=True)
    if codes_in_window(session, case.id, when) >= codes.MAX_CODES_PER_HOUR:
        raise DomainError(
            "appeal.too_many_codes", status=429, n=codes.MAX_CODES_PER_HOUR, retry_after=3600
        )
    group = session.get(Group, case.group_id) if case.group_id is not None else None
    user = member_user_id(session, case, group)
    if group is None or user is None:
        raise Conflict("appeal.unreachable")
    code = codes.new_code()
    row = AppealCode(
        case_id=case.id,
        code_hash=codes.hash_code(code),
        attempts=0,
        created_at=when,
        expires_at=when + codes.CODE_TTL,
    )
    session.add(row)
    send_code(session, case, group, user, code, wake=wake)
    audit.record(
        session,
        case.community_id,
        "appeal.code_sent",
        summary=f"case {case.id}",
        group_id=case.group_id,
        member_id=case.member_id,
        case_id=case.id,
    )
    session.flush()
    return row


class CodeVerdict(StrEnum):
    ok = "ok"
    malformed = "malformed"
    missing = "missing"
    wrong = "wrong"
    expired = "expired"
    used = "used"
    exhausted = "exhausted"


def check_code(session: Session, case: ModerationCase, typed: str, now: datetime) -> CodeVerdict:
    """Compare ``typed`` with the case's newest code; a wrong guess uses up one of its
    attempts (flushed: the caller commits it even though it refuses the appeal)."""
    code = codes.clean_input(typed)
    if code is None:
        return CodeVerdict.malformed
    stored = latest_code(session, case.id)
    if stored is None:
        return CodeVerdict.missing
    if stored.used_at is not None:
        return CodeVerdict.used
    if stored.expires_at <= now:
        return CodeVerdict.expired
    if stored.attempts >= codes.MAX_ATTEMPTS:
        return CodeVerdict.exhausted
    stored.attempts += 1
    if not codes.matches(code, stored.code_hash):
        session.flush()
        return CodeVerdict.wrong
    stored.used_at = now
    session.flush()
    return CodeVerdict.ok


def attempts_left(session: Session, case_id: int) -> int:
    stored = latest_code(session, case_id)
    return 0 if stored is None else max(0, codes.MAX_ATTEMPTS - stored.attempts)


# --- opening -------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberOpening:
    verdict: CodeVerdict
    appeal: Appeal | None = None


def open_by_member(
    session: Session, token: str, code: str, statement: str, *, now: datetime | None = None
) -> MemberOpening:
    """Open the member's appeal when ``code`` is right. A refused code changes nothing
    but the code's attempt count, which the caller must commit all the same."""
    when = now or utcnow()
    text = clean_statement(statement)
    case = case_by_token(session, token, lock=True)
    ensure_appealable(session, case, by_member=True)
    verdict = check_code(session, case, code, when)
    if verdict is not CodeVerdict.ok:
        return MemberOpening(verdict)
    appeal = Appeal(
        community_id=case.community_id,
        case_id=case.id,
        via="member",
        statement=text,
        status="open",
        created_at=when,
    )
    _insert(session, appeal)
    audit.record(
        session,
        case.community_id,
        "appeal.opened",
        summary=f"appeal {appeal.id} on case {case.id} (member)",
        actor_member_id=case.member_id,
        group_id=case.group_id,
        member_id=case.member_id,
        case_id=case.id,
        detail={"appeal_id": appeal.id, "via": "member"},
    )
    return MemberOpening(verdict, appeal)


def open_by_operator(
    session: Session,
    principal: Principal,
    community_id: int,
    case_id: int,
    statement: str,
    *,
    now: datetime | None = None,
) -> Appeal:
    principal.require(community_id, Role.operator)
    text = clean_statement(statement)
    case = get_case(session, community_id, case_id, lock=True)
    ensure_appealable(session, case, by_member=False)
    appeal = Appeal(
        community_id=community_id,
        case_id=case.id,
        via="operator",
        statement=text,
        status="open",
        opened_by_id=principal.user_id or None,
        created_at=now or utcnow(),
    )
    _insert(session, appeal)
    audit.record(
        session,
        community_id,
        "appeal.opened",
        summary=f"appeal {appeal.id} on case {case.id} (operator)",
        actor_user_id=principal.user_id or None,
        group_id=case.group_id,
        member_id=case.member_id,
        case_id=case.id,
        detail={"appeal_id": appeal.id, "via": "operator"},
    )
    return appeal
