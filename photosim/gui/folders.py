"""The folders panel: which folders the library watches, how many photos each holds, and its state."""

from __future__ import annotations

import os

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QIcon, QPainter, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
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


class _WrappingDelegate(QStyledItemDelegate):
    """Rows as tall as their text wrapped to the panel's width: QTreeView measures a row before it
    knows the column's width, and cut a long folder name to two lines with its count lost."""

    def __init__(self, tree: QTreeWidget) -> None:
        super().__init__(tree)
        self.tree = tree

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        depth, parent = 0, index.parent()
        while parent.isValid():
            depth, parent = depth + 1, parent.parent()
        icon = self.tree.iconSize().width() + 8
        width = self.tree.viewport().width() - self.tree.indentation() * (depth + 1) - icon - 12
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        if width <= 40 or not text:
            return hint
        bounds = option.fontMetrics.boundingRect(QRect(0, 0, width, 100_000),  # type: ignore[attr-defined]
                                                 int(Qt.TextFlag.TextWordWrap), text)
        return QSize(hint.width(), max(hint.height(), bounds.height() + 14))


class _FolderTree(QTreeWidget):
    """The tree, re-measuring its rows when its width changes (their wrapped height depends on it)."""

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.scheduleDelayedItemsLayout()


def folder_urls_in(event: QDragEnterEvent | QDropEvent) -> list[str]:
    """Local folders among the dragged URLs (exact paths, any name)."""
    from .drops import local_path

    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    paths = [local_path(u) for u in mime.urls() if u.isLocalFile()]
    return [p for p in paths if os.path.isdir(p)]


