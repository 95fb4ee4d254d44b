"""Group trees from flat rows."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from qunyun.community.tree import build_tree, creates_cycle, flatten


@dataclass
class Row:
    id: int
    parent_id: int | None


def test_children_under_parents_and_orphans_as_roots() -> None:
    rows = [Row(1, None), Row(2, 1), Row(3, 2), Row(4, 99), Row(5, 1)]
    roots = build_tree(rows)
    assert [n.id for n in roots] == [1, 4]
    assert [(n.id, n.depth) for n in flatten(roots)] == [(1, 0), (2, 1), (3, 2), (5, 1), (4, 0)]


def test_creates_cycle() -> None:
    parents: dict[int, int | None] = {1: None, 2: 1, 3: 2}
    assert creates_cycle(parents, 1, 3)
    assert creates_cycle(parents, 2, 2)
    assert not creates_cycle(parents, 3, 1)


@given(st.lists(st.one_of(st.none(), st.integers(1, 12)), min_size=1, max_size=12))
def test_every_row_appears_once_even_with_cycles(parents: list[int | None]) -> None:
    rows = [Row(i + 1, p) for i, p in enumerate(parents)]
    flat = flatten(build_tree(rows))
    assert sorted(n.id for n in flat) == [r.id for r in rows]
    for node in flat:
        for child in node.children:
            assert child.depth == node.depth + 1
