"""The thumbnail grid: a list model whose rows are photo ids, a painting delegate and the view.

Built to stay smooth with 100,000 photos: the model holds only the ids in display order and fetches
the rest of a row (path, size, mtime) a page at a time for the rows actually painted; the view uses
uniform item sizes, so Qt lays the grid out arithmetically instead of asking every row for its size;
the delegate never decodes anything, it asks the :class:`ThumbnailLoader` and paints a placeholder
until the thumbnail arrives.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QKeyEvent, QPainter, QPainterPath, QPen, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from ..core.paths import display_path
from ..core.settings import THUMB_MAX, THUMB_MIN, THUMB_STEP
from .drops import file_url
from .thumbs import ThumbnailLoader

PAGE = 256
ROW_CACHE = 8192

ModelIndex = QModelIndex | QPersistentModelIndex
#: Fetches catalog rows (objects with path, size, mtime_ns, width, height) for photo ids; the library
#: service's ``photo_rows`` in the app. The grid never talks to the catalog itself.
RowSource = Callable[[Sequence[int]], Mapping[int, Any]]


class PhotoModel(QAbstractListModel):
    """Rows are photo ids: the library newest first, or a query's results best first.

    No signals of its own beyond Qt's model signals.
    """

    PhotoIdRole = Qt.ItemDataRole.UserRole + 1
    PathRole = Qt.ItemDataRole.UserRole + 2
    ScoreRole = Qt.ItemDataRole.UserRole + 3
    FileSizeRole = Qt.ItemDataRole.UserRole + 4
    MtimeRole = Qt.ItemDataRole.UserRole + 5
    #: "same" (an edited copy of the query) or "similar"; None outside results.
    MatchRole = Qt.ItemDataRole.UserRole + 6
    #: Why a result is a copy or not ("944 matching points...", "another shot: taken 3 min apart"); "" if unsaid.
    ReasonRole = Qt.ItemDataRole.UserRole + 7

    def __init__(self, rows: RowSource, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fetch_rows = rows
        self._ids: np.ndarray = np.zeros(0, dtype=np.int64)
        self._scores: np.ndarray | None = None
        self._matches: list[str] | None = None
        self._reasons: list[str] | None = None
        self._rows: OrderedDict[int, Any] = OrderedDict()

    # -- content -------------------------------------------------------------------------------
    @property
    def is_results(self) -> bool:
        return self._scores is not None

    @property
    def ids(self) -> np.ndarray:
        return self._ids

    def show_library(self, ids: Sequence[int] | np.ndarray) -> None:
        """Show these photo ids (newest first), without scores."""
        self.beginResetModel()
        self._ids = np.asarray(ids, dtype=np.int64)
        self._scores = None
        self._matches = None
        self._reasons = None
        self._rows.clear()
        self.endResetModel()

    def show_results(self, results: Sequence[Any]) -> None:
        """Show a query's results (objects with photo_id, score, maybe match), best first, each with its score."""
        self.beginResetModel()
        self._ids = np.asarray([r.photo_id for r in results], dtype=np.int64)
        self._scores = np.asarray([r.score for r in results], dtype=np.float32)
        matches = [getattr(r, "match", None) for r in results]
        self._matches = matches if any(m is not None for m in matches) else None
        self._reasons = [str(getattr(r, "reason", "") or "") for r in results]
        self._rows.clear()
        self.endResetModel()

    def forget_rows(self) -> None:
        """Drop cached row details (files changed on disk); ids and order stay."""
        self._rows.clear()
        if len(self._ids):
            self.dataChanged.emit(self.index(0), self.index(len(self._ids) - 1))

    def row_of(self, photo_id: int) -> int:
        hits = np.nonzero(self._ids == photo_id)[0]
        return int(hits[0]) if len(hits) else -1

    def photo(self, row: int) -> Any:
        """The catalog row shown at ``row``, fetching its page on a miss (None if it has gone)."""
        photo_id = int(self._ids[row])
        if photo_id in self._rows:
            self._rows.move_to_end(photo_id)
            return self._rows[photo_id]
        start = (row // PAGE) * PAGE
        page = [int(i) for i in self._ids[start : start + PAGE]]
        found = self.fetch_rows(page)
        for pid in page:
            self._rows[pid] = found.get(pid)
        while len(self._rows) > ROW_CACHE:
            self._rows.popitem(last=False)
        return self._rows.get(photo_id)

    # -- Qt's model interface ------------------------------------------------------------------
    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._ids)

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
                | Qt.ItemFlag.ItemIsDragEnabled)

    # -- dragging photos out (to a file manager, a mail, an editor) -------------------------------
    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt's name
        return ["text/uri-list"]

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.CopyAction  # never a move: the library's files stay where they are

    def mimeData(self, indexes: Sequence[ModelIndex]) -> QMimeData:  # noqa: N802
        """The dragged photos as file URLs, in grid order (exact bytes of each name)."""
        mime = QMimeData()
        urls = []
        for row in sorted({i.row() for i in indexes if i.isValid()}):
            photo = self.photo(row)
            if photo is not None:
                urls.append(file_url(photo.path))
        mime.setUrls(urls)
        return mime

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.parent().isValid() or not 0 <= index.row() < len(self._ids):
            return None
        row = index.row()
        if role == self.PhotoIdRole:
            return int(self._ids[row])
        if role == self.ScoreRole:
            return float(self._scores[row]) if self._scores is not None else None
        if role == self.MatchRole:
            return self._matches[row] if self._matches is not None else None
        if role == self.ReasonRole:
            return self._reasons[row] if self._reasons is not None else ""
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, self.PathRole,
                    self.FileSizeRole, self.MtimeRole, Qt.ItemDataRole.AccessibleTextRole):
            photo = self.photo(row)
            if photo is None:
                return None
            if role == self.PathRole:
                return photo.path
            if role == self.FileSizeRole:
                return photo.size
            if role == self.MtimeRole:
                return photo.mtime_ns
            shown = display_path(photo.path)  # Qt strings cannot hold undecodable bytes
            name = os.path.basename(shown)
            if role == Qt.ItemDataRole.ToolTipRole:
                score = self.data(index, self.ScoreRole)
                extra = f"\nsimilarity {score:.3f}" if score is not None else ""
                reason = self.data(index, self.ReasonRole)
                extra += f"\n{reason}" if reason else ""
                size = f"\n{photo.width} × {photo.height}" if photo.width and photo.height else ""
                return f"{shown}{size}{extra}"
            return name
        return None


