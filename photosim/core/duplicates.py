"""The duplicate finder: exact copies, edited copies ("same photo") and similar shots, found in one
pass over the library's vectors and kept up to date as photos come and go.

How a pass works, and why:

1. **Contents, not files.** Files with one content fingerprint are one node (the indexer gives exact
   copies the same vector); the *exact* tier is simply every fingerprint held by two files or more.
2. **Neighbours from the index.** Each content's NEIGHBOURS nearest contents come from one batch
   search of the usearch index on all cores, chunk by chunk (the lock is released between chunks,
   so a user's search is never kept waiting long): 100,000 photos in a few seconds, never a
   comparison of all pairs. Each content's background level (:class:`~photosim.core.matching.Background`,
   against the same random sample the search uses) is computed on the way.
3. **"Same photo" with the search's own calibration.** A neighbour is a candidate when the pair's
   similarity stands out from either photo's background by PASS_MARGIN (wider than the gate of
   :meth:`SamePhotoTest.decide`: a pass is not a person waiting); the best CHECKS_PER_PHOTO
   candidates of each photo are checked from their files (ORB + RANSAC + cell alignment, the query
   tried both ways when the first way fails or only just passes), and a pair is the same photo when
   the check says so and the other way did not see another shot (a picture too flat to check: only when near-identical *and*
   of the same colour layout). Two photos whose capture times differ are different shots, however
   alike their pixels: a burst frame is never "the same photo" as its neighbour. Checks are cached
   in the catalog by the two fingerprints, so a second pass costs only the vector search.
4. **Groups that do not chain** (:mod:`photosim.core.dupgraph`). Same-photo groups are built around
   a centre, best candidates first (photos with a capture time, the original format, more pixels):
   a photo joins when it is the same photo as the centre, or as a member while the centre's own
   check does not contradict it (two members must vouch when it does; when only the similarity gate
   stands against it, the centre's check itself confirming it is enough). Similar shots join by
   complete linkage: every two shots of a group alike and taken within the window. A chain of look-
   alikes (A~B, B~C, A and C unrelated) never becomes one group. A collage (reduced copies of
   different photos side by side) joins no same-photo group and ties none of its photos together.
5. **Keep-best** (:mod:`photosim.core.keepbest`) on measures read from the files at grouping time
   and cached (:mod:`photosim.core.photofacts`).

Checking pairs from the files is the slow part of a first pass (about ten pairs a second on two
busy cores, a handful per photo); it runs either in one go (:meth:`DuplicateFinder.full_pass`: the
command line, the benchmark) or, in the app, as :meth:`~DuplicateFinder.start_pass` (seconds: the
groups known from earlier checks, published at once) followed by :meth:`~DuplicateFinder.check_pending`
in small steps between which the library's writer takes other work.

Incremental: :meth:`DuplicateFinder.update` takes the paths an indexing run changed; a new photo is
searched, checked and grouped against its own neighbours only, and only the groups it touches are
rebuilt (a run that brings thousands of photos leaves its checks beyond UPDATE_CHECKS to the steps). "Not duplicates" and "keep all" decisions are stored by fingerprint
(:mod:`photosim.core.cleanup`): "not duplicates" forbids those photos from sharing a group again,
"keep all" hides the group until a new member joins it.

Threads: a finder writes its caches through the catalog it is given, so it runs where the library's
writes run (the service's writer thread, or a command holding the writer lock). What it publishes,
a :class:`~photosim.core.dupstate.DuplicateState`, is immutable.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .catalog import INDEXED, Catalog
from .dupstate import (
    EXACT,
    SAME,
    SIMILAR,
    SIMILAR_FLOOR,
    SIMILAR_WINDOW,
    DuplicateGroup,
    DuplicateState,
    PhotoInfo,
    ShotUnit,
    SimilarGraph,
    make_group,
    sort_groups,
)
from .images import ImageLoadError
from .keepbest import normalize_rules
from .library import Library
from .matching import (
    BACKGROUND_TOP,
    SAME_COSINE_UNVERIFIED,
    SECOND_MOTION_MAX,
    SHOT_TOLERANCE,
    Box,
    GeometricVerifier,
    Verification,
    box_area,
    box_overlap,
    full_size_scale,
    other_shot,
    sample_vectors,
)
from .paths import is_within, normalize_path
from .photofacts import FACTS_VERSION, ContentFacts, colour_distance, measure, unreadable_facts
from .progress import Progress, RateMeter, RunControl
from .vectors import NO_KEY

log = logging.getLogger(__name__)

NEIGHBOURS = 16
"""Nearest contents looked at per photo. Duplicates are a photo's nearest neighbours; 16 covers a
photo with a dozen edited copies plus its burst."""
CHECKS_PER_PHOTO = 16
"""Candidates of one photo checked from the files, best first: all its neighbours above PASS_MARGIN
(a search verifies 8, while a person waits; a pass runs in the background)."""
PASS_MARGIN = -0.20
"""A pair is checked from the files when its similarity stands out from either photo's background by
at least this much: lower than a search's VERIFY_MARGIN (-0.10), because a screenshot, a photo of a
print or stickers over grass keep little of the copy vector, and a pass has the time to check more.
On the duplicate benchmark (2026-11-22): at -0.10 / 8 checks per photo, same-photo pair recall
0.960 from 7,053 checks; at -0.15 / 12, 0.976 from 9,281; at -0.20 / 16 (with the rules below),
0.986 from 10,823, precision 1.0 throughout (bench/RESULTS.md). The extra pairs are the ones most likely to be another shot of a scene, hence :data:`MARGINAL_AGREEMENT`."""
MARGINAL_AGREEMENT = 0.9
"""A check that finds the same photo with fewer of its regions aligned than this is made the other
way round too, and the pair is not the same photo if that finds another shot of the scene (points
that move differently): two shots of one room from one spot lined up on a wall in one direction
(81% of regions) and showed the other motion in the other (13 points, 47%)."""
SEARCH_WIDTH = 24
"""The index's search width (usearch ``expansion_search``) for a pass, for SEARCHED = NEIGHBOURS + 4
results (the extra four make room for a photo's exact copies). Duplicates and bursts are close
neighbours, which a narrow search rarely misses, and a pair is found from either side: measured on
100,000 synthetic photos, one side's search finds 0.995 of the neighbours at cosine 0.8 or more among
the 16 nearest at width 24 (as at width 32; 1.0 at 64, which costs twice as much), 0.98 of those at
0.7 or more; on the real benchmark library all of them. A user's query gets a wider search (256 at
this size): the pass makes 100,000 of them."""
SEARCHED = NEIGHBOURS + 4
PASS_CHUNK = 2048
"""Photos per batch search in a pass (a few hundred ms each on two cores at 100,000 photos)."""
FLAT_COLOUR_DISTANCE = 10.0
"""Two flat pictures (too plain to check) are the same photo only if their 4x4 colour layouts differ
by less than this (grey levels, 0-255) on top of a near-identical vector: a white and a black
picture score cosine 0.94 as vectors, and perceptual hashes call every plain picture a duplicate."""
SUPPORT = 2
"""A photo whose check against a group's centre says "not the same" still joins when this many of
the group's members are the same photo as it (the check misses some blurred and vignetted copies)."""
PART_SHARE = 0.8
"""A picture is *a part* of another when it covers at most this share of the other's area ..."""
PART_RESOLUTION = 0.9
"""... held there at under this many of the other's pixels per pixel of its own (reduced): the photo
in a collage, in a screenshot of a gallery, in a photo of a wall of prints. A crop is never a
reduced part of its original (the original holds it at full resolution)."""
SIDE_BY_SIDE = 0.25
"""Two parts of a picture lie side by side (a collage) when they overlap by at most this share of the
smaller one; edits of one photo in a screenshot of it lie in the same place."""
UPDATE_CHECKS = 64
"""Pairs one update checks from the files at once (a few new photos' candidates: a second or two).
When a run brings more, the rest wait in :attr:`DuplicateFinder.pending`, for :meth:`check_pending`
to work through in small steps, so the library's other work is never held up for long."""
CHECK_VERSION = 4
"""Bump when the check's calibration changes: older cached checks are then ignored. 2: the check
places keypoint-poor pictures by their grey levels, refines the alignment, compares band-passed cells
and rejects a second motion (issue 11). 3: a refinement is kept only when it correlates better, and
50 agreeing keypoints confirm a bare picture (pairs that version 2 called different can be the same)."""

