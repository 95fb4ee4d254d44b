"""The generic webhook's JSON: the stream's typed records, one object each. Pure.

A bridge (WeCom callbacks, Wechaty, Discord, Matrix ...) posts one record object or
``{"records": [...]}`` (at most 1000). The ``type`` field picks the record kind;
unknown fields are refused so a misspelt field is reported, not silently lost. The JSON
Schema in docs/webhook-schema.json is generated from these models
(``python -m qunyun.platforms.webhook.schema > docs/webhook-schema.json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    TypeAdapter,
    ValidationError,
)

from qunyun.stream.records import (
    JoinHow,
    JoinRequested,
    LeaveHow,
    MemberJoined,
    MemberLeft,
    MessageKind,
    MessagePosted,
    MessageRecalled,
    NicknameChanged,
    ReactionAdded,
    Record,
    UnknownPayload,
)

MAX_RECORDS = 1000
DEFAULT_PLATFORM = "webhook"

Id = Annotated[str, Field(min_length=1, max_length=128)]
Text = Annotated[str, Field(max_length=200)]


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[
        str,
        Field(
            min_length=1,
            max_length=160,
            description="The bridge's stable id of this record: sending it again stores it once.",
        ),
    ]
    platform: Annotated[
        str,
        Field(
            pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$",
            description=(
                "The chat platform the people and groups belong to (wecom, discord, matrix "
                "...); identities are shared with every other source naming the same platform."
            ),
        ),
    ] = DEFAULT_PLATFORM
    group: Id | None = Field(
        default=None, description="The group's id on the platform (absent for direct chats)."
    )
    group_name: Text | None = None
    user: Id | None = Field(
        default=None, description="The person the record is about: sender, joiner, applicant."
    )
    user_name: Text | None = None
    occurred_at: AwareDatetime = Field(description="ISO-8601 with a UTC offset.")
    raw: dict[str, Any] | None = Field(
        default=None, description="The platform's own payload, kept as it came."
    )

    def common(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "platform_record_id": self.id,
            "platform_group_id": self.group,
            "group_name": self.group_name,
            "occurred_at": self.occurred_at,
            "platform_user_id": self.user,
            "user_name": self.user_name,
            "raw": self.raw,
        }


class MessagePostedIn(RecordIn):
    type: Literal["message_posted"]
    message_id: Id
    text: Annotated[str, Field(max_length=65536)] = ""
    message_kind: MessageKind = MessageKind.text
    mentions: Annotated[list[Id], Field(max_length=200)] = Field(
        default_factory=list, description="User ids mentioned."
    )
    mention_all: bool = False
    reply_to: Id | None = None
    nickname: Text | None = Field(default=None, description="The sender's group nickname.")
    images: Annotated[list[HttpUrl], Field(max_length=9)] = Field(
        default_factory=list,
        description="http(s) URLs of the images the message carries (checked for QR codes).",
    )

    def record(self) -> Record:
        return MessagePosted(
            **self.common(),
            message_id=self.message_id,
            text=self.text,
            message_kind=self.message_kind,
            mentions=tuple(self.mentions),
            mention_all=self.mention_all,
            reply_to=self.reply_to,
            nickname=self.nickname,
            images=tuple(str(url) for url in self.images),
        )


class MessageRecalledIn(RecordIn):
    type: Literal["message_recalled"]
    message_id: Id
    operator: Id | None = Field(default=None, description="Who recalled it, if not the sender.")

    def record(self) -> Record:
        return MessageRecalled(
            **self.common(), message_id=self.message_id, operator_user_id=self.operator
        )


class MemberJoinedIn(RecordIn):
    type: Literal["member_joined"]
    how: JoinHow = JoinHow.unknown
    operator: Id | None = Field(default=None, description="The inviter or approving admin.")
    nickname: Text | None = None

    def record(self) -> Record:
        return MemberJoined(
            **self.common(), how=self.how, operator_user_id=self.operator, nickname=self.nickname
        )


class MemberLeftIn(RecordIn):
    type: Literal["member_left"]
    how: LeaveHow = LeaveHow.left
    operator: Id | None = Field(default=None, description="Who removed or banned them.")

    def record(self) -> Record:
        return MemberLeft(**self.common(), how=self.how, operator_user_id=self.operator)


class JoinRequestedIn(RecordIn):
    type: Literal["join_requested"]
    request_id: Id = Field(description="What answer_join_request must send back.")
    answers: Annotated[str, Field(max_length=4096)] = ""
    request_type: Literal["request", "invite"] = "request"
    inviter: Id | None = None

    def record(self) -> Record:
        return JoinRequested(
            **self.common(),
            request_id=self.request_id,
            answers=self.answers,
            request_type=self.request_type,
            inviter_user_id=self.inviter,
        )


class NicknameChangedIn(RecordIn):
    type: Literal["nickname_changed"]
    old: Text | None = None
    new: Text

    def record(self) -> Record:
        return NicknameChanged(**self.common(), old=self.old, new=self.new)


class ReactionAddedIn(RecordIn):
    type: Literal["reaction_added"]
    message_id: Id
    emoji: Annotated[str, Field(min_length=1, max_length=64)]

    def record(self) -> Record:
        return ReactionAdded(**self.common(), message_id=self.message_id, emoji=self.emoji)


class UnknownIn(RecordIn):
    """Something the bridge saw but cannot map: kept raw and counted as unknown."""

    type: Literal["unknown"]
    reason: Text = ""

    def record(self) -> Record:
        return UnknownPayload(**self.common(), reason=self.reason)


AnyRecordIn = Annotated[
    MessagePostedIn
    | MessageRecalledIn
    | MemberJoinedIn
    | MemberLeftIn
    | JoinRequestedIn
    | NicknameChangedIn
    | ReactionAddedIn
    | UnknownIn,
    Field(discriminator="type"),
]


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Batch")

    records: Annotated[list[Any], Field(min_length=1, max_length=MAX_RECORDS)]


RECORD = TypeAdapter[Any](AnyRecordIn)


@dataclass(frozen=True)
class Problem:
    """Why one record of a delivery was refused; ``record`` is its index (None: the
    delivery itself)."""

    record: int | None
    field: str
    problem: str

    def as_dict(self) -> dict[str, Any]:
        return {"record": self.record, "field": self.field, "problem": self.problem}


def parse_delivery(payload: Any) -> tuple[list[Record], list[Problem]]:
    """The records of a delivery, or every problem found (then no records at all)."""
    if isinstance(payload, dict) and "records" in payload:
        try:
            items = Batch.model_validate(payload).records
        except ValidationError as exc:
            return [], [_problem(None, err) for err in exc.errors()]
    elif isinstance(payload, dict):
        items = [payload]
    else:
        return [], [Problem(None, "", 'expected a record object or {"records": [...]}')]
    records: list[Record] = []
    problems: list[Problem] = []
    for index, item in enumerate(items):
        try:
            model = RECORD.validate_python(item)
            if isinstance(model, UnknownIn) and model.raw is None:
                model = model.model_copy(update={"raw": item})
            records.append(model.record())
        except ValidationError as exc:
            problems.extend(_problem(index, err) for err in exc.errors())
    return ([], problems) if problems else (records, [])


def _problem(index: int | None, err: Any) -> Problem:
    where = [str(part) for part in err.get("loc", ())]
    # The discriminator's tag (e.g. "message_posted") is not a field of the payload.
    if where and index is not None and where[0] in _TAGS:
        where = where[1:]
    return Problem(index, ".".join(where), str(err.get("msg", "invalid")))


_TAGS = frozenset(
    get_args(cls.model_fields["type"].annotation)[0] for cls in RecordIn.__subclasses__()
)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a delivery: one record, or a batch of records."""
    record = RECORD.json_schema(ref_template="#/$defs/{model}")
    defs = record.pop("$defs", {})
    defs["Record"] = record
    defs["Batch"] = {
        "type": "object",
        "title": "Batch",
        "properties": {
            "records": {
                "type": "array",
                "items": {"$ref": "#/$defs/Record"},
                "minItems": 1,
                "maxItems": MAX_RECORDS,
            }
        },
        "required": ["records"],
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://qunyun.invalid/webhook-schema.json",
        "title": "Qunyun generic webhook delivery",
        "description": (
            'POST /hooks/webhook/<key>: one record, or {"records": [...]} with at most '
            f"{MAX_RECORDS}. Signed: see docs/platforms.md."
        ),
        "oneOf": [{"$ref": "#/$defs/Record"}, {"$ref": "#/$defs/Batch"}],
        "$defs": defs,
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
