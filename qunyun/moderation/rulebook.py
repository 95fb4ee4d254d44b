"""A community's rule book, as data. Pure: no web, no database.

One document per community, optionally overridden per group by a partial document
merged over it (:func:`merge_override`). The storage keeps numbered revisions of these
documents; ``version`` here is the *format* version of the document itself.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from qunyun.moderation.text.matcher import DETECTOR_NAMES, check_regex
from qunyun.stream.records import MessageKind

FORMAT_VERSION = 1
MAX_PATTERN_LENGTH = 300
# Shipped word lists: qunyun/moderation/data/<name>.txt (owned by the text matcher).
DATA_DIR = Path(__file__).resolve().parent / "data"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
DOMAIN_RE = re.compile(r"^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


SEVERITY_RANK: dict[Severity, int] = {Severity.low: 0, Severity.medium: 1, Severity.high: 2}


class Weekday(StrEnum):
    mon = "mon"
    tue = "tue"
    wed = "wed"
    thu = "thu"
    fri = "fri"
    sat = "sat"
    sun = "sun"

    @property
    def number(self) -> int:
        """Monday is 0, as ``date.weekday()``."""
        return list(Weekday).index(self)


ALL_DAYS: tuple[Weekday, ...] = tuple(Weekday)


def _parse_clock(value: Any) -> Any:
    # "06:30" (and "6:30") only: a clock time in the group's zone, minutes precision.
    if isinstance(value, str):
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            raise PydanticCustomError(
                "bad_clock", "not a time of day HH:MM: {value}", {"value": value}
            )
        return time(int(match[1]), int(match[2]))
    if isinstance(value, time):
        return value
    raise PydanticCustomError("bad_clock", "not a time of day HH:MM: {value}", {"value": value})


Clock = Annotated[
    time,
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
]


class LocalText(Model):
    """A text in every language; a plain string in YAML means the same text in both."""

    zh_cn: str = Field(default="", alias="zh-CN", max_length=2000)
    en: str = Field(default="", max_length=2000)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"zh-CN": value, "en": value}
        return value

    def get(self, lang: str) -> str:
        if lang == "en":
            return self.en or self.zh_cn
        return self.zh_cn or self.en

    def __bool__(self) -> bool:
        return bool(self.zh_cn or self.en)


def check_pattern(pattern: str) -> str:
    """Refuse a pattern that does not compile or could run for ever (a custom error type).

    The text matcher's own check decides (it runs the patterns), so a book accepted here
    always builds a matcher.
    """
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PydanticCustomError(
            "pattern_too_long", "pattern longer than {limit}", {"limit": MAX_PATTERN_LENGTH}
        )
    try:
        re.compile(pattern)
    except re.error as exc:
        raise PydanticCustomError(
            "bad_pattern", "invalid pattern: {detail}", {"detail": str(exc)}
        ) from None
    problem = check_regex(pattern)
    if problem is not None:
        raise PydanticCustomError(
            "catastrophic_pattern", "pattern may never finish: {detail}", {"detail": problem}
        )
    return pattern


def _check_list_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise PydanticCustomError("bad_name", "not a list name: {name}", {"name": name})
    if not (DATA_DIR / f"{name}.txt").is_file():
        raise PydanticCustomError("unknown_list", "no word list {name}", {"name": name})
    return name


def _check_detector(name: str) -> str:
    if name not in DETECTOR_NAMES:
        raise PydanticCustomError("unknown_detector", "no detector {name}", {"name": name})
    return name


def _check_domain(domain: str) -> str:
    d = domain.strip().lower().removeprefix("*.")
    if not DOMAIN_RE.fullmatch(d):
        raise PydanticCustomError("bad_domain", "not a domain: {domain}", {"domain": domain})
    return d


# Checked item by item, so an error's location names the item (and its YAML line).
Pattern = Annotated[str, Field(min_length=1), AfterValidator(check_pattern)]
ListName = Annotated[str, AfterValidator(_check_list_name)]
DetectorName = Annotated[str, AfterValidator(_check_detector)]
Domain = Annotated[str, AfterValidator(_check_domain)]


class Category(Model):
    """A banned category: words, named word lists and patterns that identify it."""

    label: LocalText = LocalText()
    # Shown in the published rules, e.g. religion: "not promoted, not opposed".
    description: LocalText = LocalText()
    enabled: bool = True
    severity: Severity = Severity.medium
    words: tuple[Annotated[str, Field(min_length=1, max_length=100)], ...] = ()
    # Names of shipped word lists (qunyun/moderation/data/<name>.txt).
    words_from: tuple[ListName, ...] = ()
    # Python regexes run on the matcher's compact normalised text (lower case, no spaces
    # or punctuation, ASCII digits): write 加v[0-9]{6}, not 加\s*V.
    patterns: tuple[Pattern, ...] = ()
    # Built-in detectors of the text matcher: phone, wechat_id, qq, url, card, qr.
    detectors: tuple[DetectorName, ...] = ()


class LinkMode(StrEnum):
    any = "any"
    none = "none"
    allow_list = "allow_list"
    own_short_links = "own_short_links"


class LinkRules(Model):
    mode: LinkMode = LinkMode.any
    # Host names; "example.com" also allows its subdomains.
    allow_domains: tuple[Domain, ...] = ()
    severity: Severity = Severity.low


class MediaRules(Model):
    banned: tuple[MessageKind, ...] = ()
    severity: Severity = Severity.low


class FloodRules(Model):
    enabled: bool = True
    # At most max_messages messages in window_seconds.
    max_messages: int = Field(default=10, ge=1, le=1000)
    window_seconds: int = Field(default=60, ge=1, le=86400)
    # The same text repeat_count times within repeat_window_seconds (0 turns it off).
    repeat_count: int = Field(default=3, ge=0, le=100)
    repeat_window_seconds: int = Field(default=600, ge=1, le=86400)
    # More than max_mentions @-mentions within window_seconds (0 turns it off).
    max_mentions: int = Field(default=5, ge=0, le=1000)
    # "@all" is a mention of everybody: refused unless allowed here (or by an exemption).
    allow_mention_all: bool = False
    severity: Severity = Severity.low


class QuietHours(Model):
    """Speaking is not allowed from ``start`` to ``end`` (local time; may cross midnight)."""

    enabled: bool = False
    start: Clock = time(23, 30)
    end: Clock = time(6, 30)
    # The days on which a quiet period *starts* (a period starting Friday 23:30 ends Saturday).
    days: tuple[Weekday, ...] = ALL_DAYS
    # The group's own time zone is used; this is the fallback when the group has none.
    timezone: str = "Asia/Shanghai"
    # Ask the platform to mute the whole group during quiet hours.
    enforce_whole_mute: bool = False
    severity: Severity = Severity.low

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, value: Any) -> Any:
        return _parse_clock(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise PydanticCustomError(
                "bad_timezone", "unknown time zone {zone}", {"zone": value}
            ) from None
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.start == self.end:
            raise PydanticCustomError("quiet_empty", "start and end are the same time", {})
        return self


class NicknameAction(StrEnum):
    remind_only = "remind_only"
    mute = "mute"
    remove = "remove"


class NicknameFormat(Model):
    enabled: bool = False
    pattern: str = ""
    # What the pattern means, for people: "楼号-单元-房号 姓名，如 5-1-3305 吕凯".
    description: LocalText = LocalText()
    example: str = ""
    grace_hours: int = Field(default=24, ge=0, le=24 * 30)
    # Remind again this often while the nickname is still wrong (0: remind once).
    remind_every_hours: int = Field(default=0, ge=0, le=24 * 30)
    reminder: LocalText = LocalText()
    action: NicknameAction = NicknameAction.remind_only
    mute_seconds: int = Field(default=3600, ge=60, le=30 * 86400)

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        return check_pattern(value) if value else value

    @model_validator(mode="after")
    def _needs_pattern(self) -> Self:
        if self.enabled and not self.pattern:
            raise PydanticCustomError("nickname_pattern_missing", "a pattern is required", {})
        if self.example and self.pattern and not re.fullmatch(self.pattern, self.example):
            raise PydanticCustomError(
                "nickname_example_mismatch",
                "the example {example} does not fit the pattern",
                {"example": self.example, "at": ("example",)},
            )
        return self


class NewcomerLimit(StrEnum):
    link = "link"
    image = "image"
    card = "card"
    file = "file"
    video = "video"
    voice = "voice"
    mention = "mention"


class NewcomerRules(Model):
    # A member is a newcomer until both are past (0 turns a condition off).
    hours: int = Field(default=0, ge=0, le=24 * 365)
    messages: int = Field(default=0, ge=0, le=100000)
    limits: tuple[NewcomerLimit, ...] = (
        NewcomerLimit.link,
        NewcomerLimit.image,
        NewcomerLimit.card,
    )
    severity: Severity = Severity.low


class JoinQuestion(Model):
    """A question a join request must answer; an answer passes when it contains one of
    ``keywords`` (case-insensitive) or matches one of ``patterns``."""

    question: LocalText
    keywords: tuple[Annotated[str, Field(min_length=1, max_length=100)], ...] = ()
    patterns: tuple[Pattern, ...] = ()


class JoinUnanswered(StrEnum):
    # What happens to a request whose answers do not pass.
    reject = "reject"
    queue = "queue"


class AcceptMode(StrEnum):
    # Muted until they accept, or (where muting is impossible) only watched and reminded.
    mute = "mute"
    watch = "watch"


class EntryRules(Model):
    """Who gets in, and what a newcomer must do before speaking."""

    questions: tuple[JoinQuestion, ...] = Field(default=(), max_length=10)
    # Requests whose answers pass are approved without a person.
    auto_approve: bool = True
    unanswered: JoinUnanswered = JoinUnanswered.queue
    # A join request must carry a valid invite code (in its answers).
    invite_required: bool = False
    # Newcomers accept the rules (by keyword, or the link button) before speaking.
    accept_rules: bool = False
    accept_keywords: tuple[Annotated[str, Field(min_length=1, max_length=40)], ...] = (
        "同意",
        "我同意",
        "agree",
    )
    accept_mode: AcceptMode = AcceptMode.mute
    # How long a rule-acceptance mute lasts at most (the platform lifts it then anyway).
    accept_mute_seconds: int = Field(default=7 * 86400, ge=60, le=30 * 86400)


class ReportRules(Model):
    """Members report a message by replying to it with one of these (e.g. 举报 or /report)."""

    enabled: bool = True
    keywords: tuple[Annotated[str, Field(min_length=1, max_length=40)], ...] = (
        "举报",
        "/report",
    )


class GroupRole(StrEnum):
    owner = "owner"
    secretary = "secretary"
    steward = "steward"
    key_member = "key_member"
    member = "member"


ALL_RULES = "all"


class Exemption(Model):
    """Somebody a rule does not apply to, and why: shown in the published rules."""

    member_ids: tuple[int, ...] = ()
    roles: tuple[GroupRole, ...] = ()
    # Rule ids (see RULE_IDS) or categories ("category:ads"); "all" for every rule.
    rules: tuple[str, ...] = (ALL_RULES,)
    reason: LocalText

    @model_validator(mode="after")
    def _someone(self) -> Self:
        if not self.member_ids and not self.roles:
            raise PydanticCustomError("exemption_nobody", "name member ids or roles", {})
        if not self.reason:
            raise PydanticCustomError("exemption_reason", "an exemption needs a reason", {})
        return self

    def covers_rule(self, rule_id: str) -> bool:
        return ALL_RULES in self.rules or rule_id in self.rules


class StepAction(StrEnum):
    warn = "warn"
    mute = "mute"
    remove = "remove"
    ban = "ban"


class LadderStep(Model):
    action: StepAction
    seconds: int = Field(default=0, ge=0, le=30 * 86400)

    @model_validator(mode="after")
    def _seconds(self) -> Self:
        if self.action is StepAction.mute and self.seconds < 60:
            raise PydanticCustomError("mute_seconds", "a mute needs at least 60 seconds", {})
        if self.action is not StepAction.mute and self.seconds:
            raise PydanticCustomError("seconds_only_mute", "only a mute has seconds", {})
        return self

    @property
    def rank(self) -> tuple[int, int]:
        order = {StepAction.warn: 0, StepAction.mute: 1, StepAction.remove: 2, StepAction.ban: 3}
        return (order[self.action], self.seconds)


DEFAULT_STEPS = (
    LadderStep(action=StepAction.warn),
    LadderStep(action=StepAction.mute, seconds=3600),
    LadderStep(action=StepAction.mute, seconds=86400),
    LadderStep(action=StepAction.remove),
)


class Ladder(Model):
    steps: tuple[LadderStep, ...] = Field(default=DEFAULT_STEPS, min_length=1, max_length=20)
    warning_expiry_days: int = Field(default=30, ge=1, le=3650)
    # How many warnings one violation counts as, by severity.
    weights: dict[Severity, int] = Field(
        default_factory=lambda: {Severity.low: 1, Severity.medium: 1, Severity.high: 2}
    )
    # Categories whose first violation is a ban.
    grave_categories: tuple[str, ...] = ()

    @field_validator("steps")
    @classmethod
    def _escalates(cls, steps: tuple[LadderStep, ...]) -> tuple[LadderStep, ...]:
        for index, (before, after) in enumerate(itertools.pairwise(steps), start=1):
            if after.rank < before.rank:
                raise PydanticCustomError(
                    "ladder_descends",
                    "each step must be at least as strict as the one before",
                    {"at": (index,)},
                )
        return steps

    @field_validator("weights")
    @classmethod
    def _weights(cls, weights: dict[Severity, int]) -> dict[Severity, int]:
        if any(w < 1 or w > 10 for w in weights.values()):
            raise PydanticCustomError("bad_weight", "weights are 1 to 10", {})
        return {s: weights.get(s, 1) for s in Severity}

    def weight(self, severity: Severity) -> int:
        return self.weights.get(severity, 1)


class NoticeWhere(StrEnum):
    group = "group"
    private = "private"
    none = "none"


class Notice(Model):
    where: NoticeWhere = NoticeWhere.group
    # Delete the offending message as well as applying the ladder step.
    delete_message: bool = True
    # Where members appeal; the enforcement fills in the community's page when empty.
    appeal_url: str = ""
    appeal_text: LocalText = LocalText()


class RuleBook(Model):
    version: Literal[1] = 1
    name: LocalText = LocalText()
    topic: LocalText = LocalText()
    welcome: LocalText = LocalText()
    categories: dict[str, Category] = Field(default_factory=dict)
    links: LinkRules = LinkRules()
    media: MediaRules = MediaRules()
    flood: FloodRules = FloodRules()
    quiet_hours: QuietHours = QuietHours()
    nickname: NicknameFormat = NicknameFormat()
    newcomer: NewcomerRules = NewcomerRules()
    exemptions: tuple[Exemption, ...] = ()
    ladder: Ladder = Ladder()
    notice: Notice = Notice()
    entry: EntryRules = EntryRules()
    reports: ReportRules = ReportRules()
    # Record what would have happened; do nothing to anybody.
    dry_run: bool = False

    @field_validator("categories")
    @classmethod
    def _category_names(cls, categories: dict[str, Category]) -> dict[str, Category]:
        if len(categories) > 100:
            raise PydanticCustomError("too_many", "at most {limit} categories", {"limit": 100})
        for name in categories:
            if not NAME_RE.fullmatch(name):
                raise PydanticCustomError("bad_name", "not a category name: {name}", {"name": name})
        return categories

    @model_validator(mode="after")
    def _references(self) -> Self:
        # "at" is where the problem lies below this model (for the line number on import).
        for index, name in enumerate(self.ladder.grave_categories):
            if name not in self.categories:
                raise PydanticCustomError(
                    "unknown_category",
                    "no category named {name}",
                    {"name": name, "at": ("ladder", "grave_categories", index)},
                )
        known = set(RULE_IDS) | {f"category:{c}" for c in self.categories} | {ALL_RULES}
        for e_index, exemption in enumerate(self.exemptions):
            for r_index, rule in enumerate(exemption.rules):
                if rule not in known:
                    raise PydanticCustomError(
                        "unknown_rule",
                        "no rule named {name}",
                        {"name": rule, "at": ("exemptions", e_index, "rules", r_index)},
                    )
        return self

    def to_data(self) -> dict[str, Any]:
        """The document as plain data (what YAML export writes)."""
        return self.model_dump(mode="json", by_alias=True)


# Every rule a decision can cite, apart from the categories ("category:<name>").
RULE_IDS: tuple[str, ...] = (
    "links",
    "media",
    "flood.rate",
    "flood.repeat",
    "flood.mentions",
    "quiet_hours",
    "nickname",
    "newcomer",
)


def merge_data(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge a partial document over a full one.

    Mappings merge key by key, recursively (so a group may change one field of one
    category); everything else (scalars and lists: words, patterns, days, steps,
    exemptions) is replaced whole. A key set to ``null`` in the override goes back
    to the default of that field.
    """
    out: dict[str, Any] = dict(base)
    for key, value in override.items():
        current = out.get(key)
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(current, Mapping):
            out[key] = merge_data(current, value)
        else:
            out[key] = value
    return out


def merge_override(base: RuleBook, override: Mapping[str, Any]) -> RuleBook:
    """The group's effective book: ``override`` (a partial document) over ``base``."""
    return RuleBook.model_validate(merge_data(base.to_data(), override))
