"""Groups from a graph of pairs, without chaining: the grouping half of the duplicate finder.

A plain union-find over "these two are alike" pairs chains: A~B and B~C put A with C even when A and
C have nothing to do with each other, and in a big library one chain can swallow hundreds of photos
(on the benchmark, union-find at cosine 0.8 puts 140 photos of 8 different subjects in one group).
:func:`linked_groups` merges along the strongest pairs first and joins two groups only when *every*
photo of one is compatible with every photo of the other (complete linkage over a compatibility
test the caller gives), so a group is a set of photos that are all alike, not a path of neighbours.
:class:`UnionFind` is kept for the exact tier (identical bytes do not chain) and for the benchmark's
comparison.

Everything here is pure: ints in, lists of ints out, so the benchmark and the tests drive the same
code the app runs.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

N = TypeVar("N", bound=Hashable)


class UnionFind:
    """Disjoint sets with path halving and union by size."""

    def __init__(self) -> None:
        self._parent: dict[Hashable, Hashable] = {}
        self._size: dict[Hashable, int] = {}

    def find(self, x: Hashable) -> Hashable:
        parent = self._parent
        if x not in parent:
            parent[x] = x
            self._size[x] = 1
            return x
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: Hashable, b: Hashable) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self._size[ra] < self._size[rb]:
            ra, rb = rb, ra
        self._parent[rb] = ra
        self._size[ra] += self._size[rb]

    def groups(self, min_size: int = 2) -> list[list[Hashable]]:
        out: dict[Hashable, list[Hashable]] = {}
        for x in self._parent:
            out.setdefault(self.find(x), []).append(x)
        return [sorted(g) for g in out.values() if len(g) >= min_size]  # type: ignore[type-var]


def union_groups(pairs: Iterable[tuple[N, N]]) -> list[list[N]]:
    """Connected components of the pairs (what a plain union-find duplicate finder reports)."""
    uf = UnionFind()
    for a, b in pairs:
        uf.union(a, b)
    return uf.groups()  # type: ignore[return-value]


def linked_groups(
    edges: Iterable[tuple[float, N, N]],
    compatible: Callable[[N, N], bool],
    seeds: Sequence[Sequence[N]] = (),
) -> list[list[N]]:
    """Groups grown along ``edges`` (strength, a, b), strongest first, where two groups merge only
    when ``compatible(x, y)`` holds for every x of one and y of the other.

    ``seeds``: groups that exist before any edge (the "same photo" groups that the similar tier treats
    as one shot each). ``compatible`` is called at most once per unordered pair. Returns the groups
    of two or more, each in the order its members joined.
    """
    group_of: dict[N, int] = {}
    members: dict[int, list[N]] = {}
    for gid, seed in enumerate(seeds):
        members[gid] = list(seed)
        for x in seed:
            group_of[x] = gid
    next_id = len(members)
    verdicts: dict[tuple[N, N], bool] = {}

    def ok(x: N, y: N) -> bool:
        key = (x, y) if hash(x) <= hash(y) else (y, x)
        got = verdicts.get(key)
        if got is None:
            got = verdicts[key] = bool(compatible(x, y))
        return got

    for _strength, a, b in sorted(edges, key=lambda e: -e[0]):
        for x in (a, b):
            if x not in group_of:
                group_of[x] = next_id
                members[next_id] = [x]
                next_id += 1
        ga, gb = group_of[a], group_of[b]
        if ga == gb:
            continue
        first, second = members[ga], members[gb]
        if not all(ok(x, y) for x in first for y in second):
            continue
        if len(first) < len(second):
            ga, gb, first, second = gb, ga, second, first
        for y in second:
            group_of[y] = ga
        first.extend(second)
        del members[gb]
    return [m for m in members.values() if len(m) >= 2]
