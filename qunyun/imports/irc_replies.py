"""Who answers whom in an IRC channel, from ``nick: text`` address prefixes. Pure.

IRC has no reply feature; people write the addressee's nick first (``alice: try
apt-get``, ``alice, no``). A message so addressed to a nick seen recently in the channel
is taken to answer that nick's most recent message. Words that people also use to start
a sentence ("ok:", "so,") count only when such a nick really spoke recently, which is
rare; the short list below rules the commonest out altogether.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# How many distinct recent speakers are remembered (the checkpoint carries them).
RECENT_NICKS = 300
# How many of each speaker's last messages are remembered.
PER_NICK = 4
MAX_NICK = 32
COMMON_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "anyway",
        "but",
        "btw",
        "edit",
        "er",
        "erm",
        "hey",
        "hi",
        "hello",
        "hm",
        "hmm",
        "http",
        "https",
        "i",
        "if",
        "it",
        "lol",
        "no",
        "nope",
        "note",
        "now",
        "ok",
        "okay",
        "oh",
        "ps",
        "re",
        "so",
        "sorry",
        "thanks",
        "the",
        "then",
        "ubuntu",
        "update",
        "well",
        "what",
        "why",
        "yeah",
        "yes",
        "yep",
        "you",
    ]
)
_STRIP = "@<>"


_ADDRESS = re.compile(rf"\s*([^\s:,]{{1,{MAX_NICK + 2}}})([:,])(//)?")


def addressee(text: str) -> str | None:
    """The nick a message starts by addressing (``nick:`` / ``nick,``), lower-cased."""
    found = _ADDRESS.match(text)
    # "http://..." starts with a word and a colon too.
    if found is None or found.group(3):
        return None
    nick = found.group(1).strip(_STRIP).lower()
    if not nick or nick in COMMON_WORDS:
        return None
    return nick


class ReplyTracker:
    """Remembers each recent speaker's last few messages; infers what a message answers.

    ``bob: ...`` answers, in this order of preference: the speaker's own previous line
    to bob when bob has not spoken since (a second line continues the first); bob's
    latest message addressed to the speaker; bob's latest message addressed to nobody;
    bob's latest. When bob helps two people at once, his last line was often for the
    other one.
    """

    def __init__(self, state: Mapping[str, Any] | None = None) -> None:
        state = state or {}
        self._count = int(state.get("count", 0))
        self._said: OrderedDict[str, list[tuple[str, str, int]]] = OrderedDict()
        for nick, said in state.get("said", []):
            self._said[str(nick)] = [(str(m), str(a), int(n)) for m, a, n in said][-PER_NICK:]

    def observe(self, speaker: str, message_id: str, text: str) -> str | None:
        """Note a message; returns the id of the message it answers, if any."""
        nick = addressee(text)
        me = speaker.lower()
        parent = self._answered(me, nick) if nick is not None and nick != me else None
        self._count += 1
        said = self._said.pop(me, [])
        said.append((message_id, nick or "", self._count))
        self._said[me] = said[-PER_NICK:]
        if len(self._said) > RECENT_NICKS:
            self._said.popitem(last=False)
        return parent

    def _answered(self, me: str, nick: str) -> str | None:
        said = self._said.get(nick)
        if not said:
            return None
        mine = self._said.get(me)
        if mine and mine[-1][1] == nick and mine[-1][2] > said[-1][2]:
            return mine[-1][0]
        for message_id, to, _ in reversed(said):
            if to == me:
                return message_id
        for message_id, to, _ in reversed(said):
            if not to:
                return message_id
        return said[-1][0]

    def state(self) -> dict[str, Any]:
        return {
            "count": self._count,
            "said": [[nick, [list(s) for s in said]] for nick, said in self._said.items()],
        }


@dataclass(frozen=True)
class Scores:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 0.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 0.0

    def __add__(self, other: Scores) -> Scores:
        return Scores(
            self.true_positives + other.true_positives,
            self.false_positives + other.false_positives,
            self.false_negatives + other.false_negatives,
        )


def evaluate(
    predicted: Iterable[tuple[int, int]],
    gold: Iterable[tuple[int, int]],
    *,
    first_annotated: int = 0,
) -> Scores:
    """Compare ``(parent, child)`` line pairs with the gold ones.

    Only children from ``first_annotated`` on count, and a gold link of a line to itself
    (the annotators' "starts a conversation") is no link.
    """
    guessed = {(p, c) for p, c in predicted if c >= first_annotated and p != c}
    truth = {(p, c) for p, c in gold if c >= first_annotated and p != c}
    hits = len(guessed & truth)
    return Scores(hits, len(guessed) - hits, len(truth) - hits)


def read_annotation(lines: Iterable[str]) -> Iterator[tuple[int, int]]:
    """``i j -`` lines: line ``j`` (0-based) responds to line ``i``."""
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            yield int(parts[0]), int(parts[1])
