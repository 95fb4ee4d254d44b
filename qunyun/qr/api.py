"""The QR API under ``/api/v1``: render text or a short link as PNG or SVG, decode uploads.

Any signed-in role may render and decode. Decoding and rendering are CPU work: the
endpoints are plain functions (FastAPI runs them in its thread pool), they end the
request's database transaction before the work starts (on SQLite a POST's transaction
holds the single write lock), and at most :data:`HEAVY_WORKERS` such jobs run at once.
Upload bodies are capped while they stream in (see :mod:`qunyun.qr.uploads`).
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.exceptions import RequestValidationError
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from qunyun.accounts.deps import Ctx, DbSession, csrf_protect, current_principal
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.errors import DomainError
from qunyun.links import service as links
from qunyun.qr.classify import PayloadKind
from qunyun.qr.decode import DEFAULT_MAX_BYTES, FoundCode, found_codes, load_upload, read_codes
from qunyun.qr.render import MAX_LOGO_BYTES, render_png, render_svg
from qunyun.qr.style import QrStyle
from qunyun.qr.uploads import (
    BodyLimit,
    LimitedBodyRoute,
    body_limit,
    file_bytes,
    is_form,
    read_form,
    text_fields,
)
from qunyun.settings import Settings
from qunyun.web.schemas import ErrorOut, error_responses

DECODE_LIMIT = BodyLimit(DEFAULT_MAX_BYTES, "qr.image_too_large")
LOGO_LIMIT = BodyLimit(MAX_LOGO_BYTES, "qr.logo_too_large")
HEAVY_WORKERS = 2
SVG_MEDIA_TYPE = "image/svg+xml"
# Invitations a live code can rotate through (the other engineer's livecodes feature).
LIVE_CODE_KINDS = frozenset({PayloadKind.WECHAT_GROUP, PayloadKind.WECOM_GROUP})
_heavy_slots = threading.BoundedSemaphore(HEAVY_WORKERS)


@contextmanager
def heavy_work() -> Iterator[None]:
    """Hold one of the few slots for CPU-bound work: images are big in memory."""
    with _heavy_slots:
        yield


def end_transaction(session: Session) -> None:
    """Commit what the request has read so far, before slow work starts."""
    session.commit()


def signed_in(request: Request) -> Principal:
    """Who is asking (any role), checked before any upload is read.

    Found in a read transaction of its own, so no write lock waits on a slow upload.
    """
    principal = current_principal(request)
    principal.require(principal.default_community(), Role.viewer)
    return principal


SignedIn = Annotated[Principal, Depends(signed_in)]

# Sign-in first: an anonymous upload is refused (401) before its body is parsed.
router = APIRouter(
    prefix="/api/v1",
    tags=["qr"],
    dependencies=[Depends(signed_in), Depends(csrf_protect)],
    route_class=LimitedBodyRoute,
)


# --- rendering -----------------------------------------------------------------------


class QrParams(BaseModel):
    """What to encode and how it looks; the query of ``GET``, the body of ``POST``."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, description="the text to encode (or give slug)")
    slug: str | None = Field(
        default=None, max_length=200, description="a short link of your community: its URL"
    )
    format: Literal["png", "svg"] = "png"
    scale: int | None = Field(default=None, description="pixels per module, 1–64 (default 10)")
    width: int | None = Field(
        default=None, description="exact image width in pixels, 21–4096 (overrides scale)"
    )
    border: int | None = Field(default=None, description="quiet zone in modules, 0–16 (4)")
    dark: str | None = Field(default=None, description="module colour, #rrggbb (#000000)")
    light: str | None = Field(default=None, description="background colour, #rrggbb (#ffffff)")
    error: str | None = Field(
        default=None, description="error correction L, M, Q or H (M); a logo forces H"
    )
    logo_ratio: float | None = Field(
        default=None, description="share of the symbol's width under the logo, 0.05–0.5 (0.2)"
    )
    download: bool = Field(default=False, description="answer as an attachment, not inline")

    def style(self) -> QrStyle:
        chosen: dict[str, Any] = {
            name: value
            for name in ("scale", "width", "border", "dark", "light", "error", "logo_ratio")
            if (value := getattr(self, name)) is not None
        }
        return QrStyle(**chosen)


