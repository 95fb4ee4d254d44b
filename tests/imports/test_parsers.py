"""Property tests of the pure line parsers, and the reply inference against gold links."""

from __future__ import annotations

import string
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from qunyun.imports.irc_eval import predict, score_file
from qunyun.imports.irc_replies import ReplyTracker, Scores, addressee, evaluate
from qunyun.imports.readers import ReadOptions, Skip, open_reader
from qunyun.imports.readers.irc import parse_line
from qunyun.imports.readers.qq import parse_header
from tests.imports.helpers import CHAT

NICK = st.text(string.ascii_letters + string.digits + "_|[]^-", min_size=1, max_size=16)
NAME = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=0, max_size=20)
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=80)


@given(st.integers(0, 23), st.integers(0, 59), NICK, TEXT)
def test_irc_message_lines_parse_back(hour: int, minute: int, nick: str, text: str) -> None:
    parsed = parse_line(f"[{hour:02d}:{minute:02d}] <{nick}> {text}\n")
    assert parsed is not None and parsed.kind == "message"
    assert parsed.minute == hour * 60 + minute
    assert parsed.nick == nick
    assert parsed.text == text


@given(st.text(max_size=200))
def test_irc_parser_never_raises(line: str) -> None:
    parse_line(line)


@given(
    st.integers(2000, 2099), st.integers(1, 12), st.integers(1, 28), NAME, st.integers(1, 10**12)
)
def test_qq_header_lines_parse_back(year: int, month: int, day: int, name: str, uid: int) -> None:
    stamp = f"{year}-{month:02d}-{day:02d} 12:34:56"
    assert parse_header(f"{stamp} {name}({uid})") == (stamp, name, str(uid))


@given(st.text(max_size=200))
def test_qq_header_parser_never_raises(line: str) -> None:
    parse_header(line)


@given(NICK, TEXT)
def test_addressee_is_the_prefix_nick(nick: str, text: str) -> None:
    found = addressee(f"{nick}: {text}")
    if found is not None:
        assert found == nick.strip("@<>").lower()


@given(st.lists(st.tuples(st.sampled_from(["ann", "bob", "cy"]), TEXT), max_size=40))
def test_replies_point_backwards_to_the_addressee(lines: list[tuple[str, str]]) -> None:
    tracker = ReplyTracker()
    speaker_of: dict[str, str] = {}
    for index, (speaker, text) in enumerate(lines):
        message_id = str(index)
        parent = tracker.observe(speaker, message_id, text)
        if parent is not None:
            assert int(parent) < index
            assert speaker_of[parent] in (addressee(text), speaker)
        speaker_of[message_id] = speaker


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("msg"), NICK, TEXT),
            st.tuples(st.just("join"), NICK, st.just("")),
            st.tuples(st.just("junk"), st.just(""), st.text(string.ascii_letters, max_size=10)),
        ),
        max_size=30,
    ),
    st.integers(1, 29),
)
def test_irc_reader_resumes_exactly(
    tmp_path_factory: object, lines: list[tuple[str, str, str]], cut: int
) -> None:
    folder = Path(str(tmp_path_factory.mktemp("irc")))  # type: ignore[attr-defined]
    path = folder / "2024-03-01.log"
    out = []
    for i, (kind, nick, text) in enumerate(lines):
        minute = f"{(i // 3) // 60:02d}:{(i // 3) % 60:02d}"
        if kind == "msg":
            out.append(f"[{minute}] <{nick}> {text}")
        elif kind == "join":
            out.append(f"=== {nick} [~x@host]  has joined #c")
        else:
            out.append(f"?? {text}")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    options = ReadOptions(filename=path.name, timezone="UTC")
    whole = [item for _, item in open_reader("irc", path, options)]
    reader = open_reader("irc", path, options)
    head = []
    for offset, item in reader:
        head.append(item)
        if offset is not None and len(head) >= cut:
            break
    rest = [item for _, item in open_reader("irc", path, options, reader.checkpoint())]
    assert head + rest == whole
    assert sum(isinstance(i, Skip) for i in whole) == sum(k == "junk" for k, _, _ in lines)


def test_evaluate_counts_links_from_the_first_annotated_line() -> None:
    scores = evaluate([(1, 2), (3, 5), (4, 4)], [(1, 2), (2, 5), (5, 5), (0, 1)], first_annotated=2)
    assert scores == Scores(true_positives=1, false_positives=1, false_negatives=1)
    assert scores.precision == 0.5 and scores.recall == 0.5


def test_reply_inference_beats_its_floor_on_gold_links() -> None:
    # Measured on this file: precision 0.721, recall 0.259 (all ten files: 0.680, 0.272).
    scores = score_file(CHAT / "irc" / "2004-11-15_03.raw.txt")
    assert scores.precision >= 0.65
    assert scores.recall >= 0.23
    assert scores.true_positives >= 45


def test_predict_uses_zero_based_lines() -> None:
    lines = ["[10:00] <ann> anyone?", "[10:01] <bob> ann: yes"]
    assert list(predict(lines)) == [(0, 1)]
