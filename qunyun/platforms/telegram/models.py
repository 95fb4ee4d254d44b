"""The few Bot API fields Qunyun reads, as pydantic models. Pure.

Only what the readers need is declared; everything else in an Update is ignored here
(and kept whole in the record's ``raw``), so a new Bot API version never breaks us.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TgModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class User(TgModel):
    id: int
    is_bot: bool = False
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None

    @property
    def name(self) -> str:
        full = " ".join(p for p in (self.first_name, self.last_name) if p)
        return full or self.username or str(self.id)


class Chat(TgModel):
    id: int
    type: str
    title: str | None = None
    username: str | None = None

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")


class MessageEntity(TgModel):
    type: str
    # Both in UTF-16 code units, as the Bot API counts.
    offset: int
    length: int
    user: User | None = None


class Message(TgModel):
    # Content fields (photo, voice, ...) are read from the raw dict, not declared here.
    message_id: int
    date: int
    chat: Chat
    from_user: User | None = Field(default=None, alias="from")
    sender_chat: Chat | None = None
    text: str | None = None
    caption: str | None = None
    entities: list[MessageEntity] = Field(default_factory=list)
    caption_entities: list[MessageEntity] = Field(default_factory=list)
    reply_to_message: Message | None = None
    is_topic_message: bool = False
    forum_topic_created: dict[str, Any] | None = None
    edit_date: int | None = None
    new_chat_members: list[User] | None = None
    left_chat_member: User | None = None


class ChatInviteLink(TgModel):
    invite_link: str = ""
    name: str | None = None
    creator: User | None = None


class ChatMember(TgModel):
    status: str
    user: User
    # Only "restricted" members carry it: are they in the chat at the moment?
    is_member: bool | None = None

    @property
    def present(self) -> bool:
        if self.status == "restricted":
            return bool(self.is_member)
        return self.status in ("creator", "administrator", "member")


class ChatMemberUpdated(TgModel):
    chat: Chat
    from_user: User = Field(alias="from")
    date: int
    old_chat_member: ChatMember
    new_chat_member: ChatMember
    invite_link: ChatInviteLink | None = None
    via_join_request: bool = False
    via_chat_folder_invite_link: bool = False


class ChatJoinRequest(TgModel):
    chat: Chat
    from_user: User = Field(alias="from")
    date: int
    bio: str | None = None
    invite_link: ChatInviteLink | None = None


class ReactionType(TgModel):
    type: str
    emoji: str | None = None
    custom_emoji_id: str | None = None

    @property
    def label(self) -> str:
        if self.type == "emoji" and self.emoji:
            return self.emoji
        if self.type == "custom_emoji" and self.custom_emoji_id:
            return f"custom:{self.custom_emoji_id}"
        return self.type


class MessageReactionUpdated(TgModel):
    chat: Chat
    message_id: int
    date: int
    user: User | None = None
    actor_chat: Chat | None = None
    old_reaction: list[ReactionType] = Field(default_factory=list)
    new_reaction: list[ReactionType] = Field(default_factory=list)
