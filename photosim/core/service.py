"""The library service: one running library, with its threads, for the app, the CLI and ``photosim watch``.

Why it exists: the first version kept the indexing scheduler, the watcher, the model lock and the
catalog reads in the main window, which grew into a class nobody could test without the whole app,
and leaked a SQLite connection per Qt pool thread. The service owns all of that and imports no Qt;
the desktop app, ``photosim index``, ``photosim watch`` and the self-test all start a library
through it, so there is one start-up path.

Threads, and what each may touch::

    caller (GUI thread, CLI)  requests (scan, folders, pause...) -> queue; reads via photo_rows()
                              (the service's row reader, a connection of its own, behind a lock)
    photosim-writer           the only writer: the Library's catalog connection, the vector index,
                              the indexer (whose decode pool it starts), folder changes, backups,
                              the duplicate finder and its clean-up actions (queued as tasks);
                              runs at a lower CPU priority than the window
    photosim-query            the urgent lane: one reader connection of its own; embeds a query photo
                              (the model is shared: a query waits at most one indexing batch)
    photosim-snapshot         one reader connection of its own; publishes LibrarySnapshots
    photosim-watch            the folder watcher's thread: schedules watches (a big tree or a NAS
                              takes a while), debounces events into scan requests
    watchdog's observers      raw file-system events only

Every connection above is opened by the thread (or the service) that owns it and closed when it
ends; none is cached per thread. Listeners hear plain events (:mod:`photosim.core.events`) on the
thread that produced them.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import sqlite3
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .backup import make_backup
from .catalog import Catalog, CatalogDamagedError, CatalogError, PhotoRow, is_corruption
from .cleanup import ActionResult, Cleanup, JournalEntry
from .duplicates import DuplicateFinder
from .dupstate import DuplicateGroup, DuplicateState
from .embedder import EmbedderError
from .events import (
    CatalogDamaged,
    CleanedUp,
    DuplicatesChanged,
    DuplicatesProgressed,
    Failed,
    FoldersChanged,
    Listener,
    ModelLoaded,
    Noticed,
    Progressed,
    QueryAnswered,
    QueryFailed,
    RunFinished,
    RunStarted,
    ServiceEvent,
    SnapshotPublished,
)
from .indexer import Indexer, IndexReport
from .library import Library, LibraryBusyError
from .paths import display_path, normalize_path, not_a_photo_folder, resolve_cache_dir
from .progress import Progress, RateMeter, RunControl
from .search import QueryError, Searcher
from .snapshot import LibrarySnapshot, SubfolderIndex, make_snapshot
from .watcher import FolderWatcher, collapse_paths, is_network_folder

if TYPE_CHECKING:
    from .results import Result, ResultSet

__all__ = [
    "CatalogDamagedError", "CatalogError", "IndexReport", "LibraryBusyError", "LibraryService", "Query",
    "close_service", "open_service",
]

log = logging.getLogger(__name__)

RECONCILE_INTERVAL = 10 * 60.0
"""A full reconciling scan this often catches what the watcher missed (network drives, overflows)."""

REFRESH_WHILE_INDEXING = 2.5
"""How often the library snapshot (ids, counts) is re-read during a long run."""

CHECK_STEP = 64
"""Duplicate pairs checked from their files per writer step (a few seconds), between which the
writer takes a person's actions and indexing runs."""

BACKGROUND_NICENESS = 10
"""Indexing runs at a lower CPU priority than the window, so a busy CPU slows indexing, not the UI."""


def lower_thread_priority(niceness: int = BACKGROUND_NICENESS) -> None:
    """Lower the calling thread's CPU priority (Linux: nice is per thread and inherited by the threads it
    starts, such as the decoding pool). Elsewhere a no-op."""
    if not niceness or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), niceness))
    except (OSError, AttributeError):
        pass


@dataclass(frozen=True)
class Query:
    """What to search with: a file path, image bytes, a library photo id, or words.

    ``crop``: a region of the picture (x, y, width, height in pixels of the upright picture as
    displayed). ``only``: keep only results labelled like this word ("similar to this photo, only dogs").
    ``folder``: only photos inside this folder of the library (at any depth).
    """

    kind: str  # "file" | "bytes" | "photo" | "text" (value: a list of words)
    value: Any
    label: str
    crop: tuple[int, int, int, int] | None = None
    only: str | None = None
    folder: str | None = None


@dataclass
class Lane:
    """What a call on the query lane may use: the lane's own searcher, labels and reader connection."""

    service: LibraryService
    catalog: Catalog
    searcher: Searcher
    _labels: Any = None

    @property
    def labels(self) -> Any:
        """The lane's :class:`~photosim.core.tags.LabelIndex` (loaded on first use, then kept up to date)."""
        if self._labels is None:
            from .tags import LabelIndex

            self._labels = LabelIndex(self.service.library, catalog=self.catalog)
        return self._labels


@dataclass
class _QueryJob:
    token: int
    query: Query | None
    k: int
    future: Future[Any]
    call: Any = None  # for submit_call: fn(lane) -> value


