"""Jinja2 pages: autoescaped, translated, with the CSRF token at hand."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from qunyun import __version__
from qunyun.i18n import LANGUAGES, gettext
from qunyun.web.context import get_ctx
from qunyun.web.language import request_language

TEMPLATES = Path(__file__).resolve().parent / "templates"
PACKAGE = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=1)
def environment() -> Environment:
    # Feature folders keep their own templates in <feature>/templates/; the shared
    # layout lives in web/templates/.
    search = [
        str(TEMPLATES),
        *sorted(str(p) for p in PACKAGE.glob("*/templates") if p != TEMPLATES),
    ]
    env = Environment(
        loader=FileSystemLoader(search),
        autoescape=select_autoescape(["html", "xml", "svg"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["version"] = __version__
    env.globals["LANGUAGES"] = LANGUAGES
    return env


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


def language_of(request: Request) -> str:
    return request_language(request, get_ctx(request).settings.language)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = language_of(request)

    def _(key: str, **params: Any) -> str:
        return gettext(key, lang, **params)

    html = (
        environment()
        .get_template(template)
        .render(
            request=request,
            lang=lang,
            _=_,
            csrf_token=csrf_token(request) if "session" in request.scope else "",
            principal=request.scope.get("qunyun.principal"),
            base_url=get_ctx(request).settings.base_url,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})
