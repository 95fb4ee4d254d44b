"""The member's appeal page, ``/appeal/<token>``: no account, the case's language.

The link in the notice names the case. The member asks for a one-time code (sent to
them privately through the platform), then sends it with their statement. The forms
carry the session's CSRF token (the same token signed-in pages use; anonymous visitors
get a session too); both posts are rate-limited per address on top of the per-case
limits on codes and attempts. Every post answers on this same path, so the page's
language links keep working after a refusal.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from qunyun.accounts.deps import Ctx
from qunyun.appeals import codes, service
from qunyun.appeals.present import case_view, local_time, zone_of
from qunyun.community.models import Group
from qunyun.db.base import utcnow
from qunyun.errors import DomainError, NotFound
from qunyun.i18n import LANGUAGES, error_text, gettext, normalise_language
from qunyun.moderation.models import ModerationCase
from qunyun.platforms import outbox
from qunyun.web.client_ip import scope_client_ip
from qunyun.web.context import AppContext
from qunyun.web.language import request_language
from qunyun.web.ratelimits import enforce
from qunyun.web.render import csrf_token, environment

router = APIRouter(prefix="/appeal", include_in_schema=False)

# Per client address, on top of the per-case limits (3 codes an hour, 5 tries a code).
CODE_RATE = "10/hour"
OPEN_RATE = "30/hour"
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}
MINUTES = int(codes.CODE_TTL.total_seconds() // 60)


def _language(request: Request, case: ModerationCase | None, chosen: str = "") -> str:
    """``?lang=`` (or the form's), else the member's language, else the browser's."""
    asked = request.query_params.get("lang") or chosen
    if asked:
        return normalise_language(asked)
    if case is not None and case.language in LANGUAGES:
        return case.language
    return request_language(request, "zh-CN")


def _html(request: Request, lang: str, status: int, **context: Any) -> HTMLResponse:
    def _(key: str, **params: Any) -> str:
        return gettext(key, lang, **params)

    html = (
        environment()
        .get_template("appeals/public.html")
        .render(lang=lang, _=_, csrf_token=csrf_token(request), minutes=MINUTES, **context)
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _not_found(request: Request, chosen: str = "") -> HTMLResponse:
    lang = _language(request, None, chosen)
    return _html(
        request,
        lang,
        404,
        state="not_found",
        error=gettext("error.appeal.link_invalid", lang),
        case=None,
        token="",
    )


def _state(session: Session, case: ModerationCase) -> tuple[str, Any]:
    """What the page offers: the appeal's outcome, a wait, or the forms."""
    appeals = service.appeals_of_case(session, case.id)
    latest = appeals[0] if appeals else None
    if case.status == "overturned":
        return "overturned", latest
    if latest is not None and latest.status == "open":
        return "waiting", latest
    if case.status != service.APPEALABLE:
        return "not_appealable", None
    member_appeal = next((a for a in appeals if a.via == "member"), None)
    if member_appeal is not None:
        return "decided", member_appeal
    return "appealable", None


def _page(
    request: Request,
    session: Session,
    case: ModerationCase,
    lang: str,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
    statement: str = "",
) -> HTMLResponse:
    state, appeal = _state(session, case)
    code = service.latest_code(session, case.id)
    group = session.get(Group, case.group_id) if case.group_id is not None else None
    zone = zone_of(session, case, group)
    code_live = (
        code is not None
        and code.used_at is None
        and code.expires_at > utcnow()
        and code.attempts < codes.MAX_ATTEMPTS
    )
    return _html(
        request,
        lang,
        status,
        state=state,
        appeal=appeal,
        case=case_view(session, case, lang),
        token=case.appeal_token,
        code_live=code_live,
        error=error,
        notice=notice,
        statement=statement,
        local=lambda value: local_time(value, zone),
    )


@router.get("/{token}")
def appeal_page(request: Request, token: str, ctx: Ctx) -> Response:
    # Flags read by hand: a mangled query string must not turn the page into a 422.
    sent = request.query_params.get("sent") == "1"
    opened = request.query_params.get("opened") == "1"
    with ctx.db.session(write=False) as session:
        try:
            case = service.case_by_token(session, token)
        except NotFound:
            return _not_found(request)
        lang = _language(request, case)
        notice = None
        if opened:
            notice = gettext("appeal.public.opened", lang)
        elif sent:
            notice = gettext("appeal.public.code_sent", lang, minutes=MINUTES)
        return _page(request, session, case, lang, notice=notice)


def _ip(request: Request, ctx: AppContext) -> str:
    return scope_client_ip(request.scope, tuple(ctx.settings.trusted_proxies)) or "-"


def _csrf_ok(request: Request, sent: str) -> bool:
    expected = request.session.get("csrf")
    return bool(expected) and bool(sent) and hmac.compare_digest(str(expected), sent)


@router.post("/{token}")
def appeal_post(
    request: Request,
    token: str,
    ctx: Ctx,
    step: Annotated[str, Form(max_length=8)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    code: Annotated[str, Form(max_length=40)] = "",
    statement: Annotated[str, Form(max_length=4 * service.MAX_STATEMENT)] = "",
    lang: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    with ctx.db.session() as session:
        try:
            case = service.case_by_token(session, token)
        except NotFound:
            return _not_found(request, lang)
        language = _language(request, case, lang)

        def refuse(status: int, message: str) -> HTMLResponse:
            session.rollback()
            return _page(
                request, session, case, language, status=status, error=message, statement=statement
            )

        if not _csrf_ok(request, csrf_token):
            return refuse(403, gettext("error.csrf.invalid", language))
        try:
            asks_code = step == "code"
            kind, rate = ("code", CODE_RATE) if asks_code else ("open", OPEN_RATE)
            enforce(ctx, f"appeal-{kind}:{_ip(request, ctx)}", rate)
            if asks_code:
                service.request_code(session, token, wake=outbox.waker(ctx))
                session.commit()
                return _back(token, language, sent=1)
            outcome = service.open_by_member(session, token, code, statement)
        except DomainError as exc:
            return refuse(exc.status, error_text(exc, language))
        # A refused code still used up one of its attempts: keep that.
        session.commit()
        if outcome.appeal is not None:
            return _back(token, language, opened=1)
        left = service.attempts_left(session, case.id)
        message = gettext(f"error.appeal.code.{outcome.verdict.value}", language, left=left)
        return _page(
            request, session, case, language, status=400, error=message, statement=statement
        )


def _back(token: str, lang: str, **flags: int) -> RedirectResponse:
    query = urlencode({"lang": lang, **flags})
    return RedirectResponse(f"{service.appeal_path(token)}?{query}", status_code=303)
