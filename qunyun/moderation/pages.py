"""Pages: the rule book (summary, editor, switches, group overrides, history, diffs),
the audit log and the shared ban list. Forms post with the CSRF token and come back
with a one-line notice; a refused document comes back with every problem listed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, UploadFile
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from qunyun.accounts.deps import Ctx, CurrentPrincipal, DbSession, csrf_protect
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community import groups as group_service
from qunyun.community.service import get_community
from qunyun.errors import DomainError
from qunyun.i18n import error_text, gettext
from qunyun.moderation import auditlog, bans, books, editing
from qunyun.moderation.auditlog import AuditQuery
from qunyun.moderation.bans import BanQuery
from qunyun.moderation.models import StoredRuleBook
from qunyun.moderation.public_rules import rules_url
from qunyun.moderation.published import published_rules
from qunyun.moderation.rulebook import LinkMode, NoticeWhere
from qunyun.moderation.yaml_io import MAX_DOCUMENT_BYTES, dump_data
from qunyun.web.render import language_of, render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
BOOK = "/moderation/rulebook"
NOTICE_KEY = "moderation_notice"


# --- helpers -------------------------------------------------------------------------


def _notice(request: Request, text: str, kind: str = "success") -> None:
    request.session[NOTICE_KEY] = {"text": text, "kind": kind}


def _take_notice(request: Request) -> dict[str, str] | None:
    notice = request.session.pop(NOTICE_KEY, None)
    return notice if isinstance(notice, dict) else None


def _back(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


def _local(zone: str) -> Callable[[datetime | None], str]:
    tz = ZoneInfo(zone)

    def fmt(value: datetime | None) -> str:
        return "" if value is None else value.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    return fmt


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) <= 18 else None


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _scope(group_id: int | None) -> str:
    return BOOK if group_id is None else f"{BOOK}/groups/{group_id}"


def _refused(request: Request, session: Session, exc: DomainError) -> list[str]:
    if exc.status in (401, 403, 404):
        raise exc
    session.rollback()
    return editing.problems_of(exc, language_of(request))


# --- the rule book --------------------------------------------------------------------


def _book_page(
    request: Request,
    session: Session,
    principal: Principal,
    group_id: int | None,
    *,
    text: str | None = None,
    problems: list[str] | None = None,
    base_url: str,
) -> Response:
    cid = principal.default_community()
    community = get_community(session, principal, cid)
    snap = editing.snapshot(session, principal, cid, group_id)
    lang = language_of(request)
    group = group_service.get_group(session, principal, cid, group_id) if group_id else None
    groups: list[tuple[Any, int]] = []
    if group is None:
        rows = session.execute(
            select(StoredRuleBook.group_id, StoredRuleBook.version).where(
                StoredRuleBook.community_id == cid, StoredRuleBook.group_id.is_not(None)
            )
        )
        overrides = dict(rows.all())
        groups = [
            (g, overrides.get(g.id, 0))
            for g in group_service.list_groups(session, principal, cid, include_archived=False)
        ]
    effective = snap.effective
    return render(
        request,
        "moderation/rulebook.html",
        status_code=422 if problems else 200,
        notice=_take_notice(request),
        snap=snap,
        community=community,
        group=group,
        groups=groups,
        summary=published_rules(effective, lang, group_name=group.name if group else ""),
        effective_yaml=dump_data(effective.to_data()) if group else "",
        text=snap.yaml if text is None else text,
        problems=problems or [],
        can_edit=principal.can(cid, editing.EDIT_ROLE),
        scope=_scope(group_id),
        link_modes=[m.value for m in LinkMode],
        notice_places=[w.value for w in NoticeWhere],
        public_url=lambda gid: rules_url(base_url, community.slug, gid),
        max_kb=MAX_DOCUMENT_BYTES // 1024,
    )


@router.get(BOOK)
@router.get(BOOK + "/groups/{group_id:int}")
def rulebook_page(
    request: Request,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    group_id: int | None = None,
) -> Response:
    return _book_page(request, session, principal, group_id, base_url=ctx.settings.base_url)


def _save(
    request: Request,
    session: Session,
    principal: Principal,
    group_id: int | None,
    text: str | bytes,
    note: str,
    base_url: str,
) -> Response:
    cid = principal.default_community()
    try:
        saved = editing.save_yaml(session, principal, cid, group_id, text, note=note)
    except DomainError as exc:
        problems = _refused(request, session, exc)
        shown = text if isinstance(text, str) else text.decode("utf-8", "replace")
        return _book_page(
            request, session, principal, group_id, text=shown, problems=problems, base_url=base_url
        )
    _notice(request, gettext("rulebook.saved", language_of(request), version=saved.version))
    return _back(_scope(group_id))


@router.post(BOOK)
@router.post(BOOK + "/groups/{group_id:int}")
def save_rulebook(
    request: Request,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    document: Annotated[str, Form(max_length=MAX_DOCUMENT_BYTES)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
    group_id: int | None = None,
) -> Response:
    return _save(request, session, principal, group_id, document, note, ctx.settings.base_url)


@router.post(BOOK + "/import")
@router.post(BOOK + "/groups/{group_id:int}/import")
def import_rulebook(
    request: Request,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File()],
    note: Annotated[str, Form(max_length=500)] = "",
    group_id: int | None = None,
) -> Response:
    data = file.file.read(MAX_DOCUMENT_BYTES + 1)
    return _save(
        request,
        session,
        principal,
        group_id,
        data,
        note or (file.filename or "")[:100],
        ctx.settings.base_url,
    )


class SwitchForm(BaseModel):
    dry_run: str = ""
    notice_where: str = "group"
    links_mode: str = "any"
    allow_domains: str = ""
    quiet_enabled: str = ""
    quiet_start: str = "23:30"
    quiet_end: str = "06:30"
    quiet_whole_mute: str = ""
    note: str = ""

    def wanted(self) -> dict[str, Any]:
        domains = [d.strip() for d in self.allow_domains.replace("，", ",").split(",")]
        return {
            "dry_run": bool(self.dry_run),
            "notice": {"where": self.notice_where},
            "links": {"mode": self.links_mode, "allow_domains": [d for d in domains if d]},
            "quiet_hours": {
                "enabled": bool(self.quiet_enabled),
                "start": self.quiet_start.strip(),
                "end": self.quiet_end.strip(),
                "enforce_whole_mute": bool(self.quiet_whole_mute),
            },
        }


def _changed(wanted: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """Only what differs from the book in force: a group's override must not pin the
    community's values it merely repeats."""
    out: dict[str, Any] = {}
    for key, value in wanted.items():
        now = current.get(key)
        if isinstance(value, dict) and isinstance(now, dict):
            inner = _changed(value, now)
            if inner:
                out[key] = inner
        elif value != now:
            out[key] = value
    return out