class PhotoDelegate(QStyledItemDelegate):
    """Paints a thumbnail (or a placeholder) with the file name or the similarity score below it."""

    PADDING = 6
    CAPTION = 22

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.cell = 160

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        return QSize(self.cell + 2 * self.PADDING, self.cell + 2 * self.PADDING + self.CAPTION)

    def _centred(self, rect: QRect) -> QRect:
        """The card (thumbnail and caption) in the middle of an item rect that may be wider than it
        (the grid widens its cells to fill a row)."""
        width = self.cell + 2 * self.PADDING
        if rect.width() <= width:
            return rect
        return QRect(rect.x() + (rect.width() - width) // 2, rect.y(), width, rect.height())

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = self._centred(option.rect)  # type: ignore[attr-defined]
        palette = option.palette  # type: ignore[attr-defined]
        state = option.state  # type: ignore[attr-defined]
        selected = bool(state & QStyle.StateFlag.State_Selected)
        hover = bool(state & QStyle.StateFlag.State_MouseOver)
        card = rect.adjusted(2, 2, -2, -2)
        if selected or hover:
            color = QColor(palette.highlight().color())
            color.setAlpha(200 if selected else 60)
            path = QPainterPath()
            path.addRoundedRect(card, 8, 8)
            painter.fillPath(path, color)
        thumb = QRect(rect.x() + self.PADDING, rect.y() + self.PADDING, self.cell, self.cell)
        model = index.model()
        photo_id = model.data(index, PhotoModel.PhotoIdRole)
        path = model.data(index, PhotoModel.PathRole)
        pixmap = None
        if path is not None and photo_id is not None:
            pixmap = self.loader.pixmap(photo_id, path, model.data(index, PhotoModel.FileSizeRole),
                                        model.data(index, PhotoModel.MtimeRole))
        if pixmap is not None and not pixmap.isNull():
            size = pixmap.size().scaled(thumb.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(thumb.center())
            painter.drawPixmap(target, pixmap)
        else:
            placeholder = thumb.adjusted(self.cell // 10, self.cell // 10, -self.cell // 10, -self.cell // 10)
            shape = QPainterPath()
            shape.addRoundedRect(placeholder, 6, 6)
            base = QColor(palette.mid().color())
            base.setAlpha(90)
            painter.fillPath(shape, base)
            why = "missing" if path is None else self.loader.broken_text(photo_id) if photo_id is not None else None
            if why:
                painter.setPen(QPen(palette.text().color()))
                painter.drawText(placeholder, Qt.AlignmentFlag.AlignCenter, why)
        caption = QRect(rect.x() + self.PADDING, thumb.bottom() + 3, self.cell, self.CAPTION - 4)
        score = model.data(index, PhotoModel.ScoreRole)
        match = model.data(index, PhotoModel.MatchRole)
        font = QFont(option.font)  # type: ignore[attr-defined]
        if score is not None:
            font.setBold(True)
            painter.setFont(font)
            if match == "same":
                text = f"copy · {score:.2f}"
            elif match == "word":  # how strongly the photo's labels match the words
                text = f"{score:.0%}"
            elif match == "near":  # close by the copy vector (layout, colours), not verified as a copy
                text = f"close · {score:.2f}"
            elif match == "alike":  # the same kind of thing, by the look-alike vector
                text = f"alike · {score:.2f}"
            else:
                text = f"{score:.2f}"
            chip = painter.fontMetrics().boundingRect(text).adjusted(-7, -2, 7, 2)
            chip.moveCenter(caption.center())
            shape = QPainterPath()
            shape.addRoundedRect(chip, chip.height() / 2, chip.height() / 2)
            painter.fillPath(shape, _SAME_COLOR if match == "same" else _WORD_COLOR if match == "word"
                             else _score_color(score))
            painter.setPen(QColor("#111"))
            painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, text)
        else:
            name = model.data(index, Qt.ItemDataRole.DisplayRole) or ""
            font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
            painter.setFont(font)
            painter.setPen(palette.highlightedText().color() if selected else palette.text().color())
            elided = painter.fontMetrics().elidedText(name, Qt.TextElideMode.ElideMiddle, caption.width())
            painter.drawText(caption, Qt.AlignmentFlag.AlignCenter, elided)
        painter.restore()


_SAME_COLOR = QColor("#7fd88f")
"""Green: the same photo (an edited or re-saved copy of the query, verified)."""
_WORD_COLOR = QColor("#9ec5f5")
"""Blue: a word search's match (the share of the photo's labels under the words)."""


def _score_color(score: float) -> QColor:
    """Amber for close look-alikes, grey for distant ones (copies are green, whatever their score)."""
    if score >= 0.65:
        return QColor("#f2c45a")
    return QColor("#b9bec7")


class PhotoGrid(QListView):
    """The grid view: icon mode, uniform sizes, zoom and keyboard handling.

    Signals:
        opened(QModelIndex): Enter or a double-click asked to open this photo.
        zoomed(int): the thumbnail size changed (pixels).
    """

    opened = Signal(QModelIndex)
    zoomed = Signal(int)

    def __init__(self, delegate: PhotoDelegate, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.delegate = delegate
        self.setItemDelegate(delegate)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(2000)
        self.setSpacing(2)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        # Photos drag out as files (copied, never moved); nothing is dropped onto the grid itself
        # (the window takes a dropped picture as a query).
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDragEnabled(True)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setAcceptDrops(False)
        self.viewport().setAcceptDrops(False)
        self.setMouseTracking(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setFrameShape(QListView.Shape.NoFrame)
        self.doubleClicked.connect(self.opened)
        self.set_cell(delegate.cell)

    def set_cell(self, pixels: int) -> None:
        pixels = max(THUMB_MIN, min(THUMB_MAX, int(pixels)))
        if pixels == self.delegate.cell and self.gridSize().isValid():
            return
        self.delegate.cell = pixels
        self.delegate.loader.set_pixels(pixels)
        self._fit_columns(force=True)
        self.verticalScrollBar().setSingleStep(max(20, pixels // 4))
        self.viewport().update()

    def _fit_columns(self, *, force: bool = False) -> None:
        """Widen the cells so that a row fills the viewport: the spare width (up to a cell less a pixel)
        is shared between the columns instead of left as an empty band on the right."""
        hint = self.delegate.sizeHint(QStyleOptionViewItem(), QModelIndex()) + QSize(4, 4)
        # QListView wraps a row where the next cell would reach the end of its layout width, which is
        # the viewport's largest width less a vertical scroll bar's, whether one shows or not (so the
        # columns do not change when one appears).
        width = self.maximumViewportSize().width() - 1
        if self.verticalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAsNeeded:
            width -= self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self.verticalScrollBar())
        columns = max(1, width // hint.width())
        size = QSize(max(hint.width(), width // columns), hint.height())
        if force or size != self.gridSize():
            self.setGridSize(size)
            self.doItemsLayout()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_columns()

    def zoom(self, steps: int) -> None:
        """Grow (positive) or shrink the thumbnails, keeping the current photo in view."""
        before = self.delegate.cell
        self.set_cell(before + steps * THUMB_STEP)
        if self.delegate.cell != before:
            current = self.currentIndex()
            if current.isValid():
                self.scrollTo(current, QAbstractItemView.ScrollHint.PositionAtCenter)
            self.zoomed.emit(self.delegate.cell)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            delta = event.angleDelta().y()
            if delta:
                self.zoom(1 if delta > 0 else -1)
            event.accept()
            return
        super().wheelEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.opened.emit(self.currentIndex())
            event.accept()
            return
        super().keyPressEvent(event)


OpenFunction = Callable[[str], None]
