"""The full text check on a rule book of >= 10,000 words, one core, beside two baselines.

``python -m bench.bench_rules [--messages N] [--words N]``: normalise, all matchers (one
Aho-Corasick automaton), the contact detectors and flood state (qunyun.moderation.flood),
not image decoding; then a Python ``re`` alternation of the same words and a loop of ``in``
substring searches over the raw text. Prints msgs/s, p99 per message and the ratios.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections.abc import Callable
from pathlib import Path

from qunyun.moderation.flood import FloodTracker
from qunyun.moderation.rulebook import FloodRules
from qunyun.moderation.text import Category, Matcher, starter_categories
from qunyun.moderation.text.corpus import read_labelled
from qunyun.moderation.text.starter import DATA_DIR
from qunyun.moderation.text.words import load_word_file

CORPUS = Path(__file__).resolve().parent.parent / "tests/fixtures/moderation/addetector4j"
_SYLLABLES = "代刷充值兼职招聘贷款套现发票出售回收低价高仿名表手机号码游戏账号装备金币点卡会员"
_CHAT = [
    "今天",
    "晚上",
    "一起",
    "打球",
    "吃饭",
    "好的",
    "哈哈",
    "明天",
    "开会",
    "收到",
    "谢谢",
    "群主",
]


def generated_words(rng: random.Random, count: int) -> list[str]:
    words: set[str] = set()
    while len(words) < count:
        size = rng.choice((2, 3, 3, 4, 4, 5))
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(size)))
    return sorted(words)


def messages(rng: random.Random, count: int) -> list[str]:
    corpus = [text for text, _ in read_labelled(CORPUS / "mc_qq_group.txt")]
    chat = ["".join(rng.choice(_CHAT) for _ in range(rng.randint(2, 8))) for _ in range(500)]
    pool = corpus + chat
    return [pool[i % len(pool)] for i in range(count)]


def run(name: str, check: Callable[[str], object], texts: list[str]) -> tuple[float, float]:
    for text in texts[:200]:
        check(text)
    timings: list[float] = []
    clock = time.perf_counter
    started = clock()
    for text in texts:
        before = clock()
        check(text)
        timings.append(clock() - before)
    total = clock() - started
    timings.sort()
    rate = len(texts) / total
    p99 = timings[int(len(timings) * 0.99)] * 1000
    print(f"{name:<28} {rate:>12,.0f} msg/s   p99 {p99:.3f} ms")
    return rate, p99


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--words", type=int, default=10_000)
    args = parser.parse_args()
    rng = random.Random(7)
    categories = starter_categories()
    extra = generated_words(rng, args.words)
    categories["generated"] = Category(words=extra)
    listed = [e.word for e in load_word_file(DATA_DIR / "ads.txt", "ads")]
    listed += [e.word for e in load_word_file(DATA_DIR / "contact.txt", "contact")]
    all_words = sorted(set(listed + extra), key=len, reverse=True)
    started = time.perf_counter()
    matcher = Matcher(categories)
    print(
        f"rule book: {len(all_words):,} words, {matcher.words.form_count:,} automaton forms "
        f"(pinyin and variants), built in {time.perf_counter() - started:.2f} s"
    )
    texts = messages(rng, args.messages)
    print(f"messages: {len(texts):,}, mean {sum(map(len, texts)) / len(texts):.0f} chars")
    flood = FloodTracker()
    rules = FloodRules()
    clock = [0.0]

    def full_check(text: str) -> object:
        clock[0] += 0.05
        verdict = flood.observe(hash(text) % 300, rules, clock[0], text=text)
        return matcher.scan(text), verdict

    alternation = re.compile("|".join(re.escape(w) for w in all_words))

    def regex_check(text: str) -> object:
        return alternation.findall(text)

    def substring_check(text: str) -> object:
        return [w for w in all_words if w in text]

    ours, our_p99 = run("full check (ours)", full_check, texts)
    regex_rate, _ = run("re alternation (raw text)", regex_check, texts)
    loop_rate, _ = run("substring loop (raw text)", substring_check, texts[: args.messages // 10])
    print(f"ours / re: {ours / regex_rate:.1f}x   ours / substring loop: {ours / loop_rate:.1f}x")
    print(
        f"targets: >= 50,000 msg/s {'met' if ours >= 50_000 else 'MISSED'}, "
        f"p99 < 1 ms {'met' if our_p99 < 1 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
