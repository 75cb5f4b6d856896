"""The list model behind the Duplicates view's groups: one row per group, its text and thumbnail made
only when the row is drawn.

A big library has thousands of groups, and the service publishes a new state after every step of a
pass. Building one widget item per group (with its text, tooltip and a thumbnail request) on each
publish cost about half a second at 5,000 groups and asked the thumbnail pool for every keeper; a
model with a reset per state costs little, and only the rows on screen ask for their text and
thumbnail (the grid's recipe: a placeholder, then the pixmap when the pool has made it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Slot
from PySide6.QtGui import QIcon

from ..core.dupstate import TIER_LABELS, DuplicateGroup
from ..core.paths import display_path
from ..core.progress import format_size
from .thumbs import ThumbnailLoader


def sentence(text: str) -> str:
    """The first letter up, the rest as it is (``str.capitalize`` would lower "IMG_0042.HEIC")."""
    return text[:1].upper() + text[1:]


def group_text(g: DuplicateGroup) -> str:
    """Two lines: tier, count and space to free; the keeper and where it is."""
    head = f"{sentence(TIER_LABELS.get(g.tier, g.tier))} · {len(g.members)} photos"
    if g.reclaimable:
        head += f" · {format_size(g.reclaimable)} to free"
    folders = {p.folder for p in g.photos}
    where = os.path.basename(g.keeper.folder) or display_path(g.keeper.folder)
    if len(folders) > 1:
        where += f" and {len(folders) - 1} other folder{'s' if len(folders) > 2 else ''}"
    return f"{head}\n{g.keeper.name} · in {where}"


class GroupListModel(QAbstractListModel):
    """Rows are the shown groups, in the presenter's order; ``GroupRole`` gives the group itself."""

    GroupRole = Qt.ItemDataRole.UserRole + 1
    KeyRole = Qt.ItemDataRole.UserRole + 2

    def __init__(self, loader: ThumbnailLoader, photo_rows: Callable[[Sequence[int]], dict[int, Any]],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.photo_rows = photo_rows
        self.groups: list[DuplicateGroup] = []
        self._row_of_photo: dict[int, int] = {}
        self._rows: dict[int, Any] = {}
        self._texts: dict[str, str] = {}
        loader.loaded.connect(self._thumbnail_loaded)

    def set_groups(self, groups: list[DuplicateGroup]) -> None:
        self.beginResetModel()
        self.groups = groups
        self._row_of_photo = {g.keeper.photo_id: i for i, g in enumerate(groups)}
        live = {g.key for g in groups}
        self._texts = {k: v for k, v in self._texts.items() if k in live}
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.groups)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.groups):
            return None
        g = self.groups[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            text = self._texts.get(g.key)
            if text is None:
                text = self._texts[g.key] = group_text(g)
            return text
        if role == Qt.ItemDataRole.ToolTipRole:
            return sentence(g.reason) + "\n" + "\n".join(display_path(p.path) for p in g.photos)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnail(g.keeper.photo_id)
        if role == self.GroupRole:
            return g
        if role == self.KeyRole:
            return g.key
        return None

    def _thumbnail(self, photo_id: int) -> Any:
        row = self._rows.get(photo_id)
        if row is None:
            row = self.photo_rows([photo_id]).get(photo_id)
            if row is None:
                return None
            self._rows[photo_id] = row
        pixmap = self.loader.pixmap(photo_id, row.path, row.size, row.mtime_ns)
        return QIcon(pixmap) if pixmap is not None else None  # an icon is drawn at the view's icon size

    @Slot(int)
    def _thumbnail_loaded(self, photo_id: int) -> None:
        row = self._row_of_photo.get(photo_id)
        if row is not None and row < len(self.groups):
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
