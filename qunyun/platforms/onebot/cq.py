"""OneBot v11 messages: CQ-code strings and segment arrays, into one segment list. Pure.

A message arrives either as a string with CQ codes (``hi [CQ:at,qq=123]``) or as an
array of ``{"type": ..., "data": {...}}`` segments; both become a list of
:class:`Segment`. In the string form ``&``, ``[`` and ``]`` are escaped everywhere and
``,`` inside a code's parameters too (``&amp; &#91; &#93; &#44;``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qunyun.stream.records import MessageKind

# A code's type and parameter names are plain words; a value runs to the next , or ].
_CODE = re.compile(r"\[CQ:([A-Za-z0-9_.\-]+)((?:,[A-Za-z0-9_.\-]+=[^,\]]*)*),?\]")


class MessageFormatError(ValueError):
    """The ``message`` field is neither a CQ string nor a segment array."""


@dataclass(frozen=True)
class Segment:
    type: str
    data: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def text(cls, text: str) -> Segment:
        return cls("text", {"text": text})


def escape(text: str, *, comma: bool) -> str:
    out = text.replace("&", "&amp;").replace("[", "&#91;").replace("]", "&#93;")
    return out.replace(",", "&#44;") if comma else out


def unescape(text: str) -> str:
    # &amp; last, so that "&amp;#91;" reads back as "&#91;" and not as "[".
    return (
        text.replace("&#44;", ",").replace("&#91;", "[").replace("&#93;", "]").replace("&amp;", "&")
    )


def parse_cq(message: str) -> list[Segment]:
    """Segments of a CQ-code string; text between codes becomes text segments."""
    segments: list[Segment] = []
    start = 0
    for match in _CODE.finditer(message):
        if match.start() > start:
            segments.append(Segment.text(unescape(message[start : match.start()])))
        data: dict[str, str] = {}
        for pair in match.group(2).split(",")[1:]:
            key, _, value = pair.partition("=")
            data[key] = unescape(value)
        segments.append(Segment(match.group(1), data))
        start = match.end()
    if start < len(message):
        segments.append(Segment.text(unescape(message[start:])))
    return segments


def _value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def parse_array(items: Iterable[Any]) -> list[Segment]:
    """Segments of the array form; values that are not strings are written as text."""
    segments: list[Segment] = []
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("type"), str):
            raise MessageFormatError("a segment needs a type")
        raw = item.get("data") or {}
        if not isinstance(raw, Mapping):
            raise MessageFormatError("a segment's data must be an object")
        data = {str(k): v for k, v in ((k, _value(v)) for k, v in raw.items()) if v is not None}
        segments.append(Segment(item["type"], data))
    return segments


def parse_message(message: Any) -> list[Segment]:
    """Either form (a lone segment object is read as an array of one)."""
    if isinstance(message, str):
        return parse_cq(message)
    if isinstance(message, Mapping):
        return parse_array([message])
    if isinstance(message, list | tuple):
        return parse_array(message)
    raise MessageFormatError("message must be a string or an array of segments")


def render_cq(segments: Iterable[Segment]) -> str:
    """The CQ-code string of ``segments`` (the inverse of :func:`parse_cq`)."""
    parts: list[str] = []
    for segment in segments:
        if segment.type == "text":
            parts.append(escape(segment.data.get("text", ""), comma=False))
            continue
        params = "".join(f",{k}={escape(v, comma=True)}" for k, v in segment.data.items())
        parts.append(f"[CQ:{segment.type}{params}]")
    return "".join(parts)


def render_array(segments: Iterable[Segment]) -> list[dict[str, Any]]:
    return [{"type": s.type, "data": dict(s.data)} for s in segments]


# --- what a message is --------------------------------------------------------------

_STICKERS = frozenset({"face", "mface", "bface", "sface", "marketface", "dice", "rps"})
_CARDS = frozenset({"json", "xml", "contact", "location", "music", "ark"})
# Checked in this order: a red packet with a caption is still a red packet.
_KINDS: tuple[tuple[frozenset[str], MessageKind], ...] = (
    (frozenset({"redbag", "hongbao"}), MessageKind.red_packet),
    (_CARDS, MessageKind.card),
    (frozenset({"share"}), MessageKind.link),
    (frozenset({"file"}), MessageKind.file),
    (frozenset({"video"}), MessageKind.video),
    (frozenset({"record"}), MessageKind.voice),
    (frozenset({"image"}), MessageKind.image),
)
_TEXTUAL = frozenset({"text", "at", "reply"})


def message_kind(segments: Sequence[Segment]) -> MessageKind:
    types = {s.type for s in segments}
    for members, kind in _KINDS:
        if types & members:
            return kind
    has_text = any(s.type == "text" and s.data.get("text", "").strip() for s in segments)
    if has_text or types <= _TEXTUAL:
        return MessageKind.text
    if types <= _TEXTUAL | _STICKERS:
        return MessageKind.sticker
    return MessageKind.other


def mentions(segments: Iterable[Segment]) -> tuple[tuple[str, ...], bool]:
    """The people @-mentioned (in order, once each) and whether @all was used."""
    people: list[str] = []
    everyone = False
    for segment in segments:
        if segment.type != "at":
            continue
        qq = segment.data.get("qq", "").strip()
        if qq == "all":
            everyone = True
        elif qq and qq not in people:
            people.append(qq)
    return tuple(people), everyone


MAX_IMAGES = 9


def images(segments: Iterable[Segment]) -> tuple[str, ...]:
    """Where each image can be fetched: its ``url`` (NapCat, Lagrange and go-cqhttp give
    one), else its ``file`` when that is a URL."""
    found: list[str] = []
    for segment in segments:
        if segment.type != "image":
            continue
        for key in ("url", "file"):
            value = segment.data.get(key)
            if isinstance(value, str) and value.strip().startswith(("http://", "https://")):
                found.append(value.strip())
                break
    return tuple(found[:MAX_IMAGES])


def reply_to(segments: Iterable[Segment]) -> str | None:
    for segment in segments:
        if segment.type == "reply" and segment.data.get("id"):
            return segment.data["id"]
    return None


def plain_text(segments: Iterable[Segment]) -> str:
    """What a reader (or a keyword rule) sees: the text, @mentions, shared links."""
    parts: list[str] = []
    for segment in segments:
        if segment.type == "text":
            parts.append(segment.data.get("text", ""))
        elif segment.type == "at":
            qq = segment.data.get("qq", "")
            parts.append(f"@{segment.data.get('name') or qq}")
        elif segment.type == "share":
            parts.append(
                " ".join(v for v in (segment.data.get("title"), segment.data.get("url")) if v)
            )
    return "".join(parts)