def params_from(data: object, where: str) -> QrParams:
    """Validate submitted fields, answering 422 like FastAPI's own validation."""
    try:
        return QrParams.model_validate(data)
    except ValidationError as exc:
        errors = [{**err, "loc": (where, *err["loc"])} for err in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


@dataclass(frozen=True)
class RenderRequest:
    params: QrParams
    logo: bytes | None


async def render_request(request: Request) -> RenderRequest:
    """``POST /qr``: JSON, or a form (multipart with an optional ``logo`` file)."""
    if is_form(request):
        form = await read_form(request)
        logo = await file_bytes(form, "logo", LOGO_LIMIT)
        fields = {k: v for k, v in text_fields(form).items() if k != "logo"}
        return RenderRequest(params_from(fields, "body"), logo)
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise DomainError("qr.unsupported_content_type", status=415, content_type=content_type[:80])
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        problem = {"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error"}
        raise RequestValidationError([problem]) from exc
    return RenderRequest(params_from(data, "body"), None)


@dataclass(frozen=True)
class QrContent:
    text: str
    filename_stem: str


def qr_content(
    session: Session, settings: Settings, principal: Principal, params: QrParams
) -> QrContent:
    """The text to encode: as given, or the short URL of a link of the community."""
    community_id = principal.default_community()
    principal.require(community_id, Role.viewer)
    slug = (params.slug or "").strip()
    if slug and params.text:
        raise DomainError("qr.text_and_slug")
    if slug:
        link = links.get_link(session, principal, community_id, slug)
        return QrContent(links.short_url(settings, link.slug), f"qr-{link.slug}")
    text = params.text or ""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return QrContent(text, f"qr-{digest}")


@dataclass(frozen=True)
class RenderedQr:
    data: bytes
    media_type: str
    filename: str


def render_qr(content: QrContent, params: QrParams, logo: bytes | None) -> RenderedQr:
    style = params.style()
    with heavy_work():
        if params.format == "svg":
            data = render_svg(content.text, style, logo).encode("utf-8")
            return RenderedQr(data, SVG_MEDIA_TYPE, f"{content.filename_stem}.svg")
        data = render_png(content.text, style, logo)
        return RenderedQr(data, "image/png", f"{content.filename_stem}.png")


def image_response(image: RenderedQr, *, download: bool, cache_control: str) -> Response:
    disposition = "attachment" if download else "inline"
    headers = {
        "Content-Disposition": f'{disposition}; filename="{image.filename}"',
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
    }
    if image.media_type == SVG_MEDIA_TYPE:
        # Our SVG holds only paths and a data-URI logo; forbid anything else anyway.
        headers["Content-Security-Policy"] = (
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"
        )
    return Response(image.data, media_type=image.media_type, headers=headers)


_IMAGE_CONTENT: dict[str, Any] = {
    "image/png": {"schema": {"type": "string", "format": "binary"}},
    SVG_MEDIA_TYPE: {"schema": {"type": "string"}},
}
_UNSUPPORTED_TYPE: dict[int | str, dict[str, Any]] = {
    415: {"model": ErrorOut, "description": "The body is neither JSON nor a form"}
}


def _image_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"description": "The QR code (format png or svg)", "content": _IMAGE_CONTENT},
        **error_responses(*statuses),
    }


def _form_schema(**files: str) -> dict[str, Any]:
    schema = QrParams.model_json_schema()
    properties = dict(schema["properties"])
    for name, description in files.items():
        properties[name] = {"type": "string", "format": "binary", "description": description}
    return {"type": "object", "properties": properties}


_RENDER_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": QrParams.model_json_schema()},
            "multipart/form-data": {
                "schema": _form_schema(
                    logo=f"optional centre logo: PNG, JPEG or WebP, at most {MAX_LOGO_BYTES} bytes"
                )
            },
        },
    }
}


@router.get(
    "/qr",
    response_class=Response,
    responses=_image_responses(400, 401, 403, 404),
    summary="Render a QR code for a text or a short link",
)
def render_get(
    params: Annotated[QrParams, Query()],
    session: DbSession,
    ctx: Ctx,
    principal: SignedIn,
) -> Response:
    content = qr_content(session, ctx.settings, principal, params)
    end_transaction(session)
    image = render_qr(content, params, None)
    return image_response(image, download=params.download, cache_control="private, max-age=3600")


@router.post(
    "/qr",
    response_class=Response,
    responses={**_image_responses(400, 401, 403, 404, 413), **_UNSUPPORTED_TYPE},
    openapi_extra=_RENDER_BODY,
    summary="Render a QR code, optionally with a centre logo",
)
@body_limit(LOGO_LIMIT)
def render_post(
    body: Annotated[RenderRequest, Depends(render_request)],
    session: DbSession,
    ctx: Ctx,
    principal: SignedIn,
) -> Response:
    content = qr_content(session, ctx.settings, principal, body.params)
    end_transaction(session)
    image = render_qr(content, body.params, body.logo)
    return image_response(image, download=body.params.download, cache_control="private, no-store")


