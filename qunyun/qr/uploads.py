"""Request bodies of the QR routes: capped while they stream in, then parsed.

A route whose endpoint is marked with :func:`body_limit` receives a request whose
``receive`` counts bytes as they arrive and refuses (413) the moment the body passes the
cap, without reading the rest, whoever reads first: the CSRF check parses the form when
no header carries the token, before any endpoint code runs. A declared Content-Length
over the cap is refused before a byte is read. Starlette spools file parts over 1 MiB
to a temporary file, so memory stays small while a capped body is parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi.routing import APIRoute
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive

from qunyun.errors import DomainError

# Room for the text fields and multipart boundaries next to the file itself.
FORM_OVERHEAD = 128 * 1024
# Text fields: the longest QR text (7,089 characters) in UTF-8, with margin.
MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 32
IGNORED_FIELDS = frozenset({"csrf_token"})
_LIMIT_ATTRIBUTE = "__qunyun_body_limit__"

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def is_form(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").lower()
    return content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded"))


@dataclass(frozen=True)
class BodyLimit:
    """The largest file a route accepts (``max_bytes``) and the code refusing more.

    The whole body may exceed the file by :data:`FORM_OVERHEAD`; a body that is not a
    form (JSON) is refused with ``qr.request_too_large`` instead.
    """

    max_bytes: int
    code: str

    @property
    def cap(self) -> int:
        return self.max_bytes + FORM_OVERHEAD

    def refusal(self, request: Request, size: int | str) -> DomainError:
        if not is_form(request):
            return DomainError("qr.request_too_large", status=413, size=size, limit=self.cap)
        return DomainError(self.code, status=413, size=size, limit=self.max_bytes)


def body_limit(limit: BodyLimit) -> Callable[[Endpoint], Endpoint]:
    """Mark an endpoint of a :class:`LimitedBodyRoute` router with its body cap."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _LIMIT_ATTRIBUTE, limit)
        return endpoint

    return mark


def capped_receive(receive: Receive, cap: int, refuse: Callable[[str], DomainError]) -> Receive:
    """``receive`` that raises ``refuse(...)`` once more than ``cap`` body bytes arrived."""
    received = 0

    async def capped() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > cap:
                raise refuse(f"{received}+")
        return message

    return capped


def declared_length(request: Request) -> int | None:
    try:
        return int(request.headers["content-length"])
    except (KeyError, ValueError):
        return None


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class LimitedBodyRoute(APIRoute):
    """A route that enforces its endpoint's :func:`body_limit`, if it has one."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        limit = getattr(self.endpoint, _LIMIT_ATTRIBUTE, None)
        if not isinstance(limit, BodyLimit):
            return handler

        async def limited(request: Request) -> Response:
            declared = declared_length(request)
            if declared is not None and declared > limit.cap:
                raise limit.refusal(request, declared)

            def refuse(size: str) -> DomainError:
                return limit.refusal(request, size)

            capped = Request(request.scope, capped_receive(request.receive, limit.cap, refuse))
            return await handler(capped)

        return limited


async def read_form(request: Request, *, max_files: int = 1) -> FormData:
    """The request's form (cached by Starlette: the CSRF check may have parsed it)."""
    return await request.form(
        max_files=max_files, max_fields=MAX_FIELDS, max_part_size=MAX_FIELD_BYTES
    )


def text_fields(form: FormData) -> dict[str, str]:
    """The non-empty text fields, minus the CSRF token: empty inputs mean "not set"."""
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if isinstance(value, str) and value.strip() and name not in IGNORED_FIELDS:
            fields[name] = value
    return fields


async def file_bytes(form: FormData, name: str, limit: BodyLimit) -> bytes | None:
    """The bytes of file field ``name``, or None when no file was chosen."""
    value = form.get(name)
    if not isinstance(value, UploadFile):
        return None
    if not value.filename and not value.size:
        return None  # a file input left empty still sends an empty, nameless part
    if value.size is not None and value.size > limit.max_bytes:
        raise DomainError(limit.code, status=413, size=value.size, limit=limit.max_bytes)
    data = await value.read(limit.max_bytes + 1)
    if len(data) > limit.max_bytes:
        raise DomainError(limit.code, status=413, size=f"{len(data)}+", limit=limit.max_bytes)
    return data
