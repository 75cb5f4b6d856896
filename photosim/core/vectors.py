"""The vector index: a usearch HNSW graph over the catalog's embeddings, kept on disk.

It is a cache: the catalog holds every embedding, so anything missing, corrupt or inconsistent here is
rebuilt from the catalog without running the model. What makes it trustworthy:

* :meth:`VectorIndex.save` writes a temporary file, fsyncs it, then renames it over the old one, so
  a process killed mid-save leaves the previous index intact. A rename also never touches the inode
  another process may have memory-mapped, which usearch's in-place save would (SIGBUS).
* The file's checksum (xxh3-128, fast enough for a 1M-photo index) is returned by ``save`` and
  checked by ``load``: usearch itself has none and happily loads silently corrupted bytes.
* One lock serialises access; additions go in small chunks because the binding holds the GIL while
  adding, and a search from the UI thread must not wait for a whole batch.
* Opening maps the file (usearch ``view``) instead of reading it: a 1M-photo index is searchable in
  a third of a second instead of 1.1 s. The first change loads it into memory (about 0.8 s at 1M,
  on the indexing thread); a library that is only searched never pays that. On Windows, where a
  mapped file cannot be replaced, the index is always loaded.

Every photo must stay findable, and an HNSW graph does not promise that by itself:

* usearch's multi-threaded ``add`` can leave nodes that no search reaches (usearch issue #735: a
  node's lower-level links are built after it is already reachable from above, and a concurrent
  insert that lands on it dead-ends there). Inserts therefore run on one thread
  (:data:`ADD_THREADS`), which measured no slower here; ``bench/reachability.py`` measures both
  the bug and the cost.
* Large groups of byte-identical photos (the indexer gives copies the same vector) strand some
  copies even on one thread: the graph's neighbour selection cannot tell identical vectors apart.
* :meth:`VectorIndex.unreachable_keys` finds every photo its own stored vector does not find;
  :meth:`VectorIndex.repair_unreachable` re-inserts them and keeps any the graph still cannot reach
  in a small side list (:attr:`VectorIndex.exact_keys`) that every search scores exactly.
* Small libraries (up to :data:`EXACT_SEARCH_LIMIT` photos) are searched exactly, which costs no
  more than the graph there and cannot miss anything.
"""

from __future__ import annotations

import logging
import mmap
import os
import threading
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import xxhash

from . import faults
from .atomic import fsync_dir, fsync_file, replacing

if TYPE_CHECKING:
    from usearch.index import Index


def usearch_index_class() -> type[Index]:
    """usearch's Index class, imported on first use (``photosim.core`` has loaded the system C++
    runtime before it: see ``photosim/core/__init__.py`` for why the order matters)."""
    from usearch.index import Index

    return Index


log = logging.getLogger(__name__)

ADD_CHUNK = 256

#: usearch threads per insert. One: concurrent inserts strand nodes that no search reaches (usearch
#: #735). Measured with ``bench/reachability.py`` on this 2-core machine (shared, load 5-11), see
#: bench/RESULTS-reachability.md. The indexer's batches of 8, 672 real embeddings, 40 builds: all
#: cores stranded photos in 4 and in 14 builds (up to 3 each), one thread in none, and one thread
#: added photos 1.5-1.7x faster. A rebuild from the catalog: one thread won every run at 10k and
#: 20k (e.g. 4.4 s against 9.6 s + 2.0 s for the check that must follow all cores); at 100k one
#: thread took 323, 420 and 485 s, all cores + check 457, 201 and 537 s. With the check, all cores
#: cost 0-25% more CPU, so they win only where a core is idle; ``add(threads=0)`` offers that
#: path, checked and repaired (``verify``), for a machine where it measures faster.
ADD_THREADS = 1

#: Libraries up to this many photos are searched exactly (usearch's brute force over the stored
#: vectors, one thread): there it costs what the graph costs, finds the true neighbours and cannot
#: miss a photo the graph does not reach. One query, p50, exact / graph (``bench/reachability.py``,
#: interleaved, three runs): 0.14-0.19 / 0.20-0.23 ms at 2k photos, 0.32-0.41 / 0.24-0.38 ms at
#: 5k, 0.75-1.30 / 0.75-1.35 ms at 10k, 1.66-2.14 / 1.37-1.87 ms at 20k, 8.5-10.8 / 6.4-6.6 ms at 50k.
EXACT_SEARCH_LIMIT = 10_000

