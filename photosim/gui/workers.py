"""Background work for the app: the indexing thread and the query pool.

* :class:`IndexWorker` lives in one long-lived ``QThread`` for the whole session. It loads the model
  once, runs the engine's :class:`~photosim.core.indexer.Indexer`, and applies folder changes between
  runs, so every write to the catalog and the vector index comes from one thread. Requests (a full
  reconciling scan, the paths a watcher event touched, adding or removing a folder) may arrive at any
  time from the GUI thread; they are merged and served one run after another.
* :class:`QueryJob` answers one similarity query on a ``QThreadPool`` thread, so the window never
  freezes while a query photo is decoded and embedded; the embedder serialises its calls, so a query
  interleaves with indexing batches instead of waiting for the whole run.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Signal, Slot

from ..core.embedder import EmbedderError
from ..core.indexer import Indexer, IndexReport
from ..core.library import Library
from ..core.paths import normalize_path
from ..core.progress import Progress, RunControl
from ..core.search import QueryError, Searcher
from ..core.watcher import collapse_paths

log = logging.getLogger(__name__)


BACKGROUND_NICENESS = 10
"""Indexing runs at a lower CPU priority than the window, so a busy CPU slows indexing, not the UI."""


def lower_thread_priority(niceness: int = BACKGROUND_NICENESS) -> None:
    """Lower the calling thread's CPU priority (Linux: nice is per thread and inherited by the threads it
    starts, such as the decoding pool). Elsewhere a no-op: Qt's thread priorities cover those systems."""
    if not niceness or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), niceness))
    except (OSError, AttributeError):
        pass


def ensure_model(library: Library, lock: threading.Lock) -> None:
    """Load the model once, whichever thread needs it first (the Library property is not locked).

    The app keeps its model for its whole life, so it is frozen at once (about half a second, on
    this worker thread): every later query and indexing run gets the faster graph.
    """
    with lock:
        embedder = library.embedder
        optimize = getattr(embedder, "optimize", None)
        if optimize is not None:
            optimize()


class IndexWorker(QObject):
    """Keeps the library up to date from its own thread.

    Signals:
        model_loaded(str): the model is ready; the argument names the device.
        run_started(bool): a run began; True for a full scan of every folder.
        progressed(object): a :class:`~photosim.core.progress.Progress` snapshot (at most 5 a second).
        run_finished(object): the run's :class:`~photosim.core.indexer.IndexReport`.
        folders_changed(): a folder was added or removed.
        noticed(str): something the user should read in the status bar (not an error dialog).
        failed(str): an unexpected error ended a run (the report text); the worker keeps serving.
    """

    model_loaded = Signal(str)
    run_started = Signal(bool)
    progressed = Signal(object)
    run_finished = Signal(object)
    folders_changed = Signal()
    noticed = Signal(str)
    failed = Signal(str)
    _woken = Signal()

    def __init__(self, library: Library, model_lock: threading.Lock, excluded: list[str] | None = None) -> None:
        super().__init__()
        self.library = library
        self.model_lock = model_lock
        self._lock = threading.Lock()
        self._excluded = list(excluded or [])
        self._full = False
        self._paths: set[str] = set()
        self._ops: list[tuple[str, str]] = []
        self._control: RunControl | None = None
        self._paused = False
        self._closing = False
        self._busy = False
        self._niced = False
        self._woken.connect(self._drain)

    # -- called from the GUI thread ------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while a run or a folder change is in progress or waiting."""
        with self._lock:
            return self._busy or self._full or bool(self._paths) or bool(self._ops)

    @property
    def has_pending(self) -> bool:
        """True when more work is queued behind the current run (a run that just ended does not count)."""
        with self._lock:
            return self._full or bool(self._paths) or bool(self._ops)

    @property
    def paused(self) -> bool:
        return self._paused

    def request_scan(self, paths: list[str] | None = None) -> None:
        """Scan every folder (``None``) or just these files and folders (what a watcher saw)."""
        with self._lock:
            if paths is None:
                self._full = True
            else:
                self._paths.update(normalize_path(p) for p in paths)
        self._woken.emit()

    def add_folder(self, path: str) -> None:
        self._queue_op("add", path)

    def remove_folder(self, path: str) -> None:
        self._queue_op("remove", path)

    def _queue_op(self, op: str, path: str) -> None:
        with self._lock:
            self._ops.append((op, normalize_path(path)))
            control = self._control
        if control is not None:
            control.cancel()  # folder changes happen between runs; the cancelled run is re-queued
        self._woken.emit()

    def set_excluded(self, excluded: list[str]) -> None:
        with self._lock:
            self._excluded = list(excluded)

    def pause(self) -> None:
        with self._lock:
            self._paused = True
            if self._control is not None:
                self._control.pause()

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            if self._control is not None:
                self._control.resume()

    def shutdown(self) -> None:
        """Stop soon: the batch in flight is committed, nothing new starts."""
        with self._lock:
            self._closing = True
            if self._control is not None:
                self._control.cancel()

    # -- the worker thread ---------------------------------------------------------------------
    @Slot()
    def _drain(self) -> None:
        if not self._niced:
            self._niced = True
            lower_thread_priority()
        while True:
            with self._lock:
                if self._closing:
                    self._busy = False
                    return
                ops, self._ops = self._ops, []
                full, paths = self._full, self._paths
                self._full, self._paths = False, set()
                if not (ops or full or paths):
                    self._busy = False
                    return
                self._busy = True
                control = RunControl()
                if self._paused:
                    control.pause()
                self._control = control
                excluded = list(self._excluded)
            try:
                if ops:
                    added = self._apply(ops)
                    if added:
                        paths.update(added)
                if full or paths:
                    self._run(full, paths, control, excluded)
            except Exception:
                text = traceback.format_exc()
                log.error("indexing failed:\n%s", text)
                self.failed.emit(text)
            finally:
                with self._lock:
                    self._control = None

    def _apply(self, ops: list[tuple[str, str]]) -> list[str]:
        catalog = self.library.catalog
        added: list[str] = []
        for op, path in ops:
            if op == "add":
                folder, new = catalog.add_folder(path)
                if new:
                    added.append(folder.path)
                else:
                    self.noticed.emit(f"{path} is already in the library (inside {folder.path})")
            else:
                ids = catalog.remove_folder(path)
                self.library.remove_vectors(ids)
                self.library.save_index()
        self.folders_changed.emit()
        return added

    def _run(self, full: bool, paths: set[str], control: RunControl, excluded: list[str]) -> None:
        self._load_model()
        self.run_started.emit(full)
        indexer = Indexer(self.library, excluded=excluded)
        report: IndexReport = indexer.run(
            paths=None if full else collapse_paths(paths), control=control, on_progress=self._progress
        )
        if report.cancelled:
            with self._lock:
                if not self._closing:  # interrupted for a folder change: do the rest afterwards
                    if full:
                        self._full = True
                    else:
                        self._paths.update(paths)
        self.run_finished.emit(report)

    def _progress(self, progress: Progress) -> None:
        self.progressed.emit(progress)

    def _load_model(self) -> None:
        if self.library.has_embedder:
            return
        try:
            ensure_model(self.library, self.model_lock)
        except EmbedderError as exc:
            if self.library.device_request in ("auto", "cpu"):
                raise
            self.noticed.emit(f"{exc}; using the CPU instead")
            self.library.device_request = "cpu"
            ensure_model(self.library, self.model_lock)
        self.model_loaded.emit(self.library.embedder.device)