@router.post(BOOK + "/switches")
@router.post(BOOK + "/groups/{group_id:int}/switches")
def save_switches(
    request: Request,
    form: Annotated[SwitchForm, Form()],
    session: DbSession,
    principal: CurrentPrincipal,
    group_id: int | None = None,
) -> Response:
    cid = principal.default_community()
    lang = language_of(request)
    snap = editing.snapshot(session, principal, cid, group_id)
    changes = _changed(form.wanted(), snap.effective.to_data())
    if not changes:
        _notice(request, gettext("rulebook.unchanged", lang))
        return _back(_scope(group_id))
    try:
        saved = editing.apply_switches(
            session, principal, cid, group_id, changes, note=form.note[:500]
        )
    except DomainError as exc:
        _notice(request, " ".join(_refused(request, session, exc)), "error")
        return _back(_scope(group_id) + "#switches")
    _notice(request, gettext("rulebook.saved", lang, version=saved.version))
    return _back(_scope(group_id))


@router.get(BOOK + "/versions")
@router.get(BOOK + "/groups/{group_id:int}/versions")
def versions_page(
    request: Request, session: DbSession, principal: CurrentPrincipal, group_id: int | None = None
) -> Response:
    cid = principal.default_community()
    community = get_community(session, principal, cid)
    history = editing.history(session, principal, cid, group_id)
    group = group_service.get_group(session, principal, cid, group_id) if group_id else None
    return render(
        request,
        "moderation/rulebook_versions.html",
        notice=_take_notice(request),
        history=history,
        group=group,
        scope=_scope(group_id),
        local=_local(community.timezone),
        can_edit=principal.can(cid, editing.EDIT_ROLE),
    )


