"""The main window: lays out the folders panel, the header and grid, and the status bar, and connects them.

The window owns no background machinery: the library service does (indexing, watching, queries,
snapshots), and reaches the GUI thread through one :class:`~photosim.gui.bridge.ServiceBridge`. Each
concern has its presenter: :class:`FoldersPresenter` (panel, welcome view, add and remove),
:class:`ResultsPresenter` (grid content, header, queries), :class:`StatusPresenter` (summary,
progress, pause, problems), :class:`DuplicatesPresenter` (the Duplicates view: groups, filters,
slider, clean-up actions). What a drop or a paste means is decided by :func:`drops.intent_for`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from PySide6.QtCore import QMimeData, QModelIndex, QPoint, QStandardPaths, Qt, QUrl, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from ..core.dupstate import PhotoInfo
from ..core.images import IMAGE_EXTENSIONS
from ..core.paths import display_path, is_within, resolve_cache_dir, resolve_log_dir
from ..core.service import IndexReport, LibraryService
from ..core.settings import Settings, save_settings
from ..core.thumbnails import ThumbnailCache
from . import drops
from .bridge import ServiceBridge
from .duplicates_presenter import DuplicatesPresenter
from .duplicates_view import KEYS as DUPLICATE_KEYS
from .duplicates_view import DuplicatesView
from .folder_presenter import FoldersPresenter
from .folders import FoldersPanel
from .grid import PhotoDelegate, PhotoGrid, PhotoModel
from .grid_cleanup import GridCleanup, trash_text
from .header import QueryHeader
from .info_panel import InfoPanel, InfoPresenter
from .problems import ProblemsDialog
from .results import ResultsPresenter
from .reveal import Revealer
from .settings_dialog import SettingsDialog
from .shortcuts import GRID_KEYS, ShortcutsDialog, menu_shortcuts
from .status import StatusPresenter
from .thumbs import ThumbnailLoader
from .viewer import PhotoViewer
from .welcome import WelcomeView
from .window_state import restore_window_state, save_window_state
from .words import WordBox, WordsPresenter

log = logging.getLogger(__name__)

MAX_COMPARED = 4
"""Photos side by side in the viewer at most (the compare view's panes)."""


def open_with_system(path: str) -> bool:
    """Open a photo in the system's viewer (exact bytes of the name, through a file URL); False when
    the system has no application for it (Qt then only logs "Unable to detect a launcher")."""
    return bool(QDesktopServices.openUrl(drops.file_url(path)))


def standard_or(key: QKeySequence.StandardKey, fallback: str) -> QKeySequence | QKeySequence.StandardKey:
    """The platform's shortcut for ``key``, or ``fallback`` where it has none: Linux desktops bind no
    key to Preferences (and some none to Quit), which left Settings without a shortcut there."""
    return key if QKeySequence.keyBindings(key) else QKeySequence(fallback)


class MainWindow(QMainWindow):
    """The photosim window over a running :class:`LibraryService`.

    Signals:
        results_shown(list): a query's results (best first) are in the grid.
        query_failed(str): a query could not be answered; the message was shown.
        library_refreshed(int): the library view was reloaded with this many photos.
        indexing_finished(object): an indexing run ended (its IndexReport), and the grid shows its outcome.
        catalog_damaged(str): the catalog needs a repair (the app offers it).
    """

    results_shown = Signal(list)
    query_failed = Signal(str)
    library_refreshed = Signal(int)
    indexing_finished = Signal(object)
    catalog_damaged = Signal(str)

    def __init__(self, service: LibraryService, settings: Settings | None = None, *,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.settings = (settings or Settings()).normalized()
        self.open_path: Callable[[str], bool | None] = open_with_system
        self.revealer = Revealer(self)
        self.revealer.failed.connect(lambda message: self.show_message(message, 10000))
        self.reveal_path: Callable[[str], None] = self.revealer.reveal
        self._closed = False
        self._last_query_dir = ""  # where "Find similar to a file…" last found its file
        self.setWindowTitle("photosim")
        self.setAcceptDrops(True)
        self.resize(1280, 820)

        self.bridge = ServiceBridge(service, self)
        self.thumb_cache = ThumbnailCache(resolve_cache_dir(service.data_dir))
        self.loader = ThumbnailLoader(self.thumb_cache, parent=self)

        # -- widgets -----------------------------------------------------------------------------
        self.model = PhotoModel(service.photo_rows, self)
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
        self.info_panel = InfoPanel()
        self.info_panel.hide()
        self.search_box = WordBox("Search by word: dog, beach, castle…  (Ctrl+K)")
        self.search_box.setObjectName("wordSearch")
        self.search_box.setMinimumWidth(320)
        self.only_box = WordBox("Only…  (e.g. dog)")
        self.only_box.setObjectName("onlyWord")
        self.only_box.setToolTip("Keep only the results labelled like this word; empty: all of them")
        self.only_box.setMaximumWidth(170)
        self.only_box.setMinimumWidth(120)  # its placeholder stays readable when the header is crowded
        self.header.add_tool(self.only_box, in_query_only=True)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.folders_panel)
        splitter.addWidget(self.stack)
        splitter.addWidget(self.info_panel)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 1020, 280])
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        self.setCentralWidget(splitter)

        # -- presenters --------------------------------------------------------------------------
        self.status = StatusPresenter(service, self.bridge, self.statusBar(), self)
        self.results = ResultsPresenter(
            service, self.bridge, self.model, self.grid, self.header,
            results_count=lambda: self.settings.results, message=self.show_message, dialog_parent=self, parent=self,
        )
        self.folders = FoldersPresenter(service, self.bridge, self.folders_panel, self.welcome, self, self)
        self.words = WordsPresenter(service, self.bridge, self.search_box, self.only_box, self.results, self)
        self.info = InfoPresenter(service, self.grid, self.info_panel, self)
        self.grid_cleanup = GridCleanup(service, self.grid, self.model, self._confirm_trash, self)
        self.duplicates = DuplicatesPresenter(service, self.bridge, self.settings.similar_threshold, self)
        self.duplicates_view = DuplicatesView(self.duplicates, self.loader, service.photo_rows,
                                              lambda: self.service.snapshot.photos)
        self.stack.addWidget(self.duplicates_view)
        self.viewer = PhotoViewer()
        self.stack.addWidget(self.viewer)
        self._page_before_duplicates: QWidget = self.browse_page
        self._build_menus()
        # The word search lives at the top right, where search fields are expected, in every view.
        corner = QWidget()
        corner_layout = QHBoxLayout(corner)
        corner_layout.setContentsMargins(0, 2, 8, 2)
        corner_layout.addWidget(self.search_box)
        self.menuBar().setCornerWidget(corner, Qt.Corner.TopRightCorner)
        self._search_corner = corner  # PySide does not hand the corner widget to the menu bar

        # -- wiring ------------------------------------------------------------------------------
        self.results.results_shown.connect(self.results_shown)
        self.results.query_failed.connect(self.query_failed)
        self.results.library_refreshed.connect(self.library_refreshed)
        # A folder picked in the panel: the grid shows its photos; Esc or "All photos" drops the choice.
        self.folders_panel.folder_chosen.connect(self.results.show_folder)
        self.folders_panel.folder_chosen.connect(self._folder_chosen)
        self.results.all_folders_requested.connect(self.folders_panel.clear_choice)
        self.folders.has_folders_changed.connect(self._has_folders_changed)
        self.folders.message.connect(self.show_message)
        self.status.problems_requested.connect(self.show_problems)
        self.header.word_requested.connect(self.find_by_words)  # "did you mean 'bird'?"
        self.bridge.run_finished.connect(self._run_finished)
        self.bridge.failed.connect(self._service_failed)
        self.bridge.catalog_damaged.connect(self.catalog_damaged)
        self.loader.loaded.connect(self._thumbnail_loaded)
        self.grid.opened.connect(self._open_index)
        self.grid.customContextMenuRequested.connect(self._context_menu)
        self.grid.zoomed.connect(self._zoomed)
        self.duplicates.message.connect(self.show_message)
        self.grid_cleanup.message.connect(self.show_message)
        self.duplicates.pass_changed.connect(lambda running: None if running else self.status.duplicates_finished())
        self.duplicates.threshold_committed.connect(self._similar_threshold_chosen)
        self.duplicates_view.back_requested.connect(self.back_to_library)
        self.viewer.back_requested.connect(self.leave_viewer)
        self.viewer.step_requested.connect(self._viewer_step)
        self.viewer.trash_requested.connect(self._viewer_trash)
        self.viewer.open_requested.connect(self.open_photo)
        # whichever way the viewer is left (Esc, Ctrl+K, a folder picked, a drop), its full pictures go
        self.stack.currentChanged.connect(self._page_changed)
        self.grid_cleanup.finished.connect(self._viewer_follow)

    # -- convenience for the app and the tests --------------------------------------------------
    @property
    def progress_bar(self):  # noqa: ANN201
        return self.status.progress_bar

    @property
    def progress_text(self):  # noqa: ANN201
        return self.status.progress_text

    @property
    def pause_button(self):  # noqa: ANN201
        return self.status.pause_button

    @property
    def problems_button(self):  # noqa: ANN201
        return self.status.problems_button

    def show_message(self, text: str, timeout_ms: int = 5000) -> None:
        self.status.show_message(text, timeout_ms)

    # -- menus -----------------------------------------------------------------------------------
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
        self._action(file_menu, "Add folder…", self.folders.choose_folders)
        self.find_file_action = self._action(file_menu, "Find similar to a file…", self.choose_query_file,
                                             QKeySequence.StandardKey.Open)
        self.paste_action = self._action(file_menu, "Find similar to pasted image", self.paste,
                                         QKeySequence.StandardKey.Paste)
        file_menu.addSeparator()
        self._action(file_menu, "Settings…", self.show_settings,
                     standard_or(QKeySequence.StandardKey.Preferences, "Ctrl+,"))
        file_menu.addSeparator()
        self._action(file_menu, "Quit", self.close, standard_or(QKeySequence.StandardKey.Quit, "Ctrl+Q"))
        edit = bar.addMenu("&Edit")
        self.undo_action = self._action(edit, "Undo", self.undo, QKeySequence.StandardKey.Undo)
        edit.addSeparator()
        # Delete and Ctrl+A belong to the grid: in a text field they edit the text, and the
        # Duplicates page has its own Delete (this photo of the group).
        self.trash_action = self._action(edit, trash_text(1), self.grid_cleanup.trash_selected,
                                         QKeySequence.StandardKey.Delete)
        self.select_all_action = self._action(edit, "Select all", self.grid.selectAll, QKeySequence.StandardKey.SelectAll)
        self.copy_action = self._action(edit, "Copy", self.copy_selected, QKeySequence.StandardKey.Copy)
        for action in (self.trash_action, self.select_all_action, self.copy_action):
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            self.removeAction(action)
            self.grid.addAction(action)
        edit.aboutToShow.connect(self._edit_menu_opening)
        edit.aboutToHide.connect(self._edit_menu_closed)
        view = bar.addMenu("&View")
        self._action(view, "Find similar to selected photo", self.find_similar_to_current, "Ctrl+F")
        # Space belongs to the grid: text fields type it, and the Duplicates view compares with it.
        self.preview_action = self._action(view, "View or compare selected photos", self.view_selected, "Space")
        self.preview_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.removeAction(self.preview_action)
        self.grid.addAction(self.preview_action)
        self.word_action = self._action(view, "Search by word…", self.focus_word_search, "Ctrl+K")
        self._action(view, "Search by word…", self.focus_word_search, "Ctrl+L")
        view.actions()[-1].setVisible(False)
        self.info_action = self._action(view, "Photo info", lambda: self.show_info(not self.info_panel.isVisible()),
                                        "Ctrl+I")
        self.info_action.setCheckable(True)
        self.back_action = self._action(view, "Back to library", self.back_to_library, "Escape")
        self.duplicates_action = self._action(view, "Duplicates", self.show_duplicates, "Ctrl+D")
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
        self._action(help_menu, "Keyboard shortcuts", self.show_shortcuts, QKeySequence.StandardKey.HelpContents)
        self._action(help_menu, "Open log folder",
                     lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(resolve_log_dir()))))
        self._action(help_menu, "About photosim", self._about)

    def _edit_menu_opening(self) -> None:
        """Name what Undo would undo, and offer the grid's actions only where the grid is on screen."""
        text = self.grid_cleanup.undo_text()
        self.undo_action.setText(text or "Undo")
        self.undo_action.setEnabled(text is not None)
        on_grid = self.stack.currentWidget() is self.browse_page
        n = len(self.grid_cleanup.selected_ids()) if on_grid else 0
        self.trash_action.setText(trash_text(n))
        self.trash_action.setEnabled(n > 0)
        self.select_all_action.setEnabled(on_grid and self.model.rowCount() > 0)
        self.copy_action.setText(f"Copy {n:,} photos" if n > 1 else "Copy")
        self.copy_action.setEnabled(n > 0)

    def _edit_menu_closed(self) -> None:
        """The keys work whatever the menu showed: a disabled action ignores its shortcut, and a trash
        made after the menu last opened must still be undoable with Ctrl+Z (each action says when it
        has nothing to do)."""
        for action in (self.undo_action, self.trash_action, self.select_all_action, self.copy_action):
            action.setEnabled(True)
        self.undo_action.setText("Undo")
        self.trash_action.setText(trash_text(1))
        self.copy_action.setText("Copy")

    @Slot()
    def copy_selected(self) -> int:
        """Ctrl+C in the grid: the selected photos on the clipboard as files (a file manager pastes
        copies of them) and as their paths (a text editor pastes the paths); returns how many."""
        mime = self.model.mimeData([self.model.index(row) for row in self.grid_cleanup.selected_rows()])
        if not mime.urls():
            return 0
        mime.setText("\n".join(display_path(url.toLocalFile()) for url in mime.urls()))
        QGuiApplication.clipboard().setMimeData(mime)
        n = len(mime.urls())
        self.show_message(f"{n:,} photo{'' if n == 1 else 's'} copied: paste them in a file manager or a mail.", 5000)
        return n

    @Slot()
    def undo(self) -> None:
        """Ctrl+Z: reverse the latest clean-up (the Duplicates page's or the grid's: one journal)."""
        if self.showing_duplicates:
            self.duplicates.undo()
        else:
            self.grid_cleanup.undo()

    def _confirm_trash(self, count: int) -> bool:
        answer = QMessageBox.question(
            self, "Move to trash", f"Move {count:,} photos to the trash?\n\nCtrl+Z puts them back.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    # -- life cycle ------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop what the window started and ask the service to stop (its owner closes the library)."""
        if self._closed:
            return
        self._closed = True
        self.bridge.detach()
        self.duplicates.shutdown()
        self.grid_cleanup.shutdown()
        self.viewer.shutdown()
        self.duplicates_view.compare.shutdown()
        self.loader.shutdown()
        self.service.stop()
        try:
            save_settings(self.service.data_dir, self.settings)
        except OSError as exc:
            log.warning("cannot save settings: %s", exc)
        save_window_state(self.service.data_dir, self, self.splitter)

    def restore_layout(self) -> bool:
        """The window's size, place and panel widths as they were when it last closed (before show())."""
        return restore_window_state(self.service.data_dir, self, self.splitter)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.service.busy:
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

    # -- folders and scans -----------------------------------------------------------------------
    def add_folders(self, paths: list[str]) -> None:
        self.folders.add_folders(paths)

    def remove_folder(self, path: str, confirm: bool = True) -> None:
        self.folders.remove_folder(path, confirm)

    @Slot()
    def reconcile(self) -> None:
        """A full scan of every folder now (F5): catches what the watcher could not see."""
        self.service.scan_all()
        self.show_message("Checking every folder for changes…", 4000)

    @Slot(object)
    def _run_finished(self, report: IndexReport) -> None:
        if report.changed_paths:
            self.model.forget_rows()  # moved and re-indexed photos: re-read the rows on screen
        self.indexing_finished.emit(report)

    @Slot(str, str)
    def _service_failed(self, message: str, details: str) -> None:
        from .errors import ErrorDialog

        self.show_message(f"Indexing stopped by an error: {message}", 15000)
        ErrorDialog(details or message, None, self).show()

    # -- queries ---------------------------------------------------------------------------------
    def find_similar_to_file(self, path: str) -> None:
        self.stack.setCurrentWidget(self.browse_page)
        self.results.find_similar_to_file(path)

    def find_similar_to_bytes(self, data: bytes, label: str = "the dropped image") -> None:
        self.stack.setCurrentWidget(self.browse_page)
        self.results.find_similar_to_bytes(data, label)

    def find_similar_to_photo(self, photo_id: int) -> None:
        if self.showing_viewer:  # Ctrl+F on the photo being viewed: its results in the grid
            self.leave_viewer()
        self.results.find_similar_to_photo(photo_id)

    def find_similar_to_link(self, url: str) -> None:
        """Download an image link (a browser's dragged link, a pasted address) and search with it."""
        self.stack.setCurrentWidget(self.browse_page)
        self.results.find_similar_to_link(url)

    @Slot(str)
    def find(self, path: str) -> None:
        """``photosim --find FILE`` (here or forwarded by a second launch): search with that file."""
        self.bring_forward()
        if os.path.isfile(path):
            self.find_similar_to_file(path)
        else:
            self.show_message(f"Cannot find similar photos: no such file: {display_path(path)}", 10000)

    @Slot()
    def find_similar_to_current(self) -> None:
        photo_id = self.grid.currentIndex().data(PhotoModel.PhotoIdRole)
        if photo_id is not None:
            self.find_similar_to_photo(int(photo_id))

    @Slot()
    def show_duplicates(self) -> None:
        """Open the Duplicates view (Ctrl+D): the groups known now, and a pass when none has run yet."""
        if self.showing_viewer:
            self.leave_viewer()
        if self.stack.currentWidget() is not self.duplicates_view:
            self._page_before_duplicates = self.stack.currentWidget()
            if self.folders_panel.chosen is not None:  # the folder on screen: its duplicates
                self.duplicates.set_folder(self.folders_panel.chosen)
        self.stack.setCurrentWidget(self.duplicates_view)
        self.duplicates.open()
        self.duplicates_view.refresh()
        self.duplicates_view.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _folder_chosen(self, folder: str | None) -> None:
        """A folder clicked in the panel while the Duplicates view is open shows that folder's photos."""
        if self.showing_viewer:
            self.leave_viewer()
        if folder is not None and self.showing_duplicates:
            self.duplicates_view.leave_compare()
            self.stack.setCurrentWidget(self.browse_page)

    def _has_folders_changed(self, has: bool) -> None:
        page = self.browse_page if has else self.welcome
        if self.showing_duplicates:
            self._page_before_duplicates = page  # stay in the Duplicates view; Esc goes there
        else:
            self.stack.setCurrentWidget(page)

    # -- the viewer (Space) -------------------------------------------------------------------------
    @property
    def showing_viewer(self) -> bool:
        return self.stack.currentWidget() is self.viewer

    @Slot()
    def view_selected(self) -> bool:
        """Space: the current photo large, or the selected photos (two to four) side by side."""
        ids = self.grid_cleanup.selected_ids()
        current = self.grid.currentIndex().data(PhotoModel.PhotoIdRole)
        if len(ids) <= 1:
            ids = [int(current)] if current is not None else ids
        elif len(ids) > MAX_COMPARED:
            self.show_message(f"{len(ids)} photos are selected: the first {MAX_COMPARED} are compared.", 6000)
        photos = self._photo_infos(ids[:MAX_COMPARED])
        if not photos:
            self.show_message("Select a photo to view first.", 5000)
            return False
        self.viewer.show_photos(photos, self._grid_position() if len(photos) == 1 else "")
        self.stack.setCurrentWidget(self.viewer)
        self.viewer.setFocus(Qt.FocusReason.ShortcutFocusReason)
        return True

    def _photo_infos(self, ids: list[int]) -> list[PhotoInfo]:
        rows = self.service.photo_rows(ids)
        references = self.settings.reference_folders
        return [PhotoInfo(row.id, row.path, row.size, row.mtime_ns / 1e9, row.fingerprint or "", row.taken_at, None,
                          any(is_within(row.path, f) for f in references))
                for row in (rows.get(i) for i in ids) if row is not None]

    def _grid_position(self) -> str:
        row, total = self.grid.currentIndex().row(), self.model.rowCount()
        return f"{row + 1:,} of {total:,}" if row >= 0 else ""

    @Slot()
    def leave_viewer(self) -> None:
        """Back to the grid, at the photo last viewed."""
        self.viewer.compare.set_photos([], -1)
        self.stack.setCurrentWidget(self.browse_page)
        current = self.grid.currentIndex()
        if current.isValid():
            self.grid.scrollTo(current)
        self.grid.setFocus()

    @Slot(int)
    def _page_changed(self, index: int) -> None:
        if self.stack.widget(index) is not self.viewer and self.viewer.compare.panes:
            self.viewer.compare.set_photos([], -1)

    @Slot(int)
    def _viewer_step(self, delta: int) -> None:
        row = self.grid.currentIndex().row() + delta
        if 0 <= row < self.model.rowCount():
            self.grid.setCurrentIndex(self.model.index(row))
            self.view_selected()

    @Slot()
    def _viewer_trash(self) -> None:
        """Delete in the viewer: the photo shown to the trash; the viewer goes on with the next one."""
        shown = self.viewer.photos[0].photo_id if self.viewer.single else None
        row = self.model.row_of(shown) if shown is not None else -1
        if row >= 0:
            self.grid.setCurrentIndex(self.model.index(row))  # it alone is selected
            self.grid_cleanup.trash_selected()

    @Slot(object)
    def _viewer_follow(self, result: object = None, tries: int = 3) -> None:
        """A photo trashed from the viewer: show the one the grid now has in its place, once the grid
        has followed (results at once, the library view with the next snapshot or two)."""
        if not self.showing_viewer or not self.viewer.single:
            return
        if self.model.row_of(self.viewer.photos[0].photo_id) < 0:
            if self.model.rowCount():
                self.view_selected()
            else:
                self.leave_viewer()
        elif not self.model.is_results and tries > 0:
            self.results.library_refreshed.connect(lambda _n: self._viewer_follow(None, tries - 1),
                                                   Qt.ConnectionType.SingleShotConnection)

    @property
    def showing_duplicates(self) -> bool:
        return self.stack.currentWidget() is self.duplicates_view

    def _similar_threshold_chosen(self, threshold: float) -> None:
        self.settings.similar_threshold = threshold
        try:
            save_settings(self.service.data_dir, self.settings)
        except OSError as exc:
            log.warning("cannot save settings: %s", exc)

    @Slot()
    def back_to_library(self) -> None:
        if self.showing_viewer:
            self.leave_viewer()
            return
        if self.showing_duplicates:
            if not self.duplicates_view.leave_compare():  # Esc: out of the compare view first
                self.stack.setCurrentWidget(self._page_before_duplicates)
                self.grid.setFocus()
            return
        if self.search_box.hasFocus() or self.only_box.hasFocus():
            self.grid.setFocus()
        self.only_box.clear()
        self.results.back_to_library()

    @Slot()
    def focus_word_search(self) -> None:
        self.stack.setCurrentWidget(self.browse_page)
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def find_by_words(self, text: str) -> None:
        self.stack.setCurrentWidget(self.browse_page)
        self.search_box.setText(text)
        self.results.find_by_words(text)

    def show_info(self, visible: bool) -> None:
        """Show or hide the photo info panel (Ctrl+I)."""
        self.info.set_visible(visible)
        self.info_action.setChecked(visible)

    @Slot()
    def choose_query_file(self) -> None:
        patterns = " ".join(f"*{ext}" for ext in sorted(IMAGE_EXTENSIONS))
        path, _ = QFileDialog.getOpenFileName(self, "Find photos similar to…", self._query_dir(),
                                              f"Images ({patterns});;All files (*)")
        if path:
            self._last_query_dir = os.path.dirname(path)
            self.find_similar_to_file(path)

    def _query_dir(self) -> str:
        """Where "Find similar to a file…" opens: the folder of the last file chosen, else the user's
        Pictures folder (it opened in the folder photosim was started from, found trying the app)."""
        if self._last_query_dir and os.path.isdir(self._last_query_dir):
            return self._last_query_dir
        pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
        return pictures if pictures and os.path.isdir(pictures) else os.path.expanduser("~")

    # -- drag and drop, clipboard ----------------------------------------------------------------
    def _own_drag(self, event: QDragEnterEvent | QDragMoveEvent | QDropEvent) -> bool:
        """A thumbnail dragged from this window's own grid: it is for other applications, and a drag
        let go over the grid would otherwise start a search nobody asked for."""
        return event.source() is self.grid

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if not self._own_drag(event) and drops.accepts(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if not self._own_drag(event) and drops.accepts(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        if not self._own_drag(event) and self.handle_mime(event.mimeData(), "dropped"):
            event.acceptProposedAction()
        else:
            event.ignore()

    @Slot()
    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not self.handle_mime(mime, "pasted", quiet=True):
            self.show_message("The clipboard holds no image or image file to search with.", 8000)

    def handle_mime(self, mime: QMimeData, verb: str, quiet: bool = False) -> bool:
        """Carry out what a drop or a paste asks for; False when it holds nothing usable."""
        intent = drops.intent_for(mime, verb)
        if isinstance(intent, drops.QueryFile):
            if intent.note:
                self.show_message(intent.note, 10000)
            self.find_similar_to_file(intent.path)
            return True
        if isinstance(intent, drops.QueryBytes):
            self.find_similar_to_bytes(intent.data, intent.label)
            return True
        if isinstance(intent, drops.AddFolders):
            self.add_folders(intent.paths)
            return True
        if isinstance(intent, drops.QueryLink):
            self.find_similar_to_link(intent.url)
            return True
        if intent.message and not quiet:
            self.show_message(intent.message, 10000)
        return False

    # -- grid actions ----------------------------------------------------------------------------
    def build_context_menu(self, index: QModelIndex) -> QMenu:
        """The menu for one thumbnail (built separately from showing it so tests can drive it)."""
        menu = QMenu(self)
        photo_id = index.data(PhotoModel.PhotoIdRole)
        row = self.model.photo(index.row()) if index.isValid() else None
        path = row.path if row is not None else None  # the exact path: never through a Qt string
        similar = menu.addAction("Find similar")
        similar.setObjectName("findSimilar")
        font = similar.font()
        font.setBold(True)
        similar.setFont(font)
        similar.triggered.connect(lambda: self.find_similar_to_photo(int(photo_id)))
        menu.addSeparator()
        open_action = menu.addAction("Open")
        open_action.triggered.connect(lambda: self.open_photo(path))
        reveal = menu.addAction("Show in folder")
        reveal.triggered.connect(lambda: self.reveal_path(path))
        copy = menu.addAction("Copy path")
        copy.triggered.connect(lambda: QGuiApplication.clipboard().setText(display_path(path)))
        menu.addSeparator()
        n = len(self.grid_cleanup.selected_ids())
        key = self.trash_action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        # the key is shown after a tab (display only: the grid's own action answers it)
        trash = menu.addAction(trash_text(n) + (f"\t{key}" if key else ""))
        trash.setObjectName("moveToTrash")
        trash.triggered.connect(self.grid_cleanup.trash_selected)
        if path is None:
            for action in (similar, open_action, reveal, copy):
                action.setEnabled(False)
        return menu

    def point_menu_at(self, index: QModelIndex) -> None:
        """A right click on a thumbnail makes it current; on one of several selected ones the selection
        stays, so that the menu's "Move N photos to trash" acts on all of them."""
        selection = self.grid.selectionModel()
        keep = selection.isSelected(index)
        selection.setCurrentIndex(index, selection.SelectionFlag.NoUpdate if keep else selection.SelectionFlag.ClearAndSelect)

    @Slot(QPoint)
    def _context_menu(self, pos: QPoint) -> None:
        index = self.grid.indexAt(pos)
        if not index.isValid():
            return
        self.point_menu_at(index)
        menu = self.build_context_menu(index)
        menu.exec(self.grid.viewport().mapToGlobal(pos))
        menu.deleteLater()

    @Slot(QModelIndex)
    def _open_index(self, index: QModelIndex) -> None:
        row = self.model.photo(index.row()) if index.isValid() else None
        if row is not None:
            self.open_photo(row.path)

    def open_photo(self, path: str | None) -> None:
        """Open a photo in the system's viewer, or say why not: Enter on a photo whose file is gone, or
        on a system with no viewer for it, used to do nothing at all."""
        if path is None:
            return
        name = display_path(os.path.basename(path))
        if not os.path.exists(path):
            self.show_message(f"{name} is no longer there (moved or deleted since it was indexed)", 8000)
        elif self.open_path(path) is False:
            self.show_message(f"No application on this computer opens {name}: set one for this kind of file "
                              "in your desktop's settings", 8000)

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

    # -- problems, settings, about ---------------------------------------------------------------
    @Slot()
    def show_problems(self) -> ProblemsDialog:
        snapshot = self.service.snapshot
        notes = {f.path: f.note for f in snapshot.folders if f.note}
        failures = [(row.path, row.error or "unknown error") for row in self.service.failures(limit=10_000)]
        dialog = ProblemsDialog(failures, notes, self, reveal=self.reveal_path,
                                retry=self.service.retry_failed)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    @Slot()
    def show_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self.status.device or None, self,
                                watched=[f.path for f in self.service.snapshot.folders])
        if dialog.exec():
            self.apply_settings(dialog.result_settings())

    def apply_settings(self, settings: Settings) -> None:
        old = self.settings
        self.settings = settings.normalized()
        save_settings(self.service.data_dir, self.settings)
        if self.settings.thumb_size != old.thumb_size:
            self.grid.set_cell(self.settings.thumb_size)
        if self.settings.excluded != old.excluded:
            self.service.set_excluded(self.settings.excluded)
        if self.settings.device != old.device:
            self.show_message("The compute device changes at the next start of photosim.", 8000)

    @Slot()
    def show_shortcuts(self) -> ShortcutsDialog:
        """Help > Keyboard shortcuts (F1): the menus' keys, then the grid's and the Duplicates page's."""
        dialog = ShortcutsDialog([("Menus", menu_shortcuts(self.actions() + self.grid.actions())), ("Photo grid", GRID_KEYS),
                                  ("Duplicates (Ctrl+D)", DUPLICATE_KEYS)], self)
        dialog.show()
        return dialog

    def _about(self) -> None:
        QMessageBox.about(
            self, "About photosim",
            f"<b>photosim {__version__}</b><p>Finds similar photos in your own library, on this computer only.</p>"
            f"<p>Model: {self.service.model_id}<br>Library: {display_path(str(self.service.data_dir))}</p>",
        )