# --- decoding ------------------------------------------------------------------------


class Offer(BaseModel):
    """Something the operator can do next with a decoded code."""

    action: Literal["shorten", "add_to_live_code"]
    url: str | None = Field(default=None, description="shorten: the URL to shorten")
    href: str = Field(description="shorten: POST {url} here; add_to_live_code: the page to open")


class CodeOut(BaseModel):
    text: str
    kind: PayloadKind
    points: list[tuple[int, int]] = Field(
        description="the four corners in image pixels: top-left, top-right, bottom-right, "
        "bottom-left as the code reads"
    )
    box: tuple[int, int, int, int] = Field(description="upright box: left, top, right, bottom")
    expires_at: datetime | None = Field(description="when the payload itself encodes one")
    offers: list[Offer]


class DecodeOut(BaseModel):
    width: int = Field(description="of the image as decoded (EXIF rotation applied)")
    height: int
    codes: list[CodeOut] = Field(description="top to bottom, then left to right; may be empty")


@dataclass(frozen=True)
class Decoded:
    width: int
    height: int
    codes: list[FoundCode]
    preview: bytes | None = None  # a small JPEG of the image, when asked for


def _preview_jpeg(image: Image.Image, side: int) -> bytes:
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
    else:
        flat = image.convert("RGB")
    flat.thumbnail((side, side), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    flat.save(out, format="JPEG", quality=80)
    return out.getvalue()


def decode_bytes(data: bytes, *, preview_side: int | None = None) -> Decoded:
    """Every code in an uploaded image, and the image's size (refusals as decode_image)."""
    with heavy_work():
        image = load_upload(data)
        codes = found_codes(read_codes(image))
        preview = _preview_jpeg(image, preview_side) if preview_side else None
        return Decoded(image.width, image.height, codes, preview)


def offers_for(code: FoundCode, settings: Settings, principal: Principal) -> list[Offer]:
    """Shorten a link, or pool a group invitation in a live code: for operators and up.

    The live-code offer passes only the kind of invitation: the invitation itself lets
    anyone join the group, and must not travel in a URL (logs, history, Referer).
    """
    if code.kind is PayloadKind.TEXT:
        return []
    if not principal.can(principal.default_community(), Role.operator):
        return []
    if code.kind in LIVE_CODE_KINDS:
        href = f"/livecodes?add_member_from={code.kind.value}"
        return [Offer(action="add_to_live_code", href=href)]
    url = code.text.strip()
    if len(url) > settings.max_url_length:
        return []
    return [Offer(action="shorten", url=url, href="/api/v1/links")]


def code_out(code: FoundCode, offers: list[Offer]) -> CodeOut:
    return CodeOut(
        text=code.text,
        kind=code.kind,
        points=list(code.points),
        box=code.box,
        expires_at=code.expires_at,
        offers=offers,
    )


def decode_out(decoded: Decoded, settings: Settings, principal: Principal) -> DecodeOut:
    return DecodeOut(
        width=decoded.width,
        height=decoded.height,
        codes=[code_out(c, offers_for(c, settings, principal)) for c in decoded.codes],
    )


async def uploaded_image(request: Request) -> bytes:
    """The ``file`` part of a multipart upload, within :data:`DECODE_LIMIT`."""
    if not is_form(request):
        content_type = request.headers.get("content-type", "")
        raise DomainError("qr.unsupported_content_type", status=415, content_type=content_type[:80])
    data = await file_bytes(await read_form(request), "file", DECODE_LIMIT)
    if data is None:
        raise DomainError("qr.image_missing")
    return data


_DECODE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "PNG, JPEG, WebP or GIF, at most "
                            f"{DEFAULT_MAX_BYTES} bytes",
                        }
                    },
                }
            }
        },
    }
}


@router.post(
    "/qr/decode",
    response_model=DecodeOut,
    responses={**error_responses(400, 401, 403, 413), **_UNSUPPORTED_TYPE},
    openapi_extra=_DECODE_BODY,
    summary="Find and read every QR code in an uploaded image",
)
@body_limit(DECODE_LIMIT)
def decode(
    upload: Annotated[bytes, Depends(uploaded_image)],
    ctx: Ctx,
    principal: SignedIn,
) -> DecodeOut:
    return decode_out(decode_bytes(upload), ctx.settings, principal)