#: The reachability check asks every photo's own vector for this many results at this search width
#: first; the few it misses are asked again, wider (:data:`CONFIRM_EXPANSIONS`), before being called
#: unreachable. On 20k photos, a first width of 8 leaves 139 to ask again (0.7%) and costs 2.9 s of
#: CPU in all; 16 leaves 16 and costs 4.8 s, 32 leaves 7 and costs 8 s; all find the same photos.
CHECK_COUNT = 4
CHECK_EXPANSION = 8
CONFIRM_EXPANSIONS = (32, 256, 1024)
#: Queries per batch search of the check: the index lock is released between batches so that a
#: search from the UI never waits for a whole check.
CHECK_CHUNK = 1024
#: Distances below this count as "the same vector": a result list made only of such twins may hide
#: the photo behind its identical copies, so the check then asks for more results.
TWIN_DISTANCE = 1e-3
NO_KEY = np.uint64(2**64 - 1)
"""The key :meth:`VectorIndex.search_batch` pads a row with when the index has fewer matches."""


class IndexFileError(Exception):
    """The index file is missing, unreadable, corrupt or of another shape."""


#: Map index files for searching and load them only when they change (see the module docstring).
VIEW_ON_OPEN = os.name == "posix"

#: HNSW links per photo. 24, not usearch's 16: on the benchmark's vectors at 1M photos, 16 links
#: reach recall@10 0.88 even with expansion 512, 32 links reach 0.97 but take 1.6 GB of RAM; 24 keep
#: a 1M-photo index under 1.5 GB (``bench/index_layer.py``, RESULTS.md).
CONNECTIVITY = 24

#: (library size up to, expansion_search): how wide a search looks, growing with the library so that
#: recall@10 against exact search stays at 0.95 or more on the benchmark's vectors while a search at
#: 100k photos stays near 2 ms. Bigger libraries pay with time: about 20 ms at 1M.
EXPANSION_STEPS = ((50_000, 128), (200_000, 256), (500_000, 512))
EXPANSION_MAX = 768


def expansion_for(n: int) -> int:
    """The search width (usearch ``expansion_search``) for an index of ``n`` photos."""
    for limit, expansion in EXPANSION_STEPS:
        if n <= limit:
            return expansion
    return EXPANSION_MAX


