"""What the duplicate finder publishes: immutable groups, per-photo facts, and what a view needs to
regroup similar shots at another threshold, as plain values that cross threads freely.

A view (the app's Duplicates and compare views, the command line) reads a :class:`DuplicateState`
and never the catalog: listing groups with filters, the pair-score histogram under the similarity
slider, regrouping the similar shots at the slider's value (:meth:`DuplicateState.with_similar_threshold`,
pure and fast: no file or database is touched), the plan of what a clean-up would move, and each
photo's facts for the compare view. Actions go back through the library service.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

import numpy as np

from .dupgraph import linked_groups
from .keepbest import Candidate, choose_keeper
from .paths import is_within
from .photofacts import ContentFacts
from .progress import Progress, format_size

Tier = Literal["exact", "same", "similar"]
EXACT: Tier = "exact"
SAME: Tier = "same"
SIMILAR: Tier = "similar"
TIERS: tuple[Tier, ...] = (EXACT, SAME, SIMILAR)
TIER_LABELS = {EXACT: "exact copies", SAME: "same photo", SIMILAR: "similar shots"}

SIMILAR_WINDOW = 60.0
"""Seconds: two shots are a burst or a series only when taken at most this far apart (and every
two shots of one group too). Calibrated by ``bench/duplicates.py``."""
SIMILAR_FLOOR = 0.5
"""The lowest similarity the slider offers; pairs below it are not kept."""


@dataclass(frozen=True)
class PhotoInfo:
    """One file as a compare view shows it: where it is, its size, date, camera and measures."""

    photo_id: int
    path: str
    size: int
    mtime: float
    fingerprint: str
    taken_at: float | None
    facts: ContentFacts | None
    in_reference: bool = False

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def folder(self) -> str:
        return os.path.dirname(self.path)

    @property
    def dimensions(self) -> tuple[int, int] | None:
        return (self.facts.width, self.facts.height) if self.facts and self.facts.width else None

    def describe(self) -> dict[str, str]:
        """The compare view's fact sheet, as label -> text (missing facts left out)."""
        out = {"file": self.name, "folder": self.folder, "size": format_size(self.size)}
        f = self.facts
        if f is not None:
            if f.width:
                out["dimensions"] = f"{f.width} x {f.height} ({f.megapixels:.1f} MP)"
            out["format"] = f.origin_label + (f", quality {f.quality}" if f.quality and f.quality < 100 else "")
            if f.camera:
                out["camera"] = f.camera
            if f.sharpness is not None:
                out["sharpness"] = f"{f.sharpness:.0f}"
        if self.taken_at is not None:
            out["date"] = _when(self.taken_at)
        if self.in_reference:
            out["reference"] = "inside a reference folder (never moved or trashed)"
        return out

    def candidate(self, resolution: float | None = None) -> Candidate:
        from .photofacts import unreadable_facts

        return Candidate(self.path, self.facts or unreadable_facts(self.path), self.mtime, self.taken_at,
                         self.in_reference, resolution)


@dataclass(frozen=True)
class GroupMember:
    photo: PhotoInfo
    score: float
    """Similarity to the keeper (cosine; 1.0 for the keeper and its exact copies)."""
    keep: bool
    """The suggestion: keep (the keeper) or move to the trash."""

    @property
    def protected(self) -> bool:
        """Inside a reference folder: a clean-up never moves it, whatever the suggestion."""
        return self.photo.in_reference


@dataclass(frozen=True)
class DuplicateGroup:
    """Photos of one tier that are duplicates of each other, the keeper first."""

    tier: Tier
    members: tuple[GroupMember, ...]
    reason: str
    decision: str | None = None
    """"keep_all" when the user said so (hidden until a new member joins); None otherwise."""

    @cached_property
    def key(self) -> str:
        """Stable while the group's contents do not change (a view keeps its selection by it).
        (This and the other cached properties are computed once: a group is immutable.)"""
        text = self.tier + ":" + ",".join(sorted(self.fingerprints))
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

    @property
    def keeper(self) -> PhotoInfo:
        return self.members[0].photo

    @property
    def photos(self) -> list[PhotoInfo]:
        return [m.photo for m in self.members]

    @cached_property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(m.photo.fingerprint for m in self.members)

    @cached_property
    def suggested_trash(self) -> list[PhotoInfo]:
        """What "accept the suggestion" moves to the trash: every member but the keeper, reference
        folders excepted."""
        return [m.photo for m in self.members if not m.keep and not m.protected]

    @cached_property
    def reclaimable(self) -> int:
        """Bytes the suggestion frees."""
        return sum(p.size for p in self.suggested_trash)

    def within(self, folder: str) -> bool:
        """At least one member lies inside ``folder``."""
        return any(is_within(m.photo.path, folder) for m in self.members)

    def with_keeper(self, photo_id: int) -> DuplicateGroup:
        """The group with the person's own choice of keeper (the K key): it moves first and is kept;
        the suggestion (:attr:`suggested_trash`) follows. Scores stay relative to the suggested keeper."""
        chosen = [m for m in self.members if m.photo.photo_id == photo_id]
        if not chosen:
            raise KeyError(f"photo {photo_id} is not in this group")
        rest = [replace(m, keep=False) for m in self.members if m.photo.photo_id != photo_id]
        return replace(self, members=(replace(chosen[0], keep=True), *rest),
                       reason=f"keeps {chosen[0].photo.name}: your choice")


