"""CQ codes and segment arrays, checked against nonebot-adapter-onebot's own parser."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nonebot.adapters.onebot.v11 import Message as NbMessage
from nonebot.adapters.onebot.v11 import MessageSegment as NbSegment

from qunyun.platforms.onebot import cq
from qunyun.platforms.onebot.cq import Segment
from qunyun.stream.records import MessageKind


def normalise(segments: Sequence[Segment]) -> list[tuple[str, dict[str, str]]]:
    """Adjacent text segments read back as one; empty ones vanish."""
    out: list[tuple[str, dict[str, str]]] = []
    for s in segments:
        if s.type == "text":
            text = s.data.get("text", "")
            if not text:
                continue
            if out and out[-1][0] == "text":
                out[-1] = ("text", {"text": out[-1][1]["text"] + text})
                continue
        out.append((s.type, dict(s.data)))
    return out


names = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True)
tricky = st.text(
    st.sampled_from(list("ab ,=[]&;#91:好\n")) | st.characters(codec="utf-8"), max_size=12
)
code_segments = st.builds(
    Segment,
    st.sampled_from(["at", "image", "face", "reply", "record", "share", "json", "x-y.z_1"]),
    st.dictionaries(names, tricky, max_size=3),
)
text_segments = st.builds(Segment.text, tricky)
segment_lists = st.lists(code_segments | text_segments, max_size=6)


@given(segment_lists)
def test_render_then_parse_round_trips(segments: list[Segment]) -> None:
    assert normalise(cq.parse_cq(cq.render_cq(segments))) == normalise(segments)


@given(segment_lists)
@settings(max_examples=200)
def test_nonebot_reads_what_we_write(segments: list[Segment]) -> None:
    theirs = NbMessage(cq.render_cq(segments))
    assert [(s.type, dict(s.data)) for s in theirs] == normalise(segments)


@given(segment_lists)
@settings(max_examples=200)
def test_we_read_what_nonebot_writes(segments: list[Segment]) -> None:
    written = str(NbMessage([NbSegment(s.type, dict(s.data)) for s in segments]))
    assert normalise(cq.parse_cq(written)) == normalise(segments)


@given(st.text(st.characters(codec="utf-8"), max_size=40))
def test_any_string_parses_like_nonebot(text: str) -> None:
    ours = normalise(cq.parse_cq(text))
    theirs = [(s.type, dict(s.data)) for s in NbMessage(text)]
    assert ours == normalise([Segment(t, d) for t, d in theirs])


def test_escaping_by_the_spec() -> None:
    segments = cq.parse_cq(
        "a&amp;b &#91;1&#93;[CQ:image,file=x&#44;y.jpg,url=http://q/?a=1&amp;b=2]"
    )
    assert segments == [
        Segment.text("a&b [1]"),
        Segment("image", {"file": "x,y.jpg", "url": "http://q/?a=1&b=2"}),
    ]
    # Commas are escaped only inside a code.
    assert cq.render_cq([Segment.text("a,[b]&"), Segment("at", {"qq": "1,2"})]) == (
        "a,&#91;b&#93;&amp;[CQ:at,qq=1&#44;2]"
    )


def test_an_unclosed_code_stays_text() -> None:
    assert cq.parse_cq("[CQ:at,qq=1") == [Segment.text("[CQ:at,qq=1")]


def test_array_values_become_text() -> None:
    segments = cq.parse_message(
        [
            {"type": "at", "data": {"qq": 123}},
            {"type": "image", "data": {"file": "a.jpg", "subType": 0, "summary": None}},
            {"type": "x", "data": {"flag": True, "nested": {"a": [1]}}},
            {"type": "face"},
        ]
    )
    assert segments == [
        Segment("at", {"qq": "123"}),
        Segment("image", {"file": "a.jpg", "subType": "0"}),
        Segment("x", {"flag": "true", "nested": '{"a":[1]}'}),
        Segment("face", {}),
    ]


@pytest.mark.parametrize("bad", [5, [1], [{"data": {}}], [{"type": "at", "data": [1]}], None])
def test_malformed_messages_are_refused(bad: object) -> None:
    with pytest.raises(cq.MessageFormatError):
        cq.parse_message(bad)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("hello", MessageKind.text),
        ("[CQ:at,qq=1]", MessageKind.text),
        ("[CQ:face,id=1]", MessageKind.sticker),
        ("[CQ:mface,id=1][CQ:face,id=2]", MessageKind.sticker),
        ("看 [CQ:face,id=1]", MessageKind.text),
        ("[CQ:image,file=a.jpg]说明", MessageKind.image),
        ("[CQ:record,file=a.amr]", MessageKind.voice),
        ("[CQ:video,file=a.mp4]", MessageKind.video),
        ("[CQ:file,file=a.pdf]", MessageKind.file),
        ("[CQ:share,url=https://x]", MessageKind.link),
        ("[CQ:json,data={}]", MessageKind.card),
        ("[CQ:xml,data=<a/>]", MessageKind.card),
        ("[CQ:contact,type=qq,id=1]", MessageKind.card),
        ("[CQ:location,lat=1,lon=2]", MessageKind.card),
        ("[CQ:redbag,title=恭喜发财]", MessageKind.red_packet),
        ("[CQ:forward,id=abc]", MessageKind.other),
        ("", MessageKind.text),
    ],
)
def test_message_kind(message: str, kind: MessageKind) -> None:
    assert cq.message_kind(cq.parse_cq(message)) == kind


def test_mentions_reply_and_text() -> None:
    segments = cq.parse_cq(
        "[CQ:reply,id=-12][CQ:at,qq=10001] [CQ:at,qq=all][CQ:at,qq=10001]看[CQ:share,url=https://x.cn,title=福利]"
    )
    assert cq.mentions(segments) == (("10001",), True)
    assert cq.reply_to(segments) == "-12"
    assert cq.plain_text(segments) == "@10001 @all@10001看福利 https://x.cn"