@router.get(BOOK + "/versions/{version:int}")
@router.get(BOOK + "/groups/{group_id:int}/versions/{version:int}")
def version_page(
    request: Request,
    version: int,
    session: DbSession,
    principal: CurrentPrincipal,
    group_id: int | None = None,
) -> Response:
    cid = principal.default_community()
    document = editing.version_document(session, principal, cid, group_id, version)
    group = group_service.get_group(session, principal, cid, group_id) if group_id else None
    in_force = books.versions(session, cid, group_id)
    return render(
        request,
        "moderation/rulebook_version.html",
        version=version,
        in_force=(in_force[0].version if in_force else 0) == version,
        text=editing.document_yaml(document, group_id),
        group=group,
        scope=_scope(group_id),
        can_edit=principal.can(cid, editing.EDIT_ROLE),
    )


@router.get(BOOK + "/diff")
@router.get(BOOK + "/groups/{group_id:int}/diff")
def diff_page(
    request: Request, session: DbSession, principal: CurrentPrincipal, group_id: int | None = None
) -> Response:
    cid = principal.default_community()
    old = _int(request.query_params.get("old")) or 0
    new = _int(request.query_params.get("new")) or 0
    lines = editing.diff(session, principal, cid, group_id, old, new)
    group = group_service.get_group(session, principal, cid, group_id) if group_id else None
    return render(
        request,
        "moderation/rulebook_diff.html",
        lines=lines,
        old=old,
        new=new,
        group=group,
        scope=_scope(group_id),
    )


@router.post(BOOK + "/versions/{version:int}/restore")
@router.post(BOOK + "/groups/{group_id:int}/versions/{version:int}/restore")
def restore_version(
    request: Request,
    version: int,
    session: DbSession,
    principal: CurrentPrincipal,
    group_id: int | None = None,
) -> Response:
    cid = principal.default_community()
    lang = language_of(request)
    try:
        saved = editing.restore(session, principal, cid, group_id, version)
    except DomainError as exc:
        _notice(request, " ".join(_refused(request, session, exc)), "error")
        return _back(_scope(group_id) + "/versions")
    _notice(request, gettext("rulebook.restored", lang, old=version, version=saved.version))
    return _back(_scope(group_id))


# --- the audit log --------------------------------------------------------------------


def _audit_query(request: Request) -> AuditQuery:
    p = request.query_params
    return AuditQuery(
        action=p.get("action", "")[:40],
        group_id=_int(p.get("group")),
        member_id=_int(p.get("member", "").lstrip("#")),
        actor_user_id=_int(p.get("actor")),
        since=_date(p.get("since")),
        until=_date(p.get("until")),
        page=min(_int(p.get("page")) or 1, auditlog.MAX_PAGE),
        per_page=min(_int(p.get("per_page")) or 50, auditlog.MAX_PER_PAGE),
    )


