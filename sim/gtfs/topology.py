"""A route's track from its trips' station sequences: a tree of stations (a plain or Y-shaped line),
rooted at one end so that every trip runs straight away from the root or towards it (km posts
strictly increasing or decreasing along it), with the stations an express passes.

Consecutive stops of a trip are neighbours on the track unless another trip stops in between
(then the first trip passes those stations). Sequences that do not fit one such tree (a loop, or
two trips crossing over the root) start another tree: the route becomes several lines.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ..graphs import shortest_path

Edge = frozenset


@dataclass
class Track:
    """A tree of stations: parent towards the root, depth (number of stations from the root), km posts."""

    root: str
    parent: dict[str, str | None]
    depth: dict[str, int]
    km: dict[str, float] = field(default_factory=dict)
    sequences: list[tuple[str, ...]] = field(default_factory=list)

    def between(self, a: str, b: str) -> list[str] | None:
        """The stations from a to b along the tree when one is an ancestor of the other, else None."""
        lo, hi = (a, b) if self.depth[a] <= self.depth[b] else (b, a)
        path = [hi]
        while self.depth[path[-1]] > self.depth[lo]:
            up = self.parent[path[-1]]
            assert up is not None  # only the root has none, and path[-1] is deeper than lo
            path.append(up)
        if path[-1] != lo:
            return None
        return path[::-1] if lo == a else path

    def full(self, seq: tuple[str, ...]) -> list[str] | None:
        """Every station a trip with stops `seq` runs through, or None if it does not run straight."""
        out = [seq[0]]
        for a, b in zip(seq, seq[1:]):
            part = self.between(a, b)
            if part is None:
                return None
            out.extend(part[1:])
        d = [self.depth[s] for s in out]
        if not (all(x < y for x, y in zip(d, d[1:])) or all(x > y for x, y in zip(d, d[1:]))):
            return None
        return out

    def branches(self) -> list[list[str]]:
        """Runs of stations from the root to every leaf, each branch after the first starting at the
        station where it leaves an earlier one; the longest runs first."""
        children: dict[str, list[str]] = {}
        for s, p in self.parent.items():
            if p is not None:
                children.setdefault(p, []).append(s)
        height: dict[str, int] = {}
        for s in sorted(self.depth, key=lambda x: -self.depth[x]):
            height[s] = 1 + max((height[c] for c in children.get(s, ())), default=0)
        out: list[list[str]] = []
        starts: deque[tuple[str | None, str]] = deque([(None, self.root)])
        while starts:
            frm, s = starts.popleft()
            run = ([frm] if frm else []) + [s]
            while children.get(s):
                first, *rest = sorted(children[s], key=lambda c: (-height[c], c))
                starts.extend((s, c) for c in rest)
                s = first
                run.append(s)
            out.append(run)
        return out


def build_tracks(sequences: Counter, edge_km: Callable[[str, str], float],
                 context: Counter | None = None) -> tuple[list[Track], list[tuple]]:
    """Tracks for a route's station sequences (with their trip counts), most used first, and the
    sequences that visit a station twice (which no track can take). `context`: station sequences
    of other routes on the same tracks (same agency and mode), which may stop between two stations
    this route's trains run between without stopping; they order the stations but add no trips."""
    seqs = sorted(sequences, key=lambda s: (-sequences[s], -len(s), s))
    loops = [s for s in seqs if len(set(s)) != len(s)]
    seqs = [s for s in seqs if len(set(s)) == len(s)]
    known = seqs + [s for s in (context or ()) if len(set(s)) == len(s)]
    pairs = Counter(Edge(p) for s in known for p in zip(s, s[1:]))
    shortcuts = {Edge((s[i], s[j])) for s in known for i in range(len(s)) for j in range(i + 2, len(s))
                 if Edge((s[i], s[j])) in pairs}
    neighbours: dict[str, set[str]] = {}
    for e in pairs:
        if e not in shortcuts:
            a, b = tuple(e)
            neighbours.setdefault(a, set()).add(b)
            neighbours.setdefault(b, set()).add(a)
    graph = {s: sorted(nb) for s, nb in neighbours.items()}
    groups: list[tuple[set, Track]] = []
    for seq in seqs:
        needed = _edges_of(seq, shortcuts, graph)
        for k, (edges, track) in enumerate(groups):
            fitted = _fit(edges | needed, track.sequences + [seq], track.root)
            if fitted is not None:
                groups[k] = (edges | needed, fitted)
                break
        else:
            plain = {Edge(p) for p in zip(seq, seq[1:])}  # a simple path: always a tree
            fitted = _fit(needed, [seq], seq[0])
            if fitted is not None:
                groups.append((needed, fitted))
            else:
                fitted = _fit(plain, [seq], seq[0])
                assert fitted is not None  # a simple path is a tree (seqs visit no station twice)
                groups.append((plain, fitted))
    tracks = [t for _, t in groups]
    for t in tracks:
        for s in sorted(t.depth, key=t.depth.__getitem__):
            p = t.parent[s]
            t.km[s] = 0.0 if p is None else round(t.km[p] + edge_km(p, s), 3)
    return tracks, loops


def _edges_of(seq: tuple[str, ...], shortcuts: set, graph: dict[str, list[str]]) -> set:
    """The track edges a sequence runs over: its consecutive pairs, a pair that others stop between
    replaced by the track between them (avoiding its own other stops)."""
    out: set[frozenset[str]] = set()
    own = set(seq)
    for a, b in zip(seq, seq[1:]):
        path = shortest_path(graph, a, b, own - {a, b}) if Edge((a, b)) in shortcuts else None
        out.update(Edge(p) for p in zip(path, path[1:])) if path else out.add(Edge((a, b)))
    return out



def _fit(edges: set, seqs: list[tuple[str, ...]], prefer: str) -> Track | None:
    """The tree of `edges` rooted at a leaf from which every sequence runs straight (the preferred
    leaf first), or None when the edges are no tree or no leaf will do."""
    adj: dict[str, set[str]] = {}
    for e in edges:
        a, b = tuple(e)
        adj.setdefault(a, set()).add(b)
        adj.setdefault(b, set()).add(a)
    if len(edges) != len(adj) - 1:
        return None
    leaves = sorted((s for s, nb in adj.items() if len(nb) == 1), key=lambda s: (s != prefer, s))
    for root in leaves:
        parent, depth = _rooted(adj, root)
        if len(depth) != len(adj):
            return None  # not connected
        track = Track(root, parent, depth, sequences=list(seqs))
        if all(track.full(s) is not None for s in seqs):
            return track
    return None


def _rooted(adj: dict[str, set[str]], root: str) -> tuple[dict, dict]:
    parent: dict[str, str | None] = {root: None}
    depth = {root: 0}
    queue = deque([root])
    while queue:
        u = queue.popleft()
        for v in sorted(adj[u]):
            if v not in depth:
                parent[v], depth[v] = u, depth[u] + 1
                queue.append(v)
    return parent, depth
