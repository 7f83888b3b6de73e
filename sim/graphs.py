"""Shortest paths in small undirected graphs of stations (track layouts)."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Hashable, Iterable, Mapping
from typing import TypeVar

Node = TypeVar("Node", bound=Hashable)


def shortest_path(adjacency: Mapping[Node, Iterable[Node]], a: Node, b: Node,
                  avoid: Collection[Node] = ()) -> list[Node] | None:
    """The stations of a path from a to b with the fewest edges, not passing through `avoid`, or
    None when there is none (breadth-first; among equally short paths, the one reached first by
    visiting each station's neighbours in the order `adjacency` gives them)."""
    prev = {a: a}
    queue = deque([a])
    while queue:
        u = queue.popleft()
        if u == b:
            path = [b]
            while path[-1] != a:
                path.append(prev[path[-1]])
            return path[::-1]
        for v in adjacency.get(u, ()):
            if v not in prev and v not in avoid:
                prev[v] = u
                queue.append(v)
    return None
