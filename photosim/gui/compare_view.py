"""The compare view: 2 to 4 photos of a group side by side, zoomed and panned together, with their facts.

Deciding which copy to keep means looking at the same spot of each at the same magnification, so the
panes share one :class:`ZoomSync`: a zoom (1 = the whole picture fits) and a centre given as a
fraction of the picture, which maps to the same place in copies of different sizes. Full pictures
are decoded on a small pool of their own (a 12 MP HEIC takes half a second) as ``QImage`` and made
into pixmaps on the GUI thread; a pane shows "Loading…" meanwhile.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from html import escape

from PIL import Image
from PySide6.QtCore import QObject, QPointF, QRectF, QRunnable, QSize, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPixmap, QWheelEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ..core.dupstate import PhotoInfo
from ..core.images import ImageLoadError, decode, decode_photo, read_file
from ..core.photofacts import measure
from .thumbs import pil_to_qimage

log = logging.getLogger(__name__)

MAX_PANES = 4
MAX_ZOOM = 32.0
ZOOM_STEP = 1.25
QUICK_SIDE = 960
"""Long side of a pane's first, quick picture: a 12 MP JPEG at a reduced DCT scale in ~20 ms, where
the full picture takes ~170 ms with its conversion (stepping through photos with the arrow keys shows
each at once); the full picture replaces it for zooming."""
FULL_PICTURE_LIMIT = 6000
"""Long side of the decoded picture at most (pixels): 100 % of a phone photo, bounded memory for
four panes of a 50 MP RAW."""


class ZoomSync(QObject):
    """The one zoom and centre every pane follows.

    Signals:
        changed(): the zoom or the centre moved.
    """

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.zoom = 1.0
        self.cx = 0.5
        self.cy = 0.5

    def zoom_by(self, factor: float) -> None:
        self.zoom = max(1.0, min(MAX_ZOOM, self.zoom * factor))
        if self.zoom == 1.0:
            self.cx = self.cy = 0.5
        self.changed.emit()

    def pan_to(self, cx: float, cy: float) -> None:
        self.cx, self.cy = min(1.0, max(0.0, cx)), min(1.0, max(0.0, cy))
        self.changed.emit()

    def fit(self) -> None:
        self.zoom, self.cx, self.cy = 1.0, 0.5, 0.5
        self.changed.emit()


class ImageCanvas(QWidget):
    """One picture drawn at the shared zoom and centre; wheel zooms, dragging pans (all panes follow)."""

    def __init__(self, sync: ZoomSync, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sync = sync
        self.pixmap: QPixmap | None = None
        self.note = "Loading…"
        self._drag: QPointF | None = None
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        sync.changed.connect(self.update)

    def sizeHint(self) -> QSize:
        return QSize(400, 400)

    def scale(self) -> float:
        """Screen pixels per picture pixel at the current zoom."""
        if self.pixmap is None or self.pixmap.isNull():
            return 1.0
        fit = min(self.width() / self.pixmap.width(), self.height() / self.pixmap.height())
        return fit * self.sync.zoom

    def target_rect(self) -> QRectF:
        """Where the picture is drawn: its centre fraction at the middle of the canvas (or fitted)."""
        assert self.pixmap is not None
        s = self.scale()
        w, h = self.pixmap.width() * s, self.pixmap.height() * s
        x = self.width() / 2 - self.sync.cx * w
        y = self.height() / 2 - self.sync.cy * h
        # never leave empty space on a side the picture could cover
        if w <= self.width():
            x = (self.width() - w) / 2
        else:
            x = min(0.0, max(self.width() - w, x))
        if h <= self.height():
            y = (self.height() - h) / 2
        else:
            y = min(0.0, max(self.height() - h, y))
        return QRectF(x, y, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(self.backgroundRole()).darker(108))
        if self.pixmap is None or self.pixmap.isNull():
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.note)
        else:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.sync.zoom < 2.0)
            painter.drawPixmap(self.target_rect(), self.pixmap, QRectF(self.pixmap.rect()))
        painter.end()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.sync.zoom_by(ZOOM_STEP ** steps)
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag is None or self.pixmap is None:
            return
        delta = event.position() - self._drag
        self._drag = event.position()
        s = self.scale()
        self.sync.pan_to(self.sync.cx - delta.x() / (self.pixmap.width() * s),
                         self.sync.cy - delta.y() / (self.pixmap.height() * s))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.sync.fit()


class ComparePane(QFrame):
    """A photo, its name with the keeper mark, and its facts under it."""

    def __init__(self, photo: PhotoInfo, keep: bool, sync: ZoomSync, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.photo = photo
        self.keep = keep
        self.setObjectName("comparePane")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.title)
        self.canvas = ImageCanvas(sync)
        layout.addWidget(self.canvas, 1)
        self.facts = QLabel()
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        # the same height under every pane, so the pictures line up whatever each one's facts
        self.facts.setFixedHeight(self.facts.fontMetrics().lineSpacing() * 10)
        layout.addWidget(self.facts)
        self.set_current(False)
        self.set_photo(photo)

    def set_photo(self, photo: PhotoInfo) -> None:
        """The fact sheet under the picture (again when the facts arrive after the picture was asked for)."""
        self.photo = photo
        rows = []
        for label, text in photo.describe().items():
            if label == "file":
                continue
            rows.append(f"<tr><td style='color:gray;padding-right:8px'>{escape(label)}</td><td>{escape(text)}</td></tr>")
        self.facts.setText("<table cellspacing=0>" + "".join(rows) + "</table>")

    def set_current(self, current: bool) -> None:
        mark = "✓ keep · " if self.keep else ("🔒 reference · " if self.photo.in_reference else "")
        self.title.setText(f"{mark}{self.photo.name}")
        font = self.title.font()
        font.setBold(self.keep or current)
        self.title.setFont(font)
        self.setProperty("current", current)
        self.setStyleSheet("#comparePane { border: 2px solid palette(highlight); }" if current else "")


class _LoadPicture(QRunnable):
    """One pane's picture: a quick one first, then the full picture, and with ``measure`` the photo's
    facts (photos from the grid come without them: the duplicate finder measures only its groups')."""

    def __init__(self, view: CompareView, token: int, photo_id: int, path: str, measure: bool = False) -> None:
        super().__init__()
        self.view, self.token, self.photo_id, self.path, self.measure = view, token, photo_id, path, measure

    def _send(self, *payload: object) -> None:
        self.view._loaded.emit(self.token, self.photo_id, payload)

    def _picture(self, image: Image.Image, final: bool) -> None:
        if max(image.size) > FULL_PICTURE_LIMIT:
            image.thumbnail((FULL_PICTURE_LIMIT, FULL_PICTURE_LIMIT))
        self._send("picture", pil_to_qimage(image), final)

    def run(self) -> None:
        try:
            read = read_file(self.path)
            quick = decode_photo(read, min_long_side=QUICK_SIDE)
            reduced = quick.source != "full"
            self._picture(quick.image, final=not reduced)
            if reduced and self.view._token == self.token:  # not when the view moved on meanwhile
                self._picture(decode(read), final=True)
        except ImageLoadError as exc:
            self._send("picture", str(exc), True)
            return
        except Exception as exc:  # one bad file shows its reason in its pane, never stops the view
            log.exception("loading %s for the compare view failed", self.path)
            self._send("picture", f"{type(exc).__name__}: {exc}", True)
            return
        if self.measure and self.view._token == self.token:
            try:
                self._send("facts", measure(self.path))
            except Exception:  # the facts are a nicety: the picture is there
                log.warning("measuring %s for the viewer failed", self.path, exc_info=True)


class CompareView(QWidget):
    """Up to four panes in a row (two rows for four on a narrow window), synced zoom and pan.

    Signals:
        pictures_loaded(): every pane's full picture is in (or its error shown).
    """

    pictures_loaded = Signal()
    _loaded = Signal(int, int, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sync = ZoomSync(self)
        self.panes: list[ComparePane] = []
        self._token = 0
        self._waiting: set[int] = set()
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(6)
        self._loaded.connect(self._picture_loaded)

    def set_photos(self, photos: list[PhotoInfo], keeper_id: int, current_id: int | None = None, *,
                   measure: bool = False) -> None:
        """Show these photos (the first four), zoom fitted; full pictures load in the background, and
        with ``measure`` each photo's facts (dimensions, format, camera, sharpness) with it."""
        photos = photos[:MAX_PANES]
        if [p.photo_id for p in photos] == [p.photo.photo_id for p in self.panes] and \
                all(p.keep == (p.photo.photo_id == keeper_id) for p in self.panes):
            self.set_current(current_id)
            return
        for pane in self.panes:
            self._grid.removeWidget(pane)
            pane.canvas.pixmap = None  # a full picture is up to 100 MB: let it go now, not at deletion
            pane.deleteLater()
        self._token += 1
        self.pool.clear()  # pictures asked for and not started: no longer wanted (arrow keys held down)
        self.sync.fit()
        self.panes = [ComparePane(p, p.photo_id == keeper_id, self.sync) for p in photos]
        columns = 2 if len(photos) == 4 and self.width() < 1100 else len(photos)
        for i, pane in enumerate(self.panes):
            self._grid.addWidget(pane, i // max(1, columns), i % max(1, columns))
        self._waiting = {p.photo_id for p in photos}
        for p in photos:
            self.pool.start(_LoadPicture(self, self._token, p.photo_id, p.path, measure))
        self.set_current(current_id)

    def set_current(self, photo_id: int | None) -> None:
        for pane in self.panes:
            pane.set_current(pane.photo.photo_id == photo_id)

    @Slot(int, int, object)
    def _picture_loaded(self, token: int, photo_id: int, payload: object) -> None:
        """A pane's quick picture, its full picture (``final``), an error, or its facts."""
        if token != self._token:
            return
        kind, value, *rest = payload  # type: ignore[misc]
        for pane in self.panes:
            if pane.photo.photo_id != photo_id:
                continue
            if kind == "facts":
                pane.set_photo(dataclasses.replace(pane.photo, facts=value))
            elif isinstance(value, str):
                if not os.path.exists(pane.photo.path):  # not "vanished before it could be read"
                    value = "the file is not there (moved or deleted, or its drive is not mounted)"
                pane.canvas.note = f"Cannot show this photo: {value}"
            else:
                pane.canvas.pixmap = QPixmap.fromImage(value)
            pane.canvas.update()
        if kind == "picture" and rest and rest[0]:
            self._waiting.discard(photo_id)
            if not self._waiting:
                self.pictures_loaded.emit()

    def handle_key(self, event: QKeyEvent) -> bool:
        """+/- zoom, 0 or F fit (the duplicates view forwards its keys here while comparing)."""
        key, text = event.key(), event.text()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal) or text in ("+", "="):
            self.sync.zoom_by(ZOOM_STEP)
        elif key == Qt.Key.Key_Minus or text == "-":
            self.sync.zoom_by(1 / ZOOM_STEP)
        elif key in (Qt.Key.Key_0, Qt.Key.Key_F):
            self.sync.fit()
        else:
            return False
        return True

    def shutdown(self) -> None:
        self._token += 1
        self.pool.clear()
        self.pool.waitForDone(5000)
