"""The QR page at ``/qr``: make a code (live preview, downloads) and read codes in images.

The page works with htmx (fragments swapped in place) and without (full pages). htmx
swaps only successful answers, so a refusal of an htmx request comes back as a 200
fragment holding the message, shown where the result would have been.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query
from PIL import Image
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from qunyun.accounts.deps import Ctx, DbSession, csrf_protect
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.errors import DomainError
from qunyun.i18n import error_text
from qunyun.links import service as links
from qunyun.links.api import limit_link_creation
from qunyun.links.inputs import NewLink
from qunyun.links.schemas import MAX_URL_INPUT
from qunyun.links.service import LinkEnv
from qunyun.qr.api import (
    DECODE_LIMIT,
    LOGO_LIMIT,
    QrContent,
    QrParams,
    SignedIn,
    decode_bytes,
    decode_out,
    end_transaction,
    qr_content,
    render_qr,
    signed_in,
    uploaded_image,
)
from qunyun.qr.classify import KNOWN_VALIDITY, PayloadKind
from qunyun.qr.decode import DEFAULT_MAX_BYTES
from qunyun.qr.style import ERROR_LEVELS, MAX_BORDER, MAX_SCALE, MAX_WIDTH, MIN_WIDTH
from qunyun.qr.uploads import Handler, LimitedBodyRoute, body_limit, file_bytes, read_form
from qunyun.qr.uploads import text_fields as form_text_fields
from qunyun.web.context import AppContext
from qunyun.web.render import language_of, render

# The uploaded image is shown back at most this many pixels across.
PREVIEW_SIDE = 960
DEFAULT_FORM: dict[str, str] = {
    "text": "",
    "slug": "",
    "scale": "10",
    "width": "",
    "border": "4",
    "dark": "#000000",
    "light": "#ffffff",
    "error": "M",
    "logo_ratio": "0.2",
}
LOGO_SIZES = ("0.15", "0.2", "0.3")


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def message_of(request: Request, exc: DomainError) -> str:
    return error_text(exc, language_of(request))


class QrPageRoute(LimitedBodyRoute):
    """Answers an htmx request's refusal with a fragment instead of an error page."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def shown(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as exc:
                if not is_htmx(request):
                    raise
                return render(request, "qr/_error.html", message=message_of(request, exc))

        return shown


router = APIRouter(
    prefix="/qr",
    dependencies=[Depends(signed_in), Depends(csrf_protect)],
    include_in_schema=False,
    route_class=QrPageRoute,
)


