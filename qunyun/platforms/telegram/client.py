"""Qunyun's actions as Telegram Bot API calls, over plain httpx.

Every call is ``POST {api_url}/bot{token}/{method}`` with a JSON body; the answer is
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description",
"parameters": {"retry_after"}}``. Failures are reported, never raised: flood control
(429), server errors and network trouble may pass and are retryable; a refused request
(400 bad request, 401/404 bad token, 403 not an admin) will be refused again and is not.
A failure's ``error`` starts with a ``telegram.*`` code, then the Bot API's words.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from qunyun.platforms.actions import Action, ActionKind, ActionResult
from qunyun.platforms.models import PlatformConnection
from qunyun.platforms.telegram.updates import READ_UPDATES

if TYPE_CHECKING:
    from qunyun.web.context import AppContext

DEFAULT_API_URL = "https://api.telegram.org"
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
# restrictChatMember: "if a user is restricted for less than 30 seconds from the current
# time, they are considered to be restricted forever" — so shorter mutes become 30 s.
MIN_MUTE_SECONDS = 30

SEND_PERMISSIONS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_react_to_messages",
)
OTHER_PERMISSIONS = (
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
    "can_edit_tag",
)
ALLOWED_UPDATES = list(READ_UPDATES)


class _BadParams(ValueError):
    pass


def chat_id(value: Any) -> int | str:
    """A chat id as the Bot API takes it: a number, or ``@channelusername``."""
    text = str(value).strip()
    if text.startswith("@") and len(text) > 1:
        return text
    try:
        return int(text)
    except ValueError:
        raise _BadParams(f"chat id {text[:40]!r}") from None


def user_id(value: Any) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise _BadParams(f"user id {str(value)[:40]!r}") from None


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def with_mentions(text: str, mentions: Iterable[Any]) -> tuple[str, list[dict[str, Any]]]:
    """Prefix ``text`` with mentions: ``"@name"`` as written, a user id (or
    ``{"user": id, "name": "..."}``) as a ``tg://user?id=`` link labelled with the name."""
    prefix = ""
    entities: list[dict[str, Any]] = []
    for mention in mentions:
        if isinstance(mention, Mapping):
            uid, label = mention.get("user"), str(mention.get("name") or mention.get("user"))
        elif isinstance(mention, str) and mention.startswith("@"):
            prefix += f"{mention} "
            continue
        else:
            uid, label = mention, str(mention)
        label = f"@{label.lstrip('@')}"
        entities.append(
            {
                "type": "text_link",
                "offset": utf16_len(prefix),
                "length": utf16_len(label),
                "url": f"tg://user?id={user_id(uid)}",
            }
        )
        prefix += f"{label} "
    return prefix + text, entities


def _permissions(allowed: bool, names: Iterable[str]) -> dict[str, bool]:
    return dict.fromkeys(names, allowed)


def _failure_of(status: int, payload: Any) -> ActionResult:
    if isinstance(payload, Mapping):
        code = payload.get("error_code", status)
        description = str(payload.get("description", ""))[:300]
        parameters = payload.get("parameters")
    else:
        code, description, parameters = status, "", None
    retry_after = parameters.get("retry_after") if isinstance(parameters, Mapping) else None
    if code == 429 or retry_after is not None:
        return ActionResult(
            ok=False,
            data={"retry_after": retry_after} if retry_after is not None else None,
            error=f"telegram.rate_limited retry_after={retry_after}: {description}",
            retryable=True,
        )
    retryable = not isinstance(code, int) or code >= 500
    return ActionResult.failure(f"telegram.api_error {code}: {description}", retryable=retryable)


