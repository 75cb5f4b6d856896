"""The main window: folders on the left, the thumbnail grid on the right, progress in the status bar.

The window owns the app's background machinery: the indexing thread (:class:`IndexWorker`), the folder
watcher, the query pool and the thumbnail loader. Everything that touches the model or the index runs off
the GUI thread; the GUI thread only reads the catalog for what is on screen.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QIODevice,
    QMimeData,
    QModelIndex,
    QObject,
    QPoint,
    QProcess,
    QSize,
    Qt,
    QThread,
    QThreadPool,
    QTimer,
    QUrl,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QImageReader,
    QKeySequence,
    QPixmap,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from ..core.images import IMAGE_EXTENSIONS, is_image_name
from ..core.indexer import IndexReport
from ..core.library import Library
from ..core.paths import is_within, resolve_cache_dir, resolve_log_dir
from ..core.progress import Progress, format_duration
from ..core.search import SearchResult
from ..core.settings import Settings, save_settings
from ..core.thumbnails import ThumbnailCache
from ..core.watcher import FolderWatcher
from .folders import ERRORS, INDEXING, OFFLINE, UP_TO_DATE, WAITING, FoldersPanel, FolderStatus
from .grid import PhotoDelegate, PhotoGrid, PhotoModel
from .header import QueryHeader
from .problems import ProblemsDialog
from .settings_dialog import SettingsDialog
from .thumbs import ThumbnailLoader
from .welcome import WelcomeView
from .workers import IndexWorker, LibrarySnapshot, Query, QueryJob, SnapshotJob, SnapshotSignals

log = logging.getLogger(__name__)

RECONCILE_INTERVAL_MS = 10 * 60 * 1000
"""A full reconciling scan this often catches what the watcher missed (network drives, overflows)."""

REFRESH_WHILE_INDEXING_S = 2.5
"""How often the grid and the folder counts follow a long run (a refresh costs one catalog query)."""


def open_with_system(path: str) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def reveal_in_file_manager(path: str) -> None:
    """Select the file in the system file manager (or at least open its folder)."""
    if sys.platform == "darwin":
        QProcess.startDetached("open", ["-R", path])
    elif os.name == "nt":
        QProcess.startDetached("explorer", [f"/select,{os.path.normpath(path)}"])
    else:
        uri = QUrl.fromLocalFile(path).toString()
        ok = QProcess.startDetached(
            "dbus-send",
            ["--session", "--dest=org.freedesktop.FileManager1", "--type=method_call",
             "/org/freedesktop/FileManager1", "org.freedesktop.FileManager1.ShowItems",
             f"array:string:{uri}", "string:"],
        )
        if not (ok[0] if isinstance(ok, tuple) else ok):
            QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))


def load_preview(source: str | bytes, pixels: int = 176) -> QPixmap:
    """A small, upright preview of a query image (scaled while decoding: cheap even for big JPEGs)."""
    if isinstance(source, bytes):
        buffer = QBuffer()
        buffer.setData(QByteArray(source))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        reader = QImageReader(buffer)
    else:
        reader = QImageReader(source)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > pixels:
        reader.setScaledSize(size.scaled(QSize(pixels, pixels), Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return QPixmap.fromImage(image) if not image.isNull() else QPixmap()


class _WatchBridge(QObject):
    """Carries watcher callbacks (on the watcher's thread) into the GUI thread.

    Signals:
        changed(list): paths that changed on disk, collapsed and sorted.
    """

    changed = Signal(list)


class MainWindow(QMainWindow):
    """The photosim window.

    Signals:
        results_shown(list): a query's results (SearchResult, best first) are in the grid.
        query_failed(str): a query could not be answered; the message was shown.
        library_refreshed(int): the library view was reloaded with this many photos.
        indexing_finished(object): an indexing run ended (its IndexReport).
    """

    results_shown = Signal(list)
    query_failed = Signal(str)
    library_refreshed = Signal(int)
    indexing_finished = Signal(object)

    def __init__(
        self,
        library: Library,
        settings: Settings | None = None,
        *,
        watch_debounce: float = 1.0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.catalog = library.catalog
        self.settings = (settings or Settings()).normalized()
        self.model_lock = threading.Lock()
        self.open_path: Callable[[str], None] = open_with_system
        self.reveal_path: Callable[[str], None] = reveal_in_file_manager
        self._token = 0
        self._jobs: dict[int, QueryJob] = {}
        self._query_preview: QPixmap | None = None
        self._query_label = ""
        self._library_scroll = 0
        self._last_refresh = 0.0
        self._last_progress: Progress | None = None
        self._offline: dict[str, str] = {}
        self._closed = False
        self.device = ""

        self.setWindowTitle("photosim")
        self.setAcceptDrops(True)
        self.resize(1280, 820)

        # -- services ----------------------------------------------------------------------------
        self.thumb_cache = ThumbnailCache(resolve_cache_dir(library.data_dir))
        self.loader = ThumbnailLoader(self.thumb_cache, parent=self)
        self.query_pool = QThreadPool(self)
        self.query_pool.setMaxThreadCount(1)
        self.snapshot_pool = QThreadPool(self)
        self.snapshot_pool.setMaxThreadCount(1)
        self._snapshot_signals = SnapshotSignals(self)
        self._snapshot_signals.returned.connect(self._snapshot_returned)
        self._snapshot: LibrarySnapshot | None = None
        self._snapshot_busy = False
        self._snapshot_again = False
        self._snapshot_force = False
        self._after_snapshot: list[Callable[[], None]] = []
        self.worker = IndexWorker(library, self.model_lock, self.settings.excluded)
        self.worker_thread = QThread(self)
        self.worker_thread.setObjectName("photosim-index")
        self.worker.moveToThread(self.worker_thread)
        self.watch_bridge = _WatchBridge(self)
        self.watcher = FolderWatcher(self.watch_bridge.changed.emit, debounce=watch_debounce,
                                     excluded=self.settings.excluded)

        # -- widgets -----------------------------------------------------------------------------
        self.model = PhotoModel(self.catalog, self)
        self.delegate = PhotoDelegate(self.loader, self)
        self.delegate.cell = self.settings.thumb_size
        self.grid = PhotoGrid(self.delegate)
        self.grid.setModel(self.model)
        self.grid.set_cell(self.settings.thumb_size)
        self.header = QueryHeader()
        self.folders_panel = FoldersPanel()
        self.folders_panel.setObjectName("folderPanel")
        self.welcome = WelcomeView()

        browse = QWidget()
        browse_layout = QVBoxLayout(browse)
        browse_layout.setContentsMargins(0, 0, 0, 0)
        browse_layout.setSpacing(0)
        browse_layout.addWidget(self.header)
        browse_layout.addWidget(self.grid, 1)
        self.browse_page = browse
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(browse)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.folders_panel)
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 1020])
        splitter.setChildrenCollapsible(False)
        self.setCentralWidget(splitter)
        self._build_status_bar()
        self._build_menus()

        # -- wiring ------------------------------------------------------------------------------
        self.loader.loaded.connect(self._thumbnail_loaded)
        self.grid.opened.connect(self._open_index)
        self.grid.customContextMenuRequested.connect(self._context_menu)
        self.grid.zoomed.connect(self._zoomed)
        self.header.back_requested.connect(self.back_to_library)
        self.folders_panel.add_requested.connect(self.choose_folders)
        self.folders_panel.folders_dropped.connect(self.add_folders)
        self.folders_panel.remove_requested.connect(self.remove_folder)
        self.welcome.pictures_chosen.connect(lambda path: self.add_folders([path]))
        self.welcome.choose_requested.connect(self.choose_folders)
        self.worker.model_loaded.connect(self._model_loaded)
        self.worker.run_started.connect(self._run_started)
        self.worker.progressed.connect(self._progressed)
        self.worker.run_finished.connect(self._run_finished)
        self.worker.folders_changed.connect(self._folders_changed)
        self.worker.noticed.connect(lambda text: self.show_message(text, 10000))
        self.worker.failed.connect(self._worker_failed)
        self.watch_bridge.changed.connect(self._files_changed)
        self.reconcile_timer = QTimer(self)
        self.reconcile_timer.setInterval(RECONCILE_INTERVAL_MS)
        self.reconcile_timer.timeout.connect(self.reconcile)

    # -- building ----------------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.status_label = QLabel("")
        bar.addWidget(self.status_label, 1)
        self.progress_text = QLabel("")
        self.progress_bar = QProgressBar()
        self.progress_bar.setFixedWidth(180)
        self.progress_bar.setTextVisible(False)
        self.pause_button = QToolButton()
        self.pause_button.setText("Pause")
        self.pause_button.setToolTip("Pause or resume indexing")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.problems_button = QToolButton()
        self.problems_button.setObjectName("problems")
        self.problems_button.clicked.connect(self.show_problems)
        for widget in (self.progress_text, self.progress_bar, self.pause_button, self.problems_button):
            bar.addPermanentWidget(widget)
        for widget in (self.progress_text, self.progress_bar, self.pause_button, self.problems_button):
            widget.hide()

    def _action(self, menu: QMenu, text: str, slot: Callable[[], object],
                shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "Add folder…", self.choose_folders)
        self.find_file_action = self._action(file_menu, "Find similar to a file…", self.choose_query_file,
                                             QKeySequence.StandardKey.Open)
        self.paste_action = self._action(file_menu, "Find similar to pasted image", self.paste,
                                         QKeySequence.StandardKey.Paste)
        file_menu.addSeparator()
        self._action(file_menu, "Settings…", self.show_settings, QKeySequence.StandardKey.Preferences)
        file_menu.addSeparator()
        self._action(file_menu, "Quit", self.close, QKeySequence.StandardKey.Quit)
        view = bar.addMenu("&View")
        self._action(view, "Find similar to selected photo", self.find_similar_to_current, "Ctrl+F")
        self.back_action = self._action(view, "Back to library", self.back_to_library, "Escape")
        view.addSeparator()
        self._action(view, "Zoom in", lambda: self.grid.zoom(1), QKeySequence.StandardKey.ZoomIn)
        self._action(view, "Zoom in", lambda: self.grid.zoom(1), "Ctrl+=")  # Ctrl and the +/= key, unshifted
        view.actions()[-1].setVisible(False)
        self._action(view, "Zoom out", lambda: self.grid.zoom(-1), QKeySequence.StandardKey.ZoomOut)
        self._action(view, "Normal size", lambda: self._set_zoom(160), "Ctrl+0")
        view.addSeparator()
        self._action(view, "Problems…", self.show_problems)
        self._action(view, "Check folders now", self.reconcile, "F5")
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "Open log folder", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(resolve_log_dir()))))
        self._action(help_menu, "About photosim", self._about)

    # -- life cycle --------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the background work: the indexing thread, the watcher and a reconciling scan."""
        self.worker_thread.start()
        self.watcher.start()
        self._folders_changed()
        self.worker.request_scan(None)
        self.reconcile_timer.start()

    def shutdown(self) -> None:
        """Stop background work cleanly: the batch in flight is committed, the index saved."""
        if self._closed:
            return
        self._closed = True
        started = time.monotonic()
        self.reconcile_timer.stop()
        self.watcher.stop()
        self.worker.shutdown()
        self.worker_thread.quit()
        self.worker_thread.wait()
        self.query_pool.waitForDone(30_000)
        self.snapshot_pool.waitForDone(30_000)
        self.loader.shutdown()
        log.info("background work stopped in %.1f s", time.monotonic() - started)
        try:
            save_settings(self.library.data_dir, self.settings)
        except OSError as exc:
            log.warning("cannot save settings: %s", exc)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.worker.busy:
            self.show_message("Stopping indexing… (finished work is kept)")
            QGuiApplication.processEvents()
        self.shutdown()
        event.accept()

    def bring_forward(self) -> None:
        """Another launch asked for this window."""
        self.setWindowState((self.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive)
        self.show()
        self.raise_()
        self.activateWindow()

    # -- folders -----------------------------------------------------------------------------------
    @Slot()
    def choose_folders(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a folder to the library")
        if path:
            self.add_folders([path])

    @Slot(list)
    def add_folders(self, paths: list[str]) -> None:
        for path in paths:
            if path and os.path.isdir(path):
                self.worker.add_folder(path)
                self.show_message(f"Adding {path}…")

    @Slot(str)
    def remove_folder(self, path: str, confirm: bool = True) -> None:
        if confirm:
            answer = QMessageBox.question(
                self, "Remove folder",
                f"Stop watching {path}?\n\nIts photos leave the library (the files themselves are not touched).",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.worker.remove_folder(path)

    @Slot()
    def _folders_changed(self) -> None:
        folders = [f.path for f in self.catalog.folders()]
        self._offline = self.watcher.watch(folders)
        self.stack.setCurrentWidget(self.browse_page if folders else self.welcome)
        self.refresh_library(force=True)

    def refresh_folders(self) -> None:
        """Redraw the folders panel from the last snapshot (states follow the indexing progress)."""
        if self._snapshot is not None:
            self._show_folders(self._snapshot)

    def _show_folders(self, snapshot: LibrarySnapshot) -> None:
        counts = snapshot.folder_counts
        busy = self.worker.busy
        current = self._last_progress.current if self._last_progress and busy else None
        statuses = []
        for folder in snapshot.folders:
            c = counts.get(folder.id, {})
            indexed, failed, pending = c.get("indexed", 0), c.get("failed", 0), c.get("pending", 0)
            note = self._offline.get(folder.path, "")
            if not os.path.isdir(folder.path):
                state = OFFLINE
                note = note or "folder is offline or missing; its photos are kept"
            elif busy and (pending or (current and is_within(current, folder.path))):
                state = INDEXING
            elif pending:
                state = WAITING
            elif failed:
                state = ERRORS
            else:
                state = UP_TO_DATE
            statuses.append(FolderStatus(folder.path, indexed, failed, pending, state, note))
        self.folders_panel.set_folders(statuses)
        self._update_problems(sum(c.get("failed", 0) for c in counts.values()))

    # -- the library view --------------------------------------------------------------------------
    def refresh_library(self, force: bool = False, then: Callable[[], None] | None = None) -> None:
        """Reload the library view (ids newest first, folder counts) off the GUI thread.

        ``force`` rebuilds the grid even if the ids did not change; ``then`` runs once a snapshot taken
        after this call is on screen. Requests made while one is being read are merged into one more read.
        """
        self._last_refresh = time.monotonic()
        self._snapshot_force = self._snapshot_force or force
        if then is not None:
            self._after_snapshot.append(then)
        if self._snapshot_busy:
            self._snapshot_again = True
            return
        self._start_snapshot()

    def _start_snapshot(self) -> None:
        self._snapshot_busy = True
        self._snapshot_again = False
        payload = (self._snapshot_force, self._after_snapshot)
        self._snapshot_force, self._after_snapshot = False, []
        self.snapshot_pool.start(SnapshotJob(self.library, self._snapshot_signals, payload))

    @Slot(object, object)
    def _snapshot_returned(self, payload: tuple[bool, list[Callable[[], None]]], snapshot: LibrarySnapshot | None) -> None:
        force, callbacks = payload
        self._snapshot_busy = False
        if self._closed:
            return
        if snapshot is not None:
            self._apply_snapshot(snapshot, force)
        for callback in callbacks:
            callback()
        if self._snapshot_again:
            self._start_snapshot()

    def _apply_snapshot(self, snapshot: LibrarySnapshot, force: bool) -> None:
        self._snapshot = snapshot
        ids = snapshot.ids
        if not self.model.is_results and not self.header.in_query:
            if force or not np.array_equal(ids, self.model.ids):
                current = self.grid.currentIndex().data(PhotoModel.PhotoIdRole)
                scroll = self.grid.verticalScrollBar().value()
                self.model.show_library(ids)
                if current is not None:
                    row = self.model.row_of(current)
                    if row >= 0:
                        self.grid.setCurrentIndex(self.model.index(row))
                self.grid.verticalScrollBar().setValue(scroll)
            self.header.show_library(len(ids))
        self._update_summary(len(ids), len(snapshot.folders))
        self._show_folders(snapshot)
        self.library_refreshed.emit(len(ids))

    @Slot()
    def back_to_library(self) -> None:
        if not self.model.is_results and not self.header.in_query:
            return
        self._token += 1  # a query still running is now stale
        ids = self._snapshot.ids if self._snapshot is not None else np.zeros(0, dtype=np.int64)
        self.model.show_library(ids)  # at once, from the last snapshot; a fresh one follows
        self.header.show_library(len(ids))
        self.grid.verticalScrollBar().setValue(self._library_scroll)
        self.refresh_library()

    # -- queries -----------------------------------------------------------------------------------
    def find_similar_to_file(self, path: str) -> None:
        self._start_query(Query("file", path, os.path.basename(path)), load_preview(path))

    def find_similar_to_bytes(self, data: bytes, label: str = "the dropped image") -> None:
        self._start_query(Query("bytes", data, label), load_preview(data))

    def find_similar_to_photo(self, photo_id: int) -> None:
        row = self.catalog.get(photo_id)
        if row is None:
            self.show_message("That photo is no longer in the library.")
            return
        self._start_query(Query("photo", photo_id, os.path.basename(row.path)), load_preview(row.path))

    @Slot()
    def find_similar_to_current(self) -> None:
        photo_id = self.grid.currentIndex().data(PhotoModel.PhotoIdRole)
        if photo_id is not None:
            self.find_similar_to_photo(int(photo_id))

    def _start_query(self, query: Query, preview: QPixmap | None) -> None:
        if not self.model.is_results:
            self._library_scroll = self.grid.verticalScrollBar().value()
        self._token += 1
        token = self._token
        self._query_preview = preview
        self._query_label = query.label
        self.stack.setCurrentWidget(self.browse_page)
        self.header.show_query(preview, query.label, "Searching…")
        job = QueryJob(self.library, self.model_lock, query, self.settings.results, token)
        job.setAutoDelete(False)
        job.signals.returned.connect(self._query_returned)
        job.signals.errored.connect(self._query_errored)
        self._jobs[token] = job
        self.query_pool.start(job)

    @Slot(int, object)
    def _query_returned(self, token: int, results: list[SearchResult]) -> None:
        self._jobs.pop(token, None)
        if token != self._token:
            return
        self.model.show_results(results)
        best = f" (best match {results[0].score:.2f})" if results else ""
        self.header.show_query(self._query_preview, self._query_label,
                               f"{len(results)} similar photo{'s' if len(results) != 1 else ''}, best first{best}. "
                               "Esc goes back to the library.")
        self.grid.scrollToTop()
        if results:
            self.grid.setCurrentIndex(self.model.index(0))
        self.grid.setFocus()
        self.results_shown.emit(list(results))

    @Slot(int, str, str)
    def _query_errored(self, token: int, message: str, details: str) -> None:
        self._jobs.pop(token, None)
        if token != self._token:
            return
        self.header.set_state(f"Cannot search: {message}")
        self.show_message(message, 10000)
        if details:
            log.error("query failed: %s", details)
        self.query_failed.emit(message)

    # -- drag and drop, clipboard ------------------------------------------------------------------
    def accepts_mime(self, mime: QMimeData) -> bool:
        if mime.hasUrls() and any(u.isLocalFile() for u in mime.urls()):
            return True
        return mime.hasImage() or any(f.startswith("image/") for f in mime.formats())

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.accepts_mime(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self.accepts_mime(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.handle_mime(event.mimeData(), "dropped"):
            event.acceptProposedAction()
        else:
            event.ignore()

    @Slot()
    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not self.handle_mime(mime, "pasted"):
            self.show_message("The clipboard holds no image or image file to search with.", 8000)

    def handle_mime(self, mime: QMimeData, verb: str) -> bool:
        """Use dropped or pasted content: image files and image data query, folders are added."""
        local = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
        folders = [p for p in local if os.path.isdir(p)]
        files = [p for p in local if os.path.isfile(p)]
        if files:
            images = [p for p in files if is_image_name(p)] or files
            first = images[0]
            if len(files) > 1:
                self.show_message(f"{len(files)} files {verb}: searching with the first one, {os.path.basename(first)}.",
                                  10000)
            self.find_similar_to_file(first)
            return True
        if folders:
            self.add_folders(folders)
            return True
        for fmt in mime.formats():
            if fmt.startswith("image/"):
                data = bytes(mime.data(fmt).data())
                if data:
                    self.find_similar_to_bytes(data, f"the {verb} image")
                    return True
        if mime.hasImage():
            image = mime.imageData()
            if isinstance(image, QImage) and not image.isNull():
                buffer = QBuffer()
                buffer.open(QIODevice.OpenModeFlag.WriteOnly)
                image.save(buffer, "PNG")
                self.find_similar_to_bytes(bytes(buffer.data().data()), f"the {verb} image")
                return True
        if mime.hasUrls() and mime.urls():
            self.show_message("photosim only searches with images on this computer: save the image first, "
                              "then drop the file.", 10000)
        return False

    @Slot()
    def choose_query_file(self) -> None:
        patterns = " ".join(f"*{ext}" for ext in sorted(IMAGE_EXTENSIONS))
        path, _ = QFileDialog.getOpenFileName(self, "Find photos similar to…", "", f"Images ({patterns});;All files (*)")
        if path:
            self.find_similar_to_file(path)

    # -- grid actions ------------------------------------------------------------------------------
    def build_context_menu(self, index: QModelIndex) -> QMenu:
        """The menu for one thumbnail (built separately from showing it so tests can drive it)."""
        menu = QMenu(self)
        photo_id = index.data(PhotoModel.PhotoIdRole)
        path = index.data(PhotoModel.PathRole)
        similar = menu.addAction("Find similar")
        similar.setObjectName("findSimilar")
        font = similar.font()
        font.setBold(True)
        similar.setFont(font)
        similar.triggered.connect(lambda: self.find_similar_to_photo(int(photo_id)))
        menu.addSeparator()
        open_action = menu.addAction("Open")
        open_action.triggered.connect(lambda: self.open_path(path))
        reveal = menu.addAction("Show in folder")
        reveal.triggered.connect(lambda: self.reveal_path(path))
        copy = menu.addAction("Copy path")
        copy.triggered.connect(lambda: QGuiApplication.clipboard().setText(path))
        if path is None:
            for action in (similar, open_action, reveal, copy):
                action.setEnabled(False)
        return menu

    @Slot(QPoint)
    def _context_menu(self, pos: QPoint) -> None:
        index = self.grid.indexAt(pos)
        if not index.isValid():
            return
        self.grid.setCurrentIndex(index)
        menu = self.build_context_menu(index)
        menu.exec(self.grid.viewport().mapToGlobal(pos))
        menu.deleteLater()

    @Slot(QModelIndex)
    def _open_index(self, index: QModelIndex) -> None:
        path = index.data(PhotoModel.PathRole)
        if path:
            self.open_path(path)

    @Slot(int)
    def _thumbnail_loaded(self, photo_id: int) -> None:
        row = self.model.row_of(photo_id)
        if row >= 0:
            rect = self.grid.visualRect(self.model.index(row))
            if rect.intersects(self.grid.viewport().rect()):
                self.grid.viewport().update(rect)

    def _set_zoom(self, pixels: int) -> None:
        self.grid.set_cell(pixels)
        self._zoomed(self.delegate.cell)

    @Slot(int)
    def _zoomed(self, pixels: int) -> None:
        self.settings.thumb_size = pixels

    # -- indexing ----------------------------------------------------------------------------------
    @Slot()
    def reconcile(self) -> None:
        """A full scan of every folder (start-up, periodically, F5), and re-watch folders that came back."""
        self._offline = self.watcher.watch([f.path for f in self.catalog.folders()])
        self.worker.request_scan(None)

    @Slot(list)
    def _files_changed(self, paths: list[str]) -> None:
        log.info("watcher: %d changed path(s)", len(paths))
        self.worker.request_scan(paths)

    @Slot(str)
    def _model_loaded(self, device: str) -> None:
        self.device = device
        self.show_message(f"Model ready on {device.upper() if device != 'cpu' else 'the CPU'}.", 4000)

    @Slot(bool)
    def _run_started(self, full: bool) -> None:
        self.pause_button.show()
        self.progress_text.setText("Checking folders…" if full else "Updating…")
        self.progress_text.show()
        self.refresh_folders()

    @Slot(object)
    def _progressed(self, progress: Progress) -> None:
        self._last_progress = progress
        if progress.phase == "scanning":
            self.progress_bar.setRange(0, 0)
            self.progress_text.setText("Looking for new photos…")
        elif progress.phase == "indexing":
            self.progress_bar.setRange(0, max(1, progress.total))
            self.progress_bar.setValue(progress.done)
            text = f"{progress.done:,} / {progress.total:,} · {progress.rate:.1f} img/s · {format_duration(progress.eta)} left"
            if self.worker.paused:
                text = f"Paused · {progress.done:,} / {progress.total:,}"
            self.progress_text.setText(text)
        elif progress.phase == "saving":
            self.progress_text.setText("Saving…")
        else:
            return
        self.progress_bar.show()
        self.progress_text.show()
        self.pause_button.show()
        if progress.phase == "indexing" and time.monotonic() - self._last_refresh > REFRESH_WHILE_INDEXING_S:
            self.refresh_library()

    @Slot(object)
    def _run_finished(self, report: IndexReport) -> None:
        self._last_progress = None
        if not self.worker.has_pending:
            for widget in (self.progress_bar, self.progress_text, self.pause_button):
                widget.hide()
        for path in report.offline_folders:
            self._offline.setdefault(path, "folder is offline or missing; its photos are kept")
        if report.changed_paths:
            self.model.forget_rows()
        if report.indexed or report.removed or report.moved:
            parts = []
            if report.indexed:
                parts.append(f"{report.indexed:,} indexed")
            if report.moved:
                parts.append(f"{report.moved:,} moved")
            if report.removed:
                parts.append(f"{report.removed:,} removed")
            if report.failed:
                parts.append(f"{report.failed:,} could not be read")
            self.show_message("Library updated: " + ", ".join(parts) + ".", 8000)
        # Announced once the grid and the folders show the run's outcome.
        self.refresh_library(then=lambda: self.indexing_finished.emit(report))

    @Slot(str)
    def _worker_failed(self, details: str) -> None:
        from .errors import ErrorDialog

        last = details.strip().splitlines()[-1] if details.strip() else "unknown error"
        self.show_message(f"Indexing stopped by an error: {last}", 15000)
        dialog = ErrorDialog(details, None, self)
        dialog.show()

    @Slot()
    def toggle_pause(self) -> None:
        if self.worker.paused:
            self.worker.resume()
            self.pause_button.setText("Pause")
            self.show_message("Indexing resumed.", 3000)
        else:
            self.worker.pause()
            self.pause_button.setText("Resume")
            progress = self._last_progress
            if progress is not None and progress.phase == "indexing":
                self.progress_text.setText(f"Paused · {progress.done:,} / {progress.total:,}")
            else:
                self.progress_text.setText("Paused")
            self.show_message("Indexing paused.", 3000)

    # -- status, problems, settings ----------------------------------------------------------------
    def show_message(self, text: str, timeout_ms: int = 5000) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def _update_summary(self, count: int, folders: int) -> None:
        self.status_label.setText(
            f"{count:,} photo{'s' if count != 1 else ''} in {folders} folder{'s' if folders != 1 else ''}"
        )

    def _update_problems(self, failed: int) -> None:
        offline = len(self._offline)
        total = failed + offline
        if total:
            self.problems_button.setText(f"⚠ {total:,} problem{'s' if total != 1 else ''}")
            self.problems_button.show()
        else:
            self.problems_button.hide()

    @Slot()
    def show_problems(self) -> ProblemsDialog:
        dialog = ProblemsDialog(self.catalog, self._offline, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    @Slot()
    def show_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self.device or None, self)
        if dialog.exec():
            self.apply_settings(dialog.result_settings())

    def apply_settings(self, settings: Settings) -> None:
        old = self.settings
        self.settings = settings.normalized()
        save_settings(self.library.data_dir, self.settings)
        if self.settings.thumb_size != old.thumb_size:
            self.grid.set_cell(self.settings.thumb_size)
        if self.settings.excluded != old.excluded:
            self.worker.set_excluded(self.settings.excluded)
            self.watcher.set_excluded(self.settings.excluded)
            self.worker.request_scan(None)
        if self.settings.device != old.device:
            self.show_message("The compute device changes at the next start of photosim.", 8000)

    def _about(self) -> None:
        QMessageBox.about(
            self, "About photosim",
            f"<b>photosim {__version__}</b><p>Finds similar photos in your own library, on this computer only.</p>"
            f"<p>Model: {self.library.model_id}<br>Library: {self.library.data_dir}</p>",
        )
