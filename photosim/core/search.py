"""Similarity search: by an image file anywhere on disk, by image bytes, or by a library photo.

Scores are cosine similarities (1.0 = same direction), best first. Results never name a file that no
longer exists, and a library photo used as the query is left out of its own results. Searching within
one folder uses the index with oversampling, or an exact scan of that folder's stored embeddings
when the folder is small (exact and faster than oversampling a big index).

The ``results_for_*`` methods return a :class:`~photosim.core.results.ResultSet`: copies of the
query ("same", by the copy vector and :mod:`~photosim.core.matching`'s calibrated test) first, then
similar photos: look-alikes by the look-alike index (:mod:`~photosim.core.semantic`) when the library
is labelled, else the copy vector's nearest; each list with a cutoff per query (see ``results.py``).
A query can be a region of a picture (``crop``), given in pixels of the upright picture as displayed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .catalog import INDEXED, Catalog, decode_vector
from .images import FileRead, ImageLoadError, decode, decode_photo, read_file
from .library import Library
from .matching import (
    VERIFY_SIDE,
    ZOOM_MAX_SIDE,
    GeometricVerifier,
    SamePhotoTest,
    describe_gap,
    other_shot,
    sample_vectors,
)
from .paths import is_within, normalize_path
from .results import LookAlikeQuery, ResultSet, query_variants, rank_query
from .semantic import SemanticIndex, semantic_vector_of_probabilities

Crop = tuple[int, int, int, int]
"""A region of the query: x, y, width, height in pixels of the upright picture as displayed."""
MIN_CROP_SIDE = 16

EXACT_FOLDER_LIMIT = 20_000


class QueryError(Exception):
    """The query cannot be answered (unreadable image, empty library, unknown photo...)."""


@dataclass(frozen=True)
class SearchResult:
    photo_id: int
    path: str
    score: float


class Searcher:
    """Answers queries against one library with its current model."""

    def __init__(self, library: Library, catalog: Catalog | None = None, *, verifier: GeometricVerifier | None = None,
                 look_alikes: bool = True) -> None:
        """``catalog``: a reader connection of the caller's own (the service's query thread has one);
        default: the library's. ``verifier``: the geometric check to use (default: a new one; the
        benchmark passes the previous round's). ``look_alikes=False`` keeps the copy vector's similar
        photos even in a labelled library (the benchmark's before column)."""
        self.library = library
        self.catalog = catalog if catalog is not None else library.catalog
        self._same_test: SamePhotoTest | None = None
        self._verifier = verifier
        self._sample_size = -1
        self._look_alikes = look_alikes

    # -- query vectors -----------------------------------------------------------------------
    def embed_file(self, path: str | os.PathLike[str]) -> np.ndarray:
        path = os.fspath(path)
        if not os.path.exists(path):
            raise QueryError(f"no such file: {path}")
        if os.path.isdir(path):
            raise QueryError(f"is a folder, not an image: {path}")
        try:
            return self._embed_read(read_file(path))
        except ImageLoadError as exc:
            raise QueryError(f"cannot use {path} as a query: {exc}") from None

    def embed_bytes(self, data: bytes) -> np.ndarray:
        try:
            image = decode(data, self.library.backbone.decode_min_side)
        except ImageLoadError as exc:
            raise QueryError(f"cannot use the given image data as a query: {exc}") from None
        return self.library.embedder.embed_images([image])[0]

    def _embed_read(self, read: object) -> np.ndarray:
        image = decode(read, self.library.backbone.decode_min_side)  # type: ignore[arg-type]
        return self.library.embedder.embed_images([image])[0]

    def library_photo(self, path: str) -> int | None:
        """The id of an up-to-date indexed library photo at ``path`` (so its stored vector can serve)."""
        row = self.catalog.get_by_path(normalize_path(path))
        if row is None or row.state != INDEXED or row.model != self.library.model_id:
            return None
        try:
            st = os.stat(row.path)
        except OSError:
            return None
        if st.st_size != row.size or st.st_mtime_ns != row.mtime_ns:
            return None
        return row.id

    # -- queries -----------------------------------------------------------------------------
    def search_file(self, path: str | os.PathLike[str], k: int = 10, *, folder: str | None = None) -> list[SearchResult]:
        """Photos similar to an image file; if it is a library photo it is left out of its results."""
        photo_id = self.library_photo(os.fspath(path)) if os.path.exists(path) else None
        if photo_id is not None:
            return self.search_photo(photo_id, k, folder=folder)
        return self.search_vector(self.embed_file(path), k, folder=folder)

    def search_bytes(self, data: bytes, k: int = 10, *, folder: str | None = None) -> list[SearchResult]:
        return self.search_vector(self.embed_bytes(data), k, folder=folder)

    def search_photo(self, photo_id: int, k: int = 10, *, folder: str | None = None) -> list[SearchResult]:
        stored = self.catalog.embedding(photo_id)
        if stored is None:
            raise QueryError("that photo is not indexed yet")
        model, vector = stored
        if model != self.library.model_id:
            raise QueryError(f"that photo was embedded by {model}, not by the current model {self.library.model_id}")
        return self.search_vector(vector, k, folder=folder, exclude=(photo_id,))

    def search_vector(
        self, vector: np.ndarray, k: int = 10, *, folder: str | None = None, exclude: Sequence[int] = ()
    ) -> list[SearchResult]:
        if k <= 0:
            raise QueryError("the number of results must be at least 1")
        catalog = self.catalog
        folder_path = normalize_path(folder) if folder else None
        if folder_path is not None:
            owner = catalog.folder_for(folder_path)
            if owner is None:
                raise QueryError(f"not inside a watched folder: {folder_path}")
        index = self.library.index
        if len(index) == 0:
            raise QueryError("the library is empty: add a folder with 'photosim index FOLDER' first")
        if folder_path is not None and owner is not None:
            count = sum(catalog.folder_counts().get(owner.id, {}).values())
            if count <= EXACT_FOLDER_LIMIT:
                return self._exact_in_folder(vector, k, owner.id, folder_path, set(exclude))
        excluded = set(int(e) for e in exclude)
        want = k + len(excluded)
        while True:
            keys, sims = index.search(vector, want * (4 if folder_path else 1) + 8)
            rows = catalog.get_many(keys.tolist())
            results: list[SearchResult] = []
            for key, sim in zip(keys.tolist(), sims.tolist(), strict=True):
                row = rows.get(int(key))
                if row is None or row.id in excluded or row.state != INDEXED:
                    continue
                if folder_path is not None and not is_within(row.path, folder_path):
                    continue
                if not os.path.exists(row.path):
                    continue
                results.append(SearchResult(row.id, row.path, float(sim)))
                if len(results) >= k:
                    return results
            if len(keys) >= len(index):
                return results
            want *= 4

    # -- result sets: copies first, a cutoff per query ------------------------------------------
    def same_photo_test(self) -> SamePhotoTest:
        """The calibrated "same photo" test for this library: its background sample is drawn once and
        drawn again when the library has grown or shrunk by a tenth (a catalog read of 1000 vectors)."""
        index = self.library.index
        n = len(index)
        if self._same_test is None or abs(n - self._sample_size) > max(10, self._sample_size // 10):
            catalog, model = self.catalog, self.library.model_id

            def load(ids: np.ndarray) -> np.ndarray:
                chunks = list(catalog.iter_embeddings(model, ids=[int(i) for i in ids]))
                return np.concatenate([c[1] for c in chunks]) if chunks else np.zeros((0, self.library.backbone.dim))

            sample = sample_vectors(catalog.indexed_ids(model), load)
            if self._verifier is None:
                self._verifier = GeometricVerifier()
            self._same_test = SamePhotoTest(sample, self._verifier)
            self._sample_size = n
        return self._same_test

    def results_for_file(self, path: str | os.PathLike[str], k: int = 10, *, folder: str | None = None,
                         crop: Crop | None = None) -> ResultSet:
        """Copies and similar photos for an image file (a library photo uses its stored vector and is
        left out of its own results, unless a region of it is the query)."""
        path = os.fspath(path)
        if crop is None:
            photo_id = self.library_photo(path) if os.path.exists(path) else None
            if photo_id is not None:
                return self.results_for_photo(photo_id, k, folder=folder)
        if not os.path.exists(path):
            raise QueryError(f"no such file: {path}")
        if os.path.isdir(path):
            raise QueryError(f"is a folder, not an image: {path}")
        try:
            read = read_file(path)
        except ImageLoadError as exc:
            raise QueryError(f"cannot use {path} as a query: {exc}") from None
        return self._results_for_read(read, k, folder=folder, crop=crop, what=path)

    def results_for_bytes(self, data: bytes, k: int = 10, *, folder: str | None = None,
                          crop: Crop | None = None) -> ResultSet:
        """Copies and similar photos for image bytes (a pasted or downloaded picture)."""
        return self._results_for_read(data, k, folder=folder, crop=crop, what="the given image data")

    def results_for_photo(self, photo_id: int, k: int = 10, *, folder: str | None = None) -> ResultSet:
        """Copies and similar photos for a library photo, by its stored vectors; it is left out.

        Its file is read (small) only if some candidate is a close call that needs the geometric check.
        """
        stored = self.catalog.embedding(photo_id)
        row = self.catalog.get(photo_id)
        if stored is None or row is None:
            raise QueryError("that photo is not indexed yet")
        model, vector = stored
        if model != self.library.model_id:
            raise QueryError(f"that photo was embedded by {model}, not by the current model {self.library.model_id}")
        alike = None
        semantic = self.look_alike_index()
        if semantic is not None:
            alike = semantic.vector_of(photo_id, self.catalog)
        # The path, not a decoded picture: the verifier decodes it on the first close call, and keeps
        # its features (a thumbnail's "Find similar" twice in a row reads the file once).
        return self._rank(vector, k, folder, (photo_id,), row.path if os.path.exists(row.path) else None, alike,
                          taken=row.taken_at)

    def _results_for_read(self, source: FileRead | bytes, k: int, *, folder: str | None, crop: Crop | None,
                          what: str) -> ResultSet:
        try:
            taken = None  # a region of a picture is not a shot of its own
            if crop is None:
                # the same decode as the indexer's, so a re-saved copy gets its original's very vector
                photo = decode_photo(source, self.library.backbone.decode_min_side)
                model_input = photo.image
                taken = photo.taken_at
                # the check's own decode, unless that one could not be reduced either (a PNG: decoded once)
                picture = working_picture(photo.image if photo.source == "full" else decode(source, VERIFY_SIDE))
                del photo
            else:
                model_input = crop_picture(decode(source, 0), crop)
                picture = working_picture(model_input)
        except ImageLoadError as exc:
            raise QueryError(f"cannot use {what} as a query: {exc}") from None
        # What needs no model is done first: a command-line search loads the model on a thread of its
        # own meanwhile (Library.load_embedder_in_background), and the decodes above, the look-alike
        # index and the background sample of the same-photo test used to wait for it.
        semantic = self.look_alike_index()
        self.same_photo_test()
        analysis = self.library.embedder.analyse_images([model_input])
        del model_input
        alike = None
        if analysis.probabilities is not None and semantic is not None:
            # the same forward pass gave the class probabilities: the look-alike vector costs no model run
            alike = semantic_vector_of_probabilities(analysis.probabilities[0], semantic.taxonomy)
        return self._rank(analysis.vectors[0], k, folder, (), picture, alike, taken=taken)

    def look_alike_index(self) -> SemanticIndex | None:
        """The library's look-alike index if it can serve "similar" results (enough photos labelled;
        see :meth:`SemanticIndex.usable`), else None: results then fall back to the copy vector."""
        if not self._look_alikes:
            return None
        semantic = SemanticIndex.of(self.library)
        return semantic if semantic.usable(self.catalog) else None

    def _rank(self, vector: np.ndarray, k: int, folder: str | None, exclude: Sequence[int],
              picture: Image.Image | str | None, alike: np.ndarray | None = None, *,
              taken: float | None = None) -> ResultSet:
        """``taken``: the query's capture time, if known; a library photo taken at another moment is
        another shot, never a copy (the duplicate finder's rule)."""
        if k <= 0:
            raise QueryError("the number of results must be at least 1")
        test = self.same_photo_test()
        folder_path = normalize_path(folder) if folder else None

        def search(vec: np.ndarray, n: int) -> list[tuple[int, str, float]]:
            return [(r.photo_id, r.path, r.score) for r in self.search_vector(vec, n, folder=folder, exclude=exclude)]

        self.search_vector(vector, 1, folder=folder, exclude=exclude)  # raises the user-facing errors first
        look_alikes = None
        semantic = self.look_alike_index() if alike is not None else None
        if semantic is not None and alike is not None:
            catalog = self.catalog

            def search_alike(vec: np.ndarray, n: int) -> list[tuple[int, str, float]]:
                return semantic.search(vec, n, catalog=catalog, exclude=exclude, folder=folder_path)

            look_alikes = LookAlikeQuery(alike, search_alike, semantic.sample(catalog))
        # Turned and cut-out forms of the query (5 more embeddings and checks) are for pictures from
        # outside: a library photo's sideways copies inside the library are the duplicates finder's
        # to show, and "Find similar" on a thumbnail must answer at once.
        try_variants = isinstance(picture, Image.Image) and not exclude
        catalog = self.catalog

        def another_shot(photo_id: int) -> str | None:
            row = catalog.get(photo_id)
            if row is None or not other_shot(taken, row.taken_at):
                return None
            return f"another shot: taken {describe_gap(row.taken_at - taken)} apart"  # type: ignore[operator]

        return rank_query(vector, k, search, test, query_image=picture,
                          variants=(lambda: query_variants(picture)) if try_variants else None,  # type: ignore[arg-type]
                          embed=self.library.embedder.embed_images, look_alikes=look_alikes,
                          another_shot=another_shot if taken is not None else None)

    def _exact_in_folder(
        self, vector: np.ndarray, k: int, folder_id: int, folder_path: str, excluded: set[int]
    ) -> list[SearchResult]:
        catalog = self.catalog
        rows = [
            r for r in catalog.photos_in_folder(folder_id).values()
            if r.state == INDEXED and r.model == self.library.model_id and is_within(r.path, folder_path)
            and r.id not in excluded
        ]
        if not rows:
            return []
        by_id = {r.id: r for r in rows}
        chunks = list(catalog.iter_embeddings(self.library.model_id, ids=list(by_id)))
        ids = np.concatenate([c[0] for c in chunks])
        matrix = np.concatenate([c[1] for c in chunks])
        sims = matrix @ (vector / (np.linalg.norm(vector) or 1.0))
        sims = sims / np.maximum(np.linalg.norm(matrix, axis=1), 1e-12)
        order = np.argsort(-sims)
        results = []
        for i in order:
            row = by_id[int(ids[i])]
            if os.path.exists(row.path):
                results.append(SearchResult(row.id, row.path, float(sims[i])))
                if len(results) >= k:
                    break
        return results


def working_picture(picture: Image.Image) -> Image.Image:
    """The query picture the same-photo check and the query's turned and cut-out variants work on: at
    most ZOOM_MAX_SIDE long (its checks look at VERIFY_SIDE, a second look at a part of it at most at
    ZOOM_MAX_SIDE), reduced in steps (fast) when bigger.

    Pictures that cannot be decoded small (PNG, TIFF, WebP) came at full size: a 108 MP PNG query took
    13 s and 3 GB, most of it making its nine variants at 12000 x 9000 (measured with
    ``photosim search``; 2.7 s and 1.0 GB now, the PNG decoded once).
    """
    factor = max(picture.size) // ZOOM_MAX_SIDE
    if factor < 1 or max(picture.size) == ZOOM_MAX_SIDE:
        return picture
    reduced = picture.reduce(factor) if factor > 1 else picture.copy()  # box averaging, no full-size copy
    reduced.thumbnail((ZOOM_MAX_SIDE, ZOOM_MAX_SIDE), Image.Resampling.BILINEAR)
    return reduced


def crop_picture(picture: Image.Image, crop: Crop) -> Image.Image:
    """The region ``crop`` (x, y, width, height in pixels of the upright picture) of ``picture``;
    clipped to the picture, refused when it lies outside or is smaller than MIN_CROP_SIDE."""
    x, y, w, h = (int(v) for v in crop)
    if w <= 0 or h <= 0:
        raise QueryError(f"the region must have a positive width and height (got {w}x{h})")
    left, top = max(0, x), max(0, y)
    right, bottom = min(picture.width, x + w), min(picture.height, y + h)
    if right - left < MIN_CROP_SIDE or bottom - top < MIN_CROP_SIDE:
        raise QueryError(f"the region {x},{y},{w},{h} lies outside the {picture.width}x{picture.height} picture "
                         f"or is smaller than {MIN_CROP_SIDE} pixels")
    return picture.crop((left, top, right, bottom))


__all__ = ["Crop", "QueryError", "ResultSet", "SearchResult", "Searcher", "crop_picture", "decode_vector"]
