"""The strip above the grid: what the grid shows (the library, or the results for a query image).

For results it says what they are ("1 copy of this photo, 8 similar photos"), offers the rest beyond
the query's cutoff ("Show 12 more"), and lets the user draw a region on the query picture to search
with just that part (a face in a group photo, one building in a street).
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QCursor, QMouseEvent, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRubberBand,
    QVBoxLayout,
    QWidget,
)

from ..core.paths import display_path
from .labels import ElidedLabel

PREVIEW = 88


class _ClickableLabel(QLabel):
    """The query preview: a click asks for the region picker.

    Signals:
        clicked(): the preview was clicked.
    """

    clicked = Signal()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mouseReleaseEvent(event)


class QueryHeader(QFrame):
    """Shows the library summary, or the query image with the state of its search and a way back.

    Signals:
        back_requested(): the user wants the library again (the button; Escape is a window shortcut).
        more_requested(): the user wants the results beyond the cutoff ("Show N more").
        region_requested(): the user wants to search with a region of the query picture.
        word_requested(str): the user picked a word the header offered ("did you mean bird?").
    """

    back_requested = Signal()
    more_requested = Signal()
    region_requested = Signal()
    word_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queryHeader")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(14)
        self.preview = _ClickableLabel()
        self.preview.setObjectName("queryPreview")
        self.preview.setFixedSize(PREVIEW, PREVIEW)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setCursor(QCursor(Qt.CursorShape.PointingHandCursor))
        self.preview.setToolTip("Click to search with a region of this picture")
        self.preview.clicked.connect(self.region_requested)
        layout.addWidget(self.preview)
        texts = QVBoxLayout()
        texts.setSpacing(2)
        self.title = ElidedLabel()
        self.title.setObjectName("headerTitle")
        self.subtitle = QLabel()
        self.subtitle.setObjectName("headerSubtitle")
        self.subtitle.setWordWrap(True)
        self.subtitle.setTextFormat(Qt.TextFormat.PlainText)  # file names are text, whatever they hold
        self.subtitle.linkActivated.connect(self.word_requested)
        self.more_button = QPushButton()
        self.more_button.setToolTip("Show the results beyond where they stop being meaningful for this query")
        self.more_button.clicked.connect(self.more_requested)
        self.region_button = QPushButton("Search a region…")
        self.region_button.setToolTip("Draw a rectangle on the query picture and search with just that part")
        self.region_button.clicked.connect(self.region_requested)
        self.back_button = QPushButton("← Back to library")
        self.back_button.setToolTip("Show the whole library again (Esc)")
        self.back_button.clicked.connect(self.back_requested)
        # Two rows, so that the title and the state keep the width and the tools wrap under them
        # (one row squeezed the title to "Si…pg" beside the photo info panel): the title with the way
        # back, the state, then the tools (the "only" field, more results, a region).
        top = QHBoxLayout()
        top.setSpacing(10)
        top.addWidget(self.title, 1)
        top.addWidget(self.back_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self._tools = QHBoxLayout()
        self._tools.setSpacing(8)
        self._tools.setContentsMargins(0, 4, 0, 0)
        self._tools.addWidget(self.more_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self._tools.addWidget(self.region_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self._tools.addStretch(1)
        self._added_tools = 0
        texts.addStretch(1)
        texts.addLayout(top)
        texts.addWidget(self.subtitle)
        texts.addLayout(self._tools)
        texts.addStretch(1)
        layout.addLayout(texts, 1)
        self._query_tools: list[QWidget] = []
        self.in_query = False
        self.show_library(0)

    def add_tool(self, widget: QWidget, *, in_query_only: bool = False) -> None:
        """Put a widget (the word search box, the "only" field) in the header's row of tools."""
        self._tools.insertWidget(self._added_tools, widget, 0, Qt.AlignmentFlag.AlignVCenter)
        self._added_tools += 1
        if in_query_only:
            self._query_tools.append(widget)
            widget.setVisible(self.in_query)

    def show_library(self, count: int, note: str = "", *, folder: str | None = None) -> None:
        """The library view: every photo, or (``folder``) the photos of one folder of the library."""
        self.in_query = False
        for tool in self._query_tools:
            tool.hide()
        self.preview.hide()
        self.more_button.hide()
        self.region_button.hide()
        hint = "Drop a photo here, paste one (Ctrl+V) or right-click a thumbnail to find similar photos."
        summary = f"{count:,} photo{'s' if count != 1 else ''}, newest first" if count else "No photos indexed yet"
        if folder is None:
            self.back_button.hide()
            self.title.setText("All photos")
        else:
            shown = display_path(folder)
            self.title.setText(os.path.basename(shown.rstrip(os.sep)) or shown)
            self.back_button.setText("← All photos")
            self.back_button.setToolTip("Show the photos of every folder again (Esc)")
            self.back_button.show()
            if not count:
                summary = "No photos in this folder yet"
            hint = f"In {shown}."
        self.set_state(f"{summary}. {note or hint}")

    def show_query(self, preview: QPixmap | None, label: str, state: str, *, can_pick_region: bool = True,
                   title: str | None = None) -> None:
        self.in_query = True
        for tool in self._query_tools:
            tool.show()
        if preview is not None and not preview.isNull():
            self.preview.setPixmap(preview.scaled(PREVIEW, PREVIEW, Qt.AspectRatioMode.KeepAspectRatio,
                                                  Qt.TransformationMode.SmoothTransformation))
        else:
            self.preview.setPixmap(QPixmap())
            self.preview.setText("?")
        self.preview.setVisible(preview is not None or can_pick_region)
        self.back_button.setText("← Back to library")
        self.back_button.setToolTip("Show the library again (Esc)")
        self.back_button.show()
        self.region_button.setVisible(can_pick_region)
        self.preview.setEnabled(can_pick_region)
        self.more_button.hide()
        self.title.setText(title or f"Similar to {label}")
        self.set_state(state)

    def set_state(self, state: str, offered: Sequence[str] = ()) -> None:
        """The query's state; each word of ``offered`` that appears quoted in it ('bird') becomes a
        link that searches for that word."""
        if not offered:
            self.subtitle.setTextFormat(Qt.TextFormat.PlainText)
            self.subtitle.setText(state)
            return
        text = html.escape(state, quote=False)
        for word in offered:
            quoted = html.escape(repr(word), quote=False)
            text = text.replace(quoted, f"<a href=\"{html.escape(word)}\">{html.escape(word)}</a>", 1)
        self.subtitle.setTextFormat(Qt.TextFormat.RichText)
        self.subtitle.setText(text)

    def set_more(self, count: int) -> None:
        """Offer ``count`` more results beyond the cutoff (0 hides the button)."""
        self.more_button.setText(f"Show {count:,} more")
        self.more_button.setVisible(count > 0)


