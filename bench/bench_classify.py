"""Classifications per second, cached and uncached, beside ua-parser's own parse.

    .venv/bin/python -m bench.bench_classify

Uses every distinct User-Agent of the test corpora (tests/fixtures/ua_corpora). Each
figure is the best of a few rounds; the machine is shared, so run it twice and read the
ratios rather than the absolute numbers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import ua_parser

from qunyun.clients import classify
from qunyun.clients.classify import cache_clear

CORPORA = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "ua_corpora"
ROUNDS = 3


def user_agents() -> list[str]:
    seen: dict[str, None] = {}
    for path in sorted(CORPORA.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            seen[json.loads(line)["ua"]] = None
    return list(seen)


def best_rate(
    run: Callable[[Sequence[str]], None], uas: Sequence[str], before: Callable[[], None]
) -> float:
    best = 0.0
    for _ in range(ROUNDS):
        before()
        start = time.perf_counter()
        run(uas)
        best = max(best, len(uas) / (time.perf_counter() - start))
    return best


def main() -> None:
    uas = user_agents()
    # A parser without ua-parser's own cache: every call parses.
    bare = ua_parser.Parser(ua_parser.BestAvailableResolver(ua_parser.load_lazy_builtins()))
    bare.parse(uas[0])
    classify(uas[0])

    def nothing() -> None:
        pass

    def parse_all(items: Sequence[str]) -> None:
        for ua in items:
            bare.parse(ua)

    def classify_all(items: Sequence[str]) -> None:
        for ua in items:
            classify(ua)

    def warm() -> None:
        cache_clear()
        classify_all(uas)

    baseline = best_rate(parse_all, uas, nothing)
    uncached = best_rate(classify_all, uas, cache_clear)
    cached = best_rate(classify_all, uas, warm)
    print(f"{len(uas)} distinct User-Agents, best of {ROUNDS} rounds\n")
    print("| what | per second | µs per call | vs ua-parser |")
    print("|---|---|---|---|")
    for name, rate in (
        ("ua-parser `Parser.parse` (no cache)", baseline),
        ("`classify` uncached", uncached),
        ("`classify` cached", cached),
    ):
        print(f"| {name} | {rate:,.0f} | {1e6 / rate:.1f} | {rate / baseline:.2f}× |")


if __name__ == "__main__":
    main()
