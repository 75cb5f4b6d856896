"""Look-alikes: photos of the same kind of thing (other dogs, other castles), not only copies.

The copy-detection vector (regional GeM over a squashed picture) is built to find the *same* photo
after edits; asked for a fish, it brings back whatever shares the fish photo's colours and layout.
The look-alike descriptor here is made from what the classifier says instead, so it costs no second
network run: the same forward pass already gives the class probabilities (:mod:`photosim.core.tags`).

Recipe (:func:`semantic_vectors`), chosen on the category benchmark (``bench/categories.py``), where
it was measured against plain average pooling (at the squashed input and at the network's native
centre crop), PCA whitening and centring fitted on the library, the class probabilities with the
Hellinger (square-root) kernel, fusions of these, and query expansion / database-side augmentation:

1. the photo's stored labels: the top 20 class probabilities, each class at its most confident over
   the whole picture and nine windows (:func:`photosim.core.embedder.region_max_probabilities`);
2. pushed up the WordNet tree: each of the 1,860 synsets above the 1000 classes gets the probability
   mass of the classes below it, so a tabby and a Siamese share "cat", "feline", "mammal" and a
   goose and a heron share "bird" (:mod:`photosim.core.wordnet`);
3. the square root of those masses (the Hellinger kernel: many small shared masses count), projected
   to 128 dimensions by a fixed random +-1 matrix (:func:`photosim.core.embedder.projection_matrix`,
   no library fitting to refresh) and L2-normalised.

Category precision@5 (``python -m bench.run --only categories``), on photos whose subject fills part
of the frame over a real background ("composited"): copy vector 0.57, plain average pooling 0.50 (at
the native centre crop, a second network run, 0.59), probabilities with the Hellinger kernel 0.53,
average pooling fused with them 0.55, step 2 on the whole picture's probabilities 0.64, this recipe
0.72. On the same subjects photographed on white ("plain") every candidate is at 0.81-0.87 (copy
vector 0.86, average pooling 0.87, this recipe 0.86): there the background gives the category away.
PCA whitening fitted on the library made things worse (0.78 / 0.45); database-side augmentation
with k = 3 changed them by +0.01 / -0.03 (query expansion, tried the same way, by at most 0.01), so
neither is used.

Stored: nothing beyond the labels (80 bytes a photo in the catalog). The vectors live in a second
usearch index (128-d f16, its own file and checksum, named by its recipe id) that is a cache rebuilt
from the labels without running the model, like the copy index is rebuilt from the embeddings.

"Same photo" stays the copy vector's job, decided by :class:`~photosim.core.matching.SamePhotoTest`
(one calibration for search and the duplicate finder). A result list
(:func:`photosim.core.results.rank_query`) puts those copies first, then the look-alikes this index
finds, down to a cutoff computed from the query's own look-alike scores against a background sample
of the library (:meth:`SemanticIndex.sample`).
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .catalog import INDEXED
from .embedder import projection_matrix
from .matching import BACKGROUND_SAMPLE
from .paths import is_within
from .tags import decode_labels, encode_labels, labels_model_for, stack_labels
from .vectors import IndexFileError, VectorIndex
from .wordnet import Taxonomy, load_taxonomy

if TYPE_CHECKING:
    from .catalog import Catalog
    from .library import Library

log = logging.getLogger(__name__)

SEMANTIC_DIM = 128
MIN_LABELLED_SHARE = 0.5
"""Look-alikes stand in for the copy vector's "similar" results only once at least this share of the
library's photos has labels: while an old library is still being labelled in the background, a
look-alike list would silently leave most of it out, so results fall back to the copy vector."""


def semantic_model_for(model_id: str) -> str:
    """The look-alike recipe id: the labels' recipe plus how vectors are made from them."""
    return f"{labels_model_for(model_id)}+wordnet-hier-rp{SEMANTIC_DIM}-v1"


_PROJECTIONS: dict[tuple[int, int], np.ndarray] = {}


def _projection(rows: int) -> np.ndarray:
    key = (rows, SEMANTIC_DIM)
    if key not in _PROJECTIONS:
        _PROJECTIONS[key] = projection_matrix(rows, SEMANTIC_DIM)
    return _PROJECTIONS[key]


