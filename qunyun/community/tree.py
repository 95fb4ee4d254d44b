"""Groups as a tree, from flat rows. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def _id(row: Any) -> int:
    return int(row.id)


def _parent_id(row: Any) -> int | None:
    return row.parent_id  # type: ignore[no-any-return]


@dataclass
class Node(Generic[T]):
    row: T
    id: int
    parent_id: int | None
    depth: int = 0
    children: list[Node[T]] = field(default_factory=list)


def build_tree(
    rows: Iterable[T],
    id_of: Callable[[T], int] = _id,
    parent_of: Callable[[T], int | None] = _parent_id,
) -> list[Node[T]]:
    """Roots in row order, each with its children in row order.

    A row whose parent is missing (archived away, another community) is a root; a
    cycle that slipped into the data is broken at the row met first, so every row
    appears exactly once.
    """
    nodes: dict[int, Node[T]] = {}
    for row in rows:
        node = Node(row, id_of(row), parent_of(row))
        nodes.setdefault(node.id, node)
    roots: list[Node[T]] = []
    for node in nodes.values():
        parent = nodes.get(node.parent_id) if node.parent_id is not None else None
        if parent is None or _ancestor(nodes, parent, node.id):
            roots.append(node)
        else:
            parent.children.append(node)
    _set_depths(roots, 0)
    return roots


def _ancestor(nodes: Mapping[int, Node[T]], start: Node[T], target: int) -> bool:
    seen: set[int] = set()
    current: Node[T] | None = start
    while current is not None and current.id not in seen:
        if current.id == target:
            return True
        seen.add(current.id)
        pid = current.parent_id
        current = nodes.get(pid) if pid is not None else None
    return False


def _set_depths(nodes: list[Node[T]], depth: int) -> None:
    for node in nodes:
        node.depth = depth
        _set_depths(node.children, depth + 1)


def flatten(roots: list[Node[T]]) -> list[Node[T]]:
    """Depth-first, parents before children: the order a tree table is drawn in."""
    out: list[Node[T]] = []
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(node.children))
    return out


def creates_cycle(parents: Mapping[int, int | None], child: int, new_parent: int) -> bool:
    """Would making ``new_parent`` the parent of ``child`` close a loop?"""
    seen: set[int] = set()
    current: int | None = new_parent
    while current is not None and current not in seen:
        if current == child:
            return True
        seen.add(current)
        current = parents.get(current)
    return False