class TelegramClient:
    """Performs actions for one bot."""

    def __init__(
        self,
        token: str | None,
        api_url: str | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.api_url = (api_url or DEFAULT_API_URL).rstrip("/")
        self._http = http or httpx.AsyncClient(timeout=TIMEOUT)
        self._clock = clock

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, method: str, payload: Mapping[str, Any] | None = None) -> ActionResult:
        """One Bot API method; ``data`` is its ``result``."""
        if not self.token:
            return ActionResult.failure("telegram.no_token", retryable=False)
        url = f"{self.api_url}/bot{self.token}/{method}"
        try:
            response = await self._http.post(url, json=dict(payload or {}))
        except httpx.TimeoutException:
            return ActionResult.failure(f"telegram.timeout {method}", retryable=True)
        except httpx.HTTPError as exc:
            # The URL holds the token: name the error, never print it.
            return ActionResult.failure(
                f"telegram.unreachable {method} {type(exc).__name__}", retryable=True
            )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, Mapping) and answer.get("ok") is True:
            return ActionResult.success(answer.get("result"))
        return _failure_of(response.status_code, answer)

    async def perform(self, action: Action) -> ActionResult:
        try:
            return await self._perform(action)
        except _BadParams as exc:
            return ActionResult.failure(f"telegram.bad_params {exc}", retryable=False)

    async def _perform(self, action: Action) -> ActionResult:
        kind, params = action.kind, action.params
        chat = chat_id(action.group)
        if kind == ActionKind.send_message:
            return await self._send(chat, params)
        if kind == ActionKind.send_private:
            # A bot may write only to people who have started it; others answer 403.
            return await self.call(
                "sendMessage", {"chat_id": user_id(params["user"]), "text": str(params["text"])}
            )
        if kind == ActionKind.delete_message:
            return await self.call(
                "deleteMessage", {"chat_id": chat, "message_id": user_id(params["message_id"])}
            )
        if kind == ActionKind.mute:
            return await self._mute(chat, user_id(params["user"]), int(params["seconds"]))
        if kind == ActionKind.whole_mute:
            return await self._whole_mute(chat, bool(params["enable"]))
        if kind == ActionKind.kick:
            rejoin = not params.get("reject_rejoin")
            return await self._kick(chat, user_id(params["user"]), allow_rejoin=rejoin)
        if kind == ActionKind.ban:
            return await self.call(
                "banChatMember", {"chat_id": chat, "user_id": user_id(params["user"])}
            )
        if kind == ActionKind.unban:
            return await self._unban(chat, user_id(params["user"]))
        if kind == ActionKind.set_nickname:
            # Telegram has no per-group nicknames.
            return ActionResult.failure("telegram.unsupported set_nickname", retryable=False)
        if kind == ActionKind.set_title:
            # Works only for administrators the bot promoted itself; Telegram says so (400).
            return await self.call(
                "setChatAdministratorCustomTitle",
                {
                    "chat_id": chat,
                    "user_id": user_id(params["user"]),
                    "custom_title": str(params["title"]),
                },
            )
        if kind == ActionKind.answer_join_request:
            return await self._answer(chat, params)
        if kind == ActionKind.get_group_info:
            return await self._group_info(chat)
        if kind == ActionKind.get_member_info:
            return await self.call(
                "getChatMember", {"chat_id": chat, "user_id": user_id(params["user"])}
            )
        assert kind == ActionKind.get_member_list
        # The Bot API lists administrators only; nobody can list every member.
        result = await self.call("getChatAdministrators", {"chat_id": chat})
        if result.ok:
            return ActionResult.success({"members": result.data, "complete": False})
        return result

    async def _send(self, chat: int | str, params: Mapping[str, Any]) -> ActionResult:
        text, entities = with_mentions(str(params["text"]), params.get("mentions") or ())
        payload: dict[str, Any] = {"chat_id": chat, "text": text}
        if entities:
            payload["entities"] = entities
        if params.get("reply_to") is not None:
            payload["reply_parameters"] = {
                "message_id": user_id(params["reply_to"]),
                "allow_sending_without_reply": True,
            }
        return await self.call("sendMessage", payload)

    async def _mute(self, chat: int | str, user: int, seconds: int) -> ActionResult:
        payload: dict[str, Any] = {
            "chat_id": chat,
            "user_id": user,
            "use_independent_chat_permissions": True,
        }
        if seconds <= 0:
            # "Pass True for all permissions to lift restrictions from a user."
            payload["permissions"] = _permissions(True, SEND_PERMISSIONS + OTHER_PERMISSIONS)
        else:
            payload["permissions"] = _permissions(False, SEND_PERMISSIONS)
            payload["until_date"] = int(self._clock()) + max(seconds, MIN_MUTE_SECONDS)
        return await self.call("restrictChatMember", payload)

    async def _whole_mute(self, chat: int | str, enable: bool) -> ActionResult:
        # setChatPermissions replaces every permission: keep the ones we do not touch.
        current = await self.call("getChat", {"chat_id": chat})
        if not current.ok:
            return current
        info = current.data if isinstance(current.data, Mapping) else {}
        existing = info.get("permissions")
        permissions = {
            name: value
            for name, value in (existing.items() if isinstance(existing, Mapping) else ())
            if isinstance(value, bool)
        }
        permissions.update(_permissions(not enable, SEND_PERMISSIONS))
        return await self.call(
            "setChatPermissions",
            {"chat_id": chat, "permissions": permissions, "use_independent_chat_permissions": True},
        )

    async def _kick(self, chat: int | str, user: int, *, allow_rejoin: bool) -> ActionResult:
        banned = await self.call("banChatMember", {"chat_id": chat, "user_id": user})
        if not banned.ok or not allow_rejoin:
            return banned
        # Telegram removes by banning; lifting the ban at once lets them come back later.
        return await self._unban(chat, user)

    async def _unban(self, chat: int | str, user: int) -> ActionResult:
        return await self.call(
            "unbanChatMember", {"chat_id": chat, "user_id": user, "only_if_banned": True}
        )

    async def _answer(self, chat: int | str, params: Mapping[str, Any]) -> ActionResult:
        # request_id is "<chat id>:<user id>" (see updates.py); "user" may say it directly.
        request_id = str(params["request_id"])
        chat_part, _, user_part = request_id.rpartition(":")
        user = user_id(params["user"] if params.get("user") is not None else user_part)
        target = chat_id(chat_part) if chat_part else chat
        method = "approveChatJoinRequest" if params["approve"] else "declineChatJoinRequest"
        return await self.call(method, {"chat_id": target, "user_id": user})

    async def _group_info(self, chat: int | str) -> ActionResult:
        info = await self.call("getChat", {"chat_id": chat})
        if not info.ok:
            return info
        count = await self.call("getChatMemberCount", {"chat_id": chat})
        data = dict(info.data) if isinstance(info.data, Mapping) else {"chat": info.data}
        if count.ok:
            data["member_count"] = count.data
        return ActionResult.success(data)

    async def set_webhook(self, url: str, secret_token: str | None) -> ActionResult:
        payload: dict[str, Any] = {"url": url, "allowed_updates": ALLOWED_UPDATES}
        if secret_token:
            payload["secret_token"] = secret_token
        return await self.call("setWebhook", payload)

    async def get_me(self) -> ActionResult:
        return await self.call("getMe")


def build_client(connection: PlatformConnection, ctx: AppContext) -> TelegramClient:
    return TelegramClient(connection.access_token, connection.api_url)


async def register_webhook(
    connection: PlatformConnection, public_url: str, *, http: httpx.AsyncClient | None = None
) -> ActionResult:
    """Point the bot's webhook at ``public_url`` (the connection's /hooks/telegram/<key>
    URL), asking for the Update types Qunyun reads (chat_member must be asked for by
    name) and for the connection's inbound secret in every delivery's header."""
    client = TelegramClient(connection.access_token, connection.api_url, http=http)
    try:
        return await client.set_webhook(public_url, connection.inbound_secret)
    finally:
        if http is None:
            await client.aclose()