Checked = tuple[Verification | None, Verification | None]


@dataclass(slots=True)
class _Content:
    """One content (fingerprint) in the finder's graph; its neighbours live in the finder's arrays."""

    fingerprint: str
    ids: list[int]
    taken: float | None
    level: float = 1.0
    alive: bool = True

    @property
    def rep(self) -> int:
        return self.ids[0]


class DuplicateFinder:
    """Finds and keeps the duplicate groups of one library (see the module docstring)."""

    def __init__(
        self,
        library: Library,
        *,
        catalog: Catalog | None = None,
        rules: Sequence[str] | None = None,
        reference_folders: Sequence[str] = (),
        similar_threshold: float = 0.7,
        workers: int | None = None,
    ) -> None:
        self.library = library
        self.catalog = catalog if catalog is not None else library.catalog
        self.rules = normalize_rules(rules)
        self.reference_folders = [normalize_path(p) for p in reference_folders]
        self.similar_threshold = float(similar_threshold)
        self.workers = workers or max(1, min(4, os.cpu_count() or 1))
        self.verifier = GeometricVerifier(cache_size=256)
        self._lock = threading.RLock()
        self._contents: list[_Content] = []
        self._by_fp: dict[str, int] = {}
        self._by_id: dict[int, int] = {}
        self._id_of_path: dict[str, int] = {}
        self._nbr = np.zeros((0, NEIGHBOURS), np.int32)  # neighbour content indexes, -1 padded
        self._nsim = np.zeros((0, NEIGHBOURS), np.float32)
        self._sample = np.zeros((0, 0), np.float32)
        self._checks: dict[tuple[str, str], Checked] = {}
        self._facts: dict[str, ContentFacts] = {}
        self._cannot: dict[str, set[str]] = {}
        self._hidden: list[tuple[str, frozenset[str]]] = []  # (tier, contents) the user keeps as they are
        self._same_groups: list[list[int]] = []
        self._shot_pairs: dict[tuple[int, int], float] = {}
        self._shot_contents: set[int] = set()
        self._sorted: dict[str, tuple[DuplicateGroup, ...]] = {}
        self._multi: set[int] = set()
        self._read_files = True
        # what the last published state was built from, reused for contents nothing touched since
        self._dirty: set[int] = set()
        self._info_cache: dict[int, list[PhotoInfo]] = {}
        self._group_cache: dict[tuple, DuplicateGroup] = {}
        self._no_facts: set[str] = set()
        self._similar_partial = False
        self._measure_due = False
        self._similar_cache: tuple[SimilarGraph, tuple[DuplicateGroup, ...], frozenset[int]] | None = None
        self._pending: list[tuple[int, int, float]] = []
        self._check_budget = 0
        self._state = DuplicateState(similar_threshold=self.similar_threshold, rules=self.rules)
        self._serial = 0
        self._writes: dict[str, dict] = {"facts": {}, "checks": {}}
        self.listeners: list[Callable[[DuplicateState], None]] = []
        self.ready = False
        #: Pairs checked from their files, and the seconds those checks took (summed over threads).
        self.checks_made = 0
        self.check_seconds = 0.0
        #: What the last vector pass took (seconds, neighbour search seconds, photos): for the benchmark.
        self.vector_pass_stats: dict[str, float] = {}
        self._stats_lock = threading.Lock()

    # -- public ----------------------------------------------------------------------------------
    @property
    def state(self) -> DuplicateState:
        """The latest published state (immutable; read from any thread)."""
        return self._state

    def configure(self, *, rules: Sequence[str] | None = None, reference_folders: Sequence[str] | None = None,
                  similar_threshold: float | None = None) -> DuplicateState:
        """New settings: keepers and the similar tier are worked out again (no file is read again)."""
        with self._lock:
            if rules is not None:
                self.rules = normalize_rules(rules)
            if reference_folders is not None:
                self.reference_folders = [normalize_path(p) for p in reference_folders]
            if similar_threshold is not None:
                self.similar_threshold = float(similar_threshold)
            self._forget_built()
            if self.ready:
                return self._publish(self._build_state())
            self._state = DuplicateState(similar_threshold=self.similar_threshold, rules=self.rules)
            return self._state

    def full_pass(self, control: RunControl | None = None, on_progress: Callable[[Progress], None] | None = None,
                  *, check_files: bool = True) -> DuplicateState:
        """Find every group from scratch, in one go (the command line, the benchmark); cached checks and
        measures are reused. ``check_files`` False reads no file: pairs not checked before stay
        undecided (the benchmark times the vector work this way, on synthetic vectors that have no
        pixels). The app's service runs :meth:`start_pass` and then :meth:`check_pending` in steps."""
        control = control or RunControl()
        emit = on_progress or (lambda p: None)
        with self._lock:
            self._read_files = check_files
            try:
                if not self._vectors_and_cache(control, emit):
                    return self._state
                pending = self._pending_checks() if check_files else []
                self._pending = []
                self._run_checks(pending, control, emit)
                if control.cancelled:
                    return self._state
                emit(Progress("duplicates: grouping", 0, 0))
                self._forget_built()
                self._regroup_all()
                self.ready = True
                state = self._publish(self._build_state())
                emit(Progress("duplicates: done", len(pending), len(pending)))
                return state
            finally:
                self._read_files = True

    def start_pass(self, control: RunControl | None = None,
                   on_progress: Callable[[Progress], None] | None = None) -> DuplicateState:
        """The first half of a pass, seconds long even at 100,000 photos: neighbours, then groups from
        the checks made before (no file is read), published at once; the pairs still to check wait
        in :attr:`pending` for :meth:`check_pending`, which grows the groups as it goes."""
        control = control or RunControl()
        emit = on_progress or (lambda p: None)
        with self._lock:
            self._read_files = False
            try:
                if not self._vectors_and_cache(control, emit):
                    return self._state
                self._pending = self._pending_checks()
                self._forget_built()
                self._regroup_all()
                self.ready = True
                state = self._publish(self._build_state())
                self._measure_due = self._similar_partial
                return state
            finally:
                self._read_files = True

    def drop_pending(self) -> None:
        """Forget the pairs waiting to be checked (a cancelled pass; the next pass finds them again)."""
        with self._lock:
            self._pending = []

    def _vectors_and_cache(self, control: RunControl, emit: Callable[[Progress], None]) -> bool:
        self.vector_pass_stats = self.vector_pass(control, emit)
        if control.cancelled:
            return False
        self._load_decisions()
        self._checks.update(self._load_checks())
        return True

    def update(self, changed_paths: Iterable[str]) -> DuplicateState | None:
        """Follow an indexing run (new, moved, changed and deleted files): only the groups the changed
        photos touch are rebuilt. A no-op before the first pass. Returns the new state if it changed."""
        paths = list(dict.fromkeys(normalize_path(p) for p in changed_paths))
        if not self.ready or not paths:
            return None
        with self._lock:
            self._check_budget = UPDATE_CHECKS
            rows = {p: self.catalog.get_by_path(p) for p in paths}
            touched: set[int] = set()
            seen: set[int] = set()
            for path, row in rows.items():
                if row is None or row.state != INDEXED or row.model != self.library.model_id or not row.fingerprint:
                    continue
                seen.add(row.id)
                self._id_of_path[path] = row.id
                if row.id in self._by_id:
                    touched.add(self._by_id[row.id])  # moved or touched: same content, new place
                else:
                    touched.add(self._add_photo(row.id, row.fingerprint, row.taken_at))
            for path, row in rows.items():  # what stood at a path and is gone (deleted, or replaced)
                old = self._id_of_path.get(path)
                if old is not None and old not in seen and (row is None or row.id != old):
                    touched |= self._remove_id(old)
                if row is None:
                    self._id_of_path.pop(path, None)
            if not touched:
                return None
            self._regroup(touched)
            self._flush_writes()
            return self._publish(self._build_state())

    def forget(self, photo_ids: Iterable[int]) -> DuplicateState | None:
        """Photos that left the library through a clean-up (files put back by an undo come back
        through :meth:`update` with their paths); decisions are read again too."""
        if not self.ready:
            return None
        with self._lock:
            touched: set[int] = set()
            for photo_id in photo_ids:
                touched |= self._remove_id(int(photo_id))
            self._regroup(touched)
            return self._publish(self._build_state())

    def refresh_decisions(self, fingerprints: Iterable[str] | None = None) -> DuplicateState | None:
        """Read the stored decisions again (after "not duplicates", "keep all" or an undo of one) and
        rebuild the groups of these contents (all groups when None)."""
        if not self.ready:
            return None
        with self._lock:
            self._load_decisions()
            if fingerprints is None:
                self._forget_built()
                self._regroup_all()
            else:
                touched = {self._by_fp[f] for f in fingerprints if f in self._by_fp}
                self._dirty |= touched
                self._similar_cache = None  # a kept burst hides, a "not duplicates" one splits
                self._regroup(touched)
            return self._publish(self._build_state())

    @property
    def pending(self) -> int:
        """Pairs waiting to be checked from their files (see :data:`UPDATE_CHECKS`); 1 when none wait
        but shots published before any file was read still need measuring (one more step)."""
        return len(self._pending) or int(self._measure_due)

    def check_pending(self, max_pairs: int = 128, control: RunControl | None = None) -> DuplicateState | None:
        """Check up to ``max_pairs`` of the waiting pairs and rebuild the groups they touch."""
        with self._lock:
            if not self._pending:
                if not self._measure_due:
                    return None
                self._measure_due = False  # shots not measured yet: this build measures them
                state = self._publish(self._build_state())
                self._flush_writes()
                return state
            batch, self._pending = self._pending[:max_pairs], self._pending[max_pairs:]
            batch = [(a, b, sim) for a, b, sim in batch
                     if self._contents[a].alive and self._contents[b].alive and self._key(a, b) not in self._checks]
            self._run_checks(batch, control or RunControl(), lambda p: None)
            self._regroup({ci for a, b, _sim in batch for ci in (a, b)})
            self._flush_writes()
            return self._publish(self._build_state())

    def same_pairs(self) -> list[tuple[str, str]]:
        """Every pair of files the finder holds to be the same photo before grouping (a file and its exact
        copies included): what a union-find would chain, for the benchmark's comparison."""
        with self._lock:
            out: list[tuple[str, str]] = []
            adj = self._same_adjacency()
            paths: dict[int, list[str]] = {}
            rows = self.catalog.get_many([i for ci in adj for i in self._contents[ci].ids])
            for ci in adj:
                paths[ci] = [rows[i].path for i in self._contents[ci].ids if i in rows]
                out += [(paths[ci][0], p) for p in paths[ci][1:]]
            for a, partners in adj.items():
                for b in partners:
                    if a < b and paths.get(a) and paths.get(b):
                        out.append((paths[a][0], paths[b][0]))
            return out

    # -- stage 1: vectors --------------------------------------------------------------------------
    def vector_pass(self, control: RunControl | None = None,
                    emit: Callable[[Progress], None] = lambda p: None) -> dict[str, float]:
        """Contents, background levels and nearest neighbours of every photo, from the catalog and the
        index alone (no file is read). Returns timings for the benchmark."""
        control = control or RunControl()
        started = time.perf_counter()
        catalog, model, index = self.catalog, self.library.model_id, self.library.index
        ids, fps, taken, paths = catalog.dedup_keys(model)
        contents: list[_Content] = []
        by_fp: dict[str, int] = {}
        by_id: dict[int, int] = {}
        for photo_id, fp, t in zip(ids.tolist(), fps, taken.tolist()):
            if not fp:
                continue
            ci = by_fp.get(fp)
            if ci is None:
                ci = by_fp[fp] = len(contents)
                contents.append(_Content(fp, [], None))
            c = contents[ci]
            c.ids.append(photo_id)
            if c.taken is None and t == t:
                c.taken = float(t)
            by_id[photo_id] = ci
        self._contents, self._by_fp, self._by_id = contents, by_fp, by_id
        self._id_of_path = dict(zip(paths, ids.tolist()))
        self._multi = {ci for ci, c in enumerate(contents) if len(c.ids) > 1}
        n = len(contents)
        self._nbr = np.full((n, NEIGHBOURS), -1, np.int32)
        self._nsim = np.zeros((n, NEIGHBOURS), np.float32)
        self._shot_pairs = {}
        self._shot_contents = set()
        # id -> content index as sorted arrays: mapping a whole chunk of search results at once
        order = np.argsort(ids)
        sorted_ids = ids[order]
        content_of = np.array([by_id.get(int(i), -1) for i in sorted_ids.tolist()], dtype=np.int64)
        rep_ids = np.array(sorted(c.rep for c in contents), dtype=np.int64)

        def load(chosen: np.ndarray) -> np.ndarray:
            chunks = list(catalog.iter_embeddings(model, ids=[int(i) for i in chosen]))
            return np.concatenate([c[1] for c in chunks]) if chunks else np.zeros((0, self.library.backbone.dim))

        self._sample = sample_vectors(rep_ids, load)
        seconds = {"keys": time.perf_counter() - started, "search": 0.0}
        done = 0
        meter = RateMeter()
        times = np.array([np.nan if c.taken is None else c.taken for c in contents], dtype=np.float64)
        for chunk_ids, vectors in catalog.iter_embeddings(model, chunk=PASS_CHUNK):
            if control.cancelled:
                break
            keep = np.isin(chunk_ids.astype(np.int64), rep_ids)
            chunk_ids, vectors = chunk_ids[keep].astype(np.int64), vectors[keep]
            if not len(chunk_ids):
                continue
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            rows = content_of[np.searchsorted(sorted_ids, chunk_ids)]
            for row, level in zip(rows.tolist(), self._levels(vectors).tolist()):
                contents[row].level = level
            t = time.perf_counter()
            keys, sims = index.search_batch(vectors, SEARCHED, expansion=SEARCH_WIDTH, threads=0)
            seconds["search"] += time.perf_counter() - t
            found = keys.astype(np.int64)
            valid = keys != NO_KEY
            pos = np.clip(np.searchsorted(sorted_ids, found), 0, max(0, len(sorted_ids) - 1))
            hit = valid & (sorted_ids[pos] == found) if len(sorted_ids) else valid & False
            nbr = np.where(hit, content_of[pos], -1)
            nbr[nbr == rows[:, None]] = -1  # itself and its exact copies
            self._store_neighbours(rows, nbr, sims, times)
            done += len(chunk_ids)
            rate = meter.update(done)
            emit(Progress("duplicates: neighbours", done, n, rate, (n - done) / rate if rate else None))
        seconds["seconds"] = time.perf_counter() - started
        return {"contents": float(n), "photos": float(len(ids)), **seconds}

    def _store_neighbours(self, rows: np.ndarray, nbr: np.ndarray, sims: np.ndarray, times: np.ndarray) -> None:
        """Keep each row's first NEIGHBOURS distinct contents (a chunk at once: a row repeats a content
        only when it has exact copies), and its candidate shot pairs."""
        valid = nbr >= 0
        width = nbr.shape[1]
        marked = np.where(valid, nbr, -1 - np.arange(width))  # every invalid slot its own value
        ordered = np.sort(marked, axis=1)
        repeats = np.flatnonzero(np.any(ordered[:, 1:] == ordered[:, :-1], axis=1))
        order = np.argsort(~valid, axis=1, kind="stable")[:, :NEIGHBOURS]
        take_n = np.take_along_axis(nbr, order, axis=1)
        take_s = np.take_along_axis(sims, order, axis=1).astype(np.float32)
        for r in repeats.tolist():  # the few rows with a content twice: keep its first (best) place
            seen: list[int] = []
            keep: list[float] = []
            for cj, sim in zip(nbr[r].tolist(), sims[r].tolist()):
                if cj >= 0 and cj not in seen:
                    seen.append(cj)
                    keep.append(sim)
            seen, keep = seen[:NEIGHBOURS], keep[:NEIGHBOURS]
            take_n[r] = -1
            take_n[r, : len(seen)], take_s[r, : len(seen)] = seen, keep
        take_n = take_n.astype(np.int32)
        self._nbr[rows] = take_n
        self._nsim[rows] = take_s
        # shot pairs: both taken, within the window, alike at the floor or more
        t = times[rows][:, None]
        other = np.where(take_n >= 0, times[np.maximum(take_n, 0)], np.nan)
        close = (take_n >= 0) & (take_s >= SIMILAR_FLOOR) & (np.abs(other - t) <= SIMILAR_WINDOW)
        for r, c in zip(*np.nonzero(close)):
            row, cj, sim = int(rows[r]), int(take_n[r, c]), float(take_s[r, c])
            key = (min(row, cj), max(row, cj))
            self._shot_pairs[key] = max(sim, self._shot_pairs.get(key, -1.0))
            self._shot_contents.update(key)

    def _levels(self, vectors: np.ndarray) -> np.ndarray:
        """Each vector's background level: the mean of its ten best similarities to the sample (as
        :class:`~photosim.core.matching.Background` computes it, for a whole chunk at once)."""
        if self._sample.size == 0:
            return np.ones(len(vectors), np.float32)
        sims = vectors @ self._sample.T
        top = min(BACKGROUND_TOP, sims.shape[1])
        return np.partition(sims, sims.shape[1] - top, axis=1)[:, -top:].mean(axis=1)

    def neighbours(self, ci: int) -> list[tuple[int, float]]:
        row, sims = self._nbr[ci], self._nsim[ci]
        return [(int(j), float(s)) for j, s in zip(row.tolist(), sims.tolist()) if j >= 0]

    # -- pairs -------------------------------------------------------------------------------------
    def _margin(self, a: int, b: int, sim: float) -> float:
        return max(sim - self._contents[a].level, sim - self._contents[b].level)

    def _time_apart(self, a: int, b: int) -> bool:
        return other_shot(self._contents[a].taken, self._contents[b].taken)

    def _key(self, a: int, b: int) -> tuple[str, str]:
        fa, fb = self._contents[a].fingerprint, self._contents[b].fingerprint
        return (fa, fb) if fa <= fb else (fb, fa)

    def _same_candidates(self, ci: int) -> list[tuple[int, float]]:
        """The neighbours of one content worth checking: above the search's gate, not another shot."""
        out = []
        for cj, sim in self.neighbours(ci):
            if not self._contents[cj].alive or self._time_apart(ci, cj):
                continue
            if self._margin(ci, cj, sim) >= PASS_MARGIN:
                out.append((cj, sim))
                if len(out) >= CHECKS_PER_PHOTO:
                    break
        return out

    def _pending_checks(self) -> list[tuple[int, int, float]]:
        """Candidate pairs without a cached check, a photo's pairs one after the other.

        Each check needs both photos' keypoints (a decode and an ORB pass, about half of a check's
        cost), kept in the verifier's cache of 256 pictures. In order of similarity, a photo's 16
        pairs were spread over the whole pass and its keypoints computed again and again (12,872
        times for the benchmark's 1,201 files); in order of the photos (the catalog's order, which
        keeps a folder's photos and so most copies and bursts together) 8,526 times, and the checks
        took 17% less CPU. (A photo's neighbours from other folders still fall out of the cache.)"""
        wanted: dict[tuple[str, str], tuple[int, int, float]] = {}
        a, b, sims = self._candidate_pairs()
        for ci, cj, sim in zip(a.tolist(), b.tolist(), sims.tolist()):
            key = self._key(ci, cj)
            if key not in self._checks and key not in wanted:
                wanted[key] = (min(ci, cj), max(ci, cj), sim)
        return sorted(wanted.values())

    def _load_checks(self) -> dict[tuple[str, str], Checked]:
        """The cached checks, less those that found the same photo without recording where the two
        pictures lie (an older version): those are made again, as pairs not checked yet are, since a
        collage and two frames that only overlap need the position (:func:`~photosim.core.matching.contained`,
        :meth:`_collages`). Until then such a pair groups nothing: no old verdict suggests a file
        for the trash that the new check would keep."""
        out: dict[tuple[str, str], Checked] = {}
        for key, text in self.catalog.pair_checks(CHECK_VERSION).items():
            data = json.loads(text)
            checked = (_verification(data.get("f")), _verification(data.get("b")))
            if any(v is not None and v.same and v.placement is None for v in checked):
                continue
            out[key] = checked
        return out

    def _run_checks(self, pending: list[tuple[int, int, float]], control: RunControl,
                    emit: Callable[[Progress], None]) -> None:
        """Check pairs from their files on a small pool (OpenCV and decoding release the GIL); the
        catalog is only touched from this thread."""
        total = len(pending)
        if not total:
            return
        meter = RateMeter()
        done = 0
        with ThreadPoolExecutor(self.workers, thread_name_prefix="photosim-dups") as pool:
            for start in range(0, total, 32):
                if control.cancelled:
                    break
                control.wait_if_paused()
                batch = pending[start : start + 32]
                jobs = [(a, b, self._path(a), self._path(b)) for a, b, _sim in batch]
                for (a, b, _pa, _pb), (facts, result) in zip(jobs, pool.map(self._check_job, jobs)):
                    for ci, f in facts.items():
                        self._keep_facts(ci, f)
                    self._store_check(a, b, result)
                done += len(batch)
                rate = meter.update(done)
                emit(Progress("duplicates: checking pairs", done, total, rate, (total - done) / rate if rate else None))
                self._flush_writes()

    def _check_job(self, job: tuple[int, int, str | None, str | None]) -> tuple[dict[int, ContentFacts], Checked]:
        """(new measures, check) of one pair, from its files; runs on the pool (no catalog access)."""
        a, b, pa, pb = job
        facts: dict[int, ContentFacts] = {}
        if pa is None or pb is None:
            return facts, (None, None)
        started = time.perf_counter()
        try:
            for ci, path in ((a, pa), (b, pb)):
                if self._contents[ci].fingerprint not in self._facts:
                    facts[ci] = _measure(path, self.verifier)
            try:
                forward = self.verifier.verify(pa, pb)
                sure = forward.informative and forward.same and forward.agreeing >= MARGINAL_AGREEMENT
                backward = None if sure else self.verifier.verify(pb, pa)
            except Exception as exc:  # an unreadable file: no evidence either way
                log.info("duplicate check skipped for %s / %s: %s", pa, pb, exc)
                return facts, (None, None)
            return facts, (forward, backward)
        finally:
            with self._stats_lock:
                self.checks_made += 1
                self.check_seconds += time.perf_counter() - started

    def _check(self, a: int, b: int) -> Checked | None:
        """The pair's check, from the cache, or made now (when files may be read)."""
        key = self._key(a, b)
        got = self._checks.get(key)
        if got is None and self._read_files:
            facts, got = self._check_job((a, b, self._path(a), self._path(b)))
            for ci, f in facts.items():
                self._keep_facts(ci, f)
            self._store_check(a, b, got)
        return got

    def _store_check(self, a: int, b: int, result: Checked) -> None:
        """Keep a pair's check (made ``a`` to ``b``, then ``b`` to ``a``), in memory and in the catalog,
        both ways round as the key orders the two contents: its first to its second, then back."""
        key = self._key(a, b)
        if key[0] != self._contents[a].fingerprint:
            result = (result[1], result[0])
        self._checks[key] = result
        self._writes["checks"][key] = json.dumps({"f": _as_list(result[0]), "b": _as_list(result[1])})

    def _ways(self, a: int, b: int) -> Checked | None:
        """The pair's cached check as (made from ``a`` to ``b``, made back), whatever the key's order."""
        checked = self._checks.get(self._key(a, b))
        if checked is None or self._contents[a].fingerprint <= self._contents[b].fingerprint:
            return checked
        return (checked[1], checked[0])

    def _relative_resolution(self, centre: int, member: int) -> float | None:
        """How many times the centre's resolution ``member`` holds the shared photo at (its pixels per
        pixel of the centre's picture, linear), from their check's alignment; None when unknown (no
        check that confirmed them, a check stored before the scale was, or unknown sizes)."""
        checked = self._ways(centre, member)
        if checked is None:
            return None
        outward, back = checked
        grey_scale = None
        if outward is not None and outward.same and outward.scale > 0:
            grey_scale = outward.scale
        elif back is not None and back.same and back.scale > 0:
            grey_scale = 1.0 / back.scale
        fc, fm = self._facts.get(self._contents[centre].fingerprint), self._facts.get(self._contents[member].fingerprint)
        if grey_scale is None or fc is None or fm is None:
            return None
        long_c, long_m = max(fc.width, fc.height), max(fm.width, fm.height)
        if long_c <= 0 or long_m <= 0:
            return None
        return full_size_scale(grey_scale, long_c, long_m)

    def _decide(self, a: int, b: int, sim: float, checked: Checked | None, *, gate: bool = True) -> str:
        """'same', 'diff' (another picture, another shot, or not close enough) or 'unknown'.

        ``gate=False`` skips the similarity gate (PASS_MARGIN) and lets the check decide alone: for a
        photo that a group's member has already verified as the same photo (see :meth:`_centred_groups`)."""
        if self._time_apart(a, b) or (gate and self._margin(a, b, sim) < PASS_MARGIN):
            return "diff"
        verdict = check_verdict(checked)
        if verdict is not None:
            return verdict
        if sim >= SAME_COSINE_UNVERIFIED and checked is not None:
            fa, fb = self._ensure_facts(a), self._ensure_facts(b)
            if fa is None or fb is None:
                return "unknown"
            if (fa.flat or fb.flat) and colour_distance(fa, fb) > FLAT_COLOUR_DISTANCE:
                return "diff"
            return "same"
        return "unknown"

    # -- facts -------------------------------------------------------------------------------------
    def _path(self, ci: int) -> str | None:
        """A readable file of this content (any of its exact copies)."""
        ids = self._contents[ci].ids
        rows = self.catalog.get_many(ids)
        for photo_id in ids:
            row = rows.get(photo_id)
            if row is not None and os.path.exists(row.path):
                return row.path
        return None

    def _keep_facts(self, ci: int, facts: ContentFacts) -> None:
        fp = self._contents[ci].fingerprint
        if fp not in self._facts:
            self._facts[fp] = facts
            self._writes["facts"][fp] = facts.to_json()

    def _ensure_facts(self, ci: int) -> ContentFacts | None:
        fp = self._contents[ci].fingerprint
        got = self._facts.get(fp)
        if got is not None or (fp in self._no_facts and not self._read_files):
            return got
        stored = self.catalog.photo_facts([fp], FACTS_VERSION).get(fp)
        if stored is not None:
            try:
                got = ContentFacts.from_json(stored)
                self._facts[fp] = got
                return got
            except (ValueError, TypeError):
                pass
        if not self._read_files:  # a pass that reads no file: measured by the steps that follow
            self._no_facts.add(fp)
            return None
        path = self._path(ci)
        if path is None:
            return None
        self._keep_facts(ci, _measure(path, self.verifier))
        return self._facts[fp]

    def _preload_facts(self, contents: Iterable[int]) -> None:
        """Measures of many contents from the catalog in one query (a pass needs hundreds)."""
        missing = {self._contents[ci].fingerprint for ci in contents} - self._facts.keys()
        if not self._read_files:
            missing -= self._no_facts
        for fp, text in self.catalog.photo_facts(missing, FACTS_VERSION).items():
            try:
                self._facts[fp] = ContentFacts.from_json(text)
            except (ValueError, TypeError):
                pass
        if not self._read_files:
            self._no_facts |= missing - self._facts.keys()

    def _flush_writes(self) -> None:
        facts, checks = self._writes["facts"], self._writes["checks"]
        if self.catalog.readonly:
            self._writes = {"facts": {}, "checks": {}}
            return
        if facts:
            self.catalog.put_photo_facts(facts, FACTS_VERSION)
        if checks:
            self.catalog.put_pair_checks(checks, CHECK_VERSION)
        self._writes = {"facts": {}, "checks": {}}

    # -- decisions ---------------------------------------------------------------------------------
    def _load_decisions(self) -> None:
        cannot: dict[str, set[str]] = {}
        hidden: list[tuple[str, frozenset[str]]] = []
        for _id, kind, tier, members in self.catalog.dup_decisions():
            if kind == "not_duplicates" and len(members) > 1:  # identical files: "not duplicates" keeps them
                for f in members:
                    cannot.setdefault(f, set()).update(m for m in members if m != f)
            else:
                hidden.append((tier, frozenset(members)))
        self._cannot, self._hidden = cannot, hidden

    def _cannot_link(self, a: int, b: int) -> bool:
        fa, fb = self._contents[a].fingerprint, self._contents[b].fingerprint
        return fb in self._cannot.get(fa, ())

    # -- incremental -----------------------------------------------------------------------------------
    def _add_photo(self, photo_id: int, fingerprint: str, taken: float | None) -> int:
        ci = self._by_fp.get(fingerprint)
        if ci is not None and self._contents[ci].alive:  # an exact copy of a known content
            self._contents[ci].ids.append(photo_id)
            self._by_id[photo_id] = ci
            self._multi.add(ci)
            return ci
        stored = self.catalog.embedding(photo_id)
        vector = stored[1] if stored else np.zeros(self.library.backbone.dim, np.float32)
        vector = (vector / (np.linalg.norm(vector) or 1.0)).astype(np.float32)
        ci = len(self._contents)
        content = _Content(fingerprint, [photo_id], taken)
        self._contents.append(content)
        self._by_fp[fingerprint] = ci
        self._by_id[photo_id] = ci
        if ci >= len(self._nbr):  # grow the neighbour arrays by half (amortised)
            extra = max(64, len(self._nbr) // 2)
            self._nbr = np.vstack([self._nbr, np.full((extra, NEIGHBOURS), -1, np.int32)])
            self._nsim = np.vstack([self._nsim, np.zeros((extra, NEIGHBOURS), np.float32)])
        content.level = float(self._levels(vector[None, :])[0])
        keys, sims = self.library.index.search_batch(vector[None, :], SEARCHED, expansion=SEARCH_WIDTH, threads=1)
        nbr = np.array([[self._by_id.get(int(k), -1) if k != NO_KEY else -1 for k in keys[0].tolist()]], np.int32)
        nbr[nbr == ci] = -1
        times = np.array([np.nan if c.taken is None else c.taken for c in self._contents_near(ci, nbr[0])])
        self._store_neighbours_one(ci, nbr[0], sims[0], times)
        for cj, sim in self.neighbours(ci):  # the neighbours learn of it too (it may be their best match)
            row = self._nbr[cj]
            if ci in row or (row[-1] >= 0 and self._nsim[cj, -1] >= sim):
                continue
            merged = sorted([(s, j) for j, s in self.neighbours(cj)] + [(sim, ci)], reverse=True)[:NEIGHBOURS]
            self._nbr[cj, :] = -1
            self._nbr[cj, : len(merged)] = [j for _s, j in merged]
            self._nsim[cj, : len(merged)] = [s for s, _j in merged]
        for cj, sim in self._same_candidates(ci):
            if self._check_budget > 0:
                self._check_budget -= 1
                self._check(ci, cj)
            elif self._key(ci, cj) not in self._checks:
                self._pending.append((ci, cj, sim))  # checked later by check_pending()
        return ci

    def _contents_near(self, ci: int, nbr: np.ndarray) -> list[_Content]:
        return [self._contents[ci]] + [self._contents[j] for j in nbr.tolist() if j >= 0]

    def _store_neighbours_one(self, ci: int, nbr: np.ndarray, sims: np.ndarray, times: np.ndarray) -> None:
        out = [(int(j), float(s)) for j, s in zip(nbr.tolist(), sims.tolist()) if j >= 0]
        seen: list[tuple[int, float]] = []
        for j, s in out:
            if all(j != k for k, _ in seen):
                seen.append((j, s))
        seen = seen[:NEIGHBOURS]
        self._nbr[ci, :] = -1
        self._nbr[ci, : len(seen)] = [j for j, _ in seen]
        self._nsim[ci, : len(seen)] = [s for _, s in seen]
        t = self._contents[ci].taken
        if t is None:
            return
        for cj, sim in seen:
            tj = self._contents[cj].taken
            if tj is not None and sim >= SIMILAR_FLOOR and abs(tj - t) <= SIMILAR_WINDOW:
                key = (min(ci, cj), max(ci, cj))
                self._shot_pairs[key] = max(sim, self._shot_pairs.get(key, -1.0))
                self._shot_contents.update(key)

    def _remove_id(self, photo_id: int) -> set[int]:
        ci = self._by_id.pop(photo_id, None)
        if ci is None:
            return set()
        self._dirty.add(ci)
        content = self._contents[ci]
        if photo_id in content.ids:
            content.ids.remove(photo_id)
        if len(content.ids) < 2:
            self._multi.discard(ci)
        if not content.ids:
            content.alive = False
        return {ci}

    # -- grouping ----------------------------------------------------------------------------------
    def _edges(self, ci: int) -> list[tuple[int, float]]:
        """Decided "same photo" partners of a content (checks made so far)."""
        out = []
        for cj, sim in self._same_candidates(ci):
            if self._cannot_link(ci, cj):
                continue
            if self._decide(ci, cj, sim, self._checks.get(self._key(ci, cj))) == "same":
                out.append((cj, sim))
        return out

    def _same_adjacency_all(self) -> dict[int, dict[int, float]]:
        """Decided same-photo pairs of the whole library; only candidates with a check (or
        near-identical vectors) are looked at one by one."""
        adj: dict[int, dict[int, float]] = {}
        a, b, sims = self._candidate_pairs()
        checks = self._checks
        for ca, cb, sim in zip(a.tolist(), b.tolist(), sims.tolist()):
            key = self._key(ca, cb)
            checked = checks.get(key)
            if checked is None and sim < SAME_COSINE_UNVERIFIED:
                continue
            if self._cannot_link(ca, cb) or self._decide(ca, cb, sim, checked) != "same":
                continue
            adj.setdefault(ca, {})[cb] = sim
            adj.setdefault(cb, {})[ca] = sim
        return adj

    def _same_adjacency(self, nodes: Iterable[int] | None = None) -> dict[int, dict[int, float]]:
        if nodes is None:
            return self._same_adjacency_all()
        adj: dict[int, dict[int, float]] = {}
        for ci in nodes:
            if not self._contents[ci].alive:
                continue
            for cj, sim in self._edges(ci):
                adj.setdefault(ci, {})[cj] = sim
                adj.setdefault(cj, {})[ci] = sim
        return adj

    def _candidate_pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every content's same-photo candidates at once (as :meth:`_same_candidates` gives them one
        by one): (a, b, similarity) arrays; for a pass over 100,000 photos."""
        contents = self._contents
        n = len(contents)
        if n == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
        nbr, sims = self._nbr[:n], self._nsim[:n]
        level = np.fromiter((c.level for c in contents), np.float32, n)
        taken = np.fromiter((np.nan if c.taken is None else c.taken for c in contents), np.float64, n)
        alive = np.fromiter((c.alive for c in contents), bool, n)
        safe = np.maximum(nbr, 0)
        ok = (nbr >= 0) & alive[:, None] & alive[safe]
        ok &= np.maximum(sims - level[:, None], sims - level[safe]) >= PASS_MARGIN
        apart = np.abs(taken[:, None] - taken[safe]) > SHOT_TOLERANCE  # NaN compares False: no time, no veto
        ok &= ~apart
        ok &= np.cumsum(ok, axis=1) <= CHECKS_PER_PHOTO
        rows, cols = np.nonzero(ok)
        return rows, nbr[rows, cols].astype(np.int64), sims[rows, cols]

    def _regroup_all(self) -> None:
        adj = self._same_adjacency_all()
        self._preload_facts(adj)
        for ci in adj:
            self._ensure_facts(ci)
        self._same_groups = self._centred_groups(adj)
        self._flush_writes()

    def _regroup(self, touched: set[int]) -> None:
        """Rebuild only the groups connected to ``touched`` contents through "same photo" pairs."""
        region = set(touched)
        for group in self._same_groups:
            if region.intersection(group):
                region.update(group)
        adj: dict[int, dict[int, float]] = {}
        frontier = list(region)
        while frontier:  # the connected component(s) of the region over decided pairs
            nxt = []
            for a, partners in self._same_adjacency(frontier).items():
                adj.setdefault(a, {}).update(partners)
                for b in partners:
                    if b not in region:
                        region.add(b)
                        nxt.append(b)
            frontier = nxt
        for group in self._same_groups:
            if region.intersection(group):
                region.update(group)
        adj = {a: {b: s for b, s in p.items() if self._contents[b].alive} for a, p in adj.items()
               if self._contents[a].alive}
        for ci in adj:
            self._ensure_facts(ci)
        kept = [g for g in self._same_groups if not region.intersection(g)]
        self._same_groups = kept + self._centred_groups(adj)
        self._dirty |= region

    def _priority(self, ci: int, adj: dict[int, dict[int, float]]) -> tuple:
        """Centres first: photos with a capture time (a camera's file), the original format, more
        pixels, more partners."""
        c = self._contents[ci]
        f = self._facts.get(c.fingerprint)
        origin = f.origin if f else 0
        mp = f.content_megapixels if f else 0.0
        return (c.taken is None, -origin, -round(mp, 1), -len(adj.get(ci, ())), ci)

    def _part_box(self, part: int, whole: int) -> Box | None:
        """Where ``part``'s picture lies in ``whole``'s, held there reduced and covering at most
        PART_SHARE of it: (x0, y0, x1, y1) as shares of its width and height, from the pair's check
        (the way made from ``part``, else the other way's box turned round); None when ``part`` is not
        such a part of ``whole``, or the check is too old to say where."""
        r = self._relative_resolution(part, whole)
        fp, fw = self._facts.get(self._contents[part].fingerprint), self._facts.get(self._contents[whole].fingerprint)
        if r is None or r >= PART_RESOLUTION or fp is None or fw is None or fw.width * fw.height <= 0:
            return None
        if r * r * fp.width * fp.height / (fw.width * fw.height) > PART_SHARE:
            return None
        checked = self._ways(part, whole)
        if checked is None:
            return None
        outward, back = checked
        if outward is not None and outward.same and outward.placement is not None:
            return outward.placement
        if back is not None and back.same and back.placement is not None:  # the whole's box in the part
            x0, y0, x1, y1 = back.placement
            if x1 - x0 <= 0 or y1 - y0 <= 0:
                return None
            return (-x0 / (x1 - x0), -y0 / (y1 - y0), (1 - x0) / (x1 - x0), (1 - y0) / (y1 - y0))
        return None

    def _collages(self, adj: dict[int, dict[int, float]]) -> set[int]:
        """Pictures that hold reduced copies of two *different* photos side by side (see PART_SHARE and
        SIDE_BY_SIDE): a collage, a screenshot of a gallery grid. Each of its parts is rightly "the
        same photo" as it, but a collage is a picture of its own, not a copy of any of them, and must
        not tie its parts together: four photos and their 2 x 2 collage were one group of six, and the
        suggestion kept one photo and moved the three other originals and the collage to the trash.
        (A screenshot of one photo holds the photo and its other copies too, but all in one place.)"""
        out: set[int] = set()
        for whole, partners in adj.items():
            boxes = {p: box for p in partners if (box := self._part_box(p, whole)) is not None}
            parts = sorted(boxes)
            if any(b not in adj.get(a, {}) and _side_by_side(boxes[a], boxes[b])
                   for i, a in enumerate(parts) for b in parts[i + 1:]):
                out.add(whole)
        return out

    def _centred_groups(self, adj: dict[int, dict[int, float]]) -> list[list[int]]:
        """Same-photo groups around centres; see the module docstring (4.). Collages (:meth:`_collages`)
        are left out: they neither join a group nor tie photos together."""
        collages = self._collages(adj)
        if collages:
            adj = {a: {b: s for b, s in p.items() if b not in collages} for a, p in adj.items() if a not in collages}
        assigned: set[int] = set()
        groups: list[list[int]] = []
        for centre in sorted(adj, key=lambda ci: self._priority(ci, adj)):
            if centre in assigned or not adj[centre]:
                continue
            members = [centre]
            inside = {centre}
            for x, _sim in sorted(adj[centre].items(), key=lambda e: -e[1]):
                if x not in assigned and x not in inside and not any(self._cannot_link(x, m) for m in members):
                    members.append(x)
                    inside.add(x)
            support: Counter[int] = Counter()
            for m in members[1:]:
                for y in adj.get(m, {}):
                    if y not in assigned and y not in inside:
                        support[y] += 1
            centre_vec = self._vector(centre) if support else None
            for y, count in sorted(support.items(), key=lambda e: (-e[1], e[0])):
                if self._time_apart(centre, y) or any(self._cannot_link(y, m) for m in members):
                    continue
                sim = float(centre_vec @ self._vector(y))  # type: ignore[operator]
                checked = self._check(centre, y)
                if any(v is not None and v.overlapping for v in (checked or ())):
                    continue  # two framings (the check saw it): no number of members vouching overrides that
                if self._decide(centre, y, sim, checked) == "diff" and count < SUPPORT:
                    # y is the same photo as a member, yet its vector may sit below the gate from the
                    # centre's (a screenshot, a photo of a print, stickers over grass): it still joins
                    # if the check against the centre itself confirms it.
                    if self._decide(centre, y, sim, checked, gate=False) != "same":
                        continue
                members.append(y)
                inside.add(y)
            if len(members) > 1:
                groups.append(members)
                assigned |= inside
        return groups

    def _vector(self, ci: int) -> np.ndarray:
        vec = self.library.index.get([self._contents[ci].rep])[0]
        return vec / (np.linalg.norm(vec) or 1.0)

    # -- publishing ----------------------------------------------------------------------------------
    def _publish(self, state: DuplicateState) -> DuplicateState:
        self._state = state
        for listener in list(self.listeners):
            try:
                listener(state)
            except Exception:
                log.exception("duplicate listener failed")
        return state

    def _forget_built(self) -> None:
        """Settings or decisions changed: every group and fact sheet is built again."""
        self._info_cache.clear()
        self._group_cache.clear()
        self._similar_cache = None
        self._dirty.clear()

    def _photo_infos(self, contents: Iterable[int]) -> dict[int, list[PhotoInfo]]:
        """PhotoInfo for every existing file of these contents, by content (reused for contents that
        nothing touched since they were read)."""
        out: dict[int, list[PhotoInfo]] = {}
        wanted = []
        for ci in contents:
            if not self._contents[ci].alive:
                continue
            hit = self._info_cache.get(ci) if ci not in self._dirty else None
            if hit is not None:
                out[ci] = hit
            else:
                wanted.append(ci)
        if not wanted:
            return out
        rows = self.catalog.get_many([i for ci in wanted for i in self._contents[ci].ids])
        for ci in wanted:
            c = self._contents[ci]
            facts = self._ensure_facts(ci)
            for photo_id in c.ids:
                row = rows.get(photo_id)
                if row is None or row.state != INDEXED or not os.path.exists(row.path):
                    continue
                out.setdefault(ci, []).append(PhotoInfo(
                    row.id, row.path, row.size, row.mtime_ns / 1e9, c.fingerprint, row.taken_at, facts,
                    any(is_within(row.path, f) for f in self.reference_folders)))
            if facts is not None or self._read_files:  # unknown facts are measured once files may be read
                self._info_cache[ci] = out.get(ci, [])
        return out

    def _build_state(self) -> DuplicateState:
        """The published state; groups and fact sheets of contents nothing touched since the last one
        are reused, so an update costs what it changed, not the size of the library."""
        rules, hidden, dirty = self.rules, tuple(self._hidden), self._dirty
        kept = {t: [h for tier, h in hidden if tier == t] for t in (EXACT, SAME, SIMILAR)}
        in_groups = {ci for g in self._same_groups for ci in g}
        wanted = self._multi | in_groups
        self._preload_facts(ci for ci in wanted if ci in dirty or ci not in self._info_cache)
        infos = self._photo_infos(wanted)
        built: dict[tuple, DuplicateGroup] = {}
        exact = []
        for ci in self._multi:
            key = ("exact", ci, len(infos.get(ci, ())))
            group = self._group_cache.get(key) if ci not in dirty else None
            if group is None and len(infos.get(ci, ())) > 1:
                group = make_group(EXACT, infos[ci], rules, hidden=kept[EXACT])
            if group is not None:
                built[key] = group
                exact.append(group)
        same: list[DuplicateGroup] = []
        units: list[ShotUnit] = []
        unit_of: dict[int, int] = {}
        for members in self._same_groups:
            key = ("same", tuple(sorted(members)))
            group = self._group_cache.get(key) if dirty.isdisjoint(members) else None
            if group is None:
                photos = [p for ci in members for p in infos.get(ci, ())]
                if len({p.fingerprint for p in photos}) < 2:
                    continue
                vec_of = {ci: self._vector(ci) for ci in members if ci in infos}
                vectors = np.stack([vec_of[self._by_id[p.photo_id]] for p in photos])
                # members[0] is the group's centre: every other member was checked against it
                resolution = {ci: 1.0 if ci == members[0] else self._relative_resolution(members[0], ci)
                              for ci in members}
                known = None if any(r is None for r in resolution.values()) else {
                    p.photo_id: float(resolution[self._by_id[p.photo_id]]) for p in photos}  # type: ignore[arg-type]
                group = make_group(SAME, photos, rules, vectors=vectors, hidden=kept[SAME], resolution=known)
            built[key] = group
            same.append(group)
            timed = [p for p in group.photos if p.taken_at is not None]
            if timed:
                anchor = group.keeper if group.keeper.taken_at is not None else timed[0]
                unit_of.update(dict.fromkeys(members, len(units)))
                keeper_ci = self._by_id[group.keeper.photo_id]
                units.append(ShotUnit(group.keeper, float(anchor.taken_at), self._vector(keeper_ci).astype(np.float16),
                                      frozenset(self._cannot.get(group.keeper.fingerprint, ()))))
        self._group_cache = built
        shot_contents = self._shot_contents
        cached = self._similar_cache
        if (cached is not None and dirty.isdisjoint(shot_contents) and dirty.isdisjoint(in_groups)
                and not (self._similar_partial and self._read_files)):
            graph, similar = cached[0], cached[1]
        else:
            self._preload_facts(ci for ci in shot_contents if ci in dirty or ci not in self._info_cache)
            graph = self._similar_graph(units, unit_of)
            similar = tuple(graph.groups(self.similar_threshold, rules, kept[SIMILAR]))
            self._similar_cache = (graph, similar, frozenset())
        self._dirty = set()
        self._serial += 1
        return DuplicateState(
            exact=self._in_order(EXACT, exact), same=self._in_order(SAME, same), similar=self._in_order(SIMILAR, similar),
            similar_graph=graph, similar_threshold=self.similar_threshold, rules=rules, hidden=hidden,
            ready=True, pending_checks=len(self._pending), serial=self._serial)

    def _in_order(self, tier: str, groups: Sequence[DuplicateGroup]) -> tuple[DuplicateGroup, ...]:
        """The tier's groups in the view's order; the last order again when every group is the same
        object as last time (an update that touched no group of this tier sorts nothing)."""
        last = self._sorted.get(tier)
        if last is not None and len(last) == len(groups) and {id(g) for g in last} == {id(g) for g in groups}:
            return last
        self._sorted[tier] = tuple(sort_groups(groups))
        return self._sorted[tier]

    def _similar_graph(self, units: list[ShotUnit], unit_of: dict[int, int]) -> SimilarGraph:
        """Candidate pairs of shots (alike at SIMILAR_FLOOR or more, taken within the window), between
        units: a same-photo group counts as one shot, its keeper standing in for it."""
        pairs: dict[tuple[int, int], float] = {}
        own = {ci for pair in self._shot_pairs for ci in pair if ci not in unit_of and self._contents[ci].alive}
        infos = self._photo_infos(own)
        for ci in sorted(own):
            c = self._contents[ci]
            if ci in infos and c.taken is not None:
                unit_of[ci] = len(units)
                units.append(ShotUnit(infos[ci][0], float(c.taken), self._vector(ci).astype(np.float16),
                                      frozenset(self._cannot.get(c.fingerprint, ()))))
        # A picture whose measures are not known yet (a pass that reads no file) may be flat: it joins
        # no burst until it is measured, so a blank wall never shows as a similar shot, not even briefly.
        unknown = {i for i, u in enumerate(units) if u.keeper.facts is None}
        self._similar_partial = bool(unknown)
        flat = unknown | {i for i, u in enumerate(units) if u.keeper.facts is not None and u.keeper.facts.flat}
        for (a, b), sim in self._shot_pairs.items():
            ua, ub = unit_of.get(a), unit_of.get(b)
            if ua is None or ub is None or ua == ub or ua in flat or ub in flat:
                continue
            key = (min(ua, ub), max(ua, ub))
            pairs[key] = max(pairs.get(key, -1.0), sim)
        if not pairs:
            return SimilarGraph(tuple(units))
        return SimilarGraph(tuple(units), np.array(list(pairs), dtype=np.int32),
                            np.array(list(pairs.values()), dtype=np.float32))


def _side_by_side(a: Box, b: Box) -> bool:
    """Do two boxes overlap by at most SIDE_BY_SIDE of the smaller one?"""
    smaller = min(box_area(a), box_area(b))
    return smaller > 0 and box_overlap(a, b) <= SIDE_BY_SIDE * smaller


def check_verdict(checked: Checked | None) -> str | None:
    """'same' or 'diff' from a pair's check (one or both ways), None when neither way was informative.

    The same photo when a way says so, unless that way only just passed (fewer than
    MARGINAL_AGREEMENT of its regions aligned) and the other way saw another shot of the scene."""
    informative = [v for v in (checked or (None, None)) if v is not None and v.informative]
    if not informative:
        return None
    same = [v for v in informative if v.same]
    if not same:
        return "diff"
    if any(v.agreeing >= MARGINAL_AGREEMENT for v in same):
        return "same"
    return "diff" if any(v.second_motion >= SECOND_MOTION_MAX for v in informative) else "same"


def _measure(path: str, verifier: GeometricVerifier) -> ContentFacts:
    try:
        return measure(path, verifier)
    except (ImageLoadError, OSError) as exc:
        log.info("cannot measure %s: %s", path, exc)
        return unreadable_facts(path)


_STORED_DEFAULTS = (False, False, 0, 0, 0.0, False, 0, 0.0, None, False)
"""A stored check's fields (see :func:`_as_list`) with what a check stored before a field existed reads
as: ``mirrored`` came later than the first five, then ``second_motion``, then ``scale``, then
``placement`` and ``overlapping``."""


def _verification(data: list | None) -> Verification | None:
    if not data:
        return None
    values = list(data)[: len(_STORED_DEFAULTS)]
    same, informative, tight, cells, agreeing, mirrored, second, scale, placement, overlapping = (
        values + list(_STORED_DEFAULTS[len(values):]))
    box = tuple(float(v) for v in placement) if placement and len(placement) == 4 else None
    return Verification(bool(same), bool(informative), int(tight), int(cells), float(agreeing), bool(mirrored),
                        second_motion=int(second), scale=float(scale), placement=box,  # type: ignore[arg-type]
                        overlapping=bool(overlapping))


def _as_list(v: Verification | None) -> list | None:
    if v is None:
        return None
    return [v.same, v.informative, v.tight_inliers, v.cells, round(v.agreeing, 3), v.mirrored, v.second_motion,
            round(v.scale, 4), list(v.placement) if v.placement is not None else None, v.overlapping]


__all__ = ["DuplicateFinder", "DuplicateGroup", "DuplicateState", "EXACT", "SAME", "SIMILAR", "SIMILAR_WINDOW"]
