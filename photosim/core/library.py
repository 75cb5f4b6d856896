"""The composition root of the engine: one photo library in one data folder.

:class:`Library` builds and hands out the services (catalog, vector index, embedder) so that no module
reaches for globals. Opening it for writing takes the library's writer lock: only one process at a
time may change a library; a second one gets :class:`LibraryBusyError` with a clear message instead of
corrupting anything. Readers (a search from the command line) take no lock.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import faults
from .atomic import remove_stale_temporaries
from .catalog import Catalog
from .devices import ComputePlan, LoadedModel, load_embedder, load_query_embedder, normalize_choice, plan_for_queries
from .embedder import Backbone, EmbedderError, resolve_backbone
from .heap import freeze_long_lived
from .paths import resolve_data_dir
from .vectors import IndexFileError, VectorIndex, file_checksum

if TYPE_CHECKING:
    from filelock import FileLock

    from .runtime import EmbedderLike

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.sqlite3"
LOCK_FILE = "writer.lock"
OWNER_FILE = "writer.json"


class LibraryBusyError(Exception):
    """Another process holds the library's writer lock."""


class WriterLock:
    """The data folder's writer lock: one process at a time may change a library.

    A second writer gets :class:`LibraryBusyError` naming the process that holds it. ``photosim check
    --repair`` takes it on its own, before any catalog is opened (the catalog may be the thing it fixes).
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._lock: FileLock | None = None

    def acquire(self, timeout: float = 0.0) -> None:
        # Imported here: readers (search, status) never take the lock, and filelock costs them ~10 ms.
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.data_dir / LOCK_FILE), timeout=timeout)
        try:
            lock.acquire()
        except Timeout:
            raise LibraryBusyError(
                f"another photosim process{self._owner()} is already writing to the library in {self.data_dir}; "
                "wait for it to finish or close it"
            ) from None
        self._lock = lock
        try:
            (self.data_dir / OWNER_FILE).write_text(json.dumps({"pid": os.getpid(), "since": time.time()}))
        except OSError:
            pass

    def _owner(self) -> str:
        try:
            info = json.loads((self.data_dir / OWNER_FILE).read_text())
            return f" (pid {int(info['pid'])})"
        except (OSError, ValueError, KeyError, TypeError):
            return ""

    def release(self) -> None:
        if self._lock is not None:
            try:
                (self.data_dir / OWNER_FILE).unlink()
            except OSError:
                pass
            self._lock.release()
            self._lock = None

    @property
    def held(self) -> bool:
        return self._lock is not None

    def __enter__(self) -> "WriterLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@dataclass(frozen=True)
class IndexHealth:
    """The vector index of the current model compared with the catalog (:meth:`Library.index_health`).

    Everything the index can get wrong is repairable from the catalog (:meth:`Library.repair_index`),
    so "unhealthy" means "a repair would change something", never "data is lost".
    """

    #: the index file exists and its bytes match the checksum recorded in the catalog
    checksum_ok: bool
    #: why not, in a few words ("" when ``checksum_ok``)
    file_problem: str
    #: vectors in the index that was examined (the one in memory if this process opened it)
    index_vectors: int
    #: photos the catalog holds as indexed with the current model
    catalog_photos: int
    #: indexed in the catalog, absent from the index: searches cannot return them
    missing_ids: tuple[int, ...]
    #: in the index, not (or no longer) indexed in the catalog
    extra_ids: tuple[int, ...]
    #: in the index, but no graph search reaches them, and not in the exact side list
    unreachable_ids: tuple[int, ...]
    #: the graph cannot reach them, so every search scores them exactly (findable, nothing to repair)
    exact_ids: tuple[int, ...]

    @property
    def healthy(self) -> bool:
        return self.checksum_ok and not (self.missing_ids or self.extra_ids or self.unreachable_ids)

    def summary(self) -> str:
        """One line per finding, for ``photosim check`` and the app."""
        lines = [f"vector index: {self.index_vectors} vectors for {self.catalog_photos} indexed photos"]
        if not self.checksum_ok:
            lines.append(f"  index file: {self.file_problem}")
        for label, ids in (("missing from the index", self.missing_ids), ("not in the catalog", self.extra_ids),
                           ("unreachable by search", self.unreachable_ids)):
            if ids:
                lines.append(f"  {len(ids)} {label}: ids {_some(ids)}")
        if self.exact_ids:
            lines.append(f"  {len(self.exact_ids)} searched exactly beside the graph (which cannot reach them)")
        lines.append("  healthy" if self.healthy else "  needs repair: photosim check --repair")
        return "\n".join(lines)


def _some(ids: tuple[int, ...], shown: int = 10) -> str:
    head = ", ".join(str(i) for i in ids[:shown])
    return head + (f" and {len(ids) - shown} more" if len(ids) > shown else "")


def index_file_name(model_id: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-." else "_" for c in model_id)
    return f"vectors-{safe}.usearch"


class Library:
    """Catalog + vector index + embedder for one data folder.

    ``writable=False`` opens the catalog read-only and never writes the index file; anything the index
    lacks is repaired in memory only.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        writable: bool = True,
        model: str | Backbone | None = None,
        device: str | None = "auto",
        embedder: "EmbedderLike | None" = None,
        lock_timeout: float = 0.0,
        for_queries: bool = False,
    ) -> None:
        """``for_queries``: this process embeds only a few query photos (``photosim search``), so the
        model is the data folder's cached ONNX graph where it may be used (see
        :func:`photosim.core.devices.plan_for_queries`), which starts ten times faster than torch."""
        self.data_dir = resolve_data_dir(data_dir)
        self.for_queries = for_queries
        #: Set when a query had to load torch because the cached graph was missing, stale or damaged,
        #: and one could be built: :meth:`build_query_graph` after answering makes the next query quick.
        self.query_graph_wanted = False
        self.writable = writable
        #: The user's device choice (auto / cpu / gpu, see photosim.core.devices).
        self.device_choice = normalize_choice(device)
        #: Set when the model had to fall back to the CPU: the user should hear why.
        self.compute_notice: str | None = None
        self.compute_plan: ComputePlan | None = None
        self.backbone: Backbone = embedder.backbone if embedder is not None else resolve_backbone(model)
        self._embedder = embedder
        self._writer_lock = WriterLock(self.data_dir)
        if writable:
            self._writer_lock.acquire(lock_timeout)
            # saves killed before their rename (the copy index, the look-alike index, ...)
            remove_stale_temporaries(self.data_dir)
        try:
            self.catalog = Catalog(self.data_dir / CATALOG_FILE, readonly=not writable)
        except BaseException:
            self._writer_lock.release()
            raise
        self._index: VectorIndex | None = None
        self._index_lock = threading.Lock()
        self._model_lock = threading.Lock()
        self._index_dirty = False
        self.index_events: list[str] = []

    # -- lifetime ----------------------------------------------------------------------------
    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.writable and self._index is not None and self._index_dirty:
            self.save_index()
        self.catalog.close()
        self._writer_lock.release()

    # -- services ----------------------------------------------------------------------------
    @property
    def model_id(self) -> str:
        return self.backbone.model_id

    @property
    def embedder(self) -> "EmbedderLike":
        """The model, loaded on first use (a few seconds), then kept; thread-safe.

        torch in a development install, the exported ONNX model in the installed app (no torch); a GPU
        that will not start falls back to the CPU and :attr:`compute_notice` says why.
        """
        if self._embedder is None:
            with self._model_lock:
                if self._embedder is None:
                    loaded = self._load_query_model() if self.for_queries else load_embedder(self.backbone, self.device_choice)
                    self.compute_plan, self.compute_notice = loaded.plan, loaded.notice
                    self._embedder = loaded.embedder
                    freeze_long_lived("loading the model")
        return self._embedder

    def _load_query_model(self) -> LoadedModel:
        from . import model_cache

        if not model_cache.enabled():
            return load_embedder(self.backbone, self.device_choice)
        graph = model_cache.load_graph(self.data_dir, self.model_id)
        loaded = load_query_embedder(self.backbone, self.device_choice, graph)
        if loaded.plan.runtime == "torch" and model_cache.can_build():
            # Only when a graph would have been used had it been there (not for PHOTOSIM_RUNTIME=torch).
            self.query_graph_wanted = plan_for_queries(self.device_choice, graph_ready=True).runtime == "onnx"
        return loaded

    def load_embedder_in_background(self) -> None:
        """Start loading the model on a thread of its own, so that reading and decoding a query overlap
        with it; :attr:`embedder` then waits for it. A failure is raised there, not on this thread."""
        if self._embedder is not None:
            return

        def load() -> None:
            try:
                _ = self.embedder
            except Exception as exc:  # the caller's own access raises it again, with its context
                log.debug("loading the model in the background failed: %s", exc)

        threading.Thread(target=load, name="photosim-model-load", daemon=True).start()

    def build_query_graph(self) -> bool:
        """Export the model into the data folder's graph cache for quick queries; True when built.

        Called once a query has been answered with torch (:attr:`query_graph_wanted`): a few seconds,
        once per library and model. Failing to build it (a read-only folder, a full disk) only means
        the next query uses torch again.
        """
        from . import model_cache

        try:
            built = model_cache.build_graph(self.data_dir, self.backbone) is not None
        except (OSError, EmbedderError) as exc:
            log.warning("could not cache the model graph for quick queries: %s", exc)
            return False
        self.query_graph_wanted = False
        return built

    @property
    def has_embedder(self) -> bool:
        return self._embedder is not None

    @property
    def index_path(self) -> Path:
        return self.data_dir / index_file_name(self.model_id)

    @property
    def index(self) -> VectorIndex:
        """The vector index for the current model, loaded and reconciled with the catalog."""
        if self._index is None:
            with self._index_lock:
                if self._index is None:
                    self._index = self._open_index()
        return self._index

    def _meta_key(self, name: str) -> str:
        return f"index.{self.model_id}.{name}"

    def _open_index(self) -> VectorIndex:
        dim = self.backbone.dim
        known = {self.catalog.get_meta(self._meta_key("checksum")), self.catalog.get_meta(self._meta_key("checksum_next"))}
        known.discard(None)
        index: VectorIndex | None = None
        reason = ""
        for checksum in known:
            try:
                index = VectorIndex.load(self.index_path, dim, checksum=checksum)
                index.set_exact_keys(self._saved_exact_keys())
                break
            except IndexFileError as exc:
                reason = str(exc)
        if index is None:
            reason = reason or ("index file is missing" if not self.index_path.exists() else "no checksum recorded")
            index = VectorIndex(dim)
            expected = len(self.catalog.indexed_ids(self.model_id))
            if expected:
                self._note(f"vector index: {reason}; rebuilding it from the catalog ({expected} photos, no re-embedding)")
        changed = self._reconcile(index)
        if changed and self.writable:
            self._index = index
            self.save_index()
        return index

    def _reconcile(self, index: VectorIndex) -> bool:
        """Make the index hold exactly the catalog's indexed photos for this model."""
        want = self.catalog.indexed_ids(self.model_id)
        have = index.keys()
        missing = np.setdiff1d(want, have, assume_unique=True)
        extra = np.setdiff1d(have, want, assume_unique=True)
        if len(extra):
            index.remove(int(k) for k in extra)
        added = 0
        for ids, vectors in self.catalog.iter_embeddings(self.model_id, ids=missing.tolist() if len(missing) else []):
            index.add(ids, vectors)
            added += len(ids)
        if (added or len(extra)) and len(have):
            self._note(f"vector index: repaired from the catalog (added {added}, removed {len(extra)})")
        return bool(added or len(extra))

    def _note(self, message: str) -> None:
        log.warning(message)
        self.index_events.append(message)

    @property
    def index_dirty(self) -> bool:
        """The in-memory index has changes the file on disk lacks."""
        return self._index is not None and self._index_dirty

    def add_vectors(self, ids: np.ndarray | list[int], vectors: np.ndarray) -> None:
        self.index.add(ids, vectors)
        self._index_dirty = True

    def remove_vectors(self, ids: list[int]) -> None:
        if ids and self.index.remove(ids):
            self._index_dirty = True

    def save_index(self) -> None:
        """Write the index atomically and record its checksum; readers-only libraries never write."""
        if not self.writable or self._index is None:
            return
        # The load accepts the recorded checksum or the "next" one, written just before the rename:
        # a crash between the rename and the final commit then never forces a rebuild.
        def record_next(checksum: str) -> None:
            self.catalog.set_meta(self._meta_key("checksum_next"), checksum)

        checksum = self._index.save(self.index_path, before_replace=record_next)
        faults.crash_point("index-save-after-rename")
        with self.catalog.transaction():
            self.catalog.set_meta(self._meta_key("checksum"), checksum)
            self.catalog.set_meta(self._meta_key("count"), str(len(self._index)))
            self.catalog.set_meta(self._meta_key("exact_keys"), json.dumps(self._index.exact_keys.tolist()))
            self.catalog.set_meta(self._meta_key("saved_at"), str(time.time()))
        self._index_dirty = False

    # -- health and repair of the vector index -------------------------------------------------
    def _saved_exact_keys(self) -> list[int]:
        """The exact side list saved with the index (photos its graph cannot reach)."""
        try:
            return [int(k) for k in json.loads(self.catalog.get_meta(self._meta_key("exact_keys")) or "[]")]
        except (ValueError, TypeError):
            return []

    def _file_state(self) -> tuple[str | None, str]:
        """(the recorded checksum the index file matches, "") or (None, why it matches none)."""
        if not self.index_path.exists():
            return None, "missing"
        known = {self.catalog.get_meta(self._meta_key("checksum")), self.catalog.get_meta(self._meta_key("checksum_next"))}
        known.discard(None)
        if not known:
            return None, "no checksum recorded in the catalog"
        try:
            actual = file_checksum(self.index_path)
        except OSError as exc:
            return None, f"unreadable: {exc}"
        if actual not in known:
            return None, "checksum does not match (corrupt, or left by an interrupted save)"
        return actual, ""

    def index_health(self, *, threads: int = 0) -> IndexHealth:
        """Compare the vector index with the catalog and check that every photo in it is findable.

        Examines the index this process searches if it has opened it (a repair made on opening then
        shows as done), otherwise the file on disk as saved, mapped read-only and not repaired: a
        check must report what is wrong before anything fixes it. An unusable file is reported as
        such, with no ids (opening the library rebuilds it from the catalog). Costs a self-search of
        every photo on ``threads`` cores (0: all); ``bench/reachability.py`` measures it.
        """
        checksum, problem = self._file_state()
        index = self._index
        if index is None and checksum is not None:
            try:
                index = VectorIndex.load(self.index_path, self.backbone.dim, checksum=checksum)
                index.set_exact_keys(self._saved_exact_keys())
            except IndexFileError as exc:
                problem = str(exc)
        want = self.catalog.indexed_ids(self.model_id)
        if index is None:
            if problem == "missing" and len(want) == 0:  # nothing indexed yet: no file is written
                return IndexHealth(True, "", 0, 0, (), (), (), ())
            return IndexHealth(False, problem, 0, len(want), (), (), (), ())
        have = index.keys()
        exact = index.exact_keys
        unreachable = np.setdiff1d(index.unreachable_keys(threads=threads), exact)
        return IndexHealth(
            checksum_ok=not problem, file_problem=problem, index_vectors=len(index), catalog_photos=len(want),
            missing_ids=tuple(int(i) for i in np.setdiff1d(want, have)),
            extra_ids=tuple(int(i) for i in np.setdiff1d(have, want)),
            unreachable_ids=tuple(int(i) for i in unreachable),
            exact_ids=tuple(int(i) for i in np.intersect1d(exact, have)),
        )

    def repair_index(self, rebuild: bool = False, *, threads: int = 0) -> str:
        """Make the index hold exactly the catalog's photos, every one findable; save it atomically.

        Opening the index already replaces a missing or corrupt file and adds or removes what differs
        from the catalog; this then re-inserts the photos no search reaches and keeps the few the
        graph still cannot reach in the exact side list. ``rebuild`` builds a new graph from the
        catalog's stored embeddings first (no re-embedding). Returns a summary for the user.
        """
        if not self.writable:
            raise PermissionError("the library was opened read-only; a repair needs the writer lock")
        events_before = len(self.index_events)
        done: list[str] = []
        if rebuild:
            fresh = VectorIndex(self.backbone.dim)
            self._reconcile(fresh)
            with self._index_lock:
                self._index = fresh
            self._index_dirty = True
            done.append(f"rebuilt the index from the catalog ({len(fresh)} photos, no re-embedding)")
        index = self.index  # opening repairs a missing or corrupt file
        if self._reconcile(index):
            self._index_dirty = True
        done[:0] = [event.removeprefix("vector index: ") for event in self.index_events[events_before:]]
        previous_exact = set(index.exact_keys.tolist())
        repair = index.repair_unreachable(threads=threads)
        if repair.reinserted or set(repair.exact) != previous_exact:
            self._index_dirty = True
        if repair.reinserted:
            done.append(f"re-inserted {len(repair.reinserted)} photos no search reached; "
                        f"{repair.relinked} are reachable again")
        if set(repair.exact) != previous_exact:
            done.append(f"{len(repair.exact)} photos the graph cannot reach are searched exactly beside it")
        saved = self._index_dirty or self._file_state()[0] is None
        if saved:
            self.save_index()
        if not done:
            return "vector index: nothing to repair"
        return "vector index: " + "; ".join(done) + ("; saved" if saved else "")