@dataclass(frozen=True)
class Query:
    """What to search with: a file path, image bytes, or a library photo id."""

    kind: str  # "file" | "bytes" | "photo"
    value: Any
    label: str


class QueryJobSignals(QObject):
    """Signals of a :class:`QueryJob` (a QRunnable cannot have its own).

    Signals:
        returned(int, object): the query's token and its list of SearchResult, best first.
        errored(int, str, str): the token, a one-line message, and a traceback for unexpected errors
            (empty for a query the engine refused, such as an unreadable image).
    """

    returned = Signal(int, object)
    errored = Signal(int, str, str)


class QueryJob(QRunnable):
    """One similarity search, off the GUI thread."""

    def __init__(self, library: Library, model_lock: threading.Lock, query: Query, k: int, token: int) -> None:
        super().__init__()
        self.library = library
        self.model_lock = model_lock
        self.query = query
        self.k = k
        self.token = token
        self.signals = QueryJobSignals()

    def run(self) -> None:
        try:
            ensure_model(self.library, self.model_lock)
            searcher = Searcher(self.library)
            if self.query.kind == "file":
                results = searcher.search_file(self.query.value, self.k)
            elif self.query.kind == "bytes":
                results = searcher.search_bytes(self.query.value, self.k)
            else:
                results = searcher.search_photo(int(self.query.value), self.k)
        except QueryError as exc:
            self.signals.errored.emit(self.token, str(exc), "")
        except Exception as exc:
            text = traceback.format_exc()
            log.error("query failed:\n%s", text)
            self.signals.errored.emit(self.token, f"the search failed: {type(exc).__name__}: {exc}", text)
        else:
            self.signals.returned.emit(self.token, results)


@dataclass(frozen=True)
class LibrarySnapshot:
    """What the window shows about the library: every indexed id newest first, folders and their counts."""

    ids: Any  # numpy int64 array
    folders: list[Any]
    folder_counts: dict[int, dict[str, int]]


class SnapshotSignals(QObject):
    """Signals of a :class:`SnapshotJob`.

    Signals:
        returned(object, object): the caller's payload and a LibrarySnapshot (None if reading failed).
    """

    returned = Signal(object, object)


class SnapshotJob(QRunnable):
    """Reads the library's ids and counts off the GUI thread: sorting 100,000 rows takes a few hundred ms."""

    def __init__(self, library: Library, signals: SnapshotSignals, payload: object) -> None:
        super().__init__()
        self.library = library
        self.signals = signals
        self.payload = payload

    def run(self) -> None:
        from ..core.browse import newest_first_ids

        catalog = self.library.catalog
        try:
            snapshot: LibrarySnapshot | None = LibrarySnapshot(
                newest_first_ids(catalog), catalog.folders(), catalog.folder_counts()
            )
        except Exception:
            log.exception("reading the library for the window failed")
            snapshot = None
        self.signals.returned.emit(self.payload, snapshot)