def _data_uri(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def _page_context(ctx: AppContext, principal: Principal) -> dict[str, Any]:
    return {
        "levels": ERROR_LEVELS,
        "logo_sizes": LOGO_SIZES,
        "limits": {
            "max_scale": MAX_SCALE,
            "min_width": MIN_WIDTH,
            "max_width": MAX_WIDTH,
            "max_border": MAX_BORDER,
            "upload_mb": DEFAULT_MAX_BYTES // (1024 * 1024),
        },
        "can_shorten": principal.can(principal.default_community(), Role.operator),
    }


def _page(
    request: Request,
    ctx: AppContext,
    principal: Principal,
    *,
    form: dict[str, str],
    status_code: int = 200,
    **parts: Any,
) -> Response:
    values = {"preview": None, "make_error": None, "decoded": None, "read_error": None}
    values.update(parts)
    return render(
        request,
        "qr/index.html",
        status_code=status_code,
        form={**DEFAULT_FORM, **form},
        **_page_context(ctx, principal),
        **values,
    )


@router.get("")
def qr_page(
    request: Request,
    ctx: Ctx,
    principal: SignedIn,
    text: Annotated[str, Query(max_length=8000)] = "",
    slug: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    return _page(request, ctx, principal, form={"text": text, "slug": slug})


# --- making a code -------------------------------------------------------------------


@dataclass(frozen=True)
class MakeForm:
    fields: dict[str, str]
    logo: bytes | None


async def make_form(request: Request) -> MakeForm:
    form = await read_form(request)
    logo = await file_bytes(form, "logo", LOGO_LIMIT)
    fields = {k: v for k, v in form_text_fields(form).items() if k in DEFAULT_FORM}
    return MakeForm(fields, logo)


@dataclass(frozen=True)
class Preview:
    png: str
    svg: str
    png_name: str
    svg_name: str
    width: int
    level: str
    content: QrContent


def _params(fields: dict[str, str], fmt: str) -> QrParams:
    try:
        return QrParams.model_validate({**fields, "format": fmt})
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise DomainError("validation", detail=detail) from None


def _preview(content: QrContent, fields: dict[str, str], logo: bytes | None) -> Preview:
    png = render_qr(content, _params(fields, "png"), logo)
    svg = render_qr(content, _params(fields, "svg"), logo)
    with Image.open(io.BytesIO(png.data)) as image:
        width = image.width
    return Preview(
        png=_data_uri(png.media_type, png.data),
        svg=_data_uri(svg.media_type, svg.data),
        png_name=png.filename,
        svg_name=svg.filename,
        width=width,
        level="H" if logo is not None else _params(fields, "png").style().error,
        content=content,
    )


@router.post("/preview")
@body_limit(LOGO_LIMIT)
def preview(
    request: Request,
    made: Annotated[MakeForm, Depends(make_form)],
    session: DbSession,
    ctx: Ctx,
    principal: SignedIn,
) -> Response:
    fields = made.fields
    if not fields.get("text") and not fields.get("slug", "").strip():
        if is_htmx(request):
            return render(request, "qr/_preview_empty.html")
        return _page(request, ctx, principal, form=fields)
    try:
        content = qr_content(session, ctx.settings, principal, _params(fields, "png"))
        end_transaction(session)
        shown = _preview(content, fields, made.logo)
    except DomainError as exc:
        if is_htmx(request):
            raise
        error = message_of(request, exc)
        return _page(request, ctx, principal, form=fields, make_error=error, status_code=exc.status)
    if is_htmx(request):
        return render(request, "qr/_preview.html", preview=shown)
    return _page(request, ctx, principal, form=fields, preview=shown)


# --- reading codes -------------------------------------------------------------------


@dataclass(frozen=True)
class DecodedView:
    width: int
    height: int
    image: str
    codes: list[dict[str, Any]]


@router.post("/decode")
@body_limit(DECODE_LIMIT)
def decode(
    request: Request,
    upload: Annotated[bytes, Depends(uploaded_image)],
    ctx: Ctx,
    principal: SignedIn,
) -> Response:
    try:
        decoded = decode_bytes(upload, preview_side=PREVIEW_SIDE)
    except DomainError as exc:
        if is_htmx(request):
            raise
        error = message_of(request, exc)
        return _page(request, ctx, principal, form={}, read_error=error, status_code=exc.status)
    result = decode_out(decoded, ctx.settings, principal)
    assert decoded.preview is not None
    view = DecodedView(
        width=result.width,
        height=result.height,
        image=_data_uri("image/jpeg", decoded.preview),
        codes=[
            {
                **code.model_dump(),
                "polygon": " ".join(f"{x},{y}" for x, y in code.points),
                "valid_for_days": _validity_days(code.kind),
            }
            for code in result.codes
        ],
    )
    if is_htmx(request):
        return render(request, "qr/_decoded.html", decoded=view)
    return _page(request, ctx, principal, form={}, decoded=view)


def _validity_days(kind: PayloadKind) -> int | None:
    validity = KNOWN_VALIDITY.get(kind)
    return validity.days if validity is not None else None


@router.post("/shorten")
def shorten(
    request: Request,
    url: Annotated[str, Form(max_length=MAX_URL_INPUT)],
    session: DbSession,
    ctx: Ctx,
    principal: SignedIn,
) -> Response:
    """The decoded URL as a new short link, in one step."""
    community_id = principal.default_community()
    principal.require(community_id, Role.operator)
    limit_link_creation(ctx, principal)
    env = LinkEnv.from_context(ctx)
    link = links.create_link(session, env, principal, community_id, NewLink(url=url))
    if not is_htmx(request):
        return RedirectResponse(f"/links/{link.slug}?created=1", status_code=303)
    return render(
        request,
        "qr/_shortened.html",
        slug=link.slug,
        short_url=links.short_url(ctx.settings, link.slug),
    )
