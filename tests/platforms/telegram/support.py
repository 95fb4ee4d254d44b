"""Telegram test peers, checked against aiogram (an independent Bot API implementation).

- :class:`TelegramPeer` plays Telegram's servers delivering a webhook: it builds Updates
  with ``aiogram.types.Update`` and posts aiogram's serialisation with the secret header.
- :class:`FakeBotApi` plays the Bot API server Qunyun calls: each request body is
  validated by the aiogram method model of its method (no unknown fields allowed), the
  token in the path is checked, and every answer is itself validated as the method's
  aiogram return type, so the client is tested against real shapes on both sides.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiogram.methods
import httpx
from aiogram.methods.base import TelegramMethod
from aiogram.types import Update
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CHAT = -1001234567890
BOT = {"id": 7000000001, "is_bot": True, "first_name": "群运助手", "username": "qunyun_helper_bot"}

METHODS: dict[str, type[TelegramMethod[Any]]] = {
    cls.__api_method__.lower(): cls
    for cls in vars(aiogram.methods).values()
    if isinstance(cls, type) and issubclass(cls, TelegramMethod) and cls is not TelegramMethod
}


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return data


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def extra_fields(model: Any, path: str = "update") -> list[str]:
    """Fields aiogram did not recognise, anywhere in ``model`` (aiogram keeps extras)."""
    found: list[str] = []
    if isinstance(model, BaseModel):
        found += [f"{path}.{name}" for name in model.model_extra or {}]
        for name in type(model).model_fields:
            found += extra_fields(getattr(model, name), f"{path}.{name}")
    elif isinstance(model, list | tuple):
        for index, item in enumerate(model):
            found += extra_fields(item, f"{path}[{index}]")
    return found


def update_body(update: Update) -> bytes:
    """An Update as aiogram serialises it: the JSON Telegram would post."""
    return update.model_dump_json(exclude_none=True, by_alias=True).encode("utf-8")


class TelegramPeer:
    """Telegram's servers, delivering Updates to one webhook URL."""

    def __init__(self, base_url: str, key: str, secret: str | None) -> None:
        self.url = f"{base_url}/hooks/telegram/{key}"
        self.secret = secret
        self.http = httpx.Client(timeout=20, trust_env=False)

    def post_raw(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        sent = {"Content-Type": "application/json"}
        if self.secret is not None:
            sent[SECRET_HEADER] = self.secret
        sent.update(headers or {})
        return self.http.post(self.url, content=body, headers=sent)

    def post(self, update: Update | dict[str, Any]) -> httpx.Response:
        if isinstance(update, dict):
            update = Update.model_validate(update)
        return self.post_raw(update_body(update))

    def close(self) -> None:
        self.http.close()


def _message(text: str, message_id: int = 501) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "date": 1718001000,
        "chat": {"id": CHAT, "type": "supergroup", "title": "春季训练营 1 群"},
        "from": BOT,
        "text": text,
    }


def _chat_full_info() -> dict[str, Any]:
    return {
        "id": CHAT,
        "type": "supergroup",
        "title": "春季训练营 1 群",
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
        "permissions": {
            "can_send_messages": True,
            "can_send_photos": True,
            "can_send_polls": False,
            "can_invite_users": True,
            "can_pin_messages": False,
            "can_change_info": False,
        },
    }


ZHANG = {"id": 111111111, "is_bot": False, "first_name": "三", "last_name": "张"}
DEFAULT_RESULTS: dict[str, Any] = {
    "getchat": _chat_full_info(),
    "getchatmembercount": 42,
    "getchatmember": {"status": "member", "user": ZHANG},
    "getchatadministrators": [
        {"status": "creator", "user": ZHANG, "is_anonymous": False},
        {
            "status": "administrator",
            "user": BOT,
            "can_be_edited": False,
            "is_anonymous": False,
            "can_manage_chat": True,
            "can_delete_messages": True,
            "can_manage_video_chats": False,
            "can_restrict_members": True,
            "can_promote_members": False,
            "can_change_info": False,
            "can_invite_users": True,
            "can_post_stories": False,
            "can_edit_stories": False,
            "can_delete_stories": False,
            "can_send_welcome_messages": False,
        },
    ],
    "getme": {**BOT, "can_join_groups": True, "can_read_all_group_messages": False},
}


@dataclass
class FakeBotApi:
    """A Bot API server for one bot token."""

    token: str
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Per method (lower case): answers to give first, as (HTTP status, JSON body).
    scripted: dict[str, list[tuple[int, Any]]] = field(default_factory=lambda: defaultdict(list))
    # Requests aiogram's models refused: a test expecting none asserts this is empty.
    invalid: list[str] = field(default_factory=list)

    def script(self, method: str, status: int, body: Any) -> None:
        self.scripted[method.lower()].append((status, body))

    def methods(self) -> list[str]:
        return [name for name, _ in self.calls]

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/bot{token}/{method}", self._handle, methods=["POST"])])

    async def _handle(self, request: Request) -> JSONResponse:
        token, method = request.path_params["token"], request.path_params["method"]
        if token != self.token:
            return _error(401, "Unauthorized")
        cls = METHODS.get(method.lower())
        if cls is None:
            return _error(404, "Not Found")
        body = await request.json() if await request.body() else {}
        problem = _invalid(cls, body)
        if problem is not None:
            self.invalid.append(f"{method}: {problem}")
            return _error(400, f"Bad Request: {problem}")
        self.calls.append((cls.__api_method__, body))
        queue = self.scripted.get(method.lower())
        if queue:
            status, answer = queue.pop(0)
            return JSONResponse(answer, status_code=status)
        result = DEFAULT_RESULTS.get(method.lower(), True)
        if method.lower() == "sendmessage":
            result = _message(body["text"])
        # Our fake's answers must be what aiogram accepts as this method's result.
        TypeAdapter(cls.__returning__).validate_python(result)
        return JSONResponse({"ok": True, "result": result})


def _error(code: int, description: str, **parameters: Any) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=code)


def error_body(code: int, description: str, **parameters: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


def _invalid(cls: type[TelegramMethod[Any]], body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body is not an object"
    known = {f.alias or name for name, f in cls.model_fields.items()} | set(cls.model_fields)
    unknown = sorted(set(body) - known)
    if unknown:
        return f"unknown fields {unknown}"
    try:
        model = cls.model_validate(body)
    except ValidationError as exc:
        return str(exc.errors()[0])
    extras = extra_fields(model, cls.__api_method__)
    return f"unknown nested fields {extras}" if extras else None