class LibraryService:
    """A running library: writer thread, watcher, query lane, snapshots. Start it, stop it, ask it things.

    ``library`` must be writable (it holds the writer lock); the service does not close it: whoever
    opened it does, after :meth:`stop`.
    """

    def __init__(
        self,
        library: Library,
        *,
        excluded: Sequence[str] = (),
        watch: bool = True,
        watch_debounce: float = 1.0,
        reconcile_interval: float | None = RECONCILE_INTERVAL,
        poll_folder: Any = None,
        poll_interval: float | None = None,
        root_check: float | None = None,
        workers: int | None = None,
        background_priority: bool = True,
        backups: bool = True,
        keep_rules: Sequence[str] | None = None,
        reference_folders: Sequence[str] = (),
        similar_threshold: float | None = None,
    ) -> None:
        """``keep_rules``, ``reference_folders``, ``similar_threshold``: the duplicate finder's settings
        (:class:`~photosim.core.settings.Settings` fields of the same names); see also
        :meth:`configure_duplicates`."""
        if not library.writable:
            raise ValueError("the library service needs a writable library")
        self.library = library
        self.data_dir = library.data_dir
        self.model_id = library.model_id
        self._listeners: list[Listener] = []
        self._workers = workers
        self._background_priority = background_priority
        self._backups = backups
        self._reconcile_interval = reconcile_interval
        # -- requests (guarded by _cond) --
        self._cond = threading.Condition()
        self._excluded = [normalize_path(p) for p in excluded]
        # photosim's own folders (the library, the thumbnail cache) are never indexed, wherever they are:
        # a data folder set inside a watched one would otherwise index each thumbnail as it is written.
        self._own = [normalize_path(str(library.data_dir))]
        try:
            self._own.append(normalize_path(str(resolve_cache_dir(library.data_dir))))
        except OSError:  # a cache folder that cannot be made (read-only home): nothing will be written there
            pass
        self._full = False
        self._paths: set[str] = set()
        self._ops: list[tuple[str, str]] = []
        self._control: RunControl | None = None
        self._paused = False
        self._closing = False
        self._busy = False
        self._cancel_requested = False
        self._last_full = time.monotonic()
        self.damaged: str | None = None
        self.last_report: IndexReport | None = None
        #: The exception that ended the last piece of writer work, if one did (the CLI reports it).
        self.last_failure: BaseException | None = None
        # -- model --
        self._model_lock = threading.Lock()
        self._model_announced = False
        self._model_loading = False
        self._loader_lock = threading.Lock()
        self.device: str | None = None
        # -- snapshots (guarded by _snap_cond) --
        self._snap_cond = threading.Condition()
        self._snap_heavy = True
        self._snap_wanted = False
        self._snap_after: list[ServiceEvent] = []
        self._delivering = 0  # events taken from _snap_after but not yet sent
        self._snapshot = LibrarySnapshot()
        self._serial = itertools.count(1)
        self._progress: Progress | None = None
        self._last_heavy = 0.0
        self._watch_notes: dict[str, str] = {}
        # -- queries --
        self._queries: deque[_QueryJob] = deque()
        self._query_cond = threading.Condition()
        self._tokens = itertools.count(1)
        # -- tasks for the writer thread (duplicates, clean-up), guarded by _cond --
        self._tasks: deque[tuple[Any, Future[Any]]] = deque()
        self._dup_control: RunControl | None = None
        self._dup_future: Future[Any] | None = None
        #: The duplicate finder: its pass, its updates after each run and the clean-up actions all run
        #: on the writer thread; its published state is read from any thread.
        self.duplicates = DuplicateFinder(library, rules=keep_rules, reference_folders=reference_folders,
                                          **({} if similar_threshold is None else {"similar_threshold": similar_threshold}))
        self.duplicates.listeners.append(lambda state: self._emit(DuplicatesChanged(state)))
        self._cleanup = Cleanup(library, reference_folders)
        # -- readers owned by the service for its callers (opened in start, closed in stop) --
        self._rows_reader: Catalog | None = None
        # -- threads --
        self._threads: list[threading.Thread] = []
        self._started = False
        self._stopped = False
        self.watcher: FolderWatcher | None = None
        if watch:
            kwargs: dict[str, Any] = {"poll_folder": poll_folder or is_network_folder}
            if poll_interval is not None:
                kwargs["poll_interval"] = poll_interval
            if root_check is not None:
                kwargs["root_check"] = root_check
            self.watcher = FolderWatcher(
                self.scan_paths, debounce=watch_debounce, excluded=self._never_indexed(), on_state=self._watch_state,
                **kwargs
            )

    # -- listeners ---------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        try:
            self._listeners.remove(listener)
        except ValueError:
            pass

    def _emit(self, event: ServiceEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a listener's bug must not stop the library
                log.exception("service listener failed on %s", type(event).__name__)

    # -- life cycle --------------------------------------------------------------------------
    def start(self, *, initial_scan: bool = True) -> None:
        """Start the threads and the watcher; ``initial_scan`` reconciles every folder with the disk."""
        if self._started:
            return
        self._started = True
        self._rows_reader = self.library.catalog.reader()
        if initial_scan:  # before the writer starts, so requests queued before start() join this scan
            self.scan_all()
            self._load_model_in_background()
        for name, target in (
            ("photosim-writer", self._writer_main),
            ("photosim-query", self._query_main),
            ("photosim-snapshot", self._snapshot_main),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            self._threads.append(thread)
            thread.start()
        if self.watcher is not None:
            self.watcher.start()
            self.watcher.request_watch(self._folder_paths())
        self.request_snapshot(heavy=True)

    def stop(self, timeout: float = 60.0) -> None:
        """Stop soon: the batch in flight is committed and the index saved; nothing new starts."""
        if not self._started or self._stopped:
            return
        self._stopped = True
        started = time.monotonic()
        if self.watcher is not None:
            self.watcher.stop()
        with self._cond:
            self._closing = True
            if self._control is not None:
                self._control.cancel()
            self._cond.notify_all()
        self.cancel_duplicates()  # a pass in progress stops after the pairs in hand
        with self._query_cond:
            self._query_cond.notify_all()
        with self._snap_cond:
            self._snap_cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=max(1.0, timeout - (time.monotonic() - started)))
            if thread.is_alive():
                log.error("thread %s did not stop in time", thread.name)
        self._threads.clear()
        with self._snap_cond:  # a run that ended just now is still reported (the CLI counts on it)
            late, self._snap_after = self._snap_after, []
        for event in late:
            self._emit(event)
        with self._query_cond:
            pending = list(self._queries)
            self._queries.clear()
        for job in pending:
            if not job.future.done():
                job.future.set_exception(QueryError("photosim is closing"))
        with self._cond:
            tasks = list(self._tasks)
            self._tasks.clear()
        for _fn, future in tasks:
            if not future.done():
                future.set_exception(CatalogError("photosim is closing"))
        if self._dup_future is not None and not self._dup_future.done():
            self._dup_future.set_exception(CatalogError("photosim is closing"))
        if self._rows_reader is not None:
            self._rows_reader.close()
            self._rows_reader = None
        log.info("library service stopped in %.1f s", time.monotonic() - started)

    def __enter__(self) -> LibraryService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- requests (any thread) ---------------------------------------------------------------
    def scan_all(self) -> None:
        """Reconcile every folder with the disk (start-up, periodically, F5)."""
        with self._cond:
            self._full = True
            self._cond.notify_all()

    def scan_paths(self, paths: Iterable[str]) -> None:
        """Bring just these files and folders up to date (what the watcher saw)."""
        with self._cond:
            self._paths.update(normalize_path(p) for p in paths)
            self._cond.notify_all()

    def add_folder(self, path: str) -> None:
        self._queue_op("add", path)

    def remove_folder(self, path: str) -> None:
        self._queue_op("remove", path)

    def _queue_op(self, op: str, path: str) -> None:
        with self._cond:
            self._ops.append((op, normalize_path(path)))
            if self._control is not None:
                self._control.cancel()  # folder changes happen between runs; the cancelled run is re-queued
            self._cond.notify_all()

    def set_excluded(self, excluded: Sequence[str]) -> None:
        """Folders never indexed, even inside a watched folder; takes effect with a full re-scan."""
        with self._cond:
            self._excluded = [normalize_path(p) for p in excluded]
            self._full = True
            self._cond.notify_all()
        if self.watcher is not None:
            self.watcher.set_excluded(self._never_indexed())

    def pause(self) -> None:
        with self._cond:
            self._paused = True
            if self._control is not None:
                self._control.pause()
        self.request_snapshot()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            if self._control is not None:
                self._control.resume()
        self.request_snapshot()

    def cancel_run(self) -> None:
        """Stop the current run after its batch (its remaining work is not re-queued)."""
        with self._cond:
            self._cancel_requested = True
            self._full, self._paths = False, set()
            if self._control is not None:
                self._control.cancel()
            self._cond.notify_all()

    # -- state -------------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def running(self) -> bool:
        """True while any of the service's threads is alive."""
        return any(t.is_alive() for t in self._threads)

    @property
    def busy(self) -> bool:
        """A run or a folder change is in progress or waiting."""
        with self._cond:
            return self._busy or self._has_work()

    @property
    def has_pending(self) -> bool:
        """More work is queued behind the current run."""
        with self._cond:
            return self._has_work()

    def _has_work(self) -> bool:
        return self._full or bool(self._paths) or bool(self._ops) or bool(self._tasks)

    @property
    def snapshot(self) -> LibrarySnapshot:
        """The latest published snapshot (immutable)."""
        return self._snapshot

    @property
    def excluded(self) -> list[str]:
        return list(self._excluded)

    def _never_indexed(self) -> list[str]:
        """The user's excluded folders and photosim's own (its library and thumbnail cache)."""
        return self._excluded + self._own

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no work is running or queued (for the CLI and tests); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._busy or self._delivering or self._snap_after or (
                self._has_work() and not self._closing and self.damaged is None
            ):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining if remaining is not None else 1.0)
            return True

    def folders(self) -> list[str]:
        return self._folder_paths()

    def _folder_paths(self) -> list[str]:
        reader = self._rows_reader
        catalog = reader if reader is not None else self.library.catalog
        return [f.path for f in catalog.folders()]

    # -- reads for views (caller's thread, the service's row reader) ---------------------------
    def photo_rows(self, ids: Sequence[int]) -> dict[int, PhotoRow]:
        """Catalog rows of these photos (what a grid shows for the rows on screen)."""
        return self._reader().get_many(ids)

    def photo(self, photo_id: int) -> PhotoRow | None:
        return self._reader().get(photo_id)

    def failures(self, limit: int | None = None) -> list[PhotoRow]:
        return self._reader().failures(limit)

    def _reader(self) -> Catalog:
        if self._rows_reader is None:
            raise CatalogError("the library service is not running")
        return self._rows_reader

    # -- the writer thread -------------------------------------------------------------------
    def _writer_main(self) -> None:
        if self._background_priority:
            lower_thread_priority()
        try:
            while True:
                with self._cond:
                    while not self._closing and not self._has_work() and not self._reconcile_due():
                        self._cond.wait(self._reconcile_wait())
                    if self._closing:
                        return
                    if self.damaged is not None:  # nothing more is written until the catalog is repaired
                        self._ops, self._full, self._paths = [], False, set()
                        for _fn, future in self._tasks:
                            future.set_exception(CatalogDamagedError(self.damaged))
                        self._tasks.clear()
                        self._cond.notify_all()
                        continue
                    if self._reconcile_due() and not self._has_work():
                        self._full = True
                        if self.watcher is not None:  # folders that came back get watched again
                            self.watcher.request_watch(self._folder_paths())
                    ops, self._ops = self._ops, []
                    tasks, self._tasks = list(self._tasks), deque()
                    full, paths = self._full, self._paths
                    self._full, self._paths = False, set()
                    self._busy = True
                    self._cancel_requested = False
                    control = RunControl()
                    if self._paused:
                        control.pause()
                    self._control = control
                    excluded = self._never_indexed()
                self.last_failure = None
                try:
                    if tasks:  # first: a user's action must not wait for a long run
                        self._run_tasks(tasks)
                    if ops:
                        paths |= set(self._apply_ops(ops))
                    if full or paths:
                        self._run(full, paths, control, excluded)
                except Exception as exc:
                    self._writer_failed(exc)
                finally:
                    with self._cond:
                        self._control = None
                        self._busy = False
                        self._cond.notify_all()
                    self.request_snapshot(heavy=True)
        finally:
            try:
                if self.library.index_dirty:
                    self.library.save_index()
            except Exception as exc:
                log.error("could not save the vector index at shutdown: %s", exc)

    def _reconcile_due(self) -> bool:
        return self._reconcile_interval is not None and time.monotonic() - self._last_full >= self._reconcile_interval

    def _reconcile_wait(self) -> float | None:
        if self._reconcile_interval is None:
            return None
        return max(0.05, self._reconcile_interval - (time.monotonic() - self._last_full))

    def _writer_failed(self, exc: BaseException) -> None:
        self.last_failure = exc
        if isinstance(exc, CatalogDamagedError) or is_corruption(exc):
            message = str(exc) if isinstance(exc, CatalogDamagedError) else (
                f"the library's catalog is damaged ({exc}); repair it with 'photosim check --repair' "
                "(or the app's repair dialog)"
            )
            self.damaged = message
            log.error("%s", message)
            self._emit(CatalogDamaged(message))
            return
        if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower():
            self._emit(Noticed("The disk holding the library is full: indexing stopped; work committed so far is kept."))
            log.error("disk full: %s", exc)
            return
        details = traceback.format_exc()
        log.error("indexing failed:\n%s", details)
        self._emit(Failed(f"{type(exc).__name__}: {exc}", details))

    def _apply_ops(self, ops: list[tuple[str, str]]) -> list[str]:
        """Add and remove folders (between runs); returns the folders to scan now."""
        catalog = self.library.catalog
        added: list[str] = []
        for op, path in ops:
            if op == "add":
                if not os.path.isdir(path):
                    self._emit(Noticed(f"Not a folder: {path}"))
                    continue
                why = not_a_photo_folder(path)
                if why is not None:
                    self._emit(Noticed(f"Not added: {why}. Add the folders that hold your photos, such as "
                                       f"{display_path(os.path.expanduser('~/Pictures'))}."))
                    continue
                folder, new = catalog.add_folder(path)
                if new:
                    added.append(folder.path)
                else:
                    self._emit(Noticed(f"{path} is already in the library (inside {folder.path})"))
            else:
                try:
                    ids = catalog.remove_folder(path)
                except CatalogError as exc:
                    self._emit(Noticed(str(exc)))
                    continue
                self.library.remove_vectors(ids)
                self.library.save_index()
        folders = tuple(self._folder_paths())
        if self.watcher is not None:
            self.watcher.request_watch(folders)
        self._emit(FoldersChanged(folders))
        return added

    def _run(self, full: bool, paths: set[str], control: RunControl, excluded: list[str]) -> None:
        self._load_model_in_background()  # the indexer decodes while it loads, and waits for it to embed
        self._emit(RunStarted(full))
        indexer = Indexer(self.library, excluded=excluded, workers=self._workers)
        report = indexer.run(paths=None if full else collapse_paths(paths), control=control,
                             on_progress=self._progressed)
        self._progress = None
        if full and not report.cancelled:
            self._last_full = time.monotonic()
        if report.cancelled:
            with self._cond:
                if not self._closing and not self._cancel_requested:  # interrupted for a folder change
                    if full:
                        self._full = True
                    else:
                        self._paths.update(paths)
        if not report.cancelled and not control.cancelled:
            self._label_and_index_look_alikes(control)
        if report.any_change and self._backups:
            make_backup(self.library.catalog, self.library.data_dir)
        if report.changed_paths and self.duplicates.ready:
            try:  # the groups follow the files; a failure here must not fail the run
                self.duplicates.update(report.changed_paths)
                self._check_pending_later()
            except Exception as exc:
                log.exception("updating the duplicate groups failed")
                self._emit(Failed(f"updating the duplicate groups failed: {type(exc).__name__}: {exc}",
                                  traceback.format_exc()))
        if full and not report.cancelled:
            self._prune_thumbnails()
        self.last_report = report
        self.request_snapshot(heavy=True, then=RunFinished(report))

    def _prune_thumbnails(self) -> None:
        """Once a day, after a full scan: the thumbnails of photos edited, moved or deleted since go
        (:meth:`ThumbnailCache.prune`; the cache grew for as long as the app ran beside a phone sync)."""
        from .progress import format_size
        from .thumbnails import ThumbnailCache

        try:
            cache = ThumbnailCache(resolve_cache_dir(self.library.data_dir))
            if not cache.prune_due():
                return
            files, freed = cache.prune(self.library.catalog.file_stamps())
            if files:
                log.info("thumbnail cache: removed %d thumbnails of photos changed or gone (%s)", files,
                         format_size(freed))
        except Exception as exc:  # the cache only costs disk space; a failure here must not fail the run
            log.warning("pruning the thumbnail cache failed: %s", exc)

    def _label_and_index_look_alikes(self, control: RunControl) -> None:
        """Label photos indexed before labels existed, then bring the look-alike index up to date.

        The indexer labels new photos in its own forward pass; this catches up an older library in the
        background (resumable: the work list is "indexed photos without labels") and keeps the
        look-alike index a cache of the catalog's labels. An ONNX model exported before labels existed
        gives none: nothing to do then.
        """
        from .semantic import SemanticIndex
        from .tags import LabelBackfill

        backfill = LabelBackfill(self.library, workers=self._workers)
        # The model is asked only when there is something to label: a run that found nothing new (an
        # empty library, an app start with every photo up to date) used to wait for the model to load
        # (2-40 s, cold) with "Looking for new photos…" on the status bar the whole time.
        if backfill.pending():
            if not getattr(self.library.embedder, "classes", 1):
                return
            result = backfill.run(control, on_progress=self._progressed)
            if result.labelled:
                n = result.labelled
                self._emit(Noticed(f"labelled {n} photo{'' if n == 1 else 's'} indexed before labels existed"))
        if not control.cancelled:
            index = SemanticIndex.of(self.library)
            index.sync()
            index.save()

    def _progressed(self, progress: Progress) -> None:
        self._progress = progress
        self._emit(Progressed(progress))
        heavy = progress.phase == "indexing" and time.monotonic() - self._last_heavy > REFRESH_WHILE_INDEXING
        self.request_snapshot(heavy=heavy)

    # -- duplicates and clean-up (queued to the writer thread) ------------------------------------
    def _submit(self, fn: Any, *, interrupt: bool = True) -> Future[Any]:
        """Run ``fn()`` on the writer thread (before the next indexing run); its result or error in the
        future. ``interrupt``: a person is waiting, so a run in progress stops after its batch (and is
        queued again behind the task); background work waits for the run instead."""
        future: Future[Any] = Future()
        with self._cond:
            if self._stopped or self._closing:
                future.set_exception(CatalogError("photosim is closing"))
                return future
            self._tasks.append((fn, future))
            on_writer = threading.current_thread().name == "photosim-writer"
            if interrupt and not on_writer and self._control is not None:
                self._control.cancel()
            self._cond.notify_all()
        return future

    def _check_pending_later(self) -> None:
        """Work through the duplicate finder's waiting checks a step at a time (after a big run), so
        actions and indexing runs get the writer in between."""
        if not self.duplicates.pending:
            return

        def step() -> None:
            self.duplicates.check_pending(CHECK_STEP)
            self._check_pending_later()

        self._submit(step, interrupt=False)

    def _run_tasks(self, tasks: list[tuple[Any, Future[Any]]]) -> None:
        for fn, future in tasks:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:  # handed to the caller, who reports it
                    if isinstance(exc, CatalogDamagedError) or is_corruption(exc):
                        self._writer_failed(exc)
                    future.set_exception(exc)

    @property
    def duplicate_state(self) -> DuplicateState:
        """The latest duplicate groups (immutable; ``ready`` is False until a pass has run)."""
        return self.duplicates.state

    def find_duplicates(self) -> Future[DuplicateState]:
        """Find every duplicate group (the Duplicates view opening, F5 there). The groups known from
        earlier checks are published within seconds (DuplicatesChanged); the pairs still to check
        from their files follow in small steps on the writer thread, with progress
        (DuplicatesProgressed: rate, time left) and a DuplicatesChanged after each step, so the
        person can act on the groups meanwhile. The future holds the final state; after it, every
        indexing run keeps the groups current. :meth:`cancel_duplicates` stops the steps."""
        done: Future[DuplicateState] = Future()
        control = RunControl()
        self._dup_control = control
        self._dup_future = done
        meter = RateMeter()
        total = [0]
        finder = self.duplicates

        def finish() -> None:
            if self._dup_control is control:
                self._dup_control = None
            if not done.done():
                done.set_result(finder.state)

        def next_step() -> None:
            if control.cancelled:
                finder.drop_pending()
            left = finder.pending
            checked = total[0] - left
            rate = meter.update(checked)
            self._emit(DuplicatesProgressed(Progress("duplicates: checking pairs", checked, total[0], rate,
                                                     left / rate if rate else None)))
            if left:
                self._submit(step, interrupt=False)
            else:
                finish()

        def step() -> None:
            try:
                if not control.cancelled:
                    finder.check_pending(CHECK_STEP, control)
            except BaseException as exc:
                if not done.done():
                    done.set_exception(exc)
                raise
            next_step()

        def first() -> None:
            try:
                finder.start_pass(control, lambda p: self._emit(DuplicatesProgressed(p)))
            except BaseException as exc:
                done.set_exception(exc)
                raise
            total[0] = finder.pending
            meter.update(0)
            next_step()

        self._submit(first)
        return done

    def cancel_duplicates(self) -> None:
        """Stop a running duplicate pass soon (the checks made so far are kept for the next one)."""
        control = self._dup_control
        if control is not None:
            control.cancel()

    def configure_duplicates(self, *, rules: Sequence[str] | None = None,
                             reference_folders: Sequence[str] | None = None,
                             similar_threshold: float | None = None) -> Future[DuplicateState]:
        """Apply the keep-best rule order, the reference folders and the similar-shots threshold
        (settings): keepers and reasons are worked out again without reading any file."""

        def task() -> DuplicateState:
            if reference_folders is not None:
                self._cleanup.reference_folders = [normalize_path(p) for p in reference_folders]
            return self.duplicates.configure(rules=rules, reference_folders=reference_folders,
                                             similar_threshold=similar_threshold)

        return self._submit(task)

    def trash_photos(self, photo_ids: Sequence[int]) -> Future[ActionResult]:
        """Move these photos to the system trash (never a permanent delete); the library and the groups
        follow at once. Files in a reference folder are refused (see the result)."""
        return self._submit(lambda: self._clean(self._cleanup.trash(photo_ids)))

    def retry_failed(self, paths: Sequence[str] | None = None) -> Future[list[str]]:
        """Read the files that could not be read again (all, or these paths): after a permission was
        fixed or a drive's errors cleared, which change neither a file's size nor its time. The
        future gives the paths tried again; the run that reads them follows."""

        def task() -> list[str]:
            retried = self.library.catalog.retry_failed(paths)
            if retried:
                self.scan_paths(retried)
            return retried

        return self._submit(task)

    def move_photos(self, photo_ids: Sequence[int], folder: str) -> Future[ActionResult]:
        """Move these photos' files into ``folder`` (reference folders refused, as for the trash)."""
        return self._submit(lambda: self._clean(self._cleanup.move(photo_ids, folder)))

    def accept_suggestions(self, groups: Sequence[DuplicateGroup]) -> Future[ActionResult]:
        """Move every group's suggested files to the trash (a file some group keeps is never moved);
        :meth:`DuplicateState.plan` gives the summary to show before."""
        keep = {g.keeper.photo_id for g in groups}
        ids = [p.photo_id for g in groups for p in g.suggested_trash if p.photo_id not in keep]
        return self.trash_photos(list(dict.fromkeys(ids)))

    def mark_not_duplicates(self, group: DuplicateGroup) -> Future[ActionResult]:
        """These photos are not duplicates of each other: they never share a group again (by content,
        so renames and moves do not undo it)."""
        return self._submit(lambda: self._decided(self._cleanup.decide("not_duplicates", group.tier,
                                                                       sorted(group.fingerprints))))

    def keep_all(self, group: DuplicateGroup) -> Future[ActionResult]:
        """Keep every photo of this group: it is hidden until a new photo joins it."""
        return self._submit(lambda: self._decided(self._cleanup.decide("keep_all", group.tier,
                                                                       sorted(group.fingerprints))))

    def undo_last(self) -> Future[ActionResult]:
        """Reverse the latest clean-up action or decision not yet undone (files come back from the
        trash where the platform lets photosim find them)."""

        def task() -> ActionResult:
            result = self._cleanup.undo_last()
            self.duplicates.refresh_decisions(result.fingerprints)
            if result.changed_paths:
                self.duplicates.update(result.changed_paths)
            self._emit(CleanedUp(result))
            self.request_snapshot(heavy=True)
            return result

        return self._submit(task)

    def journal(self, limit: int = 50) -> list[JournalEntry]:
        """The latest clean-up actions, newest first (read on the caller's thread)."""
        return Cleanup.read_journal(self._reader(), limit)

    def _clean(self, result: ActionResult) -> ActionResult:
        if result.photo_ids:
            self.duplicates.forget(result.photo_ids)
        if result.changed_paths:
            self.duplicates.update(result.changed_paths)  # a move inside the library: the new place
        self._emit(CleanedUp(result))
        self.request_snapshot(heavy=True)
        return result

    def _decided(self, result: ActionResult) -> ActionResult:
        self.duplicates.refresh_decisions(result.fingerprints)
        self._emit(CleanedUp(result))
        return result

    # -- the model (whichever thread needs it first) -------------------------------------------
    def _load_model_in_background(self) -> None:
        """Start :meth:`ensure_model` on a thread of its own (once): the first scan and decodes need
        no model, and loading it (importing torch, building the network) takes 1-3 s."""
        with self._loader_lock:  # not _model_lock: ensure_model holds that for the whole load
            if self._model_announced or self._model_loading:
                return
            self._model_loading = True

        def load() -> None:
            try:
                self.ensure_model()
            except Exception as exc:  # the indexer or the query meets it again and reports it
                log.info("the model could not be loaded in the background: %s", exc)

        threading.Thread(target=load, name="photosim-model-load", daemon=True).start()

    def ensure_model(self) -> None:
        """Load the model once (with the CPU fall-back) and announce it: the app keeps it for its life.

        Not frozen here: the indexer freezes it for a run big enough to pay the second that costs
        (:data:`photosim.core.indexer.OPTIMIZE_MIN_PHOTOS`), and it then stays frozen.
        """
        if self._model_announced:
            return
        with self._model_lock:
            if self._model_announced:
                return
            embedder = self.library.embedder
            plan = self.library.compute_plan
            self.device = embedder.device
            self._model_announced = True
        self._emit(ModelLoaded(embedder.device, plan.runtime if plan else "", self.library.compute_notice))
        if self.library.compute_notice:
            self._emit(Noticed(self.library.compute_notice))
        self.request_snapshot()

    # -- the query lane ------------------------------------------------------------------------
    def submit_query(self, query: Query, k: int) -> tuple[int, Future[Any]]:
        """Queue a similarity search; returns its token and a future. The answer is also an event."""
        token = next(self._tokens)
        job = _QueryJob(token, query, int(k), Future())
        with self._query_cond:
            if self._stopped:
                job.future.set_exception(QueryError("photosim is closing"))
                return token, job.future
            self._queries.append(job)
            self._query_cond.notify_all()
        return token, job.future

    def submit_call(self, fn: Any) -> Future[Any]:
        """Run ``fn(lane)`` on the query lane (a :class:`Lane`: its reader connection, searcher and labels);
        for quick reads a view needs off the GUI thread (photo info, known words)."""
        job = _QueryJob(next(self._tokens), None, 0, Future(), call=fn)
        with self._query_cond:
            if self._stopped:
                job.future.set_exception(QueryError("photosim is closing"))
                return job.future
            self._queries.append(job)
            self._query_cond.notify_all()
        return job.future

    def search(self, query: Query, k: int, timeout: float | None = 120.0) -> Any:
        """Run a query through the query lane and wait for it (command line, self-test)."""
        _token, future = self.submit_query(query, k)
        return future.result(timeout=timeout)

    def _query_main(self) -> None:
        reader = self.library.catalog.reader()
        # One searcher (and label index) for the lane's life: they keep the library's background sample
        # and labels between queries.
        lane = Lane(self, reader, Searcher(self.library, catalog=reader))
        try:
            while True:
                with self._query_cond:
                    while not self._queries and not self._stopped:
                        self._query_cond.wait()
                    if self._stopped:
                        return
                    job = self._queries.popleft()
                if job.call is not None:
                    self._run_call(job, lane)
                else:
                    self._answer(job, lane)
        finally:
            reader.close()

    def _run_call(self, job: _QueryJob, lane: Lane) -> None:
        try:
            job.future.set_result(job.call(lane))
        except Exception as exc:
            log.debug("call on the query lane failed: %s", exc, exc_info=True)
            job.future.set_exception(exc)

    def _answer(self, job: _QueryJob, lane: Lane) -> None:
        """A :class:`~photosim.core.results.ResultSet` (copies first, then similar photos, with a cutoff),
        or for words a :class:`~photosim.core.word_results.WordResults`."""
        searcher = lane.searcher
        query = job.query
        assert query is not None
        try:
            if query.kind == "text":
                from .word_results import word_results

                try:
                    results: Any = word_results(lane.labels.search(list(query.value), job.k, only=query.only,
                                                                   folder=query.folder))
                except ValueError as exc:  # an --only word photosim does not know, a folder left the library
                    raise QueryError(str(exc)) from None
                job.future.set_result(results)
                self._emit(QueryAnswered(job.token, results))
                return
            self.ensure_model()
            k = job.k * 5 if query.only else job.k  # room for what the word leaves out
            if query.only:
                try:  # before the search, not after it
                    lane.labels.only_groups(query.only)
                except ValueError as exc:
                    raise QueryError(str(exc)) from None
            folder = query.folder
            if query.kind == "file":
                results = searcher.results_for_file(query.value, k, folder=folder, crop=query.crop)
            elif query.kind == "bytes":
                results = searcher.results_for_bytes(query.value, k, folder=folder, crop=query.crop)
            elif query.kind == "photo":
                if query.crop is not None:
                    row = searcher.catalog.get(int(query.value))
                    if row is None:
                        raise QueryError("that photo is no longer in the library")
                    results = searcher.results_for_file(row.path, k, folder=folder, crop=query.crop)
                else:
                    results = searcher.results_for_photo(int(query.value), k, folder=folder)
            else:
                raise QueryError(f"unknown kind of query: {query.kind}")
            if query.only:
                results = narrowed(results, lane.labels.narrow(results.results, query.only), job.k)
        except (QueryError, EmbedderError) as exc:
            job.future.set_exception(exc)
            self._emit(QueryFailed(job.token, str(exc)))
        except Exception as exc:
            details = traceback.format_exc()
            log.error("query failed:\n%s", details)
            job.future.set_exception(exc)
            self._emit(QueryFailed(job.token, f"the search failed: {type(exc).__name__}: {exc}", details))
        else:
            job.future.set_result(results)
            self._emit(QueryAnswered(job.token, results))

    # -- snapshots ---------------------------------------------------------------------------
    def request_snapshot(self, *, heavy: bool = False, then: ServiceEvent | None = None) -> None:
        """Publish a new snapshot soon; ``heavy`` re-reads ids and counts, ``then`` is sent after it."""
        with self._snap_cond:
            self._snap_wanted = True
            self._snap_heavy = self._snap_heavy or heavy
            if then is not None:
                self._snap_after.append(then)
            self._snap_cond.notify_all()

    def _watch_state(self, notes: dict[str, str]) -> None:
        self._watch_notes = dict(notes)
        self.request_snapshot()

    def _snapshot_main(self) -> None:
        reader = self.library.catalog.reader()
        ids = owners = subs = np.zeros(0, dtype=np.int64)
        sub_names: list[tuple[int, str]] = []
        below = SubfolderIndex()
        folders: list[Any] = []
        counts: dict[int, dict[str, int]] = {}
        try:
            while True:
                with self._snap_cond:
                    while not self._snap_wanted and not self._stopped:
                        self._snap_cond.wait()
                    if self._stopped:
                        return
                    self._delivering = len(self._snap_after)  # first: wait_idle must never see neither
                    heavy, after = self._snap_heavy, self._snap_after
                    self._snap_wanted, self._snap_heavy, self._snap_after = False, False, []
                try:
                    if heavy:
                        self._last_heavy = time.monotonic()
                        ids, owners, stamps = reader.newest_first_with_folders()
                        folders = reader.folders()
                        subs, sub_names = below.codes(ids, stamps, {f.id: f.path for f in folders},
                                                      reader.stored_paths)
                        counts = reader.folder_counts()
                except Exception as exc:
                    if isinstance(exc, sqlite3.DatabaseError) and is_corruption(exc):
                        self.damaged = self.damaged or f"the library's catalog is damaged ({exc})"
                        self._emit(CatalogDamaged(self.damaged))
                    else:
                        log.exception("reading the library for a snapshot failed")
                with self._cond:
                    busy = self._busy or self._has_work()
                    paused = self._paused
                snapshot = make_snapshot(
                    ids, folders, counts, self._watch_notes, progress=self._progress, busy=busy, paused=paused,
                    device=self.device, serial=next(self._serial), folder_ids=owners,
                    subfolder_ids=subs, subfolders=sub_names,
                )
                self._snapshot = snapshot
                self._emit(SnapshotPublished(snapshot))
                for event in after:
                    self._emit(event)
                if after:
                    with self._cond:
                        self._delivering = 0
                        self._cond.notify_all()
        finally:
            reader.close()


