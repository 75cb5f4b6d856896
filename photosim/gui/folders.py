"""The folders panel: which folders the library watches, how many photos each holds, and its state."""

from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.paths import display_path
from ..core.snapshot import ERRORS, INDEXING, OFFLINE, UP_TO_DATE, WAITING, FolderState

__all__ = ["ERRORS", "INDEXING", "OFFLINE", "UP_TO_DATE", "WAITING", "FoldersPanel", "FolderState"]

STATE_COLORS = {
    INDEXING: "#5aa9f2",
    UP_TO_DATE: "#6cc77c",
    OFFLINE: "#9a9fa8",
    ERRORS: "#f0a43c",
    WAITING: "#c7b35a",
}


def _dot(color: str, size: int = 12) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(color))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.end()
    return QIcon(pix)


def folder_urls_in(event: QDragEnterEvent | QDropEvent) -> list[str]:
    """Local folders among the dragged URLs (exact paths, any name)."""
    from .drops import local_path

    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    paths = [local_path(u) for u in mime.urls() if u.isLocalFile()]
    return [p for p in paths if os.path.isdir(p)]


class FoldersPanel(QWidget):
    """Lists the watched folders; add with the button or by dropping folders here; remove the selected one.

    Signals:
        add_requested(): the user asked to choose a folder to add.
        folders_dropped(list): local folders were dropped onto the panel.
        remove_requested(str): the user asked to stop watching this folder.
        folder_chosen(object): the folder whose photos the grid should show (str), or None for all;
            sent when the user picks another folder, and None when the chosen one is removed.
    """

    add_requested = Signal()
    folders_dropped = Signal(object)  # list[str]; object keeps names Qt strings would mangle
    remove_requested = Signal(object)  # str
    folder_chosen = Signal(object)  # str | None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setMinimumWidth(220)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 6, 10)
        title = QLabel("Folders")
        title.setObjectName("panelTitle")
        layout.addWidget(title)
        self.list = QListWidget()
        self.list.setObjectName("folderList")
        self.list.setIconSize(QSize(12, 12))
        self.list.setWordWrap(True)
        # Wrap to the panel's width when it narrows (beside the photo info panel a horizontal scroll
        # bar appeared under "55 photos · 3 could not be read").
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setSpacing(3)
        self.list.setAcceptDrops(False)
        self.list.setUniformItemSizes(False)
        layout.addWidget(self.list, 1)
        self.hint = QLabel("Drop a folder here to add it.")
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add folder…")
        self.add_button.clicked.connect(self.add_requested)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setEnabled(False)
        self.remove_button.clicked.connect(self._remove_clicked)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        layout.addLayout(buttons)
        # The selection, not the current item: Qt makes the first row current (unselected) when the
        # list gets the keyboard focus, which must not narrow the grid to that folder.
        self.list.itemSelectionChanged.connect(self._selection_changed)
        self.statuses: list[FolderState] = []
        self.chosen: str | None = None

    def set_folders(self, statuses: list[FolderState] | tuple[FolderState, ...]) -> None:
        current = self.selected_path()
        self.statuses = list(statuses)
        # Rebuilt on every snapshot: the list's own signals would report the choice gone and back.
        self.list.blockSignals(True)
        self.list.clear()
        for row, status in enumerate(statuses):
            shown = display_path(status.path)
            name = os.path.basename(shown.rstrip(os.sep)) or shown
            count = f"{status.photos:,} photo{'s' if status.photos != 1 else ''}"
            detail = status.state
            if status.state == ERRORS:
                detail = f"{status.failed:,} could not be read"
            elif status.state == WAITING:
                detail = f"{status.pending:,} waiting"
            if status.note and status.state != OFFLINE and "every" in status.note:
                detail = f"{detail} · checked periodically"  # polled: a network drive or too many folders
            item = QListWidgetItem(_dot(STATE_COLORS.get(status.state, "#999")), f"{name}\n{count} · {detail}")
            tip = shown + (f"\n{status.note}" if status.note else "")
            item.setToolTip(tip)
            # The row, not the path: a name that is not valid UTF-8 cannot live in a QString unchanged.
            item.setData(Qt.ItemDataRole.UserRole, row)
            self.list.addItem(item)
            if status.path == current:
                self.list.setCurrentItem(item)
                item.setSelected(True)
        self.list.blockSignals(False)
        self.remove_button.setEnabled(self.selected_path() is not None)
        if self.chosen is not None and all(s.path != self.chosen for s in self.statuses):
            self.chosen = None
            self.folder_chosen.emit(None)

    def clear_choice(self) -> None:
        """Back to every folder's photos (the header's "All photos", Esc): no folder selected."""
        self.list.clearSelection()
        self.list.setCurrentRow(-1)
        self._selection_changed()

    def _selection_changed(self) -> None:
        path = self.selected_path()
        self.remove_button.setEnabled(path is not None)
        if path != self.chosen:
            self.chosen = path
            self.folder_chosen.emit(path)

    def selected_path(self) -> str | None:
        items = self.list.selectedItems()
        if not items:
            return None
        row = items[0].data(Qt.ItemDataRole.UserRole)
        return self.statuses[row].path if isinstance(row, int) and 0 <= row < len(self.statuses) else None

    def _remove_clicked(self) -> None:
        path = self.selected_path()
        if path:
            self.remove_requested.emit(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if folder_urls_in(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragEnterEvent) -> None:  # type: ignore[override]
        self.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        folders = folder_urls_in(event)
        if folders:
            event.acceptProposedAction()
            self.folders_dropped.emit(folders)
        else:
            event.ignore()