@dataclass(frozen=True)
class Plan:
    """What a clean-up of some groups would do: the files, and the space they take."""

    photos: tuple[PhotoInfo, ...]
    groups: int

    @classmethod
    def of(cls, groups: Sequence[DuplicateGroup]) -> Plan:
        """What accepting these groups' suggestions moves: a file some group keeps is never moved, a
        file two groups suggest counts once (groups as shown, with a person's own keepers too)."""
        kept = {g.keeper.photo_id for g in groups}
        seen: dict[int, PhotoInfo] = {}
        for g in groups:
            for p in g.suggested_trash:
                if p.photo_id not in kept:
                    seen.setdefault(p.photo_id, p)
        return cls(tuple(seen.values()), len(groups))

    @property
    def bytes(self) -> int:
        return sum(p.size for p in self.photos)

    def summary(self) -> str:
        n = len(self.photos)
        return f"{n} file{'' if n == 1 else 's'}, {format_size(self.bytes)} to the trash, from {self.groups} group" \
               + ("" if self.groups == 1 else "s")


@dataclass(frozen=True)
class ShotUnit:
    """One shot for the similar tier: a photo, or a "same photo" group standing in as its keeper."""

    keeper: PhotoInfo
    taken_at: float
    vector: np.ndarray  # float16 unit vector of the keeper's content
    cannot_link: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SimilarGraph:
    """The similar tier's candidate pairs: shots taken close in time whose similarity is at least
    SIMILAR_FLOOR. Regrouping at any threshold above the floor needs nothing else."""

    units: tuple[ShotUnit, ...] = ()
    pairs: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int32))
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    window: float = SIMILAR_WINDOW

    def groups(self, threshold: float, rules: Sequence[str] | None,
               hidden: Sequence[frozenset[str]] = ()) -> list[DuplicateGroup]:
        """Bursts and series at ``threshold``: complete linkage over the pairs at or above it (every
        two shots of a group alike and taken within the window), a keeper chosen by the rules."""
        units = self.units
        strong = [(float(s), int(a), int(b)) for (a, b), s in zip(self.pairs, self.scores) if s >= threshold]
        if not strong:
            return []

        def compatible(a: int, b: int) -> bool:
            ua, ub = units[a], units[b]
            if abs(ua.taken_at - ub.taken_at) > self.window:
                return False
            if ua.keeper.fingerprint in ub.cannot_link or ub.keeper.fingerprint in ua.cannot_link:
                return False
            sim = float(np.dot(ua.vector.astype(np.float32), ub.vector.astype(np.float32)))
            return sim >= threshold

        out = []
        for members in linked_groups(strong, compatible):
            photos = [units[i].keeper for i in members]
            vectors = np.stack([units[i].vector.astype(np.float32) for i in members])
            out.append(make_group(SIMILAR, photos, rules, vectors=vectors, hidden=hidden))
        return out

    def histogram(self, bins: int = 20, lo: float = SIMILAR_FLOOR, hi: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """(bin edges, counts) of the candidate pairs' similarities: where the slider's threshold falls."""
        return np.histogram(self.scores, bins=bins, range=(lo, hi))[::-1]  # type: ignore[return-value]


def make_group(tier: Tier, photos: Sequence[PhotoInfo], rules: Sequence[str] | None, *,
               vectors: np.ndarray | None = None, scores: dict[int, float] | None = None,
               hidden: Sequence[frozenset[str]] = (), resolution: dict[int, float] | None = None) -> DuplicateGroup:
    """A group with its keeper chosen by the rule chain and each member's similarity to the keeper
    (from ``vectors``, one per photo, or ``scores`` by photo id, else 1.0: exact copies).
    ``resolution``: by photo id, the resolution each file holds the shared photo at, relative to one
    of them (same-photo groups whose checks measured it; see keepbest's "resolution" rule)."""
    resolution = resolution or {}
    choice = choose_keeper([p.candidate(resolution.get(p.photo_id)) for p in photos], rules)
    keeper = choice.keeper
    members = []
    for i in choice.order:
        if vectors is not None:
            score = float(np.dot(vectors[i], vectors[keeper]))
        elif scores is not None:
            score = scores.get(photos[i].photo_id, 1.0)
        else:
            score = 1.0
        if photos[i].fingerprint == photos[keeper].fingerprint:
            score = 1.0
        members.append(GroupMember(photos[i], round(min(1.0, score), 4), i == keeper))
    fps = frozenset(p.fingerprint for p in photos)
    decision = "keep_all" if any(fps <= h for h in hidden) else None
    return DuplicateGroup(tier, tuple(members), choice.reason, decision)


@dataclass(frozen=True)
class DuplicateState:
    """Everything the finder found, as of one moment. See the module docstring."""

    exact: tuple[DuplicateGroup, ...] = ()
    same: tuple[DuplicateGroup, ...] = ()
    similar: tuple[DuplicateGroup, ...] = ()
    similar_graph: SimilarGraph = field(default_factory=SimilarGraph)
    similar_threshold: float = 0.7
    rules: tuple[str, ...] = ()
    hidden: tuple[tuple[str, frozenset[str]], ...] = ()
    """(tier, contents) of the groups the user chose to keep as they are."""
    ready: bool = False
    """A full pass has run (before that, the lists are empty because nobody looked yet)."""
    pending_checks: int = 0
    """Pairs still to be checked from their files (their groups may still grow)."""
    progress: Progress | None = None
    serial: int = 0

    def groups(self, tier: Tier | None = None, folder: str | None = None, *,
               include_decided: bool = False) -> list[DuplicateGroup]:
        """Groups of one tier (or all, exact first), optionally only those with a photo in ``folder``;
        groups the user chose to keep as they are stay hidden unless asked for."""
        tiers = TIERS if tier is None else (tier,)
        out: list[DuplicateGroup] = []
        for t in tiers:
            for g in getattr(self, t):
                if g.decision and not include_decided:
                    continue
                if folder is not None and not g.within(folder):
                    continue
                out.append(g)
        return out

    def group(self, key: str) -> DuplicateGroup | None:
        for t in TIERS:
            for g in getattr(self, t):
                if g.key == key:
                    return g
        return None

    def counts(self) -> dict[str, int]:
        return {t: len(self.groups(t)) for t in TIERS}

    def photo(self, photo_id: int) -> PhotoInfo | None:
        """Facts of a photo that is in some group (for the compare view)."""
        for t in TIERS:
            for g in getattr(self, t):
                for m in g.members:
                    if m.photo.photo_id == photo_id:
                        return m.photo
        return None

    def histogram(self, bins: int = 20) -> tuple[np.ndarray, np.ndarray]:
        """(bin edges, counts) of the similar tier's pair scores, SIMILAR_FLOOR to 1."""
        return self.similar_graph.histogram(bins)

    def with_similar_threshold(self, threshold: float) -> DuplicateState:
        """The same state with the similar shots regrouped at ``threshold`` (the slider moved)."""
        threshold = float(min(0.99, max(SIMILAR_FLOOR, threshold)))
        groups = self.similar_graph.groups(threshold, self.rules, [h for t, h in self.hidden if t == SIMILAR])
        return replace(self, similar=tuple(sort_groups(groups)), similar_threshold=threshold)

    def plan(self, tier: Tier | None = None, keys: Iterable[str] | None = None, folder: str | None = None) -> Plan:
        """What accepting the suggestions of these groups (one tier, chosen keys, or all shown) would
        move to the trash; a file suggested by two groups counts once, a file kept by one is kept."""
        wanted = set(keys) if keys is not None else None
        return Plan.of([g for g in self.groups(tier, folder) if wanted is None or g.key in wanted])


def sort_groups(groups: Iterable[DuplicateGroup]) -> list[DuplicateGroup]:
    """Biggest saving first, then by the keeper's path (a stable order for a view and for scripts)."""
    return sorted(groups, key=lambda g: (-g.reclaimable, -len(g.members), g.keeper.path))


def _when(ts: float) -> str:
    try:
        return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return "?"
