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
"""

from __future__ import annotations

import logging
import mmap
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import xxhash

from . import faults
from .atomic import fsync_dir, fsync_file, replacing

if TYPE_CHECKING:
    from usearch.index import Index


def usearch_index_class() -> type[Index]:
    """usearch's Index class, imported once the system C++ runtime is loaded (see below)."""
    _load_system_cxx_runtime()
    from usearch.index import Index

    return Index


def _load_system_cxx_runtime() -> None:
    """Load the system's C++ runtime globally before usearch's extension module.

    usearch's wheel links its own copy of libstdc++ statically and exports those symbols. Loaded
    before torch, it hands torch's TorchScript tracer a mismatched std::locale: every number written
    to a stream throws and is retried, and tracing the model never ends (measured here: tracing took
    forever when ``usearch.compiled`` was imported first, 2-3 s otherwise). With the system runtime
    loaded first, both libraries bind to it. Harmless where there is no such library.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:  # the soname, not ctypes.util.find_library: that runs ldconfig (tens of ms)
        ctypes.CDLL("libstdc++.so.6", mode=ctypes.RTLD_GLOBAL)
    except OSError:
        pass


log = logging.getLogger(__name__)

ADD_CHUNK = 256

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

    def add(self, keys: Iterable[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors; keys already present are skipped (an id's embedding never changes)."""
        keys = np.asarray(keys, dtype=np.uint64)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(keys), self.ndim)
        with self._lock:
            fresh = np.fromiter((not self._index.contains(int(k)) for k in keys), dtype=bool, count=len(keys))
        if not fresh.all():
            keys, vectors = keys[fresh], vectors[fresh]
        if len(keys):
            with self._lock:
                self._make_writable()
        for start in range(0, len(keys), ADD_CHUNK):
            with self._lock:
                self._index.add(keys[start : start + ADD_CHUNK], vectors[start : start + ADD_CHUNK])

    def remove(self, keys: Iterable[int]) -> int:
        removed = 0
        with self._lock:
            for key in keys:
                if self._index.contains(int(key)):
                    self._make_writable()
                    self._index.remove(int(key))
                    removed += 1
        return removed

    def search(self, vector: np.ndarray, k: int, *, expansion: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return (keys, cosine similarities) of the ``k`` nearest photos, best first."""
        with self._lock:
            n = len(self._index)
            if n == 0 or k <= 0:
                return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.float32)
            k = min(k, n)
            wanted = max(expansion or self.fixed_expansion or expansion_for(n), k)
            if self._index.expansion_search != wanted:
                self._index.expansion_search = wanted
            matches = self._index.search(np.asarray(vector, dtype=np.float32).reshape(self.ndim), k)
        keys = np.asarray(matches.keys, dtype=np.uint64)
        sims = 1.0 - np.asarray(matches.distances, dtype=np.float32)
        return keys, sims

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
