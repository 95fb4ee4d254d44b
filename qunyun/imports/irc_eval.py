"""Reply inference against gold annotations: ``python -m qunyun.imports.irc_eval DIR``.

``DIR`` holds ``NAME.raw.txt`` logs with ``NAME.annotation.txt`` beside them (the
irc-disentanglement data: ``i j -`` means line ``j`` responds to line ``i``, 0-based,
annotated from line 1,000 on). Prints precision and recall per file and in total.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from qunyun.imports.irc_replies import ReplyTracker, Scores, evaluate, read_annotation
from qunyun.imports.readers.irc import parse_line

FIRST_ANNOTATED = 1000


def predict(lines: Iterable[str]) -> Iterator[tuple[int, int]]:
    """``(parent, child)`` 0-based line pairs inferred from address prefixes."""
    tracker = ReplyTracker()
    for index, line in enumerate(lines):
        parsed = parse_line(line)
        if parsed is None or parsed.kind not in ("message", "action"):
            continue
        parent = tracker.observe(parsed.nick, str(index), parsed.text)
        if parent is not None:
            yield int(parent), index


def score_file(raw: Path, *, first_annotated: int = FIRST_ANNOTATED) -> Scores:
    annotation = raw.with_name(raw.name.replace(".raw.txt", ".annotation.txt"))
    lines = raw.read_text("utf-8", errors="replace").splitlines()
    gold = read_annotation(annotation.read_text("utf-8").splitlines())
    return evaluate(predict(lines), gold, first_annotated=first_annotated)


def score_folder(folder: Path) -> list[tuple[str, Scores]]:
    return [(raw.name, score_file(raw)) for raw in sorted(folder.glob("*.raw.txt"))]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m qunyun.imports.irc_eval DIR", file=sys.stderr)
        return 2
    rows = score_folder(Path(args[0]))
    total = Scores(0, 0, 0)
    print(f"{'file':<32} {'links':>6} {'found':>6} {'right':>6} {'precision':>9} {'recall':>7}")
    for name, scores in rows:
        total = total + scores
        _row(name, scores)
    _row("total", total)
    return 0


def _row(name: str, s: Scores) -> None:
    wanted = s.true_positives + s.false_negatives
    found = s.true_positives + s.false_positives
    print(
        f"{name:<32} {wanted:>6} {found:>6} {s.true_positives:>6} "
        f"{s.precision:>9.3f} {s.recall:>7.3f}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
