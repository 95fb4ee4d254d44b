"""JSON shapes of the short-link API.

Limits here only stop absurd input early (422); the service holds the real rules and
answers 400 with a specific code (a URL longer than the configured maximum is
``url.too_long``, not a validation error).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from qunyun.links.inputs import (
    MAX_NOTE_LENGTH,
    MAX_PASSWORD_LENGTH,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    MAX_TITLE_LENGTH,
    MAX_UTM_LENGTH,
    MAX_VISITS_LIMIT,
    UNSET,
    LinkChanges,
    LinkStatus,
    NewLink,
)
from qunyun.links.slugs import MAX_SLUG_LENGTH

MAX_URL_INPUT = 65_536
TagName = Annotated[str, Field(max_length=MAX_TAG_LENGTH)]
Utm = Annotated[str | None, Field(max_length=MAX_UTM_LENGTH)]


class ErrorOut(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. url.private_host")
    message: str = Field(description="for people, in the request's language")


class FieldProblem(BaseModel):
    field: str
    problem: str


class ValidationErrorOut(ErrorOut):
    errors: list[FieldProblem]


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the refusals an operation can answer with."""
    described = {
        400: "Refused input (see code)",
        401: "Not signed in, or the API token is invalid",
        403: "The role is insufficient, or the CSRF token is missing",
        404: "No such link",
        409: "Conflict, e.g. the slug is taken",
        413: "The upload is too large",
        429: "Too many requests; see Retry-After",
    }
    responses: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorOut, "description": described[status]} for status in statuses
    }
    responses[422] = {"model": ValidationErrorOut, "description": "Malformed request"}
    return responses


class _LinkFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=MAX_TITLE_LENGTH)
    fetch_title: bool = Field(
        default=False, description="fetch the title from the target page when none is given"
    )
    note: str | None = Field(default=None, max_length=MAX_NOTE_LENGTH)
    expires_at: datetime | None = Field(
        default=None, description="ISO 8601; without an offset it is read in the server's zone"
    )
    max_visits: int | None = Field(default=None, ge=1, le=MAX_VISITS_LIMIT)
    password: str | None = Field(
        default=None, max_length=MAX_PASSWORD_LENGTH, description="empty: no password"
    )
    utm_source: Utm = None
    utm_medium: Utm = None
    utm_campaign: Utm = None
    utm_term: Utm = None
    utm_content: Utm = None


class LinkCreateIn(_LinkFields):
    url: str = Field(min_length=1, max_length=MAX_URL_INPUT, examples=["https://example.com/"])
    slug: str | None = Field(
        default=None, max_length=MAX_SLUG_LENGTH, description="custom slug; generated if absent"
    )
    tags: list[TagName] = Field(default_factory=list, max_length=MAX_TAGS)
    redirect_status: Literal[301, 302] = 302

    def to_new_link(self) -> NewLink:
        return NewLink(
            url=self.url,
            slug=self.slug,
            title=self.title,
            note=self.note,
            tags=tuple(self.tags),
            expires_at=self.expires_at,
            max_visits=self.max_visits,
            password=self.password,
            redirect_status=self.redirect_status,
            utm_source=self.utm_source,
            utm_medium=self.utm_medium,
            utm_campaign=self.utm_campaign,
            utm_term=self.utm_term,
            utm_content=self.utm_content,
        )


_NOT_NULLABLE = ("url", "slug", "tags", "redirect_status", "is_enabled", "fetch_title")


class LinkUpdateIn(_LinkFields):
    """Only the fields sent change; ``null`` clears an optional one; ``password: ""``
    removes the password."""

    url: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=MAX_URL_INPUT)
    slug: str | SkipJsonSchema[None] = Field(default=None, max_length=MAX_SLUG_LENGTH)
    tags: list[TagName] | SkipJsonSchema[None] = Field(default=None, max_length=MAX_TAGS)
    redirect_status: Literal[301, 302] | SkipJsonSchema[None] = None
    is_enabled: bool | SkipJsonSchema[None] = None

    @model_validator(mode="before")
    @classmethod
    def _refuse_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in _NOT_NULLABLE:
                if name in data and data[name] is None:
                    raise ValueError(f"{name} cannot be null")
        return data

    def to_changes(self) -> LinkChanges:
        given = self.model_fields_set - {"fetch_title"}
        values: dict[str, Any] = {name: getattr(self, name) for name in given}
        if "tags" in values:
            values["tags"] = tuple(values["tags"])
        return LinkChanges(**{name: values.get(name, UNSET) for name in _CHANGE_FIELDS})


_CHANGE_FIELDS = tuple(LinkChanges.__dataclass_fields__)


class LinkOut(BaseModel):
    slug: str
    short_url: str
    target_url: str = Field(description="normalised target, without the UTM parameters")
    display_url: str = Field(description="the target for people: Unicode host and path")
    title: str | None
    note: str | None
    tags: list[str]
    expires_at: datetime | None
    max_visits: int | None
    has_password: bool
    redirect_status: int
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None
    utm_content: str | None
    is_enabled: bool
    state: LinkStatus
    deleted_at: datetime | None
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime
    human_visits: int
    bot_visits: int
    last_visit_at: datetime | None


class LinkListOut(BaseModel):
    items: list[LinkOut]
    total: int
    page: int
    per_page: int


class ImportRowOut(BaseModel):
    row: int = Field(description="spreadsheet row number; the header is row 1")
    ok: bool
    slug: str | None = None
    code: str | None = None
    message: str | None = None


class ImportReportOut(BaseModel):
    dry_run: bool
    created: int = Field(description="rows created (in a dry run: rows that would be)")
    failed: int
    rows: list[ImportRowOut]


class BlockedHostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern: str = Field(min_length=1, max_length=300, examples=["example.com", "*.example.com"])
    reason: str | None = Field(default=None, max_length=255)


class BlockedHostOut(BaseModel):
    id: int
    pattern: str
    reason: str | None
    created_at: datetime