class FoldersPanel(QWidget):
    """Lists the watched folders, each with the folders inside it that hold photos (a tree); add with
    the button or by dropping folders here; remove the selected one; pick one to see its photos.

    Signals:
        add_requested(): the user asked to choose a folder to add.
        folders_dropped(list): local folders were dropped onto the panel.
        remove_requested(str): the user asked to stop watching this folder.
        folder_chosen(object): the folder whose photos the grid should show (str: a watched folder or
            one inside it), or None for all; sent when the user picks another one, and None when the
            chosen one goes (removed, or its last photo gone).
    """

    add_requested = Signal()
    folders_dropped = Signal(object)  # list[str]; object keeps names Qt strings would mangle
    remove_requested = Signal(object)  # str
    folder_chosen = Signal(object)  # str | None

    #: An item's data: (row in ``statuses``, folder relative to it, or None for the watched folder itself).
    _WHERE = Qt.ItemDataRole.UserRole

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setMinimumWidth(220)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 6, 10)
        title = QLabel("Folders")
        title.setObjectName("panelTitle")
        layout.addWidget(title)
        self.list = _FolderTree()
        self.list.setObjectName("folderList")
        self.list.setItemDelegate(_WrappingDelegate(self.list))
        self.list.setHeaderHidden(True)
        self.list.setColumnCount(1)
        self.list.setIconSize(QSize(12, 12))
        self.list.setWordWrap(True)
        self.list.setIndentation(14)
        # Wrap to the panel's width when it narrows (beside the photo info panel a horizontal scroll
        # bar appeared under "55 photos · 3 could not be read").
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.header().setStretchLastSection(True)
        self.list.setAcceptDrops(False)
        self.list.setUniformRowHeights(False)
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
        self._expanded: set[str] = set()
        self.list.itemExpanded.connect(lambda item: self._expanded.add(self._path_of(item) or ""))
        self.list.itemCollapsed.connect(lambda item: self._expanded.discard(self._path_of(item) or ""))

    def set_folders(self, statuses: list[FolderState] | tuple[FolderState, ...], *, follow: str | None = None) -> None:
        """Show these folders; ``follow``: where the folder picked now is (renamed or moved), which
        stays picked under that name."""
        if list(statuses) == self.statuses and self.list.topLevelItemCount() == len(self.statuses):
            return  # most snapshots change nothing here (15 ms saved with 1,500 subfolders listed)
        current = self.selected_path()
        if follow is not None and current == self.chosen:
            current = follow
        self.statuses = list(statuses)
        # Rebuilt on every snapshot: the list's own signals would report the choice gone and back.
        self.list.blockSignals(True)
        self.list.clear()
        paths: set[str] = set()
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
            item = QTreeWidgetItem([f"{name}\n{count} · {detail}"])
            item.setIcon(0, _dot(STATE_COLORS.get(status.state, "#999")))
            item.setToolTip(0, shown + (f"\n{status.note}" if status.note else ""))
            # The row, not the path: a name that is not valid UTF-8 cannot live in a QString unchanged.
            item.setData(0, self._WHERE, (row, None))
            self.list.addTopLevelItem(item)
            paths.add(status.path)
            parents = {"": item}
            for sub, photos in status.subfolders:  # parents come before their children
                parent = parents.get(os.path.dirname(sub), item)
                child = QTreeWidgetItem([f"{display_path(os.path.basename(sub))}\n"
                                         f"{photos:,} photo{'s' if photos != 1 else ''}"])
                full = os.path.join(status.path, sub)
                child.setToolTip(0, display_path(full))
                child.setData(0, self._WHERE, (row, sub))
                parent.addChild(child)
                parents[sub] = child
                paths.add(full)
            for path, node in [(status.path, item)] + [(os.path.join(status.path, s), n) for s, n in parents.items() if s]:
                # unfolded as the person left it, and down to the folder picked
                if path in self._expanded or (current is not None and current.startswith(path.rstrip("/") + "/")):
                    node.setExpanded(True)
        for item in self._items():
            if self._path_of(item) == current:
                self.list.setCurrentItem(item)
                item.setSelected(True)
        self.list.blockSignals(False)
        self.remove_button.setEnabled(self._selected_watched() is not None)
        if self.chosen is not None and self.chosen not in paths:
            self.chosen = current if current in paths else None
            self.folder_chosen.emit(self.chosen)

    def _items(self) -> list[QTreeWidgetItem]:
        """Every row, each folder before the folders inside it."""
        out: list[QTreeWidgetItem] = []

        def walk(item: QTreeWidgetItem) -> None:
            out.append(item)
            for j in range(item.childCount()):
                walk(item.child(j))

        for i in range(self.list.topLevelItemCount()):
            walk(self.list.topLevelItem(i))
        return out

    def _path_of(self, item: QTreeWidgetItem | None) -> str | None:
        where = item.data(0, self._WHERE) if item is not None else None
        if not isinstance(where, (tuple, list)) or not 0 <= where[0] < len(self.statuses):
            return None
        root = self.statuses[where[0]].path
        return root if where[1] is None else os.path.join(root, where[1])

    def clear_choice(self) -> None:
        """Back to every folder's photos (the header's "All photos", Esc): no folder selected."""
        self.list.clearSelection()
        self.list.setCurrentItem(None)
        self._selection_changed()

    def _selection_changed(self) -> None:
        items = self.list.selectedItems()
        if items:
            items[0].setExpanded(True)  # a folder picked shows the folders inside it
        path = self.selected_path()
        self.remove_button.setEnabled(self._selected_watched() is not None)
        if path != self.chosen:
            self.chosen = path
            self.folder_chosen.emit(path)

    def selected_path(self) -> str | None:
        """The folder picked in the panel: a watched folder or one inside it."""
        items = self.list.selectedItems()
        return self._path_of(items[0]) if items else None

    def _selected_watched(self) -> str | None:
        """The selected watched folder (what *Remove* acts on); None for a subfolder or nothing."""
        items = self.list.selectedItems()
        if not items:
            return None
        where = items[0].data(0, self._WHERE)
        return self._path_of(items[0]) if isinstance(where, (tuple, list)) and where[1] is None else None

    def _remove_clicked(self) -> None:
        path = self._selected_watched()
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

