"""Pages for the visitors of links and live codes: no session, no navigation, their language."""

from __future__ import annotations

from typing import Any

from starlette.types import Scope

from qunyun.i18n import gettext, negotiate
from qunyun.web.render import environment


def visitor_language(scope: Scope, default: str) -> str:
    """``?lang=`` first, then Accept-Language, then the installation's language."""
    for part in scope.get("query_string", b"").decode("latin-1").split("&"):
        if part.startswith("lang="):
            return "en" if part[5:].startswith("en") else "zh-CN"
    for name, value in scope["headers"]:
        if name == b"accept-language":
            return negotiate(value.decode("latin-1"), default)
    return default


def render_visitor_page(template: str, lang: str, **context: Any) -> str:
    def _(key: str, **params: Any) -> str:
        return gettext(key, lang, **params)

    return environment().get_template(template).render(lang=lang, _=_, **context)