def semantic_vectors(classes: np.ndarray, probs: np.ndarray, taxonomy: Taxonomy | None = None,
                     chunk: int = 4096) -> np.ndarray:
    """(N, K) stored labels -> (N, SEMANTIC_DIM) unit look-alike vectors (see the module docstring)."""
    taxonomy = taxonomy or load_taxonomy()
    classes = np.asarray(classes, dtype=np.int64).reshape(len(classes), -1)
    probs = np.asarray(probs, dtype=np.float32).reshape(len(classes), -1)
    n_nodes = taxonomy.n_nodes
    flat = np.concatenate(taxonomy.class_nodes).astype(np.int64)
    lens_per_class = np.array([len(a) for a in taxonomy.class_nodes], dtype=np.int64)
    offsets = np.zeros(len(lens_per_class) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lens_per_class)
    projection = _projection(n_nodes)
    out = np.zeros((len(classes), SEMANTIC_DIM), dtype=np.float32)
    for start in range(0, len(classes), chunk):
        c = classes[start : start + chunk]
        p = probs[start : start + chunk]
        rows, cols = np.nonzero(p > 0)
        cls, w = c[rows, cols], p[rows, cols]
        lens = lens_per_class[cls]
        within = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
        nodes = flat[np.repeat(offsets[cls], lens) + within]
        cells = np.repeat(rows, lens) * n_nodes + nodes
        mass = np.bincount(cells, weights=np.repeat(w, lens), minlength=len(c) * n_nodes).reshape(len(c), n_nodes)
        v = np.sqrt(mass, dtype=np.float64).astype(np.float32) @ projection
        out[start : start + chunk] = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    return out


def semantic_vector_of_probabilities(probabilities: np.ndarray, taxonomy: Taxonomy | None = None) -> np.ndarray:
    """The look-alike vector of a photo straight from the model's output, exactly as if stored first."""
    classes, probs = decode_labels(encode_labels(probabilities))
    return semantic_vectors(classes[None, :], probs[None, :], taxonomy)[0]