def narrowed(results: ResultSet, kept: list[Result], k: int) -> ResultSet:
    """A result set cut down to the results a word kept: the word is the cutoff ("only dogs"). What
    the list knew of itself (the form of the query that found its copies, its backgrounds, whether its
    similar photos are look-alikes) stays; so does which results are near copies, since a list of
    look-alikes holds two scales (near copies by their copy cosine, then look-alikes by theirs) and its
    chips would otherwise read "0.69" before "0.87"."""
    kept = kept[:k]
    near_ids = {r.photo_id for r in results.results[results.same : results.same + results.near]}
    return dataclasses.replace(results, results=kept, cutoff=len(kept), same=sum(1 for r in kept if r.match == "same"),
                               near=sum(1 for r in kept if r.photo_id in near_ids))


def open_service(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    device: str | None = "auto",
    excluded: Sequence[str] = (),
    lock_timeout: float = 0.0,
    **service_options: Any,
) -> LibraryService:
    """The one start-up path: open the library for writing and wrap it in a (not yet started) service.

    Raises LibraryBusyError when another process writes to the library and CatalogDamagedError when
    the catalog needs a repair. :func:`close_service` stops the service and closes the library.
    """
    library = Library(data_dir, writable=True, device=device, lock_timeout=lock_timeout)
    try:
        return LibraryService(library, excluded=excluded, **service_options)
    except BaseException:
        library.close()
        raise


def close_service(service: LibraryService) -> None:
    """Stop the service and close its library (the index is saved, the writer lock released)."""
    try:
        service.stop()
    finally:
        service.library.close()