class RegionPicker(QLabel):
    """A picture on which the user drags a rectangle.

    Signals:
        picked(QRect): the rectangle, in the picture's own pixels (upright, as displayed).
    """

    picked = Signal(QRect)

    def __init__(self, pixmap: QPixmap, full_size: QSize, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPixmap(pixmap)
        self.setFixedSize(pixmap.size())
        self.setCursor(QCursor(Qt.CursorShape.CrossCursor))
        self.full_size = full_size
        self._origin: QPoint | None = None
        self.band = QRubberBand(QRubberBand.Shape.Rectangle, self)
        self.selection: QRect | None = None

    def to_picture(self, rect: QRect) -> QRect:
        """A rectangle on the widget in the full picture's pixels."""
        sx = self.full_size.width() / max(1, self.width())
        sy = self.full_size.height() / max(1, self.height())
        r = rect.normalized().intersected(self.rect())
        return QRect(round(r.x() * sx), round(r.y() * sy), max(1, round(r.width() * sx)),
                     max(1, round(r.height() * sy)))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._origin = event.position().toPoint()
            self.band.setGeometry(QRect(self._origin, QSize()))
            self.band.show()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._origin is not None:
            self.band.setGeometry(QRect(self._origin, event.position().toPoint()).normalized())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._origin is not None and event.button() == Qt.MouseButton.LeftButton:
            end = event.position().toPoint()
            rect = QRect(QPoint(min(self._origin.x(), end.x()), min(self._origin.y(), end.y())),
                         QSize(abs(end.x() - self._origin.x()), abs(end.y() - self._origin.y())))
            self._origin = None
            if rect.width() >= 8 and rect.height() >= 8:
                self.selection = self.to_picture(rect)
                self.picked.emit(self.selection)


REGION_MIN_SIDE = 400
"""A small query picture (a pasted 170-pixel image) is shown enlarged to this long side, so that a
rectangle can be drawn on it with a mouse; the region is still given in the picture's own pixels."""


class RegionDialog(QDialog):
    """The query picture shown large; drag a rectangle, then *Search this region*. No signals of its own:
    ``exec()`` is accepted with :attr:`region` set (x, y, w, h in the picture's upright pixels)."""

    def __init__(self, picture: QPixmap, full_size: QSize, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if 0 < max(picture.width(), picture.height()) < REGION_MIN_SIDE:
            picture = picture.scaled(REGION_MIN_SIDE, REGION_MIN_SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                                     Qt.TransformationMode.SmoothTransformation)
        self.setWindowTitle(f"Search a region of {label}")
        self.region: tuple[int, int, int, int] | None = None
        layout = QVBoxLayout(self)
        hint = QLabel("Drag a rectangle around what you are looking for (a face, a building, an object).")
        hint.setObjectName("hint")
        layout.addWidget(hint)
        self.picker = RegionPicker(picture, full_size)
        layout.addWidget(self.picker, 0, Qt.AlignmentFlag.AlignCenter)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.search_button = self.buttons.addButton("Search this region", QDialogButtonBox.ButtonRole.AcceptRole)
        self.search_button.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.picker.picked.connect(self._picked)

    def _picked(self, rect: QRect) -> None:
        self.region = (rect.x(), rect.y(), rect.width(), rect.height())
        self.search_button.setEnabled(True)
