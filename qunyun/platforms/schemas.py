"""JSON shapes of the connections and actions API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from qunyun.web.schemas import MAX_ROW_ID

PlatformName = Literal["onebot", "telegram", "webhook", "manual"]
StatusName = Literal["pending", "sending", "sent", "failed", "todo", "done", "cancelled"]


class ConnectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: PlatformName
    name: str = Field(max_length=400)
    inbound_secret: str | None = Field(
        default=None, max_length=256, description="generated when absent (not for manual)"
    )
    access_token: str | None = Field(default=None, max_length=256)
    api_url: str | None = Field(default=None, max_length=2048)


class ConnectionUpdateIn(BaseModel):
    """Only the fields sent change; an empty access token or URL clears it."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=400)
    access_token: str | None = Field(default=None, max_length=256)
    api_url: str | None = Field(default=None, max_length=2048)
    enabled: bool | None = None

    def to_fields(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.model_fields_set}


class ConnectionOut(BaseModel):
    id: int
    platform: str
    name: str
    enabled: bool
    inbound_url: str | None = Field(description="where the platform posts (admins only)")
    websocket_url: str | None = Field(description="OneBot's reverse WebSocket (admins only)")
    api_url: str | None
    has_access_token: bool
    has_inbound_secret: bool
    self_id: str | None
    last_seen_at: datetime | None
    received_count: int
    unknown_count: int
    rejected_count: int
    created_at: datetime
    inbound_secret: str | None = Field(
        default=None, description="only in the answer that created or rotated it"
    )


class SecretOut(BaseModel):
    id: int
    inbound_secret: str


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group_id: int = Field(ge=1, le=MAX_ROW_ID)
    kind: str = Field(max_length=40, examples=["send_message"])
    params: dict[str, Any] = Field(default_factory=dict, examples=[{"text": "大家好"}])
    reason: str | None = Field(default=None, max_length=200)


class QueryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group_id: int = Field(ge=1, le=MAX_ROW_ID)
    kind: Literal["get_group_info", "get_member_list", "get_member_info"]
    params: dict[str, Any] = Field(default_factory=dict)


class QueryOut(BaseModel):
    ok: bool
    data: Any = None
    error: str | None = None


class SyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group_id: int = Field(ge=1, le=MAX_ROW_ID)


class SyncOut(BaseModel):
    listed: int
    added: int
    updated: int


class TodoOut(BaseModel):
    instruction: str
    copy_text: str


class ActionOut(BaseModel):
    id: int
    group_id: int | None
    group_name: str | None
    connection_id: int | None
    connection_name: str | None
    kind: str
    params: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    result: dict[str, Any] | None
    reason: str | None
    requested_by_id: int | None
    done_by_id: int | None
    created_at: datetime
    done_at: datetime | None
    waiting_for_connection: bool
    todo: TodoOut | None = Field(description="for to-dos and failures: what a person would do")


class ActionPageOut(BaseModel):
    items: list[ActionOut]
    total: int
    limit: int
    offset: int