@router.get("/audit")
def audit_page(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    cid = principal.default_community()
    community = get_community(session, principal, cid)
    query = _audit_query(request)
    error = None
    try:
        page = auditlog.entries(session, principal, cid, query)
    except DomainError as exc:
        if exc.status in (401, 403, 404):
            raise
        error = error_text(exc, language_of(request))
        page = auditlog.entries(session, principal, cid, AuditQuery())
    params = {k: v for k, v in request.query_params.items() if k != "page" and v}
    lang = language_of(request)

    def url(**changes: Any) -> str:
        return "/audit?" + urlencode({**params, **{k: str(v) for k, v in changes.items()}})

    def action_label(action: str) -> str:
        label = gettext(f"audit.action.{action}", lang)
        return action if label == f"audit.action.{action}" else label

    return render(
        request,
        "moderation/audit.html",
        page=page,
        query=query,
        error=error,
        url=url,
        export_url="/api/v1/audit/export.csv?" + urlencode(params),
        can_export=principal.can(cid, Role.operator),
        actions=auditlog.actions(session, principal, cid),
        actors=auditlog.actors(session, principal, cid),
        groups=group_service.list_groups(session, principal, cid),
        action_label=action_label,
        local=_local(community.timezone),
    )


# --- the ban list ---------------------------------------------------------------------


def _ban_query(request: Request) -> BanQuery:
    p = request.query_params
    status = p.get("status", "active")
    return BanQuery(
        q=p.get("q", "")[:100],
        status=status if status in ("active", "lifted", "all") else "active",
        platform=p.get("platform", "")[:32],
        page=min(_int(p.get("page")) or 1, 100_000),
        per_page=min(_int(p.get("per_page")) or 50, 200),
    )


def _bans_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    problems: list[str] | None = None,
) -> Response:
    cid = principal.default_community()
    community = get_community(session, principal, cid)
    query = _ban_query(request)
    page = bans.list_bans(session, principal, cid, query)
    params = {k: v for k, v in request.query_params.items() if k != "page" and v}

    def url(**changes: Any) -> str:
        return "/bans?" + urlencode({**params, **{k: str(v) for k, v in changes.items()}})

    return render(
        request,
        "moderation/bans.html",
        status_code=422 if problems else 200,
        notice=_take_notice(request),
        page=page,
        query=query,
        url=url,
        problems=problems or [],
        export_url="/api/v1/bans/export.csv?" + urlencode(params),
        can_write=principal.can(cid, Role.operator),
        active=bans.is_active,
        local=_local(community.timezone),
    )


@router.get("/bans")
def bans_page(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    return _bans_page(request, session, principal)


class BanForm(BaseModel):
    platform: str = ""
    platform_user_id: str = ""
    display_name: str = ""
    reason: str = ""


@router.post("/bans")
def add_ban(
    request: Request,
    form: Annotated[BanForm, Form()],
    session: DbSession,
    principal: CurrentPrincipal,
) -> Response:
    lang = language_of(request)
    try:
        ban = bans.add_ban_as(
            session,
            principal,
            principal.default_community(),
            form.platform,
            form.platform_user_id,
            reason=form.reason[:500],
            display_name=form.display_name[:200],
        )
    except DomainError as exc:
        _notice(request, " ".join(_refused(request, session, exc)), "error")
        return _back("/bans")
    _notice(request, gettext("ban.added", lang, who=f"{ban.platform}:{ban.platform_user_id}"))
    return _back("/bans")


@router.post("/bans/{ban_id:int}/lift")
def lift_ban(
    request: Request,
    ban_id: int,
    session: DbSession,
    principal: CurrentPrincipal,
    note: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    ban = bans.lift_ban_as(session, principal, principal.default_community(), ban_id, note)
    who = f"{ban.platform}:{ban.platform_user_id}"
    _notice(request, gettext("ban.lifted", language_of(request), who=who))
    return _back("/bans")


@router.post("/bans/import")
def import_bans(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File()],
) -> Response:
    lang = language_of(request)
    try:
        text = bans.decode_csv(file.file.read(bans.MAX_CSV_BYTES + 1))
        report = bans.import_csv(session, principal, principal.default_community(), text)
    except DomainError as exc:
        return _bans_page(request, session, principal, problems=_refused(request, session, exc))
    if report.problems:
        session.rollback()
        problems = [bans.problem_text(p, lang) for p in report.problems]
        return _bans_page(request, session, principal, problems=problems)
    _notice(
        request,
        gettext("ban.imported", lang, added=report.added, unchanged=report.unchanged),
    )
    return _back("/bans")
