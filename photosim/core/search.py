"""Similarity search: by an image file anywhere on disk, by image bytes, or by a library photo.

Scores are cosine similarities (1.0 = same direction), best first. Results never name a file that no
longer exists, and a library photo used as the query is left out of its own results. Searching within
one folder uses the index with oversampling, or an exact scan of that folder's stored embeddings
when the folder is small (exact and faster than oversampling a big index).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .catalog import INDEXED, Catalog, decode_vector
from .images import ImageLoadError, decode, read_file
from .library import Library
from .paths import is_within, normalize_path

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

    def __init__(self, library: Library, catalog: Catalog | None = None) -> None:
        """``catalog``: a reader connection of the caller's own (the service's query thread has one);
        default: the library's."""
        self.library = library
        self.catalog = catalog if catalog is not None else library.catalog

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


__all__ = ["QueryError", "SearchResult", "Searcher", "decode_vector"]