def file_checksum(path: str | os.PathLike[str]) -> str:
    """xxh3-128 of a file's bytes, hashed straight from a memory map (no copies): 0.2 s for 1.2 GB."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            return xxhash.xxh3_128_hexdigest(b"")
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return xxhash.xxh3_128_hexdigest(mapped)


def _self_hits(matches: object, keys: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """For a batch self-search for ``count`` results: (each query found its own key, it got all
    ``count`` results and they were all twins of it).

    Only the first ``counts[i]`` results of a row are real; usearch pads the rest with sentinels.
    A batch of one query comes back as plain ``Matches``, already cut to its real results.
    """
    found_keys = np.asarray(matches.keys).reshape(len(keys), -1)  # type: ignore[attr-defined]
    distances = np.asarray(matches.distances, dtype=np.float32).reshape(len(keys), -1)  # type: ignore[attr-defined]
    counts = np.asarray(getattr(matches, "counts", [found_keys.shape[1]])).reshape(len(keys))
    if found_keys.shape[1] == 0:
        return np.zeros(len(keys), dtype=bool), np.zeros(len(keys), dtype=bool)
    real = np.arange(found_keys.shape[1])[None, :] < counts[:, None]
    found = ((found_keys == keys[:, None]) & real).any(axis=1)
    full = counts >= count
    last = distances[np.arange(len(keys)), np.maximum(counts - 1, 0)]
    return found, full & (last <= TWIN_DISTANCE)


@dataclass(frozen=True)
class ReachabilityRepair:
    """What :meth:`VectorIndex.repair_unreachable` did."""

    #: photos the graph did not reach, re-inserted
    reinserted: tuple[int, ...]
    #: the exact side list afterwards: photos the graph does not reach, searched exactly beside it
    exact: tuple[int, ...]

    @property
    def relinked(self) -> int:
        """How many unreachable photos the graph reaches again."""
        return len(self.reinserted) - len(set(self.reinserted) & set(self.exact))


class VectorIndex:
    """A cosine HNSW index keyed by catalog photo ids."""

    def __init__(
        self, ndim: int, *, dtype: str = "f16", connectivity: int = CONNECTIVITY, expansion_search: int | None = None
    ) -> None:
        """``expansion_search`` None: :func:`expansion_for` the index's size at each search."""
        self.ndim = ndim
        self.dtype = dtype
        self.connectivity = connectivity
        self._lock = threading.RLock()
        self.fixed_expansion = expansion_search
        self._index = self._new_index(expansion_search or EXPANSION_STEPS[0][1])
        #: The file this index is a read-only map of, until the first change loads it (see load()).
        self._viewed: Path | None = None
        #: Photos the graph cannot reach even after re-insertion; every search scores them exactly.
        self._exact_keys = np.zeros(0, dtype=np.uint64)
        self._exact_vectors: np.ndarray | None = None  # their unit vectors, filled on first use

    def _new_index(self, expansion_search: int) -> Index:
        return usearch_index_class()(
            ndim=self.ndim, metric="cos", dtype=self.dtype, connectivity=self.connectivity,
            expansion_search=expansion_search,
        )

    # -- persistence -------------------------------------------------------------------------
    @classmethod
    def load(
        cls, path: str | os.PathLike[str], ndim: int, *, checksum: str | None, dtype: str = "f16",
        view: bool | None = None,
    ) -> "VectorIndex":
        """Open a saved index, verifying its checksum and shape; raise IndexFileError otherwise.

        ``view`` (default :data:`VIEW_ON_OPEN`) maps the file read-only; the first add or remove then
        loads it into memory. Safe because saves never write into this file: they rename a new one
        over it, and the mapping keeps the old inode alive.
        """
        view = VIEW_ON_OPEN if view is None else view
        path = Path(path)
        if not path.exists():
            raise IndexFileError("index file is missing")
        if checksum is None:
            raise IndexFileError("no checksum recorded for the index file")
        try:
            actual = file_checksum(path)
        except OSError as exc:
            raise IndexFileError(f"cannot read index file: {exc}") from exc
        if actual != checksum:
            raise IndexFileError("index file checksum does not match (corrupt or left by an interrupted save)")
        self = cls(ndim, dtype=dtype)
        try:
            if view:
                self._index.view(str(path))
                self._viewed = path
            else:
                self._index.load(str(path))
        except Exception as exc:
            raise IndexFileError(f"usearch could not load the index file: {exc}") from exc
        if self._index.ndim != ndim:
            raise IndexFileError(f"index has {self._index.ndim} dimensions, expected {ndim}")
        return self

    def save(self, path: str | os.PathLike[str], before_replace: Callable[[str], None] | None = None) -> str:
        """Atomically replace ``path`` with this index; return the new file's checksum.

        ``before_replace(checksum)`` runs once the new file is complete and synced, just before it
        takes the old one's place, so the caller can record the checksum it is about to have.
        """
        path = Path(path)
        with replacing(path) as tmp:
            with self._lock:
                self._index.save(str(tmp))
            fsync_file(tmp)
            checksum = file_checksum(tmp)
            if before_replace is not None:
                before_replace(checksum)
            faults.crash_point("index-save-before-rename")
        fsync_dir(path.parent)
        return checksum

    def _make_writable(self) -> None:
        """Swap a mapped index for a loaded copy of the same file (call with the lock held)."""
        if self._viewed is None:
            return
        loaded = self._new_index(self._index.expansion_search)
        try:
            loaded.load(str(self._viewed))
        except Exception as exc:
            raise IndexFileError(f"usearch could not load the index file: {exc}") from exc
        log.debug("index %s loaded for changes (%d vectors)", self._viewed, len(loaded))
        self._index, self._viewed = loaded, None

    @property
    def mapped(self) -> bool:
        """True while the index is a read-only map of its file (nothing changed since it was opened)."""
        return self._viewed is not None

    # -- content -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: int) -> bool:
        return bool(self._index.contains(int(key)))

    def keys(self) -> np.ndarray:
        with self._lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if len(self._index) == 0:
                return np.zeros(0, dtype=np.uint64)
            return np.asarray(np.array(self._index.keys), dtype=np.uint64)

    def add(
        self, keys: Iterable[int] | np.ndarray, vectors: np.ndarray, *, threads: int | None = None,
        verify: bool | None = None,
    ) -> None:
        """Add vectors; keys already present are skipped (an id's embedding never changes).

        ``threads`` None: :data:`ADD_THREADS` (one: safe, and measured faster here for batches
        and rebuilds alike). With several threads, ``verify`` (the default then) checks every
        added photo afterwards and re-inserts the ones the concurrent inserts stranded;
        ``verify=False`` with several threads is usearch's bug (#735) unguarded: only the benchmark
        and the tests that need an unreachable photo ask for it.
        """
        keys = np.asarray(keys, dtype=np.uint64)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(keys), self.ndim)
        with self._lock:
            fresh = np.fromiter((not self._index.contains(int(k)) for k in keys), dtype=bool, count=len(keys))
        if not fresh.all():
            keys, vectors = keys[fresh], vectors[fresh]
        if not len(keys):
            return
        if threads is None:
            threads = ADD_THREADS
        if verify is None:
            verify = threads != 1
        with self._lock:
            self._make_writable()
        for start in range(0, len(keys), ADD_CHUNK):
            with self._lock:
                self._index.add(
                    keys[start : start + ADD_CHUNK], vectors[start : start + ADD_CHUNK], threads=threads
                )
        if verify:
            stranded = self.unreachable_keys(keys)
            if len(stranded):
                self.repair_unreachable(stranded)

    def remove(self, keys: Iterable[int]) -> int:
        removed = 0
        with self._lock:
            for key in keys:
                if self._index.contains(int(key)):
                    self._make_writable()
                    self._index.remove(int(key))
                    removed += 1
            if removed and len(self._exact_keys):
                self._set_exact(self._exact_keys[[bool(self._index.contains(int(k))) for k in self._exact_keys]])
        return removed

    def search(
        self, vector: np.ndarray, k: int, *, expansion: int | None = None, exact: bool | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (keys, cosine similarities) of the ``k`` nearest photos, best first.

        ``exact`` None: exact up to :data:`EXACT_SEARCH_LIMIT` photos, the graph beyond (plus the
        exact side list of photos the graph cannot reach); an explicit ``expansion`` asks for the graph.
        """
        query = np.asarray(vector, dtype=np.float32).reshape(self.ndim)
        with self._lock:
            n = len(self._index)
            if n == 0 or k <= 0:
                return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.float32)
            k = min(k, n)
            if exact is None:
                exact = expansion is None and n <= EXACT_SEARCH_LIMIT
            if exact:
                matches = self._index.search(query, k, exact=True, threads=1)
            else:
                wanted = max(expansion or self.fixed_expansion or expansion_for(n), k)
                if self._index.expansion_search != wanted:
                    self._index.expansion_search = wanted
                matches = self._index.search(query, k)
            keys = np.asarray(matches.keys, dtype=np.uint64)
            sims = 1.0 - np.asarray(matches.distances, dtype=np.float32)
            if not exact and len(self._exact_keys):
                keys, sims = self._merge_exact(query, keys, sims, k)
        return keys, sims

    # -- reachability ------------------------------------------------------------------------
    @property
    def exact_keys(self) -> np.ndarray:
        """Photos the graph cannot reach, which every graph search scores exactly beside it."""
        return self._exact_keys.copy()

    def set_exact_keys(self, keys: Iterable[int] | np.ndarray) -> None:
        """Restore the side list saved with this index (keys no longer in the index are dropped)."""
        keys = np.unique(np.asarray(list(keys) if not isinstance(keys, np.ndarray) else keys, dtype=np.uint64))
        with self._lock:
            self._set_exact(keys[[bool(self._index.contains(int(k))) for k in keys]] if len(keys) else keys)

    def _set_exact(self, keys: np.ndarray) -> None:
        self._exact_keys = np.asarray(keys, dtype=np.uint64)
        self._exact_vectors = None

    def _merge_exact(
        self, query: np.ndarray, keys: np.ndarray, sims: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Add the side list's exact scores to the graph's results (call with the lock held)."""
        if self._exact_vectors is None:
            stored = self.stored_vectors(self._exact_keys).astype(np.float32)
            self._exact_vectors = stored / np.maximum(np.linalg.norm(stored, axis=1, keepdims=True), 1e-12)
        side = self._exact_vectors @ (query / max(float(np.linalg.norm(query)), 1e-12))
        fresh = ~np.isin(self._exact_keys, keys)
        all_keys = np.concatenate([keys, self._exact_keys[fresh]])
        all_sims = np.concatenate([sims, side[fresh].astype(np.float32)])
        order = np.argsort(-all_sims, kind="stable")[:k]
        return all_keys[order], all_sims[order]

    def stored_vectors(self, keys: np.ndarray) -> np.ndarray:
        """The vectors as the index stores them (f16 here), one row per key; every key must exist."""
        keys = np.asarray(keys, dtype=np.uint64)
        with self._lock:
            if len(keys) == 0:
                return np.zeros((0, self.ndim), dtype=np.float32)
            return np.stack(self._index.get(keys))

    def unreachable_keys(self, keys: Iterable[int] | np.ndarray | None = None, *, threads: int = 0) -> np.ndarray:
        """Keys (all, or those given) whose own stored vector does not find them in the graph.

        Such a photo never appears in any graph search. The check is a self-search of every photo
        in batches on ``threads`` cores (0: all). A narrow first pass settles almost every photo; the
        few it misses are searched again wider (:data:`CONFIRM_EXPANSIONS`). Copies of a photo share
        one vector, so a result list made only of its twins can crowd a reachable photo out: it is
        then asked for more results until the list reaches past its twins.

        The graph alone is checked, whether or not searches currently use it (small libraries are
        searched exactly) and whether or not a key is already in the exact side list.
        """
        if keys is None:
            keys = self.keys()
        else:
            keys = np.asarray(list(keys) if not isinstance(keys, np.ndarray) else keys, dtype=np.uint64)
            with self._lock:
                keys = keys[[bool(self._index.contains(int(k))) for k in keys]] if len(keys) else keys
        suspects = []
        for start in range(0, len(keys), CHECK_CHUNK):
            chunk = keys[start : start + CHECK_CHUNK]
            suspects.append(chunk[~self._finds_itself(chunk, CHECK_COUNT, CHECK_EXPANSION, threads)])
        missed = np.concatenate(suspects) if suspects else np.zeros(0, dtype=np.uint64)
        for expansion in CONFIRM_EXPANSIONS:
            if len(missed) == 0:
                break
            missed = missed[~self._finds_itself(missed, CHECK_COUNT, expansion, threads)]
        return self._widen_past_twins(missed, threads)

    def _finds_itself(self, keys: np.ndarray, count: int, expansion: int, threads: int) -> np.ndarray:
        """For each key: does a graph search for its own stored vector return it among ``count``?"""
        with self._lock:
            n = len(self._index)
            count = min(count, n)
            vectors = self.stored_vectors(keys)
            wanted = max(expansion, count)
            if self._index.expansion_search != wanted:
                self._index.expansion_search = wanted
            matches = self._index.search(vectors, count, threads=threads)
        return _self_hits(matches, keys, count)[0]

    def _widen_past_twins(self, missed: np.ndarray, threads: int) -> np.ndarray:
        """Keep the keys that stay unfound even when asked for more results than they have twins."""
        unreachable = []
        count = CHECK_COUNT
        while len(missed):
            count *= 4
            with self._lock:
                n = len(self._index)
                count = min(count, n)
                vectors = self.stored_vectors(missed)
                wanted = max(CONFIRM_EXPANSIONS[-1], 2 * count)
                if self._index.expansion_search != wanted:
                    self._index.expansion_search = wanted
                matches = self._index.search(vectors, count, threads=threads)
            found, full_of_twins = _self_hits(matches, missed, count)
            # all results are twins (same vector): the photo may be hidden behind them, ask for more
            crowded = full_of_twins & (count < n)
            unreachable.append(missed[~found & ~crowded])
            missed = missed[~found & crowded]
        return np.sort(np.concatenate(unreachable)) if unreachable else np.zeros(0, dtype=np.uint64)

    def reinsert(self, keys: Iterable[int] | np.ndarray) -> None:
        """Remove the keys and insert their stored vectors again, one thread: the new node gets fresh
        links in both directions, which is what an unreachable node lacks."""
        keys = np.asarray(list(keys) if not isinstance(keys, np.ndarray) else keys, dtype=np.uint64)
        if len(keys) == 0:
            return
        with self._lock:
            self._make_writable()
            vectors = self.stored_vectors(keys)
            self._index.remove(keys)
            self._index.add(keys, vectors, threads=1)

    def repair_unreachable(
        self, keys: Iterable[int] | np.ndarray | None = None, *, rounds: int = 2, threads: int = 0
    ) -> ReachabilityRepair:
        """Make every photo findable again: re-insert the unreachable ones (``keys``, or those a full
        check finds), check them again, and keep the ones the graph still misses in the exact side
        list. A full check also drops from the side list the photos the graph reaches again, and
        leaves alone the ones already there that it still cannot reach (re-inserting them again
        would change nothing), so a second repair has nothing to do.
        """
        with self._lock:
            previous = self._exact_keys.copy()
        if keys is None:
            found = self.unreachable_keys(threads=threads)
            keep = np.intersect1d(previous, found)
            todo = np.setdiff1d(found, keep)
        else:
            todo = np.unique(np.asarray(list(keys) if not isinstance(keys, np.ndarray) else keys, dtype=np.uint64))
            keep = np.setdiff1d(previous, todo)
        reinserted = todo
        for _ in range(rounds):
            if len(todo) == 0:
                break
            self.reinsert(todo)
            todo = self.unreachable_keys(todo, threads=threads)
        exact = np.union1d(keep, todo).astype(np.uint64)
        with self._lock:
            self._set_exact(exact)
        if len(reinserted):
            log.info("vector index: re-inserted %d unreachable photos; %d of them still searched exactly",
                     len(reinserted), len(todo))
        return ReachabilityRepair(tuple(int(k) for k in reinserted), tuple(int(k) for k in exact))

    def search_batch(self, vectors: np.ndarray, k: int, *, expansion: int | None = None,
                     threads: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest photos of each row of ``vectors`` on ``threads`` cores (0: all): (keys, cosine
        similarities), both (n, k), best first; rows with fewer than ``k`` matches are padded with the
        key ``NO_KEY`` and similarity -inf. The lock is held for the whole batch, so callers that share
        the index with a user's search pass a few thousand rows at a time."""
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self.ndim)
        n = len(vectors)
        with self._lock:
            size = len(self._index)
            if n == 0 or size == 0 or k <= 0:
                return np.full((n, max(k, 0)), NO_KEY, np.uint64), np.full((n, max(k, 0)), -np.inf, np.float32)
            wanted = max(expansion or self.fixed_expansion or expansion_for(size), min(k, size))
            if self._index.expansion_search != wanted:
                self._index.expansion_search = wanted
            matches = self._index.search(vectors, min(k, size), threads=threads)
        keys = np.asarray(matches.keys, dtype=np.uint64).reshape(n, -1)
        sims = 1.0 - np.asarray(matches.distances, dtype=np.float32).reshape(n, -1)
        counts = np.asarray(getattr(matches, "counts", [keys.shape[1]])).reshape(n)  # one row: plain Matches
        pad = np.arange(keys.shape[1])[None, :] >= counts[:, None]
        keys[pad], sims[pad] = NO_KEY, -np.inf
        if keys.shape[1] < k:
            keys = np.pad(keys, ((0, 0), (0, k - keys.shape[1])), constant_values=NO_KEY)
            sims = np.pad(sims, ((0, 0), (0, k - sims.shape[1])), constant_values=-np.inf)
        return keys, sims

    def get(self, keys: Iterable[int] | np.ndarray) -> np.ndarray:
        """The stored vectors of ``keys`` (float32, unit length as added); a missing key gives zeros."""
        keys = np.asarray(list(keys) if not isinstance(keys, np.ndarray) else keys, dtype=np.uint64)
        out = np.zeros((len(keys), self.ndim), dtype=np.float32)
        if not len(keys):
            return out
        with self._lock:
            found = self._index.get(keys, dtype=np.float32)
        if isinstance(found, np.ndarray) and found.ndim == 2:
            return found.astype(np.float32, copy=False)
        for i, vec in enumerate(found if isinstance(found, tuple) else [found]):
            if vec is not None:
                out[i] = vec
        return out

    @property
    def memory_bytes(self) -> int:
        return int(self._index.memory_usage)