class SemanticIndex:
    """The look-alike vectors of a library's labelled photos: a usearch index kept beside the copy index.

    A cache of the catalog's labels, like the copy index is of the embeddings: missing, corrupt or
    stale files are rebuilt from the labels (no model run), and :meth:`sync` brings it up to date with
    the catalog (photos labelled or removed since). Saved atomically with its checksum in the catalog.
    One per library: :meth:`of`.
    """

    _instances: weakref.WeakKeyDictionary[Library, SemanticIndex] = weakref.WeakKeyDictionary()
    _instances_lock = threading.Lock()

    def __init__(self, library: Library, taxonomy: Taxonomy | None = None) -> None:
        self.library = library
        self.taxonomy = taxonomy or load_taxonomy()
        self.labels_model = labels_model_for(library.model_id)
        self.model_id = semantic_model_for(library.model_id)
        self._index: VectorIndex | None = None
        self._lock = threading.RLock()
        self._dirty = False
        self._stamp: tuple[int, int] | None = None
        self._sample: np.ndarray | None = None
        self._sample_count = -1

    @classmethod
    def of(cls, library: Library) -> SemanticIndex:
        """The library's one semantic index (created on first use)."""
        with cls._instances_lock:
            index = cls._instances.get(library)
            if index is None:
                index = cls._instances[library] = cls(library)
            return index

    @property
    def path(self) -> Path:
        from .library import index_file_name

        return self.library.data_dir / index_file_name(self.model_id)

    def _meta(self, name: str) -> str:
        return f"index.{self.model_id}.{name}"

    def __len__(self) -> int:
        return len(self.sync())

    def sync(self, catalog: Catalog | None = None) -> VectorIndex:
        """The index, opened (or rebuilt) and holding exactly the catalog's labelled photos.

        ``catalog``: a reader connection of the caller's own (the service's query thread has one);
        default: the library's."""
        catalog = catalog or self.library.catalog
        with self._lock:
            if self._index is None:
                self._index = self._open()
            stamp = catalog.labels_stamp(self.labels_model)
            if stamp != self._stamp:
                want = catalog.labelled_ids(self.labels_model)
                have = self._index.keys()
                extra = np.setdiff1d(have, want, assume_unique=True)
                missing = np.setdiff1d(want, have, assume_unique=True)
                if len(extra):
                    self._index.remove(int(k) for k in extra)
                for ids, blobs in catalog.iter_labels(self.labels_model, ids=missing.tolist() if len(missing) else []):
                    classes, probs = stack_labels(blobs)
                    self._index.add(np.asarray(ids, dtype=np.uint64), semantic_vectors(classes, probs, self.taxonomy))
                if len(extra) or len(missing):
                    self._dirty = True
                self._stamp = stamp
            return self._index

    def _open(self) -> VectorIndex:
        catalog = self.library.catalog  # a writer's Library removed the killed saves' temp files on opening
        for key in ("checksum", "checksum_next"):
            checksum = catalog.get_meta(self._meta(key))
            if checksum is None:
                continue
            try:
                return VectorIndex.load(self.path, SEMANTIC_DIM, checksum=checksum)
            except IndexFileError as exc:
                log.info("look-alike index: %s; rebuilding it from the labels", exc)
        return VectorIndex(SEMANTIC_DIM)

    def save(self) -> bool:
        """Write the index if it changed (writable libraries only); True if it wrote."""
        with self._lock:
            if not self.library.writable or self._index is None or not self._dirty:
                return False
            catalog = self.library.catalog

            def record_next(checksum: str) -> None:
                catalog.set_meta(self._meta("checksum_next"), checksum)

            checksum = self._index.save(self.path, before_replace=record_next)
            with catalog.transaction():
                catalog.set_meta(self._meta("checksum"), checksum)
                catalog.set_meta(self._meta("count"), str(len(self._index)))
            self._dirty = False
            return True

    def vector_of(self, photo_id: int, catalog: Catalog | None = None) -> np.ndarray | None:
        """A library photo's look-alike vector, from its stored labels (None if it has none)."""
        labels = (catalog or self.library.catalog).labels_of(photo_id)
        if labels is None or labels[0] != self.labels_model:
            return None
        classes, probs = decode_labels(labels[1])
        return semantic_vectors(classes[None, :], probs[None, :], self.taxonomy)[0]

    def usable(self, catalog: Catalog | None = None) -> bool:
        """Whether look-alikes can serve as a library's "similar" results: labels exist for at least
        :data:`MIN_LABELLED_SHARE` of its indexed photos (else the caller falls back to the copy vector)."""
        catalog = catalog or self.library.catalog
        index = self.sync(catalog)
        indexed = len(self.library.index)
        return len(index) > 0 and len(index) >= MIN_LABELLED_SHARE * indexed

    def sample(self, catalog: Catalog | None = None) -> np.ndarray:
        """A fixed random sample of the library's look-alike vectors (at most BACKGROUND_SAMPLE), the
        background a query's look-alike scores are measured against. Drawn once (about 0.13 ms a photo
        from the labels), drawn again when the labelled photos have grown or shrunk by a tenth."""
        catalog = catalog or self.library.catalog
        index = self.sync(catalog)
        n = len(index)
        with self._lock:
            if self._sample is None or abs(n - self._sample_count) > max(10, self._sample_count // 10):
                ids = np.sort(index.keys())
                if len(ids) > BACKGROUND_SAMPLE:
                    ids = np.sort(np.random.default_rng(0).choice(ids, size=BACKGROUND_SAMPLE, replace=False))
                parts = [semantic_vectors(*stack_labels(blobs), self.taxonomy)
                         for _, blobs in catalog.iter_labels(self.labels_model, ids=ids.tolist())]
                self._sample = np.concatenate(parts) if parts else np.zeros((0, SEMANTIC_DIM), dtype=np.float32)
                self._sample_count = n
            return self._sample

    def search(self, vector: np.ndarray, n: int, *, catalog: Catalog | None = None,
               exclude: Collection[int] = (), folder: str | None = None) -> list[tuple[int, str, float]]:
        """The ``n`` photos whose look-alike vectors are nearest ``vector``: (id, path, cosine), best
        first; leaves out ``exclude``, photos outside ``folder`` (a normalised path) and files that no
        longer exist."""
        catalog = catalog or self.library.catalog
        index = self.sync(catalog)
        if len(index) == 0 or n <= 0:
            return []
        skip = {int(e) for e in exclude}
        want = n + len(skip)
        while True:
            keys, sims = index.search(vector, want * (4 if folder else 1) + 8)
            rows = catalog.get_many(keys.tolist())
            out: list[tuple[int, str, float]] = []
            for key, sim in zip(keys.tolist(), sims.tolist(), strict=True):
                row = rows.get(int(key))
                if row is None or row.id in skip or row.state != INDEXED:
                    continue
                if folder is not None and not is_within(row.path, folder):
                    continue
                if not os.path.exists(row.path):
                    continue
                out.append((row.id, row.path, float(sim)))
                if len(out) >= n:
                    return out
            if len(keys) >= len(index):
                return out
            want *= 4
